using System.Net;
using System.Text;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using Microsoft.Extensions.DependencyInjection;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Server.Tests.Workflow;

/// <summary>
/// The Task lifecycles the server enforces, checked exhaustively against the documented tables (written out here, not
/// taken from the implementation): every (state, next state) pair of peer-support-task and recovery-patient-task, on-hold
/// once per state it can pause, plus creation states, transactions, patches, the referral's own status, and the
/// statusReason/output requirements.
/// </summary>
public abstract class TaskWorkflowTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private const string OnHoldFromAccepted = "on-hold(accepted)";
    private const string OnHoldFromInProgress = "on-hold(in-progress)";

    /// <summary>peer-support-task: the allowed next states of each state (IG README, "Referral workflow").</summary>
    private static readonly Dictionary<string, string[]> PeerSupportTable = new()
    {
        ["requested"] = ["received", "accepted", "rejected", "cancelled", "entered-in-error"],
        ["received"] = ["accepted", "rejected", "cancelled", "entered-in-error"],
        ["accepted"] = ["in-progress", "on-hold", "cancelled", "entered-in-error"],
        ["in-progress"] = ["completed", "failed", "on-hold", "cancelled", "entered-in-error"],
        [OnHoldFromAccepted] = ["accepted", "cancelled", "entered-in-error"],
        [OnHoldFromInProgress] = ["in-progress", "failed", "cancelled", "entered-in-error"],
        ["rejected"] = ["entered-in-error"],
        ["cancelled"] = ["entered-in-error"],
        ["failed"] = ["entered-in-error"],
        ["completed"] = ["entered-in-error"],
        ["entered-in-error"] = [],
    };

    /// <summary>How each peer-support state is reached from creation (a path of allowed transitions).</summary>
    private static readonly Dictionary<string, string[]> PeerSupportPaths = new()
    {
        ["requested"] = ["requested"],
        ["received"] = ["requested", "received"],
        ["accepted"] = ["requested", "accepted"],
        ["in-progress"] = ["requested", "accepted", "in-progress"],
        [OnHoldFromAccepted] = ["requested", "accepted", "on-hold"],
        [OnHoldFromInProgress] = ["requested", "accepted", "in-progress", "on-hold"],
        ["rejected"] = ["requested", "rejected"],
        ["cancelled"] = ["requested", "cancelled"],
        ["failed"] = ["requested", "accepted", "in-progress", "failed"],
        ["completed"] = ["requested", "accepted", "in-progress", "completed"],
        ["entered-in-error"] = ["requested", "entered-in-error"],
    };

    private static readonly string[] PeerSupportStates =
        ["requested", "received", "accepted", "rejected", "cancelled", "in-progress", "on-hold", "failed", "completed", "entered-in-error"];

    private static readonly Dictionary<string, string[]> PatientTable = new()
    {
        ["ready"] = ["in-progress", "completed", "cancelled", "entered-in-error"],
        ["in-progress"] = ["completed", "failed", "on-hold", "cancelled", "entered-in-error"],
        [OnHoldFromInProgress] = ["in-progress", "failed", "cancelled", "entered-in-error"],
        ["completed"] = ["entered-in-error"],
        ["cancelled"] = ["entered-in-error"],
        ["failed"] = ["entered-in-error"],
        ["entered-in-error"] = [],
    };

    private static readonly Dictionary<string, string[]> PatientPaths = new()
    {
        ["ready"] = ["ready"],
        ["in-progress"] = ["ready", "in-progress"],
        [OnHoldFromInProgress] = ["ready", "in-progress", "on-hold"],
        ["completed"] = ["ready", "completed"],
        ["cancelled"] = ["ready", "cancelled"],
        ["failed"] = ["ready", "in-progress", "failed"],
        ["entered-in-error"] = ["ready", "entered-in-error"],
    };

    private static readonly string[] PatientStates = ["ready", "in-progress", "on-hold", "completed", "cancelled", "failed", "entered-in-error"];

    [StoreFact]
    public async Task Every_peer_support_task_transition_is_allowed_or_refused_as_the_table_says()
    {
        var failures = await CheckAllTransitionsAsync(PeerSupportTable, PeerSupportPaths, PeerSupportStates, PeerSupportTaskAsync);
        Assert.True(failures.Count == 0, $"{failures.Count} transitions differ from the table:\n{string.Join("\n", failures)}");
    }

    [StoreFact]
    public async Task Every_patient_task_transition_is_allowed_or_refused_as_the_table_says()
    {
        var failures = await CheckAllTransitionsAsync(PatientTable, PatientPaths, PatientStates, PatientTaskAsync);
        Assert.True(failures.Count == 0, $"{failures.Count} transitions differ from the table:\n{string.Join("\n", failures)}");
    }

    [StoreFact]
    public async Task A_task_is_created_only_in_its_initial_state()
    {
        foreach (var state in PeerSupportStates.Where(s => s != "requested"))
        {
            var (_, task) = await PeerSupportTaskAsync(null);
            SetState(task, state);
            var outcome = await (await Client.PutAsync($"Task/{task.Id}", task)).AssertRefusedAsync(HttpStatusCode.Conflict, "starts as 'requested'");
            Assert.Equal(OperationOutcome.IssueType.BusinessRule, outcome.Issue[0].Code);
            Assert.Equal(["requested"], outcome.Issue[0].Details.Coding.Select(c => c.Code));
        }

        foreach (var state in PatientStates.Where(s => s != "ready"))
        {
            var (_, task) = await PatientTaskAsync(null);
            SetState(task, state);
            await (await Client.PostAsync("Task", task)).AssertRefusedAsync(HttpStatusCode.Conflict, "starts as 'ready'");
        }
    }

    [StoreFact]
    public async Task A_forbidden_transition_names_the_allowed_ones_in_the_outcome()
    {
        var (_, task) = await PeerSupportTaskAsync("requested");
        SetState(task, "completed");
        var response = await Client.PutAsync($"Task/{task.Id}", task);
        var outcome = await response.AssertRefusedAsync(HttpStatusCode.Conflict, "cannot go from 'requested' to 'completed'");
        var issue = outcome.Issue[0];
        Assert.Equal(OperationOutcome.IssueSeverity.Error, issue.Severity);
        Assert.Equal("Task.status", issue.Expression.Single());
        Assert.Contains("'received', 'accepted', 'rejected', 'cancelled', 'entered-in-error'", issue.Diagnostics);
        Assert.Equal(["received", "accepted", "rejected", "cancelled", "entered-in-error"], issue.Details.Coding.Select(c => c.Code));
        Assert.All(issue.Details.Coding, c => Assert.Equal("http://hl7.org/fhir/task-status", c.System));

        var stored = await (await Client.GetAsync($"Task/{task.Id}")).ReadAsync<FhirTask>();
        Assert.Equal(FhirTask.TaskStatus.Requested, stored.Status);
        Assert.Equal("1", stored.Meta.VersionId);
    }

    [StoreFact]
    public async Task The_referral_status_follows_its_tasks_in_the_same_write()
    {
        var (referral, task) = await PeerSupportTaskAsync("requested");
        await AssertReferralAsync(referral.Id, RequestStatus.Active, versions: 1);

        await MoveAsync(task, "accepted", "in-progress", "on-hold");
        await AssertReferralAsync(referral.Id, RequestStatus.OnHold, versions: 2);
        await MoveAsync(task, "in-progress");
        await AssertReferralAsync(referral.Id, RequestStatus.Active, versions: 3);
        await MoveAsync(task, "completed");
        await AssertReferralAsync(referral.Id, RequestStatus.Completed, versions: 4);

        // A rejection leaves the request standing (for the referrer to send it elsewhere); a failure ends it.
        var (second, rejected) = await PeerSupportTaskAsync("requested");
        await MoveAsync(rejected, "rejected");
        await AssertReferralAsync(second.Id, RequestStatus.Active, versions: 1);
        var other = await NewTaskAsync(second.Id);
        await MoveAsync(other, "accepted", "in-progress", "failed");
        await AssertReferralAsync(second.Id, RequestStatus.Revoked, versions: 2);
        await MoveAsync(other, "entered-in-error");
        await AssertReferralAsync(second.Id, RequestStatus.Active, versions: 3); // only the rejection counts now
        await MoveAsync(rejected, "entered-in-error");
        await AssertReferralAsync(second.Id, RequestStatus.EnteredInError, versions: 4);
    }

    [StoreFact]
    public async Task A_withdrawn_referral_takes_no_new_work_but_its_tasks_may_end()
    {
        var (referral, task) = await PeerSupportTaskAsync("requested");
        referral = await (await Client.GetAsync($"ServiceRequest/{referral.Id}")).ReadAsync<ServiceRequest>();
        referral.Status = RequestStatus.Revoked;
        await (await Client.PutAsync($"ServiceRequest/{referral.Id}", referral)).AssertStatusAsync(HttpStatusCode.OK);

        SetState(task, "accepted");
        await (await Client.PutAsync($"Task/{task.Id}", task)).AssertRefusedAsync(HttpStatusCode.Conflict, "is revoked, so its tasks may only end");
        var another = Template<FhirTask>("Task-tom-peer-support-task.json");
        another.Id = Unique("pst");
        another.Focus = new ResourceReference($"ServiceRequest/{referral.Id}");
        SetState(another, "requested");
        await (await Client.PutAsync($"Task/{another.Id}", another)).AssertRefusedAsync(HttpStatusCode.Conflict, "no new task can be added");

        await MoveAsync(task, "cancelled");
        await AssertReferralAsync(referral.Id, RequestStatus.Revoked, versions: 2);
    }

    [StoreFact]
    public async Task Transactions_apply_the_lifecycle_to_every_entry_and_write_nothing_when_one_is_refused()
    {
        var (referral, task) = await PeerSupportTaskAsync("requested");
        var created = Template<FhirTask>("Task-tom-peer-support-task.json");
        created.Focus = new ResourceReference($"ServiceRequest/{referral.Id}");
        SetState(created, "completed");
        var goal = Goal("Patient/tom");
        SetState(task, "accepted");
        var bundle = Transaction(
            (Bundle.HTTPVerb.POST, "Goal", goal),
            (Bundle.HTTPVerb.PUT, $"Task/{task.Id}", task),
            (Bundle.HTTPVerb.POST, "Task", created));
        var outcome = await (await Client.PostAsync("", bundle)).AssertRefusedAsync(HttpStatusCode.Conflict, "starts as 'requested'");
        Assert.Contains("Bundle.entry[2]", outcome.Issue[0].Diagnostics);
        var stored = await (await Client.GetAsync($"Task/{task.Id}")).ReadAsync<FhirTask>();
        Assert.Equal(FhirTask.TaskStatus.Requested, stored.Status);
        var goals = await (await Client.GetAsync($"Goal?identifier={goal.Identifier[0].System}|{goal.Identifier[0].Value}")).ReadAsync<Bundle>();
        Assert.Empty(goals.Entry);

        // Allowed: both entries land, and the referral with them.
        SetState(created, "requested");
        bundle = Transaction((Bundle.HTTPVerb.PUT, $"Task/{task.Id}", task), (Bundle.HTTPVerb.POST, "Task", created));
        await (await Client.PostAsync("", bundle)).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(FhirTask.TaskStatus.Accepted, (await (await Client.GetAsync($"Task/{task.Id}")).ReadAsync<FhirTask>()).Status);

        // A forbidden step inside a transaction answers as a single write would.
        SetState(task, "completed");
        await (await Client.PostAsync("", Transaction((Bundle.HTTPVerb.PUT, $"Task/{task.Id}", task))))
            .AssertRefusedAsync(HttpStatusCode.Conflict, "allowed from 'accepted': 'in-progress', 'on-hold', 'cancelled', 'entered-in-error'");
    }

    [StoreFact]
    public async Task Patches_and_conditional_updates_go_through_the_lifecycle()
    {
        var (_, task) = await PeerSupportTaskAsync("requested");
        var patch = new StringContent("""[{ "op": "replace", "path": "/status", "value": "in-progress" }]""", Encoding.UTF8, "application/json-patch+json");
        await (await Client.PatchAsync($"Task/{task.Id}", patch)).AssertRefusedAsync(HttpStatusCode.Conflict, "cannot go from 'requested' to 'in-progress'");
        patch = new StringContent("""[{ "op": "replace", "path": "/status", "value": "accepted" }]""", Encoding.UTF8, "application/json-patch+json");
        await (await Client.PatchAsync($"Task/{task.Id}", patch)).AssertStatusAsync(HttpStatusCode.OK);

        SetState(task, "completed");
        await (await Client.PutAsync($"Task?_id={task.Id}", task)).AssertRefusedAsync(HttpStatusCode.Conflict, "cannot go from 'accepted' to 'completed'");
    }

    [StoreFact]
    public async Task Dropping_the_profile_does_not_take_a_task_out_of_its_lifecycle()
    {
        var (_, task) = await PeerSupportTaskAsync("requested");
        SetState(task, "completed");
        task.Meta = null;
        await (await Client.PutAsync($"Task/{task.Id}", task)).AssertRefusedAsync(HttpStatusCode.Conflict, "cannot go from 'requested' to 'completed'");
    }

    [StoreFact]
    public async Task Tasks_of_other_workflows_are_not_governed()
    {
        var task = new FhirTask
        {
            Status = FhirTask.TaskStatus.Completed,
            Intent = FhirTask.TaskIntent.Order,
            Code = new CodeableConcept("http://hl7.org/fhir/CodeSystem/task-code", "approve"),
        };
        var created = await (await Client.PostAsync("Task", task)).ReadAsync<FhirTask>();
        created.Status = FhirTask.TaskStatus.Requested;
        await (await Client.PutAsync($"Task/{created.Id}", created)).AssertStatusAsync(HttpStatusCode.OK);
    }

    private async Task<List<string>> CheckAllTransitionsAsync(Dictionary<string, string[]> table, Dictionary<string, string[]> paths, string[] states,
        Func<string?, Task<(ServiceRequest?, FhirTask)>> start)
    {
        var failures = new List<string>();
        foreach (var (from, allowed) in table)
        {
            foreach (var to in states)
            {
                var (_, task) = await start(null);
                await MoveAsync(task, paths[from]);
                var current = paths[from][^1];
                var expectAllowed = allowed.Contains(to) || to == current;
                SetState(task, to);
                var response = await Client.PutAsync($"Task/{task.Id}", task);
                var text = await response.Content.ReadAsStringAsync();
                if (expectAllowed && response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{from} -> {to}: expected 200, got {(int)response.StatusCode} {text}");
                }
                else if (!expectAllowed)
                {
                    if (response.StatusCode != HttpStatusCode.Conflict)
                    {
                        failures.Add($"{from} -> {to}: expected 409, got {(int)response.StatusCode} {text}");
                        continue;
                    }

                    var outcome = await response.ReadAsync<OperationOutcome>();
                    var named = outcome.Issue[0].Details?.Coding.Select(c => c.Code).ToHashSet() ?? [];
                    var mentioned = allowed.All(a => outcome.Issue[0].Diagnostics.Contains($"'{a}'", StringComparison.Ordinal));
                    if (!named.SetEquals(allowed) || !mentioned)
                    {
                        failures.Add($"{from} -> {to}: the outcome should name exactly [{string.Join(", ", allowed)}]: {text}");
                    }
                }
            }
        }

        return failures;
    }

    /// <summary>Moves a stored Task through the given states (each write must succeed); <paramref name="task"/> is updated.</summary>
    private async Task MoveAsync(FhirTask task, params string[] states)
    {
        foreach (var state in states)
        {
            SetState(task, state);
            var response = await Client.PutAsync($"Task/{task.Id}", task);
            var written = await response.ReadAsync<Resource>();
            if (written is not FhirTask stored)
            {
                Assert.Fail($"Task/{task.Id} to {state}: {(int)response.StatusCode} {FhirHttp.ToJson(written)}");
                return;
            }

            task.Meta = stored.Meta;
        }
    }

    /// <summary>A peer-support task (from the IG example) for a new active referral; stored in <paramref name="state"/>'s path when given.</summary>
    private async Task<(ServiceRequest?, FhirTask)> PeerSupportTaskAsync(string? state)
    {
        var referral = Template<ServiceRequest>("ServiceRequest-tom-peer-support-referral.json");
        referral.Id = Unique("psr");
        referral.Status = RequestStatus.Active;
        await (await Client.PutAsync($"ServiceRequest/{referral.Id}", referral)).AssertStatusAsync(HttpStatusCode.Created);
        var task = Template<FhirTask>("Task-tom-peer-support-task.json");
        task.Id = Unique("pst");
        task.Focus = new ResourceReference($"ServiceRequest/{referral.Id}");
        if (state is not null)
        {
            await MoveAsync(task, PeerSupportPaths[state]);
        }

        return (referral, task);
    }

    private async Task<FhirTask> NewTaskAsync(string referralId)
    {
        var task = Template<FhirTask>("Task-tom-peer-support-task.json");
        task.Id = Unique("pst");
        task.Focus = new ResourceReference($"ServiceRequest/{referralId}");
        await MoveAsync(task, "requested");
        return task;
    }

    private Task<(ServiceRequest?, FhirTask)> PatientTaskAsync(string? state)
    {
        var task = Template<FhirTask>("Task-ingrid-complete-goal-review.json");
        task.Id = Unique("ptask");
        task.Output.Add(new FhirTask.OutputComponent
        {
            Type = new CodeableConcept("https://fhirrecovery.org/fhir/CodeSystem/patient-task-parameter", "questionnaire-response"),
            Value = new ResourceReference("QuestionnaireResponse/ingrid-goal-setting"),
        });
        return System.Threading.Tasks.Task.FromResult<(ServiceRequest?, FhirTask)>((null, task));
    }

    /// <summary>Sets the status and what the IG requires with it (a reason to refuse, withdraw or fail; the outputs of the template).</summary>
    private static void SetState(FhirTask task, string state)
    {
        task.Status = EnumUtility.ParseLiteral<FhirTask.TaskStatus>(state) ?? throw new ArgumentException(state);
        task.StatusReason = state is "rejected" or "cancelled" or "failed" or "on-hold"
            ? new CodeableConcept("https://fhirrecovery.org/fhir/CodeSystem/referral-status-reason", "no-capacity", "No capacity")
            : null;
    }

    private async System.Threading.Tasks.Task AssertReferralAsync(string id, RequestStatus status, int versions)
    {
        var referral = await (await Client.GetAsync($"ServiceRequest/{id}")).ReadAsync<ServiceRequest>();
        Assert.Equal(status, referral.Status);
        Assert.Equal(versions.ToString(System.Globalization.CultureInfo.InvariantCulture), referral.Meta.VersionId);
    }

    private static T Template<T>(string file) where T : Resource
    {
        var resource = Example<T>(file);
        resource.Meta.VersionId = null;
        resource.Meta.LastUpdated = null;
        return resource;
    }

    private static Bundle Transaction(params (Bundle.HTTPVerb Method, string Url, Resource Resource)[] entries) => new()
    {
        Type = Bundle.BundleType.Transaction,
        Entry = entries.Select(e => new Bundle.EntryComponent
        {
            FullUrl = $"urn:uuid:{Guid.NewGuid()}",
            Resource = e.Resource,
            Request = new Bundle.RequestComponent { Method = e.Method, Url = e.Url },
        }).ToList(),
    };
}

