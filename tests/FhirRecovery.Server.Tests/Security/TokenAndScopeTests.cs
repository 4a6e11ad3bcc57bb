using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Microsoft.IdentityModel.Tokens;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Security;

/// <summary>
/// Token faults answer 401 with <c>WWW-Authenticate: Bearer</c> and an OperationOutcome; valid tokens whose scopes do not
/// allow the interaction answer 403 with an OperationOutcome; what the scopes allow works.
/// </summary>
public abstract class TokenAndScopeTests(FhirServerFixture fixture)
{
    private const string AllSystem = "system/*.cruds";

    private async Task<(string Patient, string Goal, string Survey, string Other)> SeedAsync()
    {
        var admin = fixture.ClientWith(TestTokens.Mint(AllSystem));
        var patient = Patient();
        patient.Id = Unique("tok");
        await (await admin.PutAsync($"Patient/{patient.Id}", patient)).AssertStatusAsync(HttpStatusCode.Created);
        var goal = await (await admin.PostAsync("Goal", Goal($"Patient/{patient.Id}"))).ReadAsync<Goal>();
        var survey = await (await admin.PostAsync("Observation", Observation(patient.Id, "survey"))).ReadAsync<Observation>();
        var other = await (await admin.PostAsync("Observation", Observation(patient.Id, "vital-signs"))).ReadAsync<Observation>();
        return (patient.Id, goal.Id, survey.Id, other.Id);
    }

    public static Observation Observation(string patient, string category) => new()
    {
        Status = ObservationStatus.Final,
        Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/observation-category", category)],
        Code = new CodeableConcept("http://loinc.org", "72166-2", "Tobacco smoking status"),
        Subject = new ResourceReference($"Patient/{patient}"),
        Value = new FhirString($"{category} value"),
    };

    private static async Task AssertUnauthorizedAsync(HttpResponseMessage response, string? error = "invalid_token")
    {
        await response.AssertOutcomeAsync(HttpStatusCode.Unauthorized);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Bearer", challenge.Scheme);
        if (error is null)
        {
            Assert.DoesNotContain("error=", challenge.Parameter ?? "");
        }
        else
        {
            Assert.Contains($"error=\"{error}\"", challenge.Parameter);
        }
    }

    [StoreFact]
    public async Task Requests_without_a_token_are_401_with_a_bearer_challenge() =>
        await AssertUnauthorizedAsync(await fixture.ClientWith(null).GetAsync("Patient"), error: null);

    [StoreFact]
    public async Task Metadata_and_smart_configuration_need_no_token()
    {
        var anonymous = fixture.ClientWith(null);
        await (await anonymous.GetAsync("metadata")).AssertStatusAsync(HttpStatusCode.OK);
        await (await anonymous.GetAsync(".well-known/smart-configuration")).AssertStatusAsync(HttpStatusCode.OK);
    }

    public static TheoryData<string, string> TokenFaults() => new()
    {
        { "malformed", "not-a-jwt" },
        { "expired", TestTokens.Mint(AllSystem, expires: DateTime.UtcNow.AddMinutes(-10), notBefore: DateTime.UtcNow.AddMinutes(-20)) },
        { "not yet valid", TestTokens.Mint(AllSystem, notBefore: DateTime.UtcNow.AddMinutes(10), expires: DateTime.UtcNow.AddMinutes(20)) },
        { "wrong audience", TestTokens.Mint(AllSystem, audience: "https://other.example.org/fhir") },
        { "untrusted issuer", TestTokens.Mint(AllSystem, issuer: "https://evil.example.org") },
        { "bad signature", TestTokens.Mint(AllSystem, key: TestTokens.ForeignKey) },
        { "alg=none", TestTokens.Unsigned(AllSystem) },
        { "HS256 with a wrong secret", TestTokens.Mint(AllSystem, issuer: TestTokens.SymmetricIssuer, algorithm: SecurityAlgorithms.HmacSha256,
            key: new SymmetricSecurityKey(new byte[32])) },
        { "HS256 claiming the RS256 issuer", TestTokens.Mint(AllSystem, algorithm: SecurityAlgorithms.HmacSha256) },
        { "no expiry", TestTokens.Mint(AllSystem, withExpiry: false) },
    };

    [Fact]
    public void Every_token_fault_is_listed() => Assert.Equal(10, TokenFaults().Count);

