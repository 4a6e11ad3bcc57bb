using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace FhirRecovery.Server.Tests.Security;

/// <summary>
/// A server that trusts an external OpenID Connect authority (found through its discovery document) and a trusted
/// issuer whose keys are published at a JWKS URL. Both are played by a small web server on loopback that publishes the
/// test key (<see cref="TestTokens.PublicJwks"/>); the tokens are minted with it.
/// </summary>
public sealed class ExternalAuthorityFixture : SqliteServerFixture
{
    private readonly WebApplication _authority;

    public ExternalAuthorityFixture()
    {
        var port = FreePort();
        Authority = $"http://127.0.0.1:{port}/realms/recovery";
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        _authority = builder.Build();
        _authority.MapGet("/realms/recovery/.well-known/openid-configuration", () => Results.Text(new JsonObject
        {
            ["issuer"] = Authority,
            ["jwks_uri"] = $"{Authority}/protocol/openid-connect/certs",
            ["authorization_endpoint"] = $"{Authority}/protocol/openid-connect/auth",
            ["token_endpoint"] = $"{Authority}/protocol/openid-connect/token",
        }.ToJsonString(), "application/json"));
        _authority.MapGet("/realms/recovery/protocol/openid-connect/certs", () => Results.Text(TestTokens.PublicJwks(), "application/json"));
        _authority.MapGet("/published/jwks.json", () => Results.Text(TestTokens.PublicJwks(), "application/json"));
        _authority.StartAsync().GetAwaiter().GetResult();
        JwksUrl = $"http://127.0.0.1:{port}/published/jwks.json";
    }

    public string Authority { get; }

    public string JwksUrl { get; }

    public const string JwksUrlIssuer = "https://jwks-url.test.fhirrecovery.org";

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Auth:Mode"] = "Smart";
        settings["Auth:Authority"] = Authority;
        settings["Auth:RequireHttpsMetadata"] = "false";
        settings["Auth:TrustedIssuers:0:Issuer"] = JwksUrlIssuer;
        settings["Auth:TrustedIssuers:0:JwksUri"] = JwksUrl;
        return settings;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _authority.DisposeAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Tokens of an external OIDC authority and of a JWKS-URL issuer are validated like any other; the embedded server stays off.</summary>
public sealed class ExternalAuthorityTests(ExternalAuthorityFixture fixture) : IClassFixture<ExternalAuthorityFixture>
{
    private const string Scopes = "system/*.rs";

    [StoreFact]
    public async Task Tokens_of_the_configured_authority_are_accepted_and_forgeries_refused()
    {
        await (await fixture.ClientWith(TestTokens.Mint(Scopes, issuer: fixture.Authority)).GetAsync("Patient?_count=1")).AssertStatusAsync(HttpStatusCode.OK);

        foreach (var (name, token) in new[]
                 {
                     ("signed with another key", TestTokens.Mint(Scopes, issuer: fixture.Authority, key: TestTokens.ForeignKey)),
                     ("for another audience", TestTokens.Mint(Scopes, issuer: fixture.Authority, audience: "https://elsewhere.example.org/fhir")),
                     ("expired", TestTokens.Mint(Scopes, issuer: fixture.Authority, expires: DateTime.UtcNow.AddMinutes(-10), notBefore: DateTime.UtcNow.AddMinutes(-20))),
                     ("from an issuer nobody configured", TestTokens.Mint(Scopes, issuer: fixture.Authority + "-other")),
                 })
        {
            var response = await fixture.ClientWith(token).GetAsync("Patient?_count=1");
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }

    [StoreFact]
    public async Task A_trusted_issuer_is_checked_against_the_keys_at_its_jwks_url()
    {
        await (await fixture.ClientWith(TestTokens.Mint(Scopes, issuer: ExternalAuthorityFixture.JwksUrlIssuer)).GetAsync("Patient?_count=1"))
            .AssertStatusAsync(HttpStatusCode.OK);
        var forged = await fixture.ClientWith(TestTokens.Mint(Scopes, issuer: ExternalAuthorityFixture.JwksUrlIssuer, key: TestTokens.ForeignKey)).GetAsync("Patient?_count=1");
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
    }

    [StoreFact]
    public async Task With_an_external_authority_the_embedded_server_is_off_and_discovery_points_to_the_authority()
    {
        var document = JsonNode.Parse(await (await fixture.ClientWith(null).GetAsync(".well-known/smart-configuration")).Content.ReadAsStringAsync())!;
        Assert.Equal(fixture.Authority, document["issuer"]!.GetValue<string>());
        Assert.StartsWith(fixture.Authority, document["token_endpoint"]!.GetValue<string>(), StringComparison.Ordinal);

        var token = await fixture.Factory.CreateClient().PostAsync("/connect/token", new FormUrlEncodedContent([new("grant_type", "client_credentials")]));
        Assert.Equal(HttpStatusCode.NotFound, token.StatusCode);
    }
}
