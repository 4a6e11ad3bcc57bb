using System.Net;
using FhirRecovery.Server.BulkExport;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Storage;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.DependencyInjection;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.BulkExport;

/// <summary>
/// Bulk Data <c>$export</c> without authorization: kick-off, polling, manifest and NDJSON for system, Patient and Group
/// level; <c>_type</c>, <c>_since</c>, <c>_typeFilter</c>, <c>_elements</c>; refused kick-offs; cancellation; and the job
/// queue under it (one claimer per job across workers sharing the database, a dead worker's job resumed). The fixture's
/// background worker is off: the tests run the jobs themselves, so they decide when a job is claimed and by whom.
/// </summary>
public abstract class BulkExportTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private IServiceProvider Services => fixture.Factory.Services;

    private Task RunJobsAsync() => Services.GetRequiredService<BulkExportWorker>().RunUntilIdleAsync(CancellationToken.None);

    private async Task<T> CreateAsync<T>(T resource) where T : Resource =>
        await (await Client.PostAsync(resource.TypeName, resource)).ReadAsync<T>();

    [StoreFact]
    public async Task A_system_export_is_polled_to_a_manifest_whose_files_parse_and_validate()
    {
        var patient = await CreateAsync(Patient());
        var goal = await CreateAsync(Goal($"Patient/{patient.Id}"));
        var observation = await CreateAsync(Observation($"Patient/{patient.Id}"));

        var status = await Client.KickOffAsync("$export?_type=Patient,Goal,Observation");
        // Queued: 202 with progress until a worker has run it.
        var queued = await Client.GetAsync(status);
        Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);
        Assert.Equal("Queued", queued.Headers.GetValues("X-Progress").Single());

        var manifest = await Client.ManifestAsync(status, RunJobsAsync);
        Assert.EndsWith("/fhir/$export?_type=Patient,Goal,Observation", manifest["request"]!.GetValue<string>());
        Assert.False(manifest["requiresAccessToken"]!.GetValue<bool>());
        Assert.True(DateTimeOffset.TryParse(manifest["transactionTime"]!.GetValue<string>(), out _));
        Assert.Empty(manifest["error"]!.AsArray());
        Assert.Equal(["Patient", "Goal", "Observation"], manifest.Types());
        Assert.Contains((await Client.DownloadAsync(manifest, "Patient")), r => r.Id == patient.Id);
        Assert.Contains((await Client.DownloadAsync(manifest, "Goal")), r => r.Id == goal.Id);
        Assert.Contains((await Client.DownloadAsync(manifest, "Observation")), r => r.Id == observation.Id);
        await Client.AssertAllValidAsync(manifest, fixture);

        // The same job answers from the manifest again (any instance, any number of times).
        var again = await Client.GetAsync(status);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [StoreFact]
    public async Task A_patient_export_covers_the_patient_compartments_and_a_group_export_only_its_members()
    {
        var member = await CreateAsync(Patient());
        var outsider = await CreateAsync(Patient());
        var memberGoal = await CreateAsync(Goal($"Patient/{member.Id}"));
        var outsiderGoal = await CreateAsync(Goal($"Patient/{outsider.Id}"));
        var group = await CreateAsync(new Group
        {
            Type = Group.GroupType.Person,
            Actual = true,
            Name = "Region north",
            Member = [new Group.MemberComponent { Entity = new ResourceReference($"Patient/{member.Id}") }],
        });

        var patients = await Client.ManifestAsync(await Client.KickOffAsync("Patient/$export?_type=Patient,Goal"), RunJobsAsync);
        var goals = await Client.DownloadAsync(patients, "Goal");
        Assert.Contains(goals, g => g.Id == memberGoal.Id);
        Assert.Contains(goals, g => g.Id == outsiderGoal.Id);
        Assert.Equal(goals.Count, goals.Select(g => g.Id).Distinct().Count());

        var cohort = await Client.ManifestAsync(await Client.KickOffAsync($"Group/{group.Id}/$export"), RunJobsAsync);
        Assert.Equal([member.Id], (await Client.DownloadAsync(cohort, "Patient")).Select(p => p.Id));
        Assert.Equal([memberGoal.Id], (await Client.DownloadAsync(cohort, "Goal")).Select(g => g.Id));
        Assert.Equal([group.Id], (await Client.DownloadAsync(cohort, "Group")).Select(g => g.Id)); // in R4's Patient compartment (member)
        await Client.AssertAllValidAsync(cohort, fixture);

        // POST with Parameters: the patient parameter narrows a Patient-level export.
        var parameters = new Parameters();
        parameters.Add("_type", new FhirString("Goal"));
        parameters.Add("patient", new ResourceReference($"Patient/{outsider.Id}"));
        var post = await Client.SendAsync(HttpMethod.Post, "Patient/$export", FhirHttp.Body(parameters), ExportClient.AsyncJson);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var narrowed = await Client.ManifestAsync(post.Content.Headers.ContentLocation!.ToString(), RunJobsAsync);
        Assert.Equal([outsiderGoal.Id], (await Client.DownloadAsync(narrowed, "Goal")).Select(g => g.Id));
    }

    [StoreFact]
    public async Task Since_typeFilter_and_elements_narrow_what_is_exported()
    {
        var patient = await CreateAsync(Patient());
        var before = await CreateAsync(Goal($"Patient/{patient.Id}"));
        await Task.Delay(20);
        var since = DateTimeOffset.UtcNow;
        await Task.Delay(20);
        var active = await CreateAsync(Goal($"Patient/{patient.Id}"));
        var cancelled = await CreateAsync(Goal($"Patient/{patient.Id}", status: Hl7.Fhir.Model.Goal.GoalLifecycleStatus.Cancelled));

        var recent = await Client.ManifestAsync(await Client.KickOffAsync(
            $"$export?_type=Goal&_since={Uri.EscapeDataString(since.ToString("yyyy-MM-ddTHH:mm:ss.fffzzz"))}"), RunJobsAsync);
        var recentIds = (await Client.DownloadAsync(recent, "Goal")).Select(g => g.Id).ToList();
        Assert.Contains(active.Id, recentIds);
        Assert.Contains(cancelled.Id, recentIds);
        Assert.DoesNotContain(before.Id, recentIds);

        var filter = Uri.EscapeDataString($"Goal?subject=Patient/{patient.Id}&lifecycle-status=active");
        var filtered = await Client.ManifestAsync(await Client.KickOffAsync($"$export?_type=Goal&_typeFilter={filter}"), RunJobsAsync);
        Assert.Equal(new[] { before.Id, active.Id }.Order(), (await Client.DownloadAsync(filtered, "Goal")).Select(g => g.Id).Order());

        // Two filters of one type are alternatives; a resource matching both is written once.
        var either = Uri.EscapeDataString($"Goal?subject=Patient/{patient.Id}");
        var both = await Client.ManifestAsync(await Client.KickOffAsync($"$export?_type=Goal&_typeFilter={filter}&_typeFilter={either}"), RunJobsAsync);
        Assert.Equal(3, (await Client.DownloadAsync(both, "Goal")).Count);

        var subset = await Client.ManifestAsync(await Client.KickOffAsync($"$export?_type=Goal&_typeFilter={filter}&_elements=Goal.lifecycleStatus"), RunJobsAsync);
        var goals = await Client.DownloadAsync(subset, "Goal");
        Assert.All(goals.Cast<Hl7.Fhir.Model.Goal>(), g =>
        {
            Assert.Empty(g.Identifier);
            Assert.NotNull(g.LifecycleStatus);
            Assert.NotNull(g.Description); // mandatory: always kept
            Assert.Contains(g.Meta.Tag, t => t.Code == "SUBSETTED");
        });
    }

    [StoreFact]
    public async Task Kick_offs_that_cannot_be_served_are_refused_with_an_OperationOutcome()
    {
        await (await Client.SendAsync(HttpMethod.Get, "$export", null, ("Accept", FhirHttp.Json))).AssertOutcomeAsync(HttpStatusCode.BadRequest, "respond-async");
        await (await Client.SendAsync(HttpMethod.Get, "$export", null, ("Prefer", "respond-async"), ("Accept", FhirHttp.Xml)))
            .AssertOutcomeAsync(HttpStatusCode.BadRequest, "Accept");
        (string Url, HttpStatusCode Status, string Mentions)[] refused =
        [
            ("$export?_outputFormat=text/csv", HttpStatusCode.BadRequest, "_outputFormat"),
            ("$export?_type=Goal,NoSuchType", HttpStatusCode.BadRequest, "NoSuchType"),
            ("$export?_since=yesterday", HttpStatusCode.BadRequest, "_since"),
            ("$export?_since=2024-01-01", HttpStatusCode.BadRequest, "_since"),
            ("$export?_type=Goal&_typeFilter=" + Uri.EscapeDataString("Goal?no-such-parameter=1"), HttpStatusCode.BadRequest, "no-such-parameter"),
            ("$export?_type=Goal&_typeFilter=" + Uri.EscapeDataString("Observation?code=x"), HttpStatusCode.BadRequest, "_typeFilter"),
            ("$export?_type=Goal&_typeFilter=" + Uri.EscapeDataString("Goal?_sort=start-date"), HttpStatusCode.BadRequest, "_sort"),
            ("$export?_type=Goal&_typeFilter=" + Uri.EscapeDataString("Goal?start-date=not-a-date"), HttpStatusCode.BadRequest, "not-a-date"),
            ("$export?_elements=Nope.name", HttpStatusCode.BadRequest, "_elements"),
            ("$export?patient=Patient/1", HttpStatusCode.BadRequest, "patient"),
            ("Patient/$export?_type=Organization", HttpStatusCode.BadRequest, "compartment"),
            ($"Group/{Unique("g")}/$export", HttpStatusCode.NotFound, "Group/"),
        ];
        foreach (var (url, status, mentions) in refused)
        {
            await (await Client.SendAsync(HttpMethod.Get, url, null, ExportClient.AsyncJson)).AssertOutcomeAsync(status, mentions);
        }

        foreach (var format in BulkExportJobs.OutputFormats)
        {
            await Client.KickOffAsync($"$export?_type=Goal&_outputFormat={Uri.EscapeDataString(format)}");
        }

        await (await Client.GetAsync($"$export-status/{Unique("job")}")).AssertOutcomeAsync(HttpStatusCode.NotFound, "export job");
        await (await Client.GetAsync($"$export-file/{Unique("job")}/1")).AssertOutcomeAsync(HttpStatusCode.NotFound, "export job");
        await RunJobsAsync();
    }

    [StoreFact]
    public async Task What_cannot_be_exported_is_reported_and_a_failed_job_answers_500()
    {
        var patient = await CreateAsync(Patient());
        var group = await CreateAsync(new Group
        {
            Type = Group.GroupType.Person,
            Actual = true,
            Member = [new() { Entity = new ResourceReference($"Patient/{patient.Id}") }, new() { Entity = new ResourceReference("Practitioner/not-a-patient") }],
        });

        var manifest = await Client.ManifestAsync(await Client.KickOffAsync($"Group/{group.Id}/$export?_type=Patient"), RunJobsAsync);
        Assert.Equal([patient.Id], (await Client.DownloadAsync(manifest, "Patient")).Select(p => p.Id));
        var error = manifest["error"]!.AsArray().Single()!;
        Assert.Equal("OperationOutcome", error["type"]!.GetValue<string>());
        var lines = (await Client.GetStringAsync(error["url"]!.GetValue<string>())).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var outcome = Assert.IsType<OperationOutcome>(new FhirJsonDeserializer().DeserializeResource(lines.Single()));
        Assert.Contains("Practitioner/not-a-patient", outcome.Issue.Single().Diagnostics);

        // The Group is deleted between kick-off and run: the job fails, and its status says so.
        var status = await Client.KickOffAsync($"Group/{group.Id}/$export?_type=Patient");
        await (await Client.DeleteAsync($"Group/{group.Id}")).AssertStatusAsync(HttpStatusCode.NoContent);
        await RunJobsAsync();
        await (await Client.GetAsync(status)).AssertOutcomeAsync(HttpStatusCode.InternalServerError, $"Group/{group.Id}");
    }

    [StoreFact]
    public async Task A_cancelled_export_is_gone_with_its_files()
    {
        var patient = await CreateAsync(Patient());
        await CreateAsync(Goal($"Patient/{patient.Id}"));

        var queued = await Client.KickOffAsync("$export?_type=Goal");
        await (await Client.DeleteAsync(queued)).AssertOutcomeAsync(HttpStatusCode.Accepted);
        await (await Client.GetAsync(queued)).AssertOutcomeAsync(HttpStatusCode.NotFound);
        await (await Client.DeleteAsync(queued)).AssertOutcomeAsync(HttpStatusCode.NotFound);

        var done = await Client.KickOffAsync("$export?_type=Goal");
        var manifest = await Client.ManifestAsync(done, RunJobsAsync);
        var file = manifest.Outputs("Goal").Single()["url"]!.GetValue<string>();
        await (await Client.DeleteAsync(done)).AssertOutcomeAsync(HttpStatusCode.Accepted);
        await (await Client.GetAsync(done)).AssertOutcomeAsync(HttpStatusCode.NotFound);
        await (await Client.GetAsync(file)).AssertOutcomeAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async Task A_job_is_run_by_one_worker_only_and_a_dead_workers_job_is_resumed()
    {
        var patient = await CreateAsync(Patient());
        var goals = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            goals.Add((await CreateAsync(Goal($"Patient/{patient.Id}"))).Id);
        }

        var store = Services.GetRequiredService<IExportJobStore>();
        var runner = Services.GetRequiredService<ExportJobRunner>();
        var filter = Uri.EscapeDataString($"Goal?subject=Patient/{patient.Id}");

        // Two workers claim at once, over and over: every job is claimed exactly once.
        var statuses = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            statuses.Add(await Client.KickOffAsync($"$export?_type=Patient,Goal&_typeFilter={filter}"));
        }

        async Task<List<ExportJob>> Worker(string owner)
        {
            var claimed = new List<ExportJob>();
            while (await store.ClaimJobsAsync(owner, 1, TimeSpan.FromMinutes(5)) is { Count: > 0 } jobs)
            {
                claimed.AddRange(jobs);
                await Task.WhenAll(jobs.Select(j => runner.RunAsync(j, owner, CancellationToken.None)));
            }

            return claimed;
        }

        var claims = await Task.WhenAll(Worker("worker-a"), Worker("worker-b"));
        var all = claims.SelectMany(c => c).Select(j => j.Id).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.True(statuses.All(s => all.Contains(s[(s.LastIndexOf('/') + 1)..])), "every job was claimed");
        foreach (var status in statuses)
        {
            var manifest = await Client.ManifestAsync(status);
            Assert.Equal(goals.Order(), (await Client.DownloadAsync(manifest, "Goal")).Select(g => g.Id).Order());
        }

        // A worker claims a job, finishes the first type, leaves half a file of the second and dies. Its writes stop
        // counting once another worker holds the job; the job resumes at the unfinished type and completes.
        var resumed = await Client.KickOffAsync($"$export?_type=Patient,Goal&_typeFilter={filter}");
        var id = resumed[(resumed.LastIndexOf('/') + 1)..];
        var dead = (await store.ClaimJobsAsync("dead-worker", 1, TimeSpan.FromMilliseconds(300))).Single();
        Assert.Equal(id, dead.Id);
        Assert.Empty(await store.ClaimJobsAsync("worker-c", 1, TimeSpan.FromMinutes(5)));
        Assert.True(await store.AppendChunkAsync(id, "dead-worker", 1, 0, "{\"resourceType\":\"Patient\",\"id\":\"from-the-dead-worker\"}\n"u8.ToArray(), TimeSpan.FromMilliseconds(300)));
        Assert.True(await store.FinishFileAsync(id, "dead-worker", new ExportFile(1, ExportFileKind.Output, "Patient", 1)));
        Assert.True(await store.AppendChunkAsync(id, "dead-worker", 3, 0, "{\"resourceType\":\"Goal\",\"id\":\"half\"}\n"u8.ToArray(), TimeSpan.FromMilliseconds(300)));
        await Task.Delay(400);

        var taken = (await store.ClaimJobsAsync("worker-c", 1, TimeSpan.FromMinutes(5))).Single();
        Assert.Equal(2, taken.Attempts);
        Assert.False(await store.AppendChunkAsync(id, "dead-worker", 3, 1, "{}\n"u8.ToArray(), TimeSpan.FromMinutes(1)));
        await runner.RunAsync(taken, "worker-c", CancellationToken.None);

        var result = await Client.ManifestAsync(resumed);
        Assert.Equal(["from-the-dead-worker"], (await Client.DownloadAsync(result, "Patient")).Select(p => p.Id)); // kept: that type was finished
        Assert.Equal(goals.Order(), (await Client.DownloadAsync(result, "Goal")).Select(g => g.Id).Order()); // redone: "half" is gone
    }

    [StoreFact]
    public async Task The_CapabilityStatement_declares_the_export_operations()
    {
        var statement = await (await Client.GetAsync("metadata")).ReadAsync<CapabilityStatement>();
        Assert.Contains(BulkExportCapabilities.CapabilityStatement, statement.Instantiates);
        var rest = statement.Rest.Single();
        Assert.Contains(rest.Operation, o => o.Name == "export" && o.Definition == BulkExportCapabilities.SystemExport);
        Assert.Contains(rest.Resource.Single(r => r.Type == "Patient").Operation, o => o.Definition == BulkExportCapabilities.PatientExport);
        Assert.Contains(rest.Resource.Single(r => r.Type == "Group").Operation, o => o.Definition == BulkExportCapabilities.GroupExport);
    }
}

/// <summary>The server with its export worker off: the tests run jobs when and as whom they choose.</summary>
public static class ManualExportSettings
{
    public static Dictionary<string, string?> Apply(Dictionary<string, string?> settings)
    {
        settings["BulkExport:WorkerEnabled"] = "false";
        return settings;
    }
}

public class SqliteManualExportFixture : SqliteServerFixture
{
    protected override Dictionary<string, string?> Settings() => ManualExportSettings.Apply(base.Settings());
}

public class PostgreSqlManualExportFixture : PostgreSqlServerFixture
{
    protected override Dictionary<string, string?> Settings() => ManualExportSettings.Apply(base.Settings());
}

public sealed class SqliteBulkExportTests(SqliteManualExportFixture fixture) : BulkExportTests(fixture), IClassFixture<SqliteManualExportFixture>;

public sealed class PostgreSqlBulkExportTests(PostgreSqlManualExportFixture fixture) : BulkExportTests(fixture), IClassFixture<PostgreSqlManualExportFixture>;
