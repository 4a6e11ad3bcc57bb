using FhirRecovery.Server.Audit;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Provenance;
using FhirRecovery.Server.Security.Authentication;
using FhirRecovery.Server.Security.Clients;
using FhirRecovery.Server.Security.Embedded;
using FhirRecovery.Server.Security.Storage;
using FhirRecovery.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace FhirRecovery.Server.Security;

/// <summary>
/// SMART on FHIR security in two calls: <see cref="AddFhirSecurity"/> (services: token validation, the store decorator
/// that enforces scopes and compartments, the embedded authorization server, audit, provenance) and
/// <see cref="UseFhirSecurity"/> (middleware and endpoints). Everything is configured under <c>Auth</c>, <c>Audit</c>,
/// <c>Provenance</c>; see Security/README.md.
/// </summary>
public static class SecuritySetup
{
    public static bool EmbeddedEnabled(AuthOptions options) =>
        options.Mode == AuthMode.Smart && (options.Embedded.Enabled ?? (string.IsNullOrEmpty(options.Authority) && !options.AzureAdConfigured));

    public static IServiceCollection AddFhirSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(AuthOptions.Section);
        var azureAd = !string.IsNullOrEmpty(configuration[$"{AuthOptions.AzureAdSection}:ClientId"]);
        services.Configure<AuthOptions>(section);
        services.PostConfigure<AuthOptions>(o => o.AzureAdConfigured = azureAd);
        var options = section.Get<AuthOptions>() ?? new AuthOptions();
        options.AzureAdConfigured = azureAd;

