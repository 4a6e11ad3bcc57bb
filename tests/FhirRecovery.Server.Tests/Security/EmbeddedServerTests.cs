using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Security;

/// <summary>
/// The embedded SMART authorization server over HTTP (the browser-driven test is in FhirRecovery.SmartApp.Tests):
/// discovery, standalone launch (login, patient picker, consent, code + PKCE), EHR launch, refresh tokens, and SMART
/// Backend Services (client_credentials with private_key_jwt).
/// </summary>
public abstract partial class EmbeddedServerTests(FhirServerFixture fixture)
{
    private const string RedirectUri = "http://localhost/callback";

    private HttpClient Browser() => fixture.Factory.CreateClient(new WebApplicationFactoryClientOptions
    {
        AllowAutoRedirect = false,
        HandleCookies = true,
        BaseAddress = new Uri("http://localhost/"),
    });

    private async Task<string> SeedPatientAsync()
    {
        var admin = fixture.ClientWith(TestTokens.Mint("system/*.cruds"));
        var patient = Patient(family: "Launchperson");
        patient.Id = Unique("launch");
        await (await admin.PutAsync($"Patient/{patient.Id}", patient)).AssertStatusAsync(HttpStatusCode.Created);
        await (await admin.PostAsync("Goal", Goal($"Patient/{patient.Id}", "Own goal of the launched patient"))).AssertStatusAsync(HttpStatusCode.Created);
        var other = Patient(family: "Otherperson");
        other.Id = Unique("other");
        await (await admin.PutAsync($"Patient/{other.Id}", other)).AssertStatusAsync(HttpStatusCode.Created);
        await (await admin.PostAsync("Goal", Goal($"Patient/{other.Id}", "Goal of someone else"))).AssertStatusAsync(HttpStatusCode.Created);
        return patient.Id;
    }

    [StoreFact]
    public async Task Smart_configuration_and_capability_statement_say_what_is_supported()
    {
        var anonymous = fixture.ClientWith(null);
        var response = await anonymous.GetAsync(".well-known/smart-configuration");
        await response.AssertStatusAsync(HttpStatusCode.OK);
        var document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("http://localhost/connect/authorize", document["authorization_endpoint"]!.GetValue<string>());
        Assert.Equal("http://localhost/connect/token", document["token_endpoint"]!.GetValue<string>());
        var capabilities = document["capabilities"]!.AsArray().Select(c => c!.GetValue<string>()).ToList();
        Assert.Contains("launch-standalone", capabilities);
        Assert.Contains("launch-ehr", capabilities);
        Assert.Contains("client-confidential-asymmetric", capabilities);
        Assert.Contains("permission-v2", capabilities);
        Assert.Equal(["S256"], document["code_challenge_methods_supported"]!.AsArray().Select(c => c!.GetValue<string>()));

        // The authorization server's own metadata agrees.
        var oidc = JsonNode.Parse(await (await Browser().GetAsync(".well-known/openid-configuration")).Content.ReadAsStringAsync())!;
        Assert.Equal(document["token_endpoint"]!.GetValue<string>(), oidc["token_endpoint"]!.GetValue<string>());
        Assert.Equal(document["issuer"]!.GetValue<string>(), oidc["issuer"]!.GetValue<string>());
        foreach (var endpoint in new[] { "authorization_endpoint", "revocation_endpoint", "introspection_endpoint", "jwks_uri" })
        {
            Assert.Equal(document[endpoint]!.GetValue<string>(), oidc[endpoint]!.GetValue<string>());
        }

        // Nothing is advertised that the authorization server would refuse.
        foreach (var list in new[] { "grant_types_supported", "token_endpoint_auth_methods_supported", "response_types_supported", "code_challenge_methods_supported" })
        {
            var supported = oidc[list]!.AsArray().Select(v => v!.GetValue<string>()).ToHashSet();
            if (list == "token_endpoint_auth_methods_supported")
            {
                // RFC 8414 "none": public clients (PKCE, no authentication), which OpenIddict accepts without listing it.
                supported.Add("none");
            }

            Assert.All(document[list]!.AsArray().Select(v => v!.GetValue<string>()), v => Assert.True(supported.Contains(v), $"{list}: {v} is not supported"));
        }

        var statement = await (await anonymous.GetAsync("metadata")).ReadAsync<CapabilityStatement>();
        var security = statement.Rest[0].Security;
        Assert.Equal("SMART-on-FHIR", security.Service[0].Coding[0].Code);
        var uris = security.GetExtension("http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris");
        Assert.Equal("http://localhost/connect/authorize", uris.GetExtensionValue<FhirUri>("authorize").Value);
        Assert.Equal("http://localhost/connect/token", uris.GetExtensionValue<FhirUri>("token").Value);
    }

