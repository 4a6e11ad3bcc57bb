using System.Security.Cryptography;
using System.Text.Json;
using FhirRecovery.Conformance;
using FhirRecovery.TestKit.Auth;
using FhirRecovery.TestKit.Running;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace FhirRecovery.TestKit.Tests;

/// <summary>
/// The FhirRecovery server in-process as CI runs it for the kit: SQLite in a file of its own, SMART on with the embedded
/// authorization server (the kit's Backend Services client registered with its public key), a trusted test issuer for
/// patient-confined tokens, and optionally one fault switched on.
/// </summary>
public sealed class KitServer : IAsyncDisposable
{
    public const string ClientId = "testkit-backend";
    public const string Audience = "http://localhost/fhir";
    private const string PatientIssuer = "https://patient-issuer.testkit.fhirrecovery.org";

    /// <summary>The engine indexes thousands of definitions: one per test process, shared by the servers and the kit.</summary>
    public static readonly Lazy<ConformanceEngine> Engine = new(() => ConformanceEngine.Create(), LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly RSA ClientKey = RSA.Create(2048);
    private static readonly RSA IssuerKey = RSA.Create(2048);
    private readonly WebApplicationFactory<Program> _factory;
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"fhirrecovery-testkit-{Guid.NewGuid():N}.db");
    private readonly string _issuerJwks = Path.Combine(Path.GetTempPath(), $"fhirrecovery-testkit-issuer-{Guid.NewGuid():N}.json");

    private KitServer(string? fault)
    {
        File.WriteAllText(_issuerJwks, Jwks(IssuerKey, "issuer-key", "RS256", includePrivate: false));
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "Sqlite",
            ["Storage:ConnectionString"] = $"Data Source={_database}",
            ["Samples:LoadWhenEmpty"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:Console:FormatterName"] = "simple",
            ["Audit:Enabled"] = "false",
            ["Provenance:Enabled"] = "false",
            ["Auth:Mode"] = "Smart",
            ["Auth:TrustedIssuers:0:Issuer"] = PatientIssuer,
            ["Auth:TrustedIssuers:0:JwksPath"] = _issuerJwks,
            ["Auth:Embedded:Clients:1:ClientId"] = ClientId,
            ["Auth:Embedded:Clients:1:Jwks"] = Jwks(ClientKey, "kit-key", "RS384", includePrivate: false),
            ["Auth:Embedded:Clients:1:Scopes:0"] = "system/*.cruds",
            ["Auth:Embedded:Clients:1:Scopes:1"] = "system/*.rs",
            ["Auth:Embedded:Clients:1:Scopes:2"] = "system/Patient.rs",
        };
        if (fault is not null)
        {
            settings[$"Faults:{fault}"] = "true";
        }

        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            foreach (var (key, value) in settings)
            {
                host.UseSetting(key, value);
            }

            host.ConfigureTestServices(services => services.AddSingleton(Engine.Value));
        });
    }

    public static async Task<KitServer> StartAsync(string? fault = null)
    {
        var server = new KitServer(fault);
        using var client = server._factory.CreateClient();
        var ready = await client.GetAsync("/readyz");
        if (!ready.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"the server is not ready: {await ready.Content.ReadAsStringAsync()}");
        }

        return server;
    }

    /// <summary>The kit's private key as a JWK file's content (what <c>--key</c> reads).</summary>
    public static string PrivateJwk() => Jwks(ClientKey, "kit-key", "RS384", includePrivate: true);

    public HttpMessageHandler Handler() => _factory.Server.CreateHandler();

    /// <summary>A token of the trusted test issuer confined to one patient (as a SMART patient launch would give).</summary>
    public static string PatientToken(string patientId)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = PatientIssuer,
            Audience = Audience,
            Claims = new Dictionary<string, object> { ["scope"] = "patient/*.rs", ["patient"] = patientId, ["client_id"] = "testkit-patient-app", ["sub"] = $"Patient/{patientId}" },
            NotBefore = now.AddSeconds(-5),
            Expires = now.AddMinutes(30),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(IssuerKey) { KeyId = "issuer-key" }, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>The kit's settings for this server: Backend Services credentials and a patient token; the suites given.</summary>
    public KitSettings Settings(params string[] suites) => new()
    {
        Server = new Uri(Audience),
        ClientId = ClientId,
        PrivateKeyJwk = PrivateJwk(),
        PatientToken = PatientToken("kit-confined-" + Guid.NewGuid().ToString("N")[..8]),
        Suites = suites,
        Handler = Handler(),
        ExportTimeout = TimeSpan.FromSeconds(60),
    };

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm", _issuerJwks })
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
                // A leftover temporary file is harmless.
            }
        }
    }

    private static string Jwks(RSA rsa, string kid, string alg, bool includePrivate)
    {
        var p = rsa.ExportParameters(includePrivate);
        var key = new Dictionary<string, string> { ["kty"] = "RSA", ["kid"] = kid, ["alg"] = alg, ["use"] = "sig", ["n"] = B(p.Modulus), ["e"] = B(p.Exponent) };
        if (includePrivate)
        {
            key["d"] = B(p.D);
            key["p"] = B(p.P);
            key["q"] = B(p.Q);
            key["dp"] = B(p.DP);
            key["dq"] = B(p.DQ);
            key["qi"] = B(p.InverseQ);
        }

        return JsonSerializer.Serialize(new { keys = new[] { key } });

        static string B(byte[]? bytes) => ClientAssertion.Base64Url(bytes ?? []);
    }
}