        services.AddHttpContextAccessor();
        services.AddHttpClient();
        services.AddSingleton<PatientCompartment>();
        services.AddSingleton<AccessPolicy>();
        services.AddSingleton<TrustedIssuers>();
        services.AddSingleton<ValidatedTokenCache>();
        services.AddSingleton<SmartConfiguration>();
        services.AddSingleton<ICapabilityStatementContributor>(sp => sp.GetRequiredService<SmartConfiguration>());
        services.AddSingleton(sp => new AuthDatabase(sp.GetRequiredService<IOptions<StorageOptions>>().Value));
        services.AddSingleton<ClientRegistry>();
        services.AddHostedService<AuthModeAnnouncer>();
        AddAuditAndProvenance(services, configuration);
        services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy => policy
            .AllowAnyOrigin()
            .AllowAnyHeader()
            .WithMethods("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
            .WithExposedHeaders("Location", "Content-Location", "ETag", "Last-Modified", "WWW-Authenticate", "X-Request-Id")));

        if (options.Mode == AuthMode.None)
        {
            return services;
        }

        DecorateStore(services);
        BearerSchemes.Add(services, configuration, options);
        if (EmbeddedEnabled(options))
        {
            AddEmbeddedServer(services, options);
        }

        return services;
    }

    public const string CorsPolicy = "smart-cors";

    public static WebApplication UseFhirSecurity(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        app.UseCors(CorsPolicy);
        if (options.Mode != AuthMode.None)
        {
            // The authentication middleware lets OpenIddict look at every request it sees (to find its endpoints), which
            // costs a pipeline of handlers per request: only the authorization server's paths go through it. FHIR requests
            // authenticate their bearer token explicitly (FhirAuthorizationMiddleware).
            app.UseWhen(http => !http.Request.Path.StartsWithSegments("/fhir"), branch => branch.UseAuthentication());
            // Tells WebApplication not to add a global UseAuthentication() of its own.
            ((IApplicationBuilder)app).Properties["__AuthenticationMiddlewareSet"] = true;
        }

        // Audit sits outside authorization, so refusals (401, 403) are audited too.
        if (app.Services.GetRequiredService<IOptions<AuditOptions>>().Value.Enabled)
        {
            app.UseMiddleware<AuditMiddleware>();
        }

        app.UseMiddleware<FhirAuthorizationMiddleware>();
        app.MapGet("/fhir/.well-known/smart-configuration", SmartConfiguration.Endpoint)
            .WithName("smart-configuration").WithSummary("SMART App Launch discovery document").WithTags("Security");
        if (EmbeddedEnabled(options))
        {
            AuthorizationEndpoints.Map(app);
        }

        return app;
    }

    private static void AddAuditAndProvenance(IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<AuditOptions>(configuration.GetSection(AuditOptions.Section));
        services.Configure<ProvenanceOptions>(configuration.GetSection(ProvenanceOptions.Section));
        services.AddSingleton<IResourceWriteHook, ProvenanceWriteHook>();
        services.AddSingleton<IResourceWriteHook, AppendOnlyAuditTrail>();
        if (configuration.GetSection(AuditOptions.Section).Get<AuditOptions>()?.Enabled ?? true)
        {
            services.AddSingleton<AuditTrail>();
            services.AddSingleton<AuditWriter>();
            services.AddHostedService(sp => sp.GetRequiredService<AuditWriter>());
        }
    }

    /// <summary>Every consumer of <see cref="IResourceStore"/> gets the enforcing decorator.</summary>
    private static void DecorateStore(IServiceCollection services)
    {
        var descriptor = services.LastOrDefault(d => d.ServiceType == typeof(IResourceStore))
                         ?? throw new InvalidOperationException("AddFhirSecurity goes after the store is registered (AddFhirServer)");
        services.Remove(descriptor);
        services.AddSingleton<IResourceStore>(sp =>
        {
            var inner = descriptor.ImplementationInstance as IResourceStore
                        ?? (IResourceStore?)descriptor.ImplementationFactory?.Invoke(sp)
                        ?? (IResourceStore)ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!);
            return new SecuredResourceStore(inner, sp.GetRequiredService<AccessPolicy>());
        });
    }

    private static void AddEmbeddedServer(IServiceCollection services, AuthOptions options)
    {
        var embedded = options.Embedded;
        services.AddSingleton<SigningKeys>();
        services.AddSingleton<DemoUsers>();
        services.AddHostedService<ClientSeeder>();
        services.AddAntiforgery(antiforgery => antiforgery.Cookie.Name = "fhirrecovery.smart.antiforgery");
        services.AddDataProtection().SetApplicationName("FhirRecovery");
        services.AddOptions<KeyManagementOptions>().Configure<AuthDatabase>((o, database) => o.XmlRepository = new DatabaseXmlRepository(database));
        services.AddAuthentication().AddCookie(AuthorizationEndpoints.LoginScheme, cookie =>
        {
            cookie.Cookie.Name = "fhirrecovery.smart.login";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.LoginPath = "/smart/login";
            cookie.ExpireTimeSpan = embedded.LoginLifetime;
        });

        services.AddOpenIddict()
            .AddCore(core =>
            {
                core.SetDefaultApplicationEntity<StoredApplication>()
                    .SetDefaultAuthorizationEntity<StoredAuthorization>()
                    .SetDefaultTokenEntity<StoredToken>()
                    .SetDefaultScopeEntity<StoredScope>();
                core.ReplaceApplicationStore<StoredApplication, ApplicationStore>(ServiceLifetime.Singleton)
                    .ReplaceAuthorizationStore<StoredAuthorization, AuthorizationStore>(ServiceLifetime.Singleton)
                    .ReplaceTokenStore<StoredToken, TokenStore>(ServiceLifetime.Singleton)
                    .ReplaceScopeStore<StoredScope, ScopeStore>(ServiceLifetime.Singleton)
                    .ReplaceApplicationManager<StoredApplication, SmartApplicationManager>();
            })
            .AddServer(server =>
            {
                server.SetAuthorizationEndpointUris("connect/authorize")
                    .SetTokenEndpointUris("connect/token")
                    .SetRevocationEndpointUris("connect/revoke")
                    .SetIntrospectionEndpointUris("connect/introspect")
                    .SetJsonWebKeySetEndpointUris(".well-known/jwks")
                    .SetConfigurationEndpointUris(".well-known/openid-configuration");
                server.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow().AllowClientCredentialsFlow();
                server.RequireProofKeyForCodeExchange();
                // Access tokens are plain signed JWTs (RS256): any resource server can validate them with the JWKS.
                server.DisableAccessTokenEncryption();
                // SMART scopes are open-ended (every type × permission × constraint): checked by ScopeGrants, not registered.
                server.DisableScopeValidation().IgnoreScopePermissions().IgnoreAudiencePermissions().IgnoreResourcePermissions();
                server.SetAccessTokenLifetime(embedded.AccessTokenLifetime)
                    .SetRefreshTokenLifetime(embedded.RefreshTokenLifetime)
                    .SetAuthorizationCodeLifetime(embedded.AuthorizationCodeLifetime);
                if (embedded.Issuer is { Length: > 0 } issuer)
                {
                    server.SetIssuer(new Uri(issuer));
                }

                SmartClientAssertions.Register(server);
                server.Configure(o =>
                {
                    o.CodeChallengeMethods.Clear();
                    o.CodeChallengeMethods.Add(CodeChallengeMethods.Sha256);
                });
                var aspnet = server.UseAspNetCore().EnableAuthorizationEndpointPassthrough().EnableTokenEndpointPassthrough();
                if (embedded.AllowHttp)
                {
                    aspnet.DisableTransportSecurityRequirement();
                }
            });
        services.AddOptions<OpenIddictServerOptions>().Configure<SigningKeys>((server, keys) =>
        {
            server.SigningCredentials.Add(new SigningCredentials(keys.Signing, SecurityAlgorithms.RsaSha256));
            server.EncryptionCredentials.Add(new EncryptingCredentials(keys.Encryption, SecurityAlgorithms.RsaOAEP, SecurityAlgorithms.Aes256CbcHmacSha512));
        });
    }
}