    [StoreFact]
    public async Task Standalone_launch_with_login_patient_picker_consent_and_pkce()
    {
        var patient = await SeedPatientAsync();
        var browser = Browser();
        var (verifier, challenge) = Pkce();
        var authorize = "connect/authorize?" + Query(new()
        {
            ["response_type"] = "code",
            ["client_id"] = "test-app",
            ["redirect_uri"] = RedirectUri,
            ["scope"] = "openid fhirUser launch/patient patient/*.rs offline_access",
            ["state"] = "state-123",
            ["aud"] = "http://localhost/fhir",
            ["code_challenge"] = challenge,
            ["code_challenge_method"] = "S256",
        });

        // Not signed in: the login page.
        var first = await browser.GetAsync(authorize);
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        Assert.StartsWith("/smart/login", first.Headers.Location!.OriginalString);
        var loginPage = await (await browser.GetAsync(first.Headers.Location)).Content.ReadAsStringAsync();
        var wrong = await browser.PostAsync("smart/login", Form(Hidden(loginPage), ("username", "tester"), ("password", "wrong")));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        var signIn = await browser.PostAsync("smart/login", Form(Hidden(loginPage), ("username", "tester"), ("password", "tester-password")));
        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);

        // Signed in: consent with the patient picker.
        var consent = await (await browser.GetAsync(signIn.Headers.Location)).Content.ReadAsStringAsync();
        Assert.Contains("patient-picker", consent);
        Assert.Contains($"value=\"{patient}\"", consent);
        var allowed = await browser.PostAsync("connect/authorize", Form(Hidden(consent), ("smart_patient", patient), ("smart_decision", "allow")));
        Assert.Equal(HttpStatusCode.Redirect, allowed.StatusCode);
        var callback = allowed.Headers.Location!;
        Assert.StartsWith(RedirectUri, callback.OriginalString);
        var parameters = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(callback.Query);
        Assert.Equal("state-123", parameters["state"]);
        var code = parameters["code"].ToString();