    [StoreFact]
    public async Task Every_token_fault_is_401_with_invalid_token()
    {
        var failures = new List<string>();
        foreach (var row in TokenFaults())
        {
            var (name, token) = ((string)row[0], (string)row[1]);
            var response = await fixture.ClientWith(token).GetAsync("Patient");
            var challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
            if (response.StatusCode != HttpStatusCode.Unauthorized || challenge?.Scheme != "Bearer" || challenge.Parameter?.Contains("error=\"invalid_token\"") != true
                || response.Content.Headers.ContentType?.MediaType != "application/fhir+json")
            {
                failures.Add($"{name}: {(int)response.StatusCode} {challenge} {await response.Content.ReadAsStringAsync()}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [StoreFact]
    public async Task Valid_RS256_and_HS256_tokens_are_accepted()
    {
        await (await fixture.ClientWith(TestTokens.Mint(AllSystem)).GetAsync("Patient?_count=1")).AssertStatusAsync(HttpStatusCode.OK);
        await (await fixture.ClientWith(TestTokens.Mint(AllSystem, issuer: TestTokens.SymmetricIssuer, algorithm: SecurityAlgorithms.HmacSha256))
            .GetAsync("Patient?_count=1")).AssertStatusAsync(HttpStatusCode.OK);
    }

    [StoreFact]
    public async Task A_token_without_resource_scopes_is_403()
    {
        var response = await fixture.ClientWith(TestTokens.Mint("openid fhirUser")).GetAsync("Patient");
        await response.AssertOutcomeAsync(HttpStatusCode.Forbidden);
        Assert.Contains("insufficient_scope", response.Headers.WwwAuthenticate.ToString());
    }

    [StoreFact]
    public async Task Scope_faults_are_403_with_an_operation_outcome()
    {
        var (patient, goal, survey, _) = await SeedAsync();
        var cases = new (string Name, string Scopes, Func<HttpClient, Task<HttpResponseMessage>> Call)[]
        {
            ("read of another type (v2)", "patient/Goal.rs", c => c.GetAsync($"Observation/{survey}")),
            ("read of another type (v1)", "patient/Goal.read", c => c.GetAsync($"Observation/{survey}")),
            ("search without s", "patient/Goal.r", c => c.GetAsync("Goal")),
            ("read without r", "patient/Goal.s", c => c.GetAsync($"Goal/{goal}")),
            ("create with read scopes (v2)", "patient/Goal.rs", c => c.PostAsync("Goal", Goal($"Patient/{patient}"))),
            ("create with read scopes (v1)", "patient/*.read", c => c.PostAsync("Goal", Goal($"Patient/{patient}"))),
            ("update without u", "user/Goal.crs", c => c.PutAsync($"Goal/{goal}", WithId(Goal($"Patient/{patient}"), goal))),
            ("delete without d", "system/Goal.cruds system/Observation.rs", c => c.DeleteAsync($"Observation/{survey}")),
            ("history of a type without s", "patient/Goal.r", c => c.GetAsync("Goal/_history")),
            ("system search without any s", "patient/Goal.r", c => c.GetAsync("?_type=Goal")),
            ("system search of a type not granted", "patient/Goal.rs", c => c.GetAsync("?_type=Goal,Observation")),
            ("patient scope without patient context", "patient/*.rs", c => c.GetAsync($"Goal/{goal}")),
            ("chain into a type not granted", "system/Goal.rs", c => c.GetAsync("Goal?subject:Patient.name=x")),
            ("_has on a type not granted", "system/Patient.rs", c => c.GetAsync("Patient?_has:Goal:subject:lifecycle-status=active")),
            ("operation reading a type not granted", "patient/Patient.rs patient/Goal.rs", c => c.GetAsync($"Patient/{patient}/$recovery-summary")),
            ("population operation with patient scopes", "patient/*.rs", c => c.GetAsync("$recovery-orientation")),
            ("batch entry without scope", "system/Goal.rs", c => c.PostAsync("", new Bundle
            {
                Type = Bundle.BundleType.Transaction,
                Entry = [new Bundle.EntryComponent { Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.GET, Url = $"Observation/{survey}" } }],
            })),
        };

        var failures = new List<string>();
        foreach (var (name, scopes, call) in cases)
        {
            var withContext = scopes.StartsWith("patient/", StringComparison.Ordinal) && name != "patient scope without patient context";
            var response = await call(fixture.ClientWith(TestTokens.Mint(scopes, patient: withContext ? patient : null)));
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.Forbidden || !text.Contains("\"OperationOutcome\"") || !text.Contains("forbidden"))
            {
                failures.Add($"{name}: {(int)response.StatusCode} {text}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [StoreFact]
    public async Task What_the_scopes_allow_works_v1_and_v2()
    {
        var (patient, goal, _, _) = await SeedAsync();
        foreach (var scopes in new[] { "patient/Goal.read patient/Goal.write", "patient/Goal.cruds" })
        {
            var client = fixture.ClientWith(TestTokens.Mint(scopes, patient: patient));
            await (await client.GetAsync($"Goal/{goal}")).AssertStatusAsync(HttpStatusCode.OK);
            var search = await (await client.GetAsync($"Goal?subject=Patient/{patient}")).ReadAsync<Bundle>();
            Assert.Contains(search.Entry, e => e.Resource?.Id == goal);
            var created = await client.PostAsync("Goal", Goal($"Patient/{patient}", "Made by the app"));
            await created.AssertStatusAsync(HttpStatusCode.Created);
            var id = (await created.ReadAsync<Goal>()).Id;
            await (await client.PutAsync($"Goal/{id}", WithId(Goal($"Patient/{patient}", "Changed by the app"), id))).AssertStatusAsync(HttpStatusCode.OK);
            await (await client.DeleteAsync($"Goal/{id}")).AssertStatusAsync(HttpStatusCode.NoContent);
        }
    }

    [StoreFact]
    public async Task Constrained_v2_scopes_limit_reads_searches_and_writes()
    {
        var (patient, _, survey, other) = await SeedAsync();
        var client = fixture.ClientWith(TestTokens.Mint("patient/Observation.crs?category=survey", patient: patient));
        await (await client.GetAsync($"Observation/{survey}")).AssertStatusAsync(HttpStatusCode.OK);
        await (await client.GetAsync($"Observation/{other}")).AssertOutcomeAsync(HttpStatusCode.NotFound);
        var bundle = await (await client.GetAsync("Observation")).ReadAsync<Bundle>();
        var ids = bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Select(e => e.Resource.Id).ToList();
        Assert.Contains(survey, ids);
        Assert.DoesNotContain(other, ids);
        await (await client.PostAsync("Observation", Observation(patient, "survey"))).AssertStatusAsync(HttpStatusCode.Created);
        await (await client.PostAsync("Observation", Observation(patient, "vital-signs"))).AssertOutcomeAsync(HttpStatusCode.Forbidden);
    }

    [StoreFact]
    public async Task Writes_outside_the_patients_compartment_are_refused_and_leave_nothing()
    {
        var (patient, _, _, _) = await SeedAsync();
        var (otherPatient, otherGoal, _, _) = await SeedAsync();
        var client = fixture.ClientWith(TestTokens.Mint("patient/*.cruds", patient: patient));
        var goal = Goal($"Patient/{otherPatient}", "Planted in another record");
        await (await client.PostAsync("Goal", goal)).AssertOutcomeAsync(HttpStatusCode.Forbidden);
        var admin = fixture.ClientWith(TestTokens.Mint(AllSystem));
        var planted = await (await admin.GetAsync($"Goal?subject=Patient/{otherPatient}")).ReadAsync<Bundle>();
        Assert.DoesNotContain(planted.Entry, e => e.Resource is Goal g && g.Description.Text == "Planted in another record");
        // Moving one's own goal into another record is refused too.
        var own = await (await client.PostAsync("Goal", Goal($"Patient/{patient}"))).ReadAsync<Goal>();
        own.Subject = new ResourceReference($"Patient/{otherPatient}");
        await (await client.PutAsync($"Goal/{own.Id}", own)).AssertOutcomeAsync(HttpStatusCode.Forbidden);
        // Another patient's goal is unknown to this client.
        await (await client.PutAsync($"Goal/{otherGoal}", WithId(Goal($"Patient/{patient}"), otherGoal))).AssertOutcomeAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async Task User_scopes_of_a_patient_user_are_confined_to_their_own_record()
    {
        var (patient, goal, _, _) = await SeedAsync();
        var (_, otherGoal, _, _) = await SeedAsync();
        var client = fixture.ClientWith(TestTokens.Mint("user/*.rs", fhirUser: $"http://localhost/fhir/Patient/{patient}"));
        await (await client.GetAsync($"Goal/{goal}")).AssertStatusAsync(HttpStatusCode.OK);
        await (await client.GetAsync($"Goal/{otherGoal}")).AssertOutcomeAsync(HttpStatusCode.NotFound);
        var practitioner = fixture.ClientWith(TestTokens.Mint("user/*.rs", fhirUser: "Practitioner/sample-practitioner-01"));
        await (await practitioner.GetAsync($"Goal/{otherGoal}")).AssertStatusAsync(HttpStatusCode.OK);
    }

    private static T WithId<T>(T resource, string id) where T : Resource
    {
        resource.Id = id;
        return resource;
    }
}

public sealed class SqliteTokenAndScopeTests(SqliteSmartFixture fixture) : TokenAndScopeTests(fixture), IClassFixture<SqliteSmartFixture>;

public sealed class PostgreSqlTokenAndScopeTests(PostgreSqlSmartFixture fixture) : TokenAndScopeTests(fixture), IClassFixture<PostgreSqlSmartFixture>;
