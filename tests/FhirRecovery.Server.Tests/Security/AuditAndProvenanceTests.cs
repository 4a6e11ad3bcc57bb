using System.Net;
using System.Text;
using FhirRecovery.Server.Audit;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Storage;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Security;

/// <summary>
/// AuditEvents (BALP style) for reads, searches, writes and refusals, searchable with AuditEvent scopes and confined like
/// everything else; a Provenance for every create and update, with agents from the token and X-Provenance merged.
/// </summary>
public abstract class AuditAndProvenanceTests(FhirServerFixture fixture)
{
    private HttpClient Admin => fixture.ClientWith(TestTokens.Mint("system/*.cruds", clientId: "audit-admin"));

    private async Task<string> NewPatientAsync()
    {
        var patient = Patient(family: "Audited");
        patient.Id = Unique("audit");
        await (await Admin.PutAsync($"Patient/{patient.Id}", patient)).AssertStatusAsync(HttpStatusCode.Created);
        return patient.Id;
    }

    private Task FlushAuditAsync() => fixture.Factory.Services.GetRequiredService<AuditWriter>().FlushAsync(CancellationToken.None);

    [StoreFact]
    public async Task The_audit_trail_is_append_only_even_for_a_client_with_every_scope()
    {
        var patient = await NewPatientAsync();
        await (await Admin.GetAsync($"Patient/{patient}")).AssertStatusAsync(HttpStatusCode.OK);
        await FlushAuditAsync();
        var audit = (await (await Admin.GetAsync($"AuditEvent?entity=Patient/{patient}&_count=1")).ReadAsync<Bundle>()).Entry
            .Select(e => e.Resource).OfType<AuditEvent>().First();

        audit.OutcomeDesc = "rewritten";
        await (await Admin.PutAsync($"AuditEvent/{audit.Id}", audit)).AssertOutcomeAsync(HttpStatusCode.Forbidden, "append-only");
        await (await Admin.DeleteAsync($"AuditEvent/{audit.Id}")).AssertOutcomeAsync(HttpStatusCode.Forbidden, "append-only");

        var stored = await (await Admin.GetAsync($"AuditEvent/{audit.Id}")).ReadAsync<AuditEvent>();
        Assert.Equal("1", stored.Meta.VersionId);
        Assert.NotEqual("rewritten", stored.OutcomeDesc);
    }

    [StoreFact]
    public async Task Only_a_client_that_may_read_every_goal_may_subscribe_to_goals()
    {
        var patient = await NewPatientAsync();
        var subscription = new Subscription
        {
            Status = Subscription.SubscriptionStatus.Requested,
            Reason = "Follow goals",
            Criteria = $"Goal?subject=Patient/{patient}",
            Channel = new Subscription.ChannelComponent { Type = Subscription.SubscriptionChannelType.RestHook, Endpoint = "http://subscriber.test/fhir" },
        };

        // Notifications go out with the server's rights: a patient's app could otherwise follow everyone's goals.
        var app = fixture.ClientWith(TestTokens.Mint("patient/Goal.rs patient/Subscription.cruds", patient: patient, clientId: "patient-app"));
        await (await app.PostAsync("Subscription", subscription)).AssertOutcomeAsync(HttpStatusCode.Forbidden);
        var filtered = fixture.ClientWith(TestTokens.Mint("user/Goal.rs?lifecycle-status=active user/Subscription.cruds", clientId: "filtered-app"));
        await (await filtered.PostAsync("Subscription", subscription)).AssertOutcomeAsync(HttpStatusCode.Forbidden, "notifies of every matching Goal");

        var backend = fixture.ClientWith(TestTokens.Mint("system/Goal.rs system/Subscription.cruds", clientId: "referral-hub"));
        await (await backend.PostAsync("Subscription", subscription)).AssertStatusAsync(HttpStatusCode.Created);

        // A matching write under SMART goes through the secured session: its notification joins the write's transaction.
        await (await Admin.PostAsync("Goal", Goal($"Patient/{patient}"))).AssertStatusAsync(HttpStatusCode.Created);
    }

