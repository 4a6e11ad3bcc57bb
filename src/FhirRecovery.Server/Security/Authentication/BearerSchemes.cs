using System.IdentityModel.Tokens.Jwt;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Web;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirRecovery.Server.Security.Authentication;

/// <summary>
/// The bearer token schemes. <see cref="Bearer"/> looks at the token's issuer (unvalidated) and hands it to the scheme
/// that knows that issuer: Microsoft Entra ID (Microsoft.Identity.Web), a configured OIDC authority (JwtBearer with its
/// metadata), or the issuers validated locally (the embedded SMART server and the trusted issuers, see
/// <see cref="TrustedIssuers"/>). Every scheme validates signature, issuer, audience and lifetime; none accepts alg=none.
/// </summary>
public static class BearerSchemes
{
    public const string Bearer = "smart-bearer";
    public const string Local = "smart-local";
    public const string Authority = "smart-authority";
    public const string Entra = "smart-entra";

    /// <summary>Signature algorithms accepted (asymmetric, plus HS256 for trusted issuers configured with a shared secret).</summary>
    public static readonly string[] Algorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
        SecurityAlgorithms.HmacSha256,
    ];

    public static void Add(IServiceCollection services, IConfiguration configuration, AuthOptions options)
    {
        var authentication = services.AddAuthentication();
        var entra = !string.IsNullOrEmpty(configuration[$"{AuthOptions.AzureAdSection}:ClientId"]);
        var authority = !string.IsNullOrEmpty(options.Authority);

        authentication.AddPolicyScheme(Bearer, "SMART bearer token", policy =>
            policy.ForwardDefaultSelector = http => Select(http, options, entra, authority));

        authentication.AddJwtBearer(Local, _ => { });
        services.AddOptions<JwtBearerOptions>(Local).Configure<TrustedIssuers, IOptions<AuthOptions>>((bearer, trusted, auth) =>
        {
            bearer.MapInboundClaims = false;
            bearer.RequireHttpsMetadata = false;
            bearer.TokenValidationParameters = Parameters(auth.Value);
            bearer.TokenValidationParameters.IssuerValidator = trusted.ValidateIssuer;
            bearer.TokenValidationParameters.AudienceValidator = trusted.ValidateAudience;
            bearer.TokenValidationParameters.IssuerSigningKeyResolver = (_, token, kid, _) =>
                trusted.KeysFor((token as JsonWebToken)?.Issuer ?? (token as JwtSecurityToken)?.Issuer, kid);
        });

        if (authority)
        {
            // A generic OpenID Connect authority: plain JwtBearer. (Microsoft.Identity.Web would rewrite a non-Entra
            // authority to ".../v2.0" and apply Entra's issuer rules.)
            authentication.AddJwtBearer(Authority, bearer =>
            {
                bearer.Authority = options.Authority;
                bearer.MetadataAddress = options.MetadataAddress ?? $"{options.Authority!.TrimEnd('/')}/.well-known/openid-configuration";
                bearer.RequireHttpsMetadata = options.RequireHttpsMetadata;
                bearer.MapInboundClaims = false;
                bearer.TokenValidationParameters = Parameters(options);
            });
            services.AddOptions<JwtBearerOptions>(Authority).Configure<TrustedIssuers>((bearer, trusted) =>
            {
                bearer.TokenValidationParameters.ValidIssuer = options.Authority!.TrimEnd('/');
                bearer.TokenValidationParameters.ValidIssuers = [options.Authority!.TrimEnd('/'), options.Authority!.TrimEnd('/') + "/"];
                bearer.TokenValidationParameters.AudienceValidator = trusted.ValidateAudience;
            });
        }

        if (entra)
        {
            authentication.AddMicrosoftIdentityWebApi(configuration.GetSection(AuthOptions.AzureAdSection), jwtBearerScheme: Entra);
            services.Configure<JwtBearerOptions>(Entra, bearer =>
            {
                // SMART scopes must reach us as they are written ("scp"), not remapped to the long claim URIs.
                bearer.MapInboundClaims = false;
                bearer.TokenValidationParameters.ClockSkew = options.ClockSkew;
                bearer.TokenValidationParameters.ValidAlgorithms = Algorithms;
                if (options.Audiences.Count > 0)
                {
                    bearer.TokenValidationParameters.ValidAudiences = [.. bearer.TokenValidationParameters.ValidAudiences ?? [], .. options.Audiences];
                }
            });
        }
    }

    private static TokenValidationParameters Parameters(AuthOptions options) => new()
    {
        ValidateIssuer = true,
        ValidateAudience = true,
        ValidateLifetime = true,
        ValidateIssuerSigningKey = true,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ClockSkew = options.ClockSkew,
        ValidAlgorithms = Algorithms,
        NameClaimType = "sub",
    };

    /// <summary>Which scheme validates the token: by its (not yet validated) issuer.</summary>
    private static string Select(HttpContext http, AuthOptions options, bool entra, bool authority)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Local;
        }

        string? issuer;
        try
        {
            issuer = new JsonWebToken(header["Bearer ".Length..].Trim()).Issuer;
        }
        catch (ArgumentException)
        {
            return Local; // not a JWT at all: the local scheme answers why
        }

        if (authority && issuer is not null && issuer.TrimEnd('/') == options.Authority!.TrimEnd('/'))
        {
            return Authority;
        }

        if (entra && issuer is not null && (issuer.StartsWith("https://login.microsoftonline.com/", StringComparison.OrdinalIgnoreCase)
                                            || issuer.StartsWith("https://sts.windows.net/", StringComparison.OrdinalIgnoreCase)))
        {
            return Entra;
        }

        return Local;
    }

    /// <summary>A sentence for the 401 answer saying what is wrong with the token (never echoing it).</summary>
    public static string Describe(Exception? failure) => failure switch
    {
        SecurityTokenExpiredException => "The access token has expired",
        SecurityTokenNotYetValidException => "The access token is not valid yet",
        SecurityTokenInvalidAudienceException => "The access token is not for this server (audience)",
        SecurityTokenInvalidIssuerException => "The access token's issuer is not trusted",
        SecurityTokenSignatureKeyNotFoundException => "The access token's signature cannot be verified (unknown key or issuer)",
        SecurityTokenInvalidSignatureException => "The access token's signature is not valid",
        SecurityTokenInvalidAlgorithmException => "The access token's signature algorithm is not accepted",
        SecurityTokenNoExpirationException => "The access token has no expiry",
        SecurityTokenMalformedException or ArgumentException => "The access token is not a well-formed JWT",
        SecurityTokenException => "The access token is not valid",
        null => "The access token is not valid",
        _ => "The access token could not be validated",
    };
}

/// <summary>Whether an authentication result failed because no token was sent at all.</summary>
internal static class AuthenticateResults
{
    public static bool IsMissingToken(this AuthenticateResult result) => result.None;
}
