using System.Net;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Server.Tests.Security;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Server.Tests.Workflow;

/// <summary>Shared by the history import tests: the IG's referral and peer-support task, and transactions of them.</summary>
internal static class HistoryImportData
{
    public static readonly (string Name, string Value) ImportHeader = (HistoryImport.Header, HistoryImport.HistoryValue);

    public static ServiceRequest Referral(RequestStatus status)
    {
        var referral = Template<ServiceRequest>("ServiceRequest-tom-peer-support-referral.json");
        referral.Id = Unique("psr");
        referral.Status = status;
        return referral;
    }

    public static FhirTask Task(string referralId, string state)
    {
        var task = Template<FhirTask>("Task-tom-peer-support-task.json");
        task.Id = Unique("pst");
        task.Focus = new ResourceReference($"ServiceRequest/{referralId}");
        task.Status = EnumUtility.ParseLiteral<FhirTask.TaskStatus>(state);
        task.StatusReason = state is "cancelled" or "rejected"
            ? new CodeableConcept("https://fhirrecovery.org/fhir/CodeSystem/referral-status-reason", "no-capacity", "No capacity")
            : null;
        return task;
    }

    /// <summary>A transaction of PUTs, as <c>fhir-recovery load</c> builds them.</summary>
    public static Bundle Puts(params Resource[] resources) => new()
    {
        Type = Bundle.BundleType.Transaction,
        Entry = resources.Select(r => new Bundle.EntryComponent
        {
            FullUrl = $"urn:uuid:{Guid.NewGuid()}",
            Resource = (Resource)r.DeepCopy(),
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"{r.TypeName}/{r.Id}" },
        }).ToList(),
    };

    private static T Template<T>(string file) where T : Resource
    {
        var resource = Example<T>(file);
        resource.Meta.VersionId = null;
        resource.Meta.LastUpdated = null;
        return resource;
    }
}

/// <summary>
/// <c>X-FhirRecovery-Import: history</c> without security: recorded versions are replayed past the workflow rules (Task
/// state machine, referral status sync, notifications), while validation still applies and ordinary writes stay held to
/// the rules.
/// </summary>
public abstract class HistoryImportTests(FhirServerFixture fixture, TestReceiver receiver)
{
    private HttpClient Client => fixture.Client;

    [StoreFact]
    public async System.Threading.Tasks.Task A_replayed_history_skips_the_task_lifecycle_and_the_referral_sync()
    {
        // The NDJSON-by-type order: the referral's final state first, then its task's versions, then a re-run's first one.
        var referral = HistoryImportData.Referral(RequestStatus.Revoked);
        var requested = HistoryImportData.Task(referral.Id, "requested");
        var cancelled = (FhirTask)requested.DeepCopy();
        cancelled.Status = FhirTask.TaskStatus.Cancelled;
        cancelled.StatusReason = HistoryImportData.Task(referral.Id, "cancelled").StatusReason;

        foreach (var version in new Resource[] { referral, requested, cancelled, requested })
        {
            await (await Client.PostAsync("", HistoryImportData.Puts(version), HistoryImportData.ImportHeader)).AssertStatusAsync(HttpStatusCode.OK);
        }

        var history = await (await Client.GetAsync($"Task/{requested.Id}/_history")).ReadAsync<Bundle>();
        Assert.Equal(["requested", "cancelled", "requested"], history.Entry.Select(e => ((FhirTask)e.Resource).Status.GetLiteral()).Reverse());
        // The referral keeps its own recorded version: nothing was derived from the tasks.
        var stored = await (await Client.GetAsync($"ServiceRequest/{referral.Id}")).ReadAsync<ServiceRequest>();
        Assert.Equal(("1", RequestStatus.Revoked), (stored.Meta.VersionId, stored.Status));
    }