/// <summary>Says at start-up how the API is protected; with Auth:Mode=None, loudly.</summary>
internal sealed class AuthModeAnnouncer(IOptions<AuthOptions> options, ILogger<AuthModeAnnouncer> logger) : IHostedService
{
    public System.Threading.Tasks.Task StartAsync(CancellationToken cancellationToken)
    {
        var auth = options.Value;
        if (auth.Mode == AuthMode.None)
        {
            logger.LogWarning("SECURITY IS OFF (Auth:Mode=None): the FHIR API accepts anonymous reads and writes of everything. Use only for local experiments.");
        }
        else
        {
            logger.LogInformation("SMART on FHIR security on: embedded authorization server {Embedded}, external authority {Authority}, {Trusted} trusted issuer(s)",
                SecuritySetup.EmbeddedEnabled(auth) ? "on" : "off", auth.Authority ?? (auth.AzureAdConfigured ? "Microsoft Entra ID" : "none"), auth.TrustedIssuers.Count);
        }

        return System.Threading.Tasks.Task.CompletedTask;
    }

    public System.Threading.Tasks.Task StopAsync(CancellationToken cancellationToken) => System.Threading.Tasks.Task.CompletedTask;
}

/// <summary>Registers the configured clients (<c>Auth:Embedded:Clients</c>) in the shared database at start-up.</summary>
internal sealed class ClientSeeder(IOptions<AuthOptions> options, ClientRegistry registry, ILogger<ClientSeeder> logger) : IHostedService
{
    public async System.Threading.Tasks.Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var client in options.Value.Embedded.Clients)
        {
            await registry.UpsertAsync(client, cancellationToken);
            logger.LogInformation("SMART client {ClientId} registered from configuration", client.ClientId);
        }
    }

    public System.Threading.Tasks.Task StopAsync(CancellationToken cancellationToken) => System.Threading.Tasks.Task.CompletedTask;
}

/// <summary>OpenIddict's application manager with this server's client secret hashing (<see cref="ClientSecretHasher"/>), shared with the CLI.</summary>
public sealed class SmartApplicationManager(
    OpenIddict.Abstractions.IOpenIddictApplicationCache<StoredApplication> cache,
    ILogger<OpenIddict.Core.OpenIddictApplicationManager<StoredApplication>> logger,
    IOptionsMonitor<OpenIddict.Core.OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<StoredApplication> store)
    : OpenIddict.Core.OpenIddictApplicationManager<StoredApplication>(cache, logger, options, store)
{
    protected override ValueTask<string> ObfuscateClientSecretAsync(string secret, CancellationToken cancellationToken = default) =>
        new(ClientSecretHasher.Hash(secret));

    protected override ValueTask<bool> ValidateClientSecretAsync(string secret, string comparand, CancellationToken cancellationToken = default) =>
        new(ClientSecretHasher.Verify(secret, comparand));
}