internal static class RefusalAssertions
{
    /// <summary>The status, an OperationOutcome, and an issue whose diagnostics mention <paramref name="mentions"/> (parsed: JSON escapes quotes).</summary>
    public static async Task<OperationOutcome> AssertRefusedAsync(this HttpResponseMessage response, HttpStatusCode status, string mentions)
    {
        var outcome = await response.AssertOutcomeAsync(status);
        Assert.True(outcome.Issue.Any(i => i.Diagnostics?.Contains(mentions, StringComparison.Ordinal) == true),
            $"No issue mentions \"{mentions}\": {string.Join(" | ", outcome.Issue.Select(i => i.Diagnostics))}");
        return outcome;
    }
}

public sealed class SqliteTaskWorkflowTests(SqliteWorkflowFixture fixture) : TaskWorkflowTests(fixture), IClassFixture<SqliteWorkflowFixture>;

public sealed class PostgreSqlTaskWorkflowTests(PostgreSqlWorkflowFixture fixture) : TaskWorkflowTests(fixture), IClassFixture<PostgreSqlWorkflowFixture>;

/// <summary>Without profile validation the lifecycle's own requirements still hold: a reason to refuse, an output to complete.</summary>
public abstract class TaskRequirementTests(FhirServerFixture fixture)
{
    [StoreFact]
    public async Task Without_validation_the_lifecycle_still_requires_a_status_reason_and_an_output()
    {
        var client = fixture.Client;
        var task = Example<FhirTask>("Task-tom-peer-support-task.json");
        task.Id = Unique("pst");
        task.Meta.VersionId = null;
        task.Focus = new ResourceReference("ServiceRequest/not-stored");
        task.Status = FhirTask.TaskStatus.Requested;
        await (await client.PutAsync($"Task/{task.Id}", task)).AssertStatusAsync(HttpStatusCode.Created);

        task.Status = FhirTask.TaskStatus.Rejected;
        task.StatusReason = null;
        var outcome = await (await client.PutAsync($"Task/{task.Id}", task)).AssertRefusedAsync(HttpStatusCode.UnprocessableEntity, "must say why (statusReason)");
        Assert.Equal("Task.statusReason", outcome.Issue[0].Expression.Single());

        task.Status = FhirTask.TaskStatus.Accepted;
        await (await client.PutAsync($"Task/{task.Id}", task)).AssertStatusAsync(HttpStatusCode.OK);
        task.Status = FhirTask.TaskStatus.InProgress;
        await (await client.PutAsync($"Task/{task.Id}", task)).AssertStatusAsync(HttpStatusCode.OK);
        task.Status = FhirTask.TaskStatus.Completed;
        task.Output.Clear();
        await (await client.PutAsync($"Task/{task.Id}", task)).AssertRefusedAsync(HttpStatusCode.UnprocessableEntity, "must report what was done");
        task.Status = FhirTask.TaskStatus.Draft;
        await (await client.PutAsync($"Task/{task.Id}", task)).AssertRefusedAsync(HttpStatusCode.UnprocessableEntity, "'draft' is not a state of a peer-support task");
    }
}

public sealed class SqliteNoValidationFixture : SqliteServerFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Validation:Mode"] = "Off";
        return settings;
    }
}

public sealed class SqliteTaskRequirementTests(SqliteNoValidationFixture fixture) : TaskRequirementTests(fixture), IClassFixture<SqliteNoValidationFixture>;
