using System.Net;
using System.Text.Json.Nodes;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Server.Tests.Security;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.BulkExport;

/// <summary>
/// Bulk Data <c>$export</c> under SMART: status and files only for the client that asked, scopes limiting the types, a
/// patient-context token confined to its compartment, SMART Backend Services tokens from the embedded server, and an
/// AuditEvent for the kick-off. Jobs run on the fixture's background worker, as in production.
/// </summary>
public abstract class BulkExportSecurityTests(FhirServerFixture fixture)
{
    private readonly HttpClient _admin = fixture.ClientWith(TestTokens.Mint("system/*.cruds", clientId: "export-admin"));

    private async Task<T> CreateAsync<T>(T resource) where T : Resource =>
        await (await _admin.PostAsync(resource.TypeName, resource)).ReadAsync<T>();

    [StoreFact]
    public async Task Only_the_requesting_client_sees_the_status_and_the_files()
    {
        var patient = await CreateAsync(Patient());
        await CreateAsync(Goal($"Patient/{patient.Id}"));
        var owner = fixture.ClientWith(TestTokens.Mint("system/*.rs", clientId: "analytics"));
        var other = fixture.ClientWith(TestTokens.Mint("system/*.rs", clientId: "someone-else"));

        var status = await owner.KickOffAsync("$export?_type=Goal");
        var manifest = await owner.ManifestAsync(status);
        Assert.True(manifest["requiresAccessToken"]!.GetValue<bool>());
        var file = manifest.Outputs("Goal").Single()["url"]!.GetValue<string>();

        await (await other.GetAsync(status)).AssertOutcomeAsync(HttpStatusCode.NotFound);
        await (await other.GetAsync(file)).AssertOutcomeAsync(HttpStatusCode.NotFound);
        await (await other.DeleteAsync(status)).AssertOutcomeAsync(HttpStatusCode.NotFound);
        await (await fixture.ClientWith(null).GetAsync(file)).AssertOutcomeAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync(file)).StatusCode);
        await (await fixture.ClientWith(null).SendAsync(HttpMethod.Get, "$export", null, ExportClient.AsyncJson)).AssertOutcomeAsync(HttpStatusCode.Unauthorized);
    }

    [StoreFact]
    public async Task Scopes_limit_the_types_a_client_can_export()
    {
        var patient = await CreateAsync(Patient());
        var goal = await CreateAsync(Goal($"Patient/{patient.Id}"));
        var goalsOnly = fixture.ClientWith(TestTokens.Mint("system/Goal.rs", clientId: "goal-analytics"));

        await (await goalsOnly.SendAsync(HttpMethod.Get, "$export?_type=Goal,Patient", null, ExportClient.AsyncJson))
            .AssertOutcomeAsync(HttpStatusCode.Forbidden, "Patient");
        var manifest = await goalsOnly.ManifestAsync(await goalsOnly.KickOffAsync("$export"));
        Assert.Equal(["Goal"], manifest.Types());
        Assert.Contains(await goalsOnly.DownloadAsync(manifest, "Goal"), g => g.Id == goal.Id);
    }

    [StoreFact]
    public async Task A_patient_context_token_exports_only_its_own_compartment()
    {
        var me = await CreateAsync(Patient());
        var someoneElse = await CreateAsync(Patient());
        var mine = await CreateAsync(Goal($"Patient/{me.Id}"));
        var theirs = await CreateAsync(Goal($"Patient/{someoneElse.Id}"));
        var group = await CreateAsync(new Group
        {
            Type = Group.GroupType.Person,
            Actual = true,
            Member = [new() { Entity = new ResourceReference($"Patient/{me.Id}") }, new() { Entity = new ResourceReference($"Patient/{someoneElse.Id}") }],
        });
        var client = fixture.ClientWith(TestTokens.Mint("patient/*.rs", patient: me.Id, clientId: "patient-app"));

        foreach (var url in new[] { "Patient/$export?_type=Patient,Goal", $"Group/{group.Id}/$export?_type=Patient,Goal", "$export?_type=Patient,Goal" })
        {
            var manifest = await client.ManifestAsync(await client.KickOffAsync(url));
            Assert.Equal([me.Id], (await client.DownloadAsync(manifest, "Patient")).Select(p => p.Id));
            var goals = (await client.DownloadAsync(manifest, "Goal")).Select(g => g.Id).ToList();
            Assert.Equal([mine.Id], goals);
            Assert.DoesNotContain(theirs.Id, goals);
        }

        await (await client.SendAsync(HttpMethod.Get, "$export?_type=Subscription", null, ExportClient.AsyncJson)).AssertOutcomeAsync(HttpStatusCode.Forbidden, "compartment");
    }

    [StoreFact]
    public async Task A_backend_services_token_from_the_embedded_server_can_export_and_the_kick_off_is_audited()
    {
        var patient = await CreateAsync(Patient());
        await CreateAsync(Goal($"Patient/{patient.Id}"));
        var browser = fixture.Factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions
            { AllowAutoRedirect = false, BaseAddress = new Uri("http://localhost/") });
        var assertion = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "test-backend",
            Audience = "http://localhost/connect/token",
            Claims = new Dictionary<string, object> { ["sub"] = "test-backend", ["jti"] = Guid.NewGuid().ToString() },
            Expires = DateTime.UtcNow.AddMinutes(4),
            SigningCredentials = new SigningCredentials(TestTokens.Key, SecurityAlgorithms.RsaSha384),
        });
        var response = await browser.PostAsync("connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["scope"] = "system/*.rs",
            ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ["client_assertion"] = assertion,
        }));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var backend = fixture.ClientWith(JsonNode.Parse(text)!["access_token"]!.GetValue<string>());

        var status = await backend.KickOffAsync("$export?_type=Goal");
        var manifest = await backend.ManifestAsync(status);
        Assert.NotEmpty(await backend.DownloadAsync(manifest, "Goal"));

        var job = status[(status.LastIndexOf('/') + 1)..];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var audit = await (await _admin.GetAsync("AuditEvent?_count=200&_sort=-_lastUpdated")).ReadAsync<Bundle>();
            if (audit.Entry.Select(e => e.Resource).OfType<AuditEvent>().Any(a => a.Entity.Any(x => x.Description == "GET /fhir/$export") && FhirHttp.ToJson(a).Contains("test-backend")))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no AuditEvent for the kick-off of {job}");
            await System.Threading.Tasks.Task.Delay(200);
        }
    }
}

/// <summary>SMART on, export jobs on the background worker, polling fast.</summary>
public static class ExportWorkerSettings
{
    public static Dictionary<string, string?> Apply(Dictionary<string, string?> settings)
    {
        settings["BulkExport:PollInterval"] = "00:00:00.100";
        return SmartSettings.Apply(settings);
    }
}

public class SqliteSmartExportFixture : SqliteServerFixture
{
    protected override Dictionary<string, string?> Settings() => ExportWorkerSettings.Apply(base.Settings());
}

public class PostgreSqlSmartExportFixture : PostgreSqlServerFixture
{
    protected override Dictionary<string, string?> Settings() => ExportWorkerSettings.Apply(base.Settings());
}

public sealed class SqliteBulkExportSecurityTests(SqliteSmartExportFixture fixture) : BulkExportSecurityTests(fixture), IClassFixture<SqliteSmartExportFixture>;

public sealed class PostgreSqlBulkExportSecurityTests(PostgreSqlSmartExportFixture fixture) : BulkExportSecurityTests(fixture), IClassFixture<PostgreSqlSmartExportFixture>;