        // The code needs the PKCE verifier.
        var noVerifier = await browser.PostAsync("connect/token", Form(("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RedirectUri), ("client_id", "test-app")));
        Assert.Equal(HttpStatusCode.BadRequest, noVerifier.StatusCode);

        var (verifier2, challenge2) = Pkce();
        _ = (verifier2, challenge2);
        var tokenResponse = await browser.PostAsync("connect/token", Form(("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RedirectUri),
            ("client_id", "test-app"), ("code_verifier", verifier)));
        var tokenText = await tokenResponse.Content.ReadAsStringAsync();
        // A code is single-use: the failed attempt above (without verifier) already redeemed it, as OAuth requires.
        if (tokenResponse.StatusCode == HttpStatusCode.BadRequest)
        {
            Assert.Contains("invalid_grant", tokenText);
            (code, verifier) = await AuthorizeAgainAsync(browser, patient);
            tokenResponse = await browser.PostAsync("connect/token", Form(("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RedirectUri),
                ("client_id", "test-app"), ("code_verifier", verifier)));
            tokenText = await tokenResponse.Content.ReadAsStringAsync();
        }

        Assert.True(tokenResponse.IsSuccessStatusCode, tokenText);
        var token = JsonNode.Parse(tokenText)!;
        Assert.Equal(patient, token["patient"]!.GetValue<string>());
        Assert.Equal("Bearer", token["token_type"]!.GetValue<string>());
        Assert.Contains("patient/*.rs", token["scope"]!.GetValue<string>());
        Assert.NotNull(token["refresh_token"]);
        Assert.NotNull(token["id_token"]);
        var idToken = new JsonWebToken(token["id_token"]!.GetValue<string>());
        Assert.Equal("http://localhost/fhir/Practitioner/tester", idToken.GetClaim("fhirUser").Value);

        // The access token works on the FHIR API, confined to the chosen patient.
        var api = fixture.ClientWith(token["access_token"]!.GetValue<string>());
        var goals = await (await api.GetAsync("Goal")).ReadAsync<Bundle>();
        Assert.Contains(goals.Entry, e => e.Resource is Goal { Description.Text: "Own goal of the launched patient" });
        Assert.DoesNotContain(goals.Entry, e => e.Resource is Goal { Description.Text: "Goal of someone else" });

        // The code cannot be used twice.
        var reuse = await browser.PostAsync("connect/token", Form(("grant_type", "authorization_code"), ("code", code), ("redirect_uri", RedirectUri),
            ("client_id", "test-app"), ("code_verifier", verifier)));
        Assert.Equal(HttpStatusCode.BadRequest, reuse.StatusCode);
        Assert.Contains("invalid_grant", await reuse.Content.ReadAsStringAsync());

        // Refresh: a new access token with the same launch context.
        var refreshed = await browser.PostAsync("connect/token", Form(("grant_type", "refresh_token"), ("refresh_token", token["refresh_token"]!.GetValue<string>()),
            ("client_id", "test-app")));
        var refreshedText = await refreshed.Content.ReadAsStringAsync();
        Assert.True(refreshed.IsSuccessStatusCode, refreshedText);
        var renewed = JsonNode.Parse(refreshedText)!;
        Assert.Equal(patient, renewed["patient"]!.GetValue<string>());
        await (await fixture.ClientWith(renewed["access_token"]!.GetValue<string>()).GetAsync($"Patient/{patient}")).AssertStatusAsync(HttpStatusCode.OK);
    }

    private async Task<(string Code, string Verifier)> AuthorizeAgainAsync(HttpClient browser, string patient)
    {
        var (verifier, challenge) = Pkce();
        var consent = await (await browser.GetAsync("connect/authorize?" + Query(new()
        {
            ["response_type"] = "code", ["client_id"] = "test-app", ["redirect_uri"] = RedirectUri,
            ["scope"] = "openid fhirUser launch/patient patient/*.rs offline_access", ["state"] = "s2", ["aud"] = "http://localhost/fhir",
            ["code_challenge"] = challenge, ["code_challenge_method"] = "S256",
        }))).Content.ReadAsStringAsync();
        var allowed = await browser.PostAsync("connect/authorize", Form(Hidden(consent), ("smart_patient", patient), ("smart_decision", "allow")));
        var parameters = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(allowed.Headers.Location!.Query);
        return (parameters["code"].ToString(), verifier);
    }

    [StoreFact]
    public async Task Authorize_refuses_a_wrong_aud_a_missing_pkce_and_a_denial()
    {
        var browser = Browser();
        var (_, challenge) = Pkce();
        Dictionary<string, string> Request(string aud, bool pkce) => new()
        {
            ["response_type"] = "code", ["client_id"] = "test-app", ["redirect_uri"] = RedirectUri, ["scope"] = "patient/*.rs launch/patient",
            ["state"] = "s", ["aud"] = aud,
            ["code_challenge"] = pkce ? challenge : "", ["code_challenge_method"] = pkce ? "S256" : "",
        };

        var wrongAud = await browser.GetAsync("connect/authorize?" + Query(Request("https://other.example.org/fhir", pkce: true)));
        Assert.Equal(HttpStatusCode.Redirect, wrongAud.StatusCode);
        Assert.Contains("error=invalid_request", wrongAud.Headers.Location!.Query);

        var noPkce = await browser.GetAsync("connect/authorize?" + Query(Request("http://localhost/fhir", pkce: false)));
        await AssertInvalidRequestAsync(noPkce, "code_challenge");

        var plain = Request("http://localhost/fhir", pkce: true);
        plain["code_challenge_method"] = "plain";
        await AssertInvalidRequestAsync(await browser.GetAsync("connect/authorize?" + Query(plain)), "code_challenge_method");

        var login = await (await browser.GetAsync("smart/login")).Content.ReadAsStringAsync();
        await browser.PostAsync("smart/login", Form(Hidden(login), ("username", "tester"), ("password", "tester-password")));
        var consent = await (await browser.GetAsync("connect/authorize?" + Query(Request("http://localhost/fhir", pkce: true)))).Content.ReadAsStringAsync();
        var denied = await browser.PostAsync("connect/authorize", Form(Hidden(consent), ("smart_decision", "deny")));
        Assert.Contains("error=access_denied", denied.Headers.Location!.Query);
    }

    [StoreFact]
    public async Task Ehr_launch_puts_the_patient_chosen_in_the_ehr_in_context()
    {
        var patient = await SeedPatientAsync();
        var browser = Browser();
        var login = await (await browser.GetAsync("smart/login?returnUrl=/smart/ehr-launch")).Content.ReadAsStringAsync();
        var signIn = await browser.PostAsync("smart/login", Form(Hidden(login), ("username", "tester"), ("password", "tester-password")));
        var ehr = await (await browser.GetAsync(signIn.Headers.Location)).Content.ReadAsStringAsync();
        var launched = await browser.PostAsync("smart/ehr-launch", Form(Hidden(ehr), ("client_id", "test-app"), ("patient", patient)));
        Assert.Equal(HttpStatusCode.Redirect, launched.StatusCode);
        var launchUrl = launched.Headers.Location!;
        Assert.StartsWith("http://localhost/launch?iss=", launchUrl.OriginalString);
        var launch = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(launchUrl.Query)["launch"].ToString();

        var (verifier, challenge) = Pkce();
        var consent = await (await browser.GetAsync("connect/authorize?" + Query(new()
        {
            ["response_type"] = "code", ["client_id"] = "test-app", ["redirect_uri"] = RedirectUri, ["scope"] = "launch patient/*.rs",
            ["state"] = "s", ["aud"] = "http://localhost/fhir", ["launch"] = launch, ["code_challenge"] = challenge, ["code_challenge_method"] = "S256",
        }))).Content.ReadAsStringAsync();
        Assert.DoesNotContain("patient-picker", consent);
        Assert.Contains(patient, consent);
        var allowed = await browser.PostAsync("connect/authorize", Form(Hidden(consent), ("smart_decision", "allow")));
        var code = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(allowed.Headers.Location!.Query)["code"].ToString();
        var token = JsonNode.Parse(await (await browser.PostAsync("connect/token", Form(("grant_type", "authorization_code"), ("code", code),
            ("redirect_uri", RedirectUri), ("client_id", "test-app"), ("code_verifier", verifier)))).Content.ReadAsStringAsync())!;
        Assert.Equal(patient, token["patient"]!.GetValue<string>());

        // A forged launch handle is refused.
        var forged = await browser.GetAsync("connect/authorize?" + Query(new()
        {
            ["response_type"] = "code", ["client_id"] = "test-app", ["redirect_uri"] = RedirectUri, ["scope"] = "launch patient/*.rs",
            ["state"] = "s", ["aud"] = "http://localhost/fhir", ["launch"] = "forged", ["code_challenge"] = challenge, ["code_challenge_method"] = "S256",
        }));
        Assert.Contains("error=invalid_request", forged.Headers.Location!.Query);
    }

    [StoreFact]
    public async Task Backend_services_get_system_tokens_with_private_key_jwt()
    {
        var browser = Browser();
        var response = await browser.PostAsync("connect/token", Form(
            ("grant_type", "client_credentials"), ("scope", "system/*.rs system/*.cruds"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", ClientAssertion("test-backend", TestTokens.Key))));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var token = JsonNode.Parse(text)!;
        // Only what the client is registered for is granted.
        Assert.Equal("system/*.rs", token["scope"]!.GetValue<string>());
        var api = fixture.ClientWith(token["access_token"]!.GetValue<string>());
        await (await api.GetAsync("Patient?_count=1")).AssertStatusAsync(HttpStatusCode.OK);
        await (await api.PostAsync("Patient", Patient())).AssertOutcomeAsync(HttpStatusCode.Forbidden);

        // An assertion signed with another key is refused.
        var forged = await browser.PostAsync("connect/token", Form(
            ("grant_type", "client_credentials"), ("scope", "system/*.rs"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", ClientAssertion("test-backend", TestTokens.ForeignKey))));
        Assert.True(forged.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized, forged.StatusCode.ToString());
        Assert.Contains("invalid_client", await forged.Content.ReadAsStringAsync());

        // Symmetric clients authenticate with their secret.
        var secret = await browser.PostAsync("connect/token", Form(("grant_type", "client_credentials"), ("scope", "system/Patient.rs"),
            ("client_id", "test-secret-backend"), ("client_secret", "s3cret-for-tests")));
        Assert.True(secret.IsSuccessStatusCode, await secret.Content.ReadAsStringAsync());
        var badSecret = await browser.PostAsync("connect/token", Form(("grant_type", "client_credentials"), ("scope", "system/Patient.rs"),
            ("client_id", "test-secret-backend"), ("client_secret", "wrong")));
        Assert.Contains("invalid_client", await badSecret.Content.ReadAsStringAsync());
    }

    /// <summary>OpenIddict answers some authorization errors on its own page (400), others by redirecting to the client.</summary>
    private static async Task AssertInvalidRequestAsync(HttpResponseMessage response, string mentions)
    {
        var text = response.Headers.Location?.OriginalString ?? await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Redirect, $"{response.StatusCode} {text}");
        Assert.Contains("invalid_request", text);
        Assert.Contains(mentions, Uri.UnescapeDataString(text));
    }

    private static string ClientAssertion(string clientId, SecurityKey key) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = clientId,
        Audience = "http://localhost/connect/token",
        Claims = new Dictionary<string, object> { ["sub"] = clientId, ["jti"] = Guid.NewGuid().ToString() },
        Expires = DateTime.UtcNow.AddMinutes(4),
        SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha384),
    });

    private static (string Verifier, string Challenge) Pkce()
    {
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    private static string Query(Dictionary<string, string> parameters) =>
        string.Join('&', parameters.Where(p => p.Value.Length > 0).Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    private static FormUrlEncodedContent Form(IEnumerable<(string Name, string Value)> hidden, params (string Name, string Value)[] fields) =>
        Form([.. hidden, .. fields]);

    /// <summary>The hidden inputs of a page's form (antiforgery token, the authorization request's parameters).</summary>
    private static IEnumerable<(string Name, string Value)> Hidden(string html) =>
        HiddenInput().Matches(html).Select(m => (WebUtility.HtmlDecode(m.Groups[1].Value), WebUtility.HtmlDecode(m.Groups[2].Value))).ToList();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]*)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();
}

public sealed class SqliteEmbeddedServerTests(SqliteSmartFixture fixture) : EmbeddedServerTests(fixture), IClassFixture<SqliteSmartFixture>;

public sealed class PostgreSqlEmbeddedServerTests(PostgreSqlSmartFixture fixture) : EmbeddedServerTests(fixture), IClassFixture<PostgreSqlSmartFixture>;