    [StoreFact]
    public async Task Creates_and_updates_get_a_provenance_naming_the_user_and_the_app()
    {
        var patient = await NewPatientAsync();
        var app = fixture.ClientWith(TestTokens.Mint("user/Goal.cruds", fhirUser: "Practitioner/prov-author", clientId: "prov-app"));
        var created = await (await app.PostAsync("Goal", Goal($"Patient/{patient}"))).ReadAsync<Goal>();
        created.Description.Text = "Changed";
        await (await app.PutAsync($"Goal/{created.Id}", created)).AssertStatusAsync(HttpStatusCode.OK);

        var bundle = await (await Admin.GetAsync($"Provenance?target=Goal/{created.Id}")).ReadAsync<Bundle>();
        var provenances = bundle.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Provenance>().ToList();
        Assert.Equal(2, provenances.Count);
        Assert.Contains(provenances, p => p.Target[0].Reference == $"Goal/{created.Id}/_history/1" && p.Activity.Coding[0].Code == "CREATE");
        Assert.Contains(provenances, p => p.Target[0].Reference == $"Goal/{created.Id}/_history/2" && p.Activity.Coding[0].Code == "UPDATE");
        var agents = provenances[0].Agent;
        Assert.Contains(agents, a => a.Who.Reference == "Practitioner/prov-author" && a.Type.Coding[0].Code == "author");
        Assert.Contains(agents, a => a.Who.Identifier?.Value == "prov-app" && a.OnBehalfOf?.Reference == "Practitioner/prov-author");
    }

    [StoreFact]
    public async Task A_transaction_gets_one_provenance_per_activity_targeting_every_version_it_wrote()
    {
        var patient = await NewPatientAsync();
        var app = fixture.ClientWith(TestTokens.Mint("user/Goal.cruds", fhirUser: "Practitioner/prov-author", clientId: "prov-app"));
        var existing = await (await app.PostAsync("Goal", Goal($"Patient/{patient}"))).ReadAsync<Goal>();
        existing.Description.Text = "Revised in the transaction";
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = Goal($"Patient/{patient}"), Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Goal" } });
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = Goal($"Patient/{patient}"), Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Goal" } });
        bundle.Entry.Add(new Bundle.EntryComponent { Resource = existing, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"Goal/{existing.Id}" } });
        var response = await (await app.PostAsync("", bundle)).ReadAsync<Bundle>();
        var written = response.Entry.Select(e => e.Response.Location.Split("/fhir/").Last()).ToList();

        var created = await (await Admin.GetAsync($"Provenance?target={written[0].Split("/_history")[0]}")).ReadAsync<Bundle>();
        var create = Assert.Single(created.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Provenance>());
        Assert.Equal("CREATE", create.Activity.Coding[0].Code);
        Assert.Equal(written.Take(2).Order(), create.Target.Select(t => t.Reference).Order());
        Assert.Contains(create.Agent, a => a.Who.Reference == "Practitioner/prov-author");

