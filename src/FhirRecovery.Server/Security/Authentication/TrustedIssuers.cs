using System.Collections.Concurrent;
using System.Text;
using FhirRecovery.Server.Configuration;
using FhirRecovery.Server.Security.Embedded;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace FhirRecovery.Server.Security.Authentication;

/// <summary>
/// The issuers whose tokens this server validates itself (without an OIDC metadata document): the embedded SMART server
/// and the configured trusted issuers, with their keys (JWKS file or URL, or a shared secret) and audiences.
/// </summary>
public sealed class TrustedIssuers
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(5);

    private readonly AuthOptions _options;
    private readonly IServiceProvider _services;
    private readonly IHttpContextAccessor _http;
    private readonly IOptionsMonitor<FhirServerOptions> _fhir;
    private readonly IHostEnvironment _environment;
    private readonly IHttpClientFactory _httpClients;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<string, (IReadOnlyList<SecurityKey> Keys, DateTimeOffset LoadedAt)> _jwks = new(StringComparer.Ordinal);

    public TrustedIssuers(IOptions<AuthOptions> options, IServiceProvider services, IHttpContextAccessor http, IOptionsMonitor<FhirServerOptions> fhir,
        IHostEnvironment environment, IHttpClientFactory httpClients, TimeProvider clock)
    {
        _options = options.Value;
        _services = services;
        _http = http;
        _fhir = fhir;
        _environment = environment;
        _httpClients = httpClients;
        _clock = clock;
    }

    /// <summary>Whether the embedded authorization server runs (its issuer is then trusted).</summary>
    public bool EmbeddedEnabled => SecuritySetup.EmbeddedEnabled(_options);

    /// <summary>The embedded server's issuer for the current request (configured, or the request's origin as OpenIddict derives it).</summary>
    public string? EmbeddedIssuer()
    {
        if (!EmbeddedEnabled)
        {
            return null;
        }

        if (_options.Embedded.Issuer is { Length: > 0 } configured)
        {
            return configured.EndsWith('/') ? configured : configured + "/";
        }

        return _http.HttpContext?.Request is { } request ? $"{request.Scheme}://{request.Host}{request.PathBase}/" : null;
    }

    /// <summary>The FHIR base URL of the current request: the audience SMART clients ask tokens for.</summary>
    public string? FhirBaseUrl()
    {
        if (_fhir.CurrentValue.PublicBaseUrl is { Length: > 0 } configured)
        {
            return configured.TrimEnd('/');
        }

        return _http.HttpContext?.Request is { } request ? $"{request.Scheme}://{request.Host}{request.PathBase}/fhir" : null;
    }

    public string ValidateIssuer(string issuer, SecurityToken token, TokenValidationParameters parameters)
    {
        if (_options.TrustedIssuers.Any(t => t.Issuer == issuer) || (EmbeddedIssuer() is { } embedded && embedded == issuer))
        {
            return issuer;
        }

        throw new SecurityTokenInvalidIssuerException($"The issuer '{issuer}' is not trusted by this server") { InvalidIssuer = issuer };
    }

    public bool ValidateAudience(IEnumerable<string> audiences, SecurityToken token, TokenValidationParameters parameters)
    {
        var accepted = new HashSet<string>(_options.Audiences, StringComparer.Ordinal);
        if (FhirBaseUrl() is { } fhirBase)
        {
            accepted.Add(fhirBase);
            accepted.Add(fhirBase + "/");
        }

        if (token is Microsoft.IdentityModel.JsonWebTokens.JsonWebToken jwt && _options.TrustedIssuers.FirstOrDefault(t => t.Issuer == jwt.Issuer) is { } trusted)
        {
            accepted.UnionWith(trusted.Audiences);
        }

        return audiences.Any(accepted.Contains)
            ? true
            : throw new SecurityTokenInvalidAudienceException($"The token is for '{string.Join(", ", audiences)}', not for this FHIR server ({FhirBaseUrl()})");
    }

    /// <summary>The keys that may have signed a token of <paramref name="issuer"/> (unknown issuers have none).</summary>
    public IEnumerable<SecurityKey> KeysFor(string? issuer, string? kid)
    {
        if (issuer is null)
        {
            return [];
        }

        if (EmbeddedIssuer() == issuer)
        {
            return [_services.GetRequiredService<SigningKeys>().Signing];
        }

        var trusted = _options.TrustedIssuers.FirstOrDefault(t => t.Issuer == issuer);
        if (trusted is null)
        {
            return [];
        }

        var keys = new List<SecurityKey>();
        if (trusted.SymmetricKey is { Length: > 0 } secret)
        {
            keys.Add(new SymmetricSecurityKey(Convert.FromBase64String(secret)));
        }

        if (trusted.JwksPath is { Length: > 0 } || trusted.JwksUri is { Length: > 0 })
        {
            keys.AddRange(JwksKeys(trusted, kid));
        }

        return keys;
    }

    private IReadOnlyList<SecurityKey> JwksKeys(TrustedIssuerOptions trusted, string? kid)
    {
        var now = _clock.GetUtcNow();
        if (_jwks.TryGetValue(trusted.Issuer, out var cached)
            && (kid is null || cached.Keys.Any(k => k.KeyId == kid) || now - cached.LoadedAt < RefreshInterval))
        {
            return cached.Keys;
        }

        // Unknown key id: the issuer may have rotated its keys; reload (at most every few minutes per issuer).
        string json;
        if (trusted.JwksPath is { Length: > 0 } path)
        {
            json = File.ReadAllText(Path.IsPathRooted(path) ? path : Path.Combine(_environment.ContentRootPath, path), Encoding.UTF8);
        }
        else
        {
            using var client = _httpClients.CreateClient("smart-jwks");
            using var response = client.Send(new HttpRequestMessage(HttpMethod.Get, trusted.JwksUri));
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(response.Content.ReadAsStream());
            json = reader.ReadToEnd();
        }

        var keys = new JsonWebKeySet(json).GetSigningKeys().ToList();
        _jwks[trusted.Issuer] = (keys, now);
        return keys;
    }
}
