using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using FhirRecovery.Server.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirRecovery.Server.Tests.Security;

/// <summary>
/// Test tokens: real RS256 and HS256 JWTs, signed with keys the test server trusts through configuration
/// (<c>Auth:TrustedIssuers</c>: a JWKS file for RS256, a shared secret for HS256). The server validates them exactly as it
/// validates any token: signature, issuer, audience, lifetime.
/// </summary>
public static class TestTokens
{
    public const string Issuer = "https://issuer.test.fhirrecovery.org";
    public const string SymmetricIssuer = "https://hs256.test.fhirrecovery.org";
    public const string Audience = "http://localhost/fhir";

    private static readonly RSA Rsa = RSA.Create(2048);
    public static readonly RsaSecurityKey Key = new(Rsa) { KeyId = "test-key-1" };
    public static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);

    /// <summary>A key nobody trusts (for bad-signature tests), with the trusted key's id.</summary>
    public static readonly RsaSecurityKey ForeignKey = new(RSA.Create(2048)) { KeyId = "test-key-1" };

    /// <summary>The test key's public half as a JWKS document.</summary>
    public static string PublicJwks()
    {
        var parameters = Rsa.ExportParameters(false);
        return JsonSerializer.Serialize(new
        {
            keys = new[]
            {
                new { kty = "RSA", use = "sig", alg = "RS256", kid = Key.KeyId, n = Base64UrlEncoder.Encode(parameters.Modulus), e = Base64UrlEncoder.Encode(parameters.Exponent) },
            },
        });
    }

    private static readonly Lazy<string> JwksFile = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"fhirrecovery-test-jwks-{Environment.ProcessId}.json");
        File.WriteAllText(path, PublicJwks());
        return path;
    });

    /// <summary>The settings that make a test server trust these tokens (and switch SMART security on).</summary>
    public static Dictionary<string, string?> Settings() => new()
    {
        ["Auth:Mode"] = "Smart",
        ["Auth:TrustedIssuers:0:Issuer"] = Issuer,
        ["Auth:TrustedIssuers:0:JwksPath"] = JwksFile.Value,
        ["Auth:TrustedIssuers:1:Issuer"] = SymmetricIssuer,
        ["Auth:TrustedIssuers:1:SymmetricKey"] = Convert.ToBase64String(Secret),
    };

    /// <summary>A token with the given scopes (space-separated) and launch context.</summary>
    public static string Mint(string scopes, string? patient = null, string? fhirUser = null, string clientId = "test-client",
        string issuer = Issuer, string audience = Audience, DateTime? expires = null, DateTime? notBefore = null, SecurityKey? key = null,
        string algorithm = SecurityAlgorithms.RsaSha256, bool withExpiry = true)
    {
        var claims = new Dictionary<string, object>
        {
            ["scope"] = scopes,
            ["client_id"] = clientId,
            ["sub"] = fhirUser ?? clientId,
        };
        if (patient is not null)
        {
            claims["patient"] = patient;
        }

        if (fhirUser is not null)
        {
            claims["fhirUser"] = fhirUser;
        }

        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = (notBefore ?? now).AddSeconds(-1),
            NotBefore = notBefore ?? now.AddSeconds(-1),
            Expires = withExpiry ? expires ?? now.AddMinutes(10) : null,
            SigningCredentials = new SigningCredentials(key ?? (algorithm == SecurityAlgorithms.HmacSha256 ? new SymmetricSecurityKey(Secret) : Key), algorithm),
        };
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = withExpiry };
        return handler.CreateToken(descriptor);
    }

    /// <summary>An unsigned token (alg=none) with otherwise valid claims.</summary>
    public static string Unsigned(string scopes)
    {
        static string Part(object value) => Base64UrlEncoder.Encode(JsonSerializer.SerializeToUtf8Bytes(value));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return $"{Part(new { alg = "none", typ = "JWT" })}.{Part(new { iss = Issuer, aud = Audience, scope = scopes, exp = now + 600, nbf = now - 1, iat = now - 1, sub = "x" })}.";
    }

    public static HttpClient WithToken(this HttpClient client, string? token)
    {
        client.DefaultRequestHeaders.Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>A client of the fixture's server sending the given bearer token (null: none).</summary>
    public static HttpClient ClientWith(this FhirServerFixture fixture, string? token) =>
        fixture.Factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions
            { AllowAutoRedirect = false, BaseAddress = new Uri("http://localhost/fhir/") }).WithToken(token);
}

/// <summary>A server with SMART security on, trusting <see cref="TestTokens"/>; audit and provenance on.</summary>
public static class SmartSettings
{
    public static Dictionary<string, string?> Apply(Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in TestTokens.Settings())
        {
            settings[key] = value;
        }

        // The embedded authorization server's test client, backend service and user (after the appsettings ones).
        settings["Auth:Embedded:Clients:1:ClientId"] = "test-app";
        settings["Auth:Embedded:Clients:1:RedirectUris:0"] = "http://localhost/callback";
        settings["Auth:Embedded:Clients:1:LaunchUri"] = "http://localhost/launch";
        settings["Auth:Embedded:Clients:2:ClientId"] = "test-backend";
        settings["Auth:Embedded:Clients:2:Jwks"] = TestTokens.PublicJwks();
        settings["Auth:Embedded:Clients:2:Scopes:0"] = "system/*.rs";
        settings["Auth:Embedded:Clients:3:ClientId"] = "test-secret-backend";
        settings["Auth:Embedded:Clients:3:ClientSecret"] = "s3cret-for-tests";
        settings["Auth:Embedded:Clients:3:Scopes:0"] = "system/Patient.rs";
        settings["Auth:Embedded:Users:3:Username"] = "tester";
        settings["Auth:Embedded:Users:3:Password"] = "tester-password";
        settings["Auth:Embedded:Users:3:FhirUser"] = "Practitioner/tester";
        settings["Auth:Embedded:Users:3:Patients:0"] = "*";
        settings["Audit:Enabled"] = "true";
        settings["Provenance:Enabled"] = "true";
        settings["Audit:FlushIntervalMilliseconds"] = "100";
        settings["Audit:JournalPath"] = Path.Combine(Path.GetTempPath(), $"fhirrecovery-audit-{Guid.NewGuid():N}");
        return settings;
    }
}

public class SqliteSmartFixture : SqliteServerFixture
{
    protected override Dictionary<string, string?> Settings() => SmartSettings.Apply(base.Settings());
}

public class PostgreSqlSmartFixture : PostgreSqlServerFixture
{
    protected override Dictionary<string, string?> Settings() => SmartSettings.Apply(base.Settings());
}