        var updated = await (await Admin.GetAsync($"Provenance?target=Goal/{existing.Id}&_sort=-_lastUpdated")).ReadAsync<Bundle>();
        var update = updated.Entry.Select(e => e.Resource).OfType<Hl7.Fhir.Model.Provenance>().First();
        Assert.Equal("UPDATE", update.Activity.Coding[0].Code);
        Assert.Equal([$"Goal/{existing.Id}/_history/2"], update.Target.Select(t => t.Reference));
    }

    [StoreFact]
    public async Task X_Provenance_is_merged_and_a_malformed_one_refuses_the_write()
    {
        var patient = await NewPatientAsync();
        var app = fixture.ClientWith(TestTokens.Mint("system/Goal.cruds", clientId: "prov-backend"));
        var header = """{"resourceType":"Provenance","target":[{"reference":"Patient/ignored"}],"recorded":"2020-01-01T00:00:00Z","reason":[{"text":"Imported from the regional EHR"}],"agent":[{"who":{"reference":"Organization/regional-ehr"}}]}""";
        var created = await (await app.PostAsync("Goal", Goal($"Patient/{patient}"), ("X-Provenance", header))).ReadAsync<Goal>();
        var provenance = (await (await Admin.GetAsync($"Provenance?target=Goal/{created.Id}")).ReadAsync<Bundle>()).Entry
            .Select(e => e.Resource).OfType<Hl7.Fhir.Model.Provenance>().Single();
        Assert.Equal("Imported from the regional EHR", provenance.Reason[0].Text);
        Assert.Equal($"Goal/{created.Id}/_history/1", Assert.Single(provenance.Target).Reference);
        Assert.NotEqual("2020-01-01T00:00:00Z", provenance.RecordedElement.Value?.ToString("yyyy-MM-ddTHH:mm:ssZ"));
        Assert.Contains(provenance.Agent, a => a.Who.Reference == "Organization/regional-ehr");
        Assert.Contains(provenance.Agent, a => a.Who.Identifier?.Value == "prov-backend");

        var goal = Goal($"Patient/{patient}", "Must not be stored");
        await (await app.PostAsync("Goal", goal, ("X-Provenance", "{not json"))).AssertOutcomeAsync(HttpStatusCode.BadRequest, "X-Provenance");
        var stored = await (await Admin.GetAsync($"Goal?subject=Patient/{patient}")).ReadAsync<Bundle>();
        Assert.DoesNotContain(stored.Entry, e => e.Resource is Goal { Description.Text: "Must not be stored" });
    }

    [StoreFact]
    public async Task Reads_searches_writes_and_refusals_are_audited_and_searchable_in_the_patients_compartment()
    {
        var patient = await NewPatientAsync();
        var other = await NewPatientAsync();
        var goal = await (await Admin.PostAsync("Goal", Goal($"Patient/{patient}"))).ReadAsync<Goal>();
        var app = fixture.ClientWith(TestTokens.Mint("patient/Goal.rs patient/AuditEvent.rs", patient: patient, clientId: "audited-app"));
        await (await app.GetAsync($"Goal/{goal.Id}")).AssertStatusAsync(HttpStatusCode.OK);
        await (await app.GetAsync($"Goal?subject=Patient/{patient}")).AssertStatusAsync(HttpStatusCode.OK);
        await (await app.GetAsync($"Observation?subject=Patient/{patient}")).AssertOutcomeAsync(HttpStatusCode.Forbidden);
        await (await fixture.ClientWith("not-a-token").GetAsync($"Goal/{goal.Id}")).AssertOutcomeAsync(HttpStatusCode.Unauthorized);
        await (await fixture.ClientWith(TestTokens.Mint("patient/Goal.rs", patient: other, clientId: "other-app")).GetAsync("Goal")).AssertStatusAsync(HttpStatusCode.OK);
        var writer = fixture.ClientWith(TestTokens.Mint("patient/*.rs patient/Goal.c", patient: patient, clientId: "writing-app"));
        var written = await (await writer.PostAsync("Goal", Goal($"Patient/{patient}", "Audited write"))).ReadAsync<Goal>();
        await (await writer.GetAsync($"Patient/{patient}/$recovery-summary")).AssertStatusAsync(HttpStatusCode.OK);
        await FlushAuditAsync();

        var all = (await (await Admin.GetAsync($"AuditEvent?patient=Patient/{patient}&_count=50")).ReadAsync<Bundle>()).Entry
            .Select(e => e.Resource).OfType<AuditEvent>().ToList();
        var read = Assert.Single(all, a => a.Subtype[0].Code == "read" && a.Outcome == AuditEvent.AuditEventOutcome.N0
                                           && a.Entity.Any(e => e.What?.Reference == $"Goal/{goal.Id}"));
        Assert.Equal(AuditEvent.AuditEventOutcome.N0, read.Outcome);
        Assert.Equal(AuditEvent.AuditEventAction.R, read.Action);
        Assert.Contains(read.Agent, a => a.Who.Identifier?.Value == "audited-app");
        var search = Assert.Single(all, a => a.Subtype[0].Code == "search-type" && a.Outcome == AuditEvent.AuditEventOutcome.N0 && a.Entity.Any(e => e.Query is { Length: > 0 } q
                                                                                                       && Encoding.UTF8.GetString(q).Contains("subject=Patient")));
        Assert.Equal(AuditEvent.AuditEventAction.E, search.Action);
        var refused = Assert.Single(all, a => a.Outcome == AuditEvent.AuditEventOutcome.N4 && a.OutcomeDesc.StartsWith("403"));
        Assert.Equal("search-type", refused.Subtype[0].Code);
        var create = Assert.Single(all, a => a.Subtype[0].Code == "create" && a.Entity.Any(e => e.What?.Reference?.StartsWith($"Goal/{written.Id}", StringComparison.Ordinal) == true));
        Assert.Equal(AuditEvent.AuditEventAction.C, create.Action);
        Assert.Contains(create.Agent, a => a.Who.Identifier?.Value == "writing-app");
        var operation = Assert.Single(all, a => a.Subtype[0].Code == "operation" && a.Agent.Any(g => g.Who.Identifier?.Value == "writing-app"));
        Assert.Contains(operation.Entity, e => e.Description?.Contains("$recovery-summary", StringComparison.Ordinal) == true);
        Assert.Equal(AuditEvent.AuditEventOutcome.N0, operation.Outcome);
        var unauthorized = (await (await Admin.GetAsync($"AuditEvent?entity=Goal/{goal.Id}&outcome=4")).ReadAsync<Bundle>()).Entry
            .Select(e => e.Resource).OfType<AuditEvent>();
        Assert.Contains(unauthorized, a => a.OutcomeDesc.StartsWith("401"));

        // The patient's app sees its patient's audit trail, not the other patient's.
        var visible = (await (await app.GetAsync("AuditEvent?_count=50")).ReadAsync<Bundle>()).Entry.Select(e => e.Resource).OfType<AuditEvent>().ToList();
        Assert.NotEmpty(visible);
        Assert.DoesNotContain(visible, a => a.Agent.Any(g => g.Who.Identifier?.Value == "other-app"));
        await (await app.GetAsync($"AuditEvent?patient=Patient/{other}")).AssertStatusAsync(HttpStatusCode.OK);
        Assert.DoesNotContain((await (await app.GetAsync($"AuditEvent?patient=Patient/{other}")).ReadAsync<Bundle>()).Entry, e => e.Resource is AuditEvent);
    }

    [StoreFact]
    public async Task Audit_events_left_in_the_journal_by_a_crashed_process_are_written_at_start()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"fhirrecovery-journal-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var audit = new AuditEvent
        {
            Id = Guid.NewGuid().ToString(),
            Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest"),
            Recorded = DateTimeOffset.UtcNow,
            Agent = [new AuditEvent.AgentComponent { Requestor = true, Who = new ResourceReference { Display = "before the crash" } }],
            Source = new AuditEvent.SourceComponent { Observer = new ResourceReference { Display = "FhirRecovery FHIR server" } },
        };
        var options = Options.Create(new AuditOptions { JournalPath = folder, FlushIntervalMilliseconds = 50 });
        var environment = fixture.Factory.Services.GetRequiredService<IHostEnvironment>();

        // The crashed process journaled two requests (this version's record lines) and was killed writing a third.
        var crashedFolder = Path.Combine(folder, "crashed");
        List<string> recorded;
        using (var crashed = new AuditTrail(Options.Create(new AuditOptions { JournalPath = crashedFolder }), environment, NullLogger<AuditTrail>.Instance))
        {
            var records = Enumerable.Range(0, 2).Select(i => new AuditRecord("read", "GET", $"/fhir/Goal/g{i}", null, $"Goal/g{i}", 200, null, null, ["journaled"],
                "10.0.0.1", "localhost", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow)).ToList();
            await Task.WhenAll(records.Select(crashed.RecordAsync));
            recorded = records.Select(r => r.Id).ToList();
        }

        var lines = await File.ReadAllTextAsync(Directory.GetFiles(crashedFolder).Single());
        // An AuditEvent line is what journals of earlier versions hold: they are replayed too.
        await File.WriteAllTextAsync(Path.Combine(folder, "crashed-host-1-20260101000000-00000001.ndjson"),
            FhirHttp.ToJson(audit) + "\n" + lines + lines[..(lines.Length / 3)]);
        Directory.Delete(crashedFolder, recursive: true);

        using var trail = new AuditTrail(options, environment, NullLogger<AuditTrail>.Instance);
        var writer = new AuditWriter(trail, fixture.Factory.Services.GetRequiredService<IResourceStore>(), options, NullLogger<AuditWriter>.Instance);
        await writer.ReplayJournalAsync(CancellationToken.None);

        await (await Admin.GetAsync($"AuditEvent/{audit.Id}")).AssertStatusAsync(HttpStatusCode.OK);
        foreach (var id in recorded)
        {
            var replayed = await (await Admin.GetAsync($"AuditEvent/{id}")).ReadAsync<AuditEvent>();
            Assert.Contains(replayed.Entity, e => e.What?.Reference == "Patient/journaled");
            Assert.Equal("10.0.0.1", replayed.Agent[0].Network.Address);
        }

        Assert.Empty(Directory.GetFiles(folder));
    }

    [StoreFact]
    public async Task Concurrent_requests_share_journal_writes_and_every_record_reaches_the_journal_and_the_store()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"fhirrecovery-journal-{Guid.NewGuid():N}");
        var options = Options.Create(new AuditOptions { JournalPath = folder });
        var environment = fixture.Factory.Services.GetRequiredService<IHostEnvironment>();
        using var trail = new AuditTrail(options, environment, NullLogger<AuditTrail>.Instance);
        var records = Enumerable.Range(0, 400).Select(i => new AuditRecord("read", "GET", $"/fhir/Goal/c{i}", null, $"Goal/c{i}", 200, null, null, [],
            null, "localhost", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow)).ToList();

        // Recorded from many threads at once: each completes only once its line is in the journal.
        await Parallel.ForEachAsync(records, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (record, _) => await trail.RecordAsync(record));
        var journaled = (await File.ReadAllLinesAsync(Directory.GetFiles(folder).Single())).ToList();
        Assert.Equal(records.Select(r => r.Id).Order(), journaled.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("Id").GetString()).Order());

        var writer = new AuditWriter(trail, fixture.Factory.Services.GetRequiredService<IResourceStore>(), options, NullLogger<AuditWriter>.Instance);
        await writer.FlushAsync(CancellationToken.None);
        Assert.Empty(Directory.GetFiles(folder)); // stored: the segment is gone
        await (await Admin.GetAsync($"AuditEvent/{records[^1].Id}")).AssertStatusAsync(HttpStatusCode.OK);
    }
}

public sealed class SqliteAuditAndProvenanceTests(SqliteSmartFixture fixture) : AuditAndProvenanceTests(fixture), IClassFixture<SqliteSmartFixture>;

public sealed class PostgreSqlAuditAndProvenanceTests(PostgreSqlSmartFixture fixture) : AuditAndProvenanceTests(fixture), IClassFixture<PostgreSqlSmartFixture>;
