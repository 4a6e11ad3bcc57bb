using System.Text.Json;
using FhirRecovery.TestKit.Auth;
using FhirRecovery.TestKit.Examples;
using FhirRecovery.TestKit.Model;
using Hl7.Fhir.Model;
using static FhirRecovery.TestKit.Model.KitContext;

namespace FhirRecovery.TestKit.Suites;

/// <summary>SMART App Launch 2.0 and Backend Services: discovery, tokens, scope enforcement, and a patient's compartment.</summary>
public sealed class SmartSuite : KitSuite
{
    private string? _otherGoal;

    public override string Name => "smart";

    public override string Description => "SMART discovery, Backend Services tokens, scope enforcement, and another patient's data invisible to a patient's token.";

    public SmartSuite()
    {
        Test("smart-01", "GET .well-known/smart-configuration: JSON with token_endpoint, capabilities, client_credentials and private_key_jwt (RS384/ES384)",
            Specs.SmartRule("SMART configuration", "conformance.html#using-well-known"), async ctx =>
            {
                var response = await ctx.Fhir.GetAsync(".well-known/smart-configuration", ("Accept", "application/json"));
                ExpectStatus(response, 200);
                using var json = JsonDocument.Parse(response.Body);
                var root = json.RootElement;
                Expect(root.TryGetProperty("token_endpoint", out var token) && token.GetString() is { Length: > 0 }, "no token_endpoint");
                Expect(Strings(root, "capabilities").Count > 0, "no capabilities");
                Expect(Strings(root, "grant_types_supported").Contains("client_credentials"), "grant_types_supported lacks client_credentials (Backend Services)");
                Expect(Strings(root, "token_endpoint_auth_methods_supported").Contains("private_key_jwt"), "token_endpoint_auth_methods_supported lacks private_key_jwt");
                var algorithms = Strings(root, "token_endpoint_auth_signing_alg_values_supported");
                Expect(algorithms.Contains("RS384") || algorithms.Contains("ES384"), $"token_endpoint_auth_signing_alg_values_supported lacks RS384 and ES384 ({string.Join(", ", algorithms)})");
            });

        Test("smart-02", "A request without a token, or with a forged one, is refused with 401",
            Specs.SmartRule("resource server: access tokens are required", "app-launch.html#access-fhir-api"), async ctx =>
            {
                var anonymous = ctx.Fhir.WithToken(null);
                ExpectStatus(await anonymous.GetAsync("Goal?_count=1"), 401);
                ExpectStatus(await ctx.Fhir.WithToken("not.a-valid.token").GetAsync("Goal?_count=1"), 401);
            });

        Test("smart-03", "Backend Services: client_credentials with a signed client assertion gives a bearer token that reads data",
            Specs.SmartRule("Backend Services: obtaining an access token", "backend-services.html#obtain-access-token"), async ctx =>
            {
                if (!ctx.HasCredentials)
                {
                    throw Skip("no credentials (--token or --client-id with --key)");
                }

                if (ctx.BackendToken is { } token)
                {
                    Expect(string.Equals(token.TokenType, "bearer", StringComparison.OrdinalIgnoreCase), $"token_type is '{token.TokenType}', not bearer");
                    Expect(token.ExpiresIn is > 0, "no positive expires_in");
                    Expect(token.Scope is { Length: > 0 }, "the token response does not say which scopes were granted");
                }

                ExpectStatus(await ctx.Fhir.GetAsync("Goal?_count=1"), 200);
            });

        Test("smart-04", "Scopes are enforced: a token for system/Patient.rs may read Patients but not Goals, and may not write (403)",
            Specs.SmartRule("scopes limit access", "scopes-and-launch-context.html"), async ctx =>
            {
                if (ctx.Settings is not { ClientId: { } clientId, PrivateKeyJwk: { } key })
                {
                    throw Skip("needs Backend Services credentials (--client-id, --key) to ask for a narrower token");
                }

                TokenResponse narrow;
                try
                {
                    narrow = await BackendServicesAuthorizer.AuthorizeAsync(ctx.Http, ctx.Settings.Server, clientId, key, "system/Patient.rs", CancellationToken.None);
                }
                catch (AuthorizationFailedException ex)
                {
                    throw new TestFailedException("a token for system/Patient.rs alone was refused: " + ex.Message);
                }

                var client = ctx.Fhir.WithToken(narrow.AccessToken);
                ExpectStatus(await client.GetAsync("Patient?_count=1"), 200);
                ExpectStatus(await client.GetAsync("Goal?_count=1"), 403);
                ExpectStatus(await client.PostAsync("Patient", new Patient { Active = true }), 403);
            });

        Test("smart-05", "A patient's token cannot read another patient's Goal (404 or 403)",
            Specs.SmartRule("patient/ scopes: only the patient in context", "scopes-and-launch-context.html#patient-specific-scopes"), async ctx =>
            {
                var (client, _) = ctx.PatientAccess();
                if (!ctx.HasCredentials)
                {
                    throw Skip("no credentials to create another patient's data with (--token or --client-id with --key)");
                }

                var other = await RecoveryData.CreatePatientAsync(ctx, "other");
                var created = await ctx.Fhir.PostAsync("Goal", RecoveryData.Goal(other, "Someone else's goal"));
                ExpectStatus(created, 201);
                var goal = created.As<Goal>().Id ?? throw new TestFailedException("the created Goal has no id");
                _otherGoal = $"Goal/{goal}";
                var read = await client.GetAsync(_otherGoal);
                Expect(read.Status is 404 or 403, $"the patient's token read {_otherGoal} of Patient/{other}: HTTP {read.Status}");
            });

        Test("smart-06", "A patient's token searching Goals sees only its patient's (an explicit other patient: nothing or 403)",
            Specs.SmartRule("patient/ scopes: only the patient in context", "scopes-and-launch-context.html#patient-specific-scopes"), async ctx =>
            {
                var (client, patient) = ctx.PatientAccess();
                var goal = Needs(_otherGoal, "smart-05");
                var all = await client.GetAsync("Goal?_count=100");
                ExpectStatus(all, 200);
                var foreign = all.As<Bundle>().Entry.Select(e => e.Resource).OfType<Goal>().Where(g => g.Subject?.Reference?.EndsWith($"Patient/{patient}", StringComparison.Ordinal) != true).ToList();
                Expect(foreign.Count == 0, $"the search shows other patients' goals: {string.Join(", ", foreign.Select(g => g.Id))}");
                var explicitSearch = await client.GetAsync($"Goal?_id={goal.Split('/')[1]}");
                Expect(explicitSearch.Status == 403 || (explicitSearch.Status == 200 && explicitSearch.As<Bundle>().Entry.All(e => e.Resource is not Goal)),
                    $"Goal?_id= of another patient's goal answered HTTP {explicitSearch.Status} with that goal");
            });
    }

    private static List<string> Strings(JsonElement root, string name) =>
        root.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
            : [];
}
