using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Subscriptions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Server.Workflow;

/// <summary>
/// Enforces the Task lifecycles of <see cref="TaskStateMachine"/> on every write (REST, patch, transaction entries), and
/// keeps each peer-support referral's ServiceRequest.status consistent with its Tasks (<see cref="ReferralStatus"/>),
/// writing the ServiceRequest in the same store session so both change together or not at all.
/// </summary>
public sealed class TaskWorkflowHook(IResourceStore store, SubscriptionMatcher subscriptions) : IResourceWriteHook
{
    private const string TaskStatusSystem = "http://hl7.org/fhir/task-status";

    public async ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken)
    {
        // A history import replays transitions that already happened (and a re-run replays the first state over the
        // last): the lifecycle governs changes made now, not the record of earlier ones.
        if (context.IsHistoryImport || context.ResourceType != "Task" || context.Kind == WriteKind.Delete || context.Resource is not FhirTask task)
        {
            return;
        }

        var previous = Parse(context.Previous);
        // The machine of the version being replaced wins: dropping the profile does not take a Task out of its lifecycle.
        var machine = TaskStateMachine.For(previous) ?? TaskStateMachine.For(task);
        if (machine is null)
        {
            return;
        }

        var status = task.Status?.GetLiteral()
                     ?? throw Unprocessable(OperationOutcome.IssueType.Required, $"Task/{context.Id}: a {machine.Name} needs a status", "Task.status");
        if (!machine.IsKnown(status))
        {
            throw Unprocessable(OperationOutcome.IssueType.CodeInvalid,
                $"Task/{context.Id}: '{status}' is not a state of a {machine.Name} (states: {string.Join(", ", machine.States)})", "Task.status");
        }

        var from = previous?.Status?.GetLiteral();
        if (previous is null)
        {
            if (!machine.Initial.Contains(status))
            {
                throw Forbidden($"Task/{context.Id}: a new {machine.Name} starts as {Join(machine.Initial)}, not '{status}'", machine.Initial);
            }
        }
        else if (from is not null && from != status)
        {
            var pausedFrom = from == TaskStateMachine.OnHold ? await PausedFromAsync(context.Id, cancellationToken) : null;
            var allowed = machine.Next(from, pausedFrom);
            if (!allowed.Contains(status))
            {
                var paused = pausedFrom is null ? "" : $" (paused from '{pausedFrom}')";
                throw Forbidden(
                    allowed.Count == 0
                        ? $"Task/{context.Id}: a {machine.Name} in '{from}' is final; it cannot go to '{status}'"
                        : $"Task/{context.Id}: a {machine.Name} cannot go from '{from}'{paused} to '{status}'; allowed from '{from}': {Join(allowed)}",
                    allowed);
            }
        }

        RequireStateContent(machine, task, status, context.Id);

        // A withdrawn or finished referral takes no new work: its Tasks may only end.
        var entersWork = (previous is null || from != status) && (machine.Active.Contains(status) || status == TaskStateMachine.OnHold);
        if (machine == TaskStateMachine.PeerSupportTask && entersWork && ReferralId(task) is { } referralId
            && await context.Session.ReadAsync("ServiceRequest", referralId, cancellationToken) is { IsDeleted: false, Json: { } json }
            && FhirSerialization.ParseStored(json) is ServiceRequest referral && ReferralStatus.IsClosed(referral.Status))
        {
            var endings = machine.Next(from ?? status, null).Where(s => !machine.Active.Contains(s) && s != TaskStateMachine.OnHold).ToList();
            throw Forbidden(
                $"Task/{context.Id}: the referral ServiceRequest/{referralId} is {referral.Status.GetLiteral()}, so its tasks may only end"
                + (previous is null ? "; no new task can be added to it" : $"; allowed from '{from}': {Join(endings)}"),
                previous is null ? [] : endings);
        }
    }

    public async ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken)
    {
        // A history import brings the referral's own recorded versions: deriving its status from Tasks half-loaded
        // would add versions that never happened (and each later import entry would be replayed over them).
        if (context.IsHistoryImport || context.ResourceType != "Task")
        {
            return;
        }

        var task = context.Resource as FhirTask;
        var previous = Parse(context.Previous);
        if ((TaskStateMachine.For(previous) ?? TaskStateMachine.For(task)) != TaskStateMachine.PeerSupportTask)
        {
            return;
        }

        var changed = task is null || previous is null || task.Status != previous.Status;
        if (!changed)
        {
            // Same state (a note, an output): the referral's status stays as it is, including what the referrer set.
            return;
        }

        foreach (var referralId in new[] { ReferralId(task), ReferralId(previous) }.OfType<string>().Distinct(StringComparer.Ordinal))
        {
            await SyncReferralAsync(context.Session, referralId, cancellationToken);
        }
    }

    /// <summary>Sets the referral's status from all its peer-support Tasks, when it differs; notifies its subscribers.</summary>
    private async System.Threading.Tasks.Task SyncReferralAsync(IStoreSession session, string referralId, CancellationToken cancellationToken)
    {
        var stored = await session.ReadAsync("ServiceRequest", referralId, cancellationToken);
        if (stored is not { IsDeleted: false, Json: { } json } || FhirSerialization.ParseStored(json) is not ServiceRequest referral)
        {
            return; // the store keeps no referential integrity: a Task may point at a referral that is not here
        }

        var tasks = new List<FhirTask>();
        string? page = null;
        do
        {
            var result = await session.SearchAsync(new SearchRequest
            {
                ResourceType = "Task",
                Parameters = page is null ? [new("focus", $"ServiceRequest/{referralId}"), new("_count", "200")] : [],
                PageToken = page,
                Handling = SearchHandling.Strict,
            }, cancellationToken);
            tasks.AddRange(result.Matches.Where(m => m.Json is not null).Select(m => FhirSerialization.ParseStored(m.Json!)).OfType<FhirTask>()
                .Where(t => TaskStateMachine.For(t) == TaskStateMachine.PeerSupportTask));
            page = result.NextPage;
        }
        while (page is not null);

        var derived = ReferralStatus.Derive(tasks);
        if (derived is null || derived == referral.Status)
        {
            return;
        }

        referral.Status = derived;
        var outcome = await session.UpdateAsync(referral, stored.VersionId, cancellationToken);
        // Hooks do not run for what hooks write: the referral's subscribers are told here.
        await subscriptions.EnqueueMatchesAsync(session, outcome.Version, cancellationToken);
    }

    /// <summary>The state an on-hold Task paused: the status of its newest version that was not on-hold.</summary>
    private async Task<string?> PausedFromAsync(string id, CancellationToken cancellationToken)
    {
        string? page = null;
        do
        {
            var history = await store.HistoryAsync(new HistoryRequest { ResourceType = "Task", Id = id, Count = 50, PageToken = page }, cancellationToken);
            foreach (var version in history.Entries)
            {
                if (Parse(version)?.Status?.GetLiteral() is { } status && status != TaskStateMachine.OnHold)
                {
                    return status;
                }
            }

            page = history.NextPage;
        }
        while (page is not null);

        return null;
    }

    private static void RequireStateContent(TaskStateMachine machine, FhirTask task, string status, string id)
    {
        if (machine.ReasonRequired.Contains(status) && (task.StatusReason is null || (task.StatusReason.Coding.Count == 0 && string.IsNullOrWhiteSpace(task.StatusReason.Text))))
        {
            throw Unprocessable(OperationOutcome.IssueType.Required,
                $"Task/{id}: a {machine.Name} that is {status} must say why (statusReason)", "Task.statusReason");
        }

        if (status != TaskStateMachine.Completed)
        {
            return;
        }

        if (machine == TaskStateMachine.PeerSupportTask && task.Output.Count == 0)
        {
            throw Unprocessable(OperationOutcome.IssueType.Required,
                $"Task/{id}: a completed {machine.Name} must report what was done (at least one output, e.g. referral-outcome)", "Task.output");
        }

        if (machine == TaskStateMachine.PatientTask && PatientTaskCode(task) == "complete-questionnaire"
            && !task.Output.Any(o => o.Type?.Coding.Any(c => c.Code == "questionnaire-response") == true))
        {
            throw Unprocessable(OperationOutcome.IssueType.Required,
                $"Task/{id}: a completed questionnaire task must point to the response (output questionnaire-response)", "Task.output");
        }
    }

    private static string? PatientTaskCode(FhirTask task) => task.Code?.Coding.FirstOrDefault(c => c.System == PatientTaskCodes.System)?.Code;

    /// <summary>The id of the ServiceRequest a Task's focus points to (a local reference), or null.</summary>
    public static string? ReferralId(FhirTask? task)
    {
        var reference = task?.Focus?.Reference;
        if (reference is null)
        {
            return null;
        }

        var parts = reference.Split('/');
        return parts.Length >= 2 && parts[^2] == "ServiceRequest" && !reference.Contains("://", StringComparison.Ordinal) ? parts[^1] : null;
    }

    private static FhirTask? Parse(ResourceVersion? version) =>
        version is { IsDeleted: false, Json: { } json } ? FhirSerialization.ParseStored(json) as FhirTask : null;

    private static string Join(IEnumerable<string> states) => string.Join(", ", states.Select(s => $"'{s}'"));

    /// <summary>409: the change is well-formed but the lifecycle does not allow it; the details list the allowed states.</summary>
    private static FhirException Forbidden(string message, IEnumerable<string> allowed)
    {
        var outcome = Outcomes.Error(OperationOutcome.IssueType.BusinessRule, message, "Task.status");
        (outcome.Issue[0].Details ??= new CodeableConcept()).Coding.AddRange(allowed.Select(s => new Coding(TaskStatusSystem, s)));
        return new FhirException(StatusCodes.Status409Conflict, outcome);
    }

    private static FhirException Unprocessable(OperationOutcome.IssueType code, string message, string expression) =>
        new(StatusCodes.Status422UnprocessableEntity, code, message, expression);
}

/// <summary>The codes of recovery-patient-task (CodeSystem patient-task-code): what the person is asked to do.</summary>
public static class PatientTaskCodes
{
    public const string System = WorkflowCanonicals.Base + "/CodeSystem/patient-task-code";
}