    [StoreFact]
    public async System.Threading.Tasks.Task Ordinary_writes_are_still_held_to_the_workflow_rules()
    {
        var referral = HistoryImportData.Referral(RequestStatus.Revoked);
        await (await Client.PostAsync("", HistoryImportData.Puts(referral), HistoryImportData.ImportHeader)).AssertStatusAsync(HttpStatusCode.OK);
        var task = HistoryImportData.Task(referral.Id, "requested");

        await (await Client.PostAsync("", HistoryImportData.Puts(task))).AssertRefusedAsync(HttpStatusCode.Conflict, "no new task can be added");
        await (await Client.PutAsync($"Task/{task.Id}", task, HistoryImportData.ImportHeader)).AssertRefusedAsync(HttpStatusCode.Conflict, "no new task can be added");
        await (await Client.GetAsync($"Task/{task.Id}")).AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async System.Threading.Tasks.Task A_history_import_is_still_validated_and_atomic()
    {
        var referral = HistoryImportData.Referral(RequestStatus.Active);
        var task = HistoryImportData.Task(referral.Id, "requested");
        task.For = null;

        var outcome = await (await Client.PostAsync("", HistoryImportData.Puts(referral, task), HistoryImportData.ImportHeader)).AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity);

        Assert.Contains(outcome.Issue, i => i.Expression.Any(e => e.StartsWith("Bundle.entry[1]", StringComparison.Ordinal)));
        await (await Client.GetAsync($"ServiceRequest/{referral.Id}")).AssertStatusAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async System.Threading.Tasks.Task An_unknown_import_value_is_a_400()
    {
        var referral = HistoryImportData.Referral(RequestStatus.Active);
        await (await Client.PostAsync("", HistoryImportData.Puts(referral), (HistoryImport.Header, "everything")))
            .AssertRefusedAsync(HttpStatusCode.BadRequest, "the only value is 'history'");
    }

    [StoreFact]
    public async System.Threading.Tasks.Task Imported_versions_notify_no_subscriber()
    {
        var referral = HistoryImportData.Referral(RequestStatus.Active);
        var subscription = new Subscription
        {
            Status = Subscription.SubscriptionStatus.Requested,
            Reason = "history import test",
            Criteria = $"ServiceRequest?_id={referral.Id}",
            Channel = new Subscription.ChannelComponent { Type = Subscription.SubscriptionChannelType.RestHook, Endpoint = $"http://subscriber.test/{referral.Id}" },
        };
        await (await Client.PostAsync("Subscription", subscription)).AssertStatusAsync(HttpStatusCode.Created);

        await (await Client.PostAsync("", HistoryImportData.Puts(referral), HistoryImportData.ImportHeader)).AssertStatusAsync(HttpStatusCode.OK);
        referral.Note.Add(new Annotation { Text = "live" });
        await (await Client.PutAsync($"ServiceRequest/{referral.Id}", referral)).AssertStatusAsync(HttpStatusCode.OK);

        // Notifications go out in order: once the live one is there, an imported one would have been too.
        await receiver.WaitForAsync(r => r.Delivered.Any(n => n.ResourceVersion?.Contains(referral.Id, StringComparison.Ordinal) == true), "the live write's notification");
        Assert.Equal(["2"], receiver.Delivered.Where(n => n.ResourceVersion?.Contains(referral.Id, StringComparison.Ordinal) == true).Select(n => n.ResourceVersion?.Split('/')[^1]));
    }
}

public sealed class SqliteHistoryImportTests(SqliteWorkflowFixture fixture) : HistoryImportTests(fixture, fixture.Receiver), IClassFixture<SqliteWorkflowFixture>;

public sealed class PostgreSqlHistoryImportTests(PostgreSqlWorkflowFixture fixture) : HistoryImportTests(fixture, fixture.Receiver), IClassFixture<PostgreSqlWorkflowFixture>;

/// <summary>With SMART security on: a history import needs system-level write scopes for every type it writes.</summary>
public abstract class HistoryImportAuthorizationTests(FhirServerFixture fixture)
{
    [StoreFact]
    public async System.Threading.Tasks.Task Only_system_write_scopes_may_import_history()
    {
        var referral = HistoryImportData.Referral(RequestStatus.Revoked);
        var task = HistoryImportData.Task(referral.Id, "cancelled");
        var bundle = HistoryImportData.Puts(referral, task);

        foreach (var (scopes, patient, user) in new (string, string?, string?)[]
                 {
                     ("patient/*.cruds", "tom", null),
                     ("user/*.cruds", null, "Practitioner/tester"),
                     ("system/ServiceRequest.cruds system/Task.rs", null, null),
                     ("system/*.rs", null, null),
                 })
        {
            var client = fixture.ClientWith(TestTokens.Mint(scopes, patient: patient, fhirUser: user));
            var outcome = await (await client.PostAsync("", bundle, HistoryImportData.ImportHeader)).AssertRefusedAsync(HttpStatusCode.Forbidden, "system-level scopes");
            Assert.Equal(OperationOutcome.IssueType.Forbidden, outcome.Issue[0].Code);
        }

        var system = fixture.ClientWith(TestTokens.Mint("system/ServiceRequest.cu system/Task.cu system/*.rs"));
        await (await system.GetAsync($"Task/{task.Id}")).AssertStatusAsync(HttpStatusCode.NotFound);
        await (await system.PostAsync("", bundle, HistoryImportData.ImportHeader)).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(FhirTask.TaskStatus.Cancelled, (await (await system.GetAsync($"Task/{task.Id}")).ReadAsync<FhirTask>()).Status);
    }
}

public sealed class SqliteHistoryImportAuthorizationTests(SqliteSmartFixture fixture) : HistoryImportAuthorizationTests(fixture), IClassFixture<SqliteSmartFixture>;

public sealed class PostgreSqlHistoryImportAuthorizationTests(PostgreSqlSmartFixture fixture) : HistoryImportAuthorizationTests(fixture), IClassFixture<PostgreSqlSmartFixture>;
