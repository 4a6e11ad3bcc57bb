using System.Collections.Frozen;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Server.Workflow;

/// <summary>
/// The lifecycle of a kind of Task (selected by its profile): the states a Task may be created in, the transitions
/// between states, and what a state requires. A subset of the FHIR R4 Task state machine, shaped after the closed-loop
/// referral of HL7 SDOH Clinical Care (Gravity).
/// <para>
/// <c>on-hold</c> is a pause: it is entered from one of <see cref="Holdable"/> and left either by resuming to the very
/// state it paused (read from the Task's history) or by one of that state's endings except completion (work does not
/// progress while paused). Every state, ended ones included, may be marked <c>entered-in-error</c>, which is final.
/// </para>
/// </summary>
public sealed class TaskStateMachine
{
    public const string OnHold = "on-hold";
    public const string EnteredInError = "entered-in-error";
    public const string Completed = "completed";

    /// <summary>Ending states reachable from a paused state (all endings but completion).</summary>
    private static readonly FrozenSet<string> PausedEndings = new[] { "cancelled", "failed", "rejected", EnteredInError }.ToFrozenSet(StringComparer.Ordinal);

    private TaskStateMachine(string name, string profile, string[] initial, Dictionary<string, string[]> transitions, string[] holdable,
        string[] reasonRequired, string[] active)
    {
        Name = name;
        Profile = profile;
        Initial = initial;
        Transitions = transitions.ToFrozenDictionary(t => t.Key, t => (IReadOnlyList<string>)t.Value, StringComparer.Ordinal);
        Holdable = holdable.ToFrozenSet(StringComparer.Ordinal);
        ReasonRequired = reasonRequired.ToFrozenSet(StringComparer.Ordinal);
        Active = active.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>What the Tasks are called in messages ("peer-support task").</summary>
    public string Name { get; }

    /// <summary>The profile (canonical) whose Tasks follow this machine.</summary>
    public string Profile { get; }

    /// <summary>The states a Task may be created in.</summary>
    public IReadOnlyList<string> Initial { get; }

    /// <summary>Allowed next states by current state; <c>on-hold</c>'s are computed (see the class summary).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Transitions { get; }

    /// <summary>The states that may be paused (put on-hold).</summary>
    public IReadOnlySet<string> Holdable { get; }

    /// <summary>States that need a <c>statusReason</c> (why it was refused, withdrawn or could not be done).</summary>
    public IReadOnlySet<string> ReasonRequired { get; }

    /// <summary>States in which work is pending or going on (for the referral's own status).</summary>
    public IReadOnlySet<string> Active { get; }

    /// <summary>Every state the machine knows.</summary>
    public IEnumerable<string> States => Transitions.Keys;

    /// <summary>
    /// peer-support-task: requested → received → accepted | rejected; accepted → in-progress → completed | failed;
    /// cancelled from any state before an ending; accepted and in-progress may be paused.
    /// </summary>
    public static readonly TaskStateMachine PeerSupportTask = new(
        "peer-support task",
        WorkflowCanonicals.PeerSupportTask,
        initial: ["requested"],
        transitions: new Dictionary<string, string[]>
        {
            ["requested"] = ["received", "accepted", "rejected", "cancelled", EnteredInError],
            ["received"] = ["accepted", "rejected", "cancelled", EnteredInError],
            ["accepted"] = ["in-progress", OnHold, "cancelled", EnteredInError],
            ["in-progress"] = [Completed, "failed", OnHold, "cancelled", EnteredInError],
            [OnHold] = [],
            ["rejected"] = [EnteredInError],
            ["cancelled"] = [EnteredInError],
            ["failed"] = [EnteredInError],
            [Completed] = [EnteredInError],
            [EnteredInError] = [],
        },
        holdable: ["accepted", "in-progress"],
        reasonRequired: ["rejected", "cancelled", "failed"],
        active: ["requested", "received", "accepted", "in-progress"]);

    /// <summary>
    /// recovery-patient-task (something the person does: complete a questionnaire, make contact), as SDOH Clinical Care's
    /// task for a patient: ready → in-progress → completed | failed, or completed at once; cancelled before an ending;
    /// in-progress may be paused.
    /// </summary>
    public static readonly TaskStateMachine PatientTask = new(
        "patient task",
        WorkflowCanonicals.PatientTask,
        initial: ["ready"],
        transitions: new Dictionary<string, string[]>
        {
            ["ready"] = ["in-progress", Completed, "cancelled", EnteredInError],
            ["in-progress"] = [Completed, "failed", OnHold, "cancelled", EnteredInError],
            [OnHold] = [],
            ["cancelled"] = [EnteredInError],
            ["failed"] = [EnteredInError],
            [Completed] = [EnteredInError],
            [EnteredInError] = [],
        },
        holdable: ["in-progress"],
        reasonRequired: ["cancelled", "failed"],
        active: ["ready", "in-progress"]);

    public static readonly IReadOnlyList<TaskStateMachine> All = [PeerSupportTask, PatientTask];

    /// <summary>The machine for a Task's declared profile, or null (Tasks of other workflows are not governed here).</summary>
    public static TaskStateMachine? For(FhirTask? task) =>
        task?.Meta?.Profile is { } profiles ? All.FirstOrDefault(m => profiles.Any(p => p is not null && StripVersion(p) == m.Profile)) : null;

    /// <summary>
    /// The states a Task in <paramref name="from"/> may move to. For <c>on-hold</c>, <paramref name="pausedFrom"/> is the
    /// state it paused (null when unknown: then resuming to any pausable state is allowed).
    /// </summary>
    public IReadOnlyList<string> Next(string from, string? pausedFrom)
    {
        if (from != OnHold)
        {
            return Transitions.GetValueOrDefault(from) ?? [];
        }

        var resumable = pausedFrom is not null && Holdable.Contains(pausedFrom) ? [pausedFrom] : Holdable.ToList();
        var endings = resumable.SelectMany(s => Transitions[s]).Where(PausedEndings.Contains).Distinct(StringComparer.Ordinal);
        return [.. resumable, .. endings];
    }

    public bool IsKnown(string state) => Transitions.ContainsKey(state);

    private static string StripVersion(string canonical)
    {
        var bar = canonical.IndexOf('|');
        return bar < 0 ? canonical : canonical[..bar];
    }
}

/// <summary>Canonical URLs of the IG resources the workflow, subscriptions and summaries rely on.</summary>
public static class WorkflowCanonicals
{
    public const string Base = "https://fhirrecovery.org/fhir";
    public const string PeerSupportTask = Base + "/StructureDefinition/peer-support-task";
    public const string PatientTask = Base + "/StructureDefinition/recovery-patient-task";
    public const string PeerSupportReferral = Base + "/StructureDefinition/peer-support-referral";
    public const string RecoveryGoal = Base + "/StructureDefinition/recovery-goal";
    public const string RecoveryCommunication = Base + "/StructureDefinition/recovery-communication";
    public const string GoalAttainmentLevel = Base + "/StructureDefinition/goal-attainment-level";
    public const string SubscriptionFailureCount = Base + "/StructureDefinition/subscription-failure-count";
    public const string RecoveryFramework = Base + "/CodeSystem/recovery-framework";
    public const string PeerSupportService = Base + "/CodeSystem/peer-support-service";
    public const string SummarySection = Base + "/CodeSystem/recovery-summary-section";
    public const string RecoveryOrientationMeasure = Base + "/Measure/recovery-orientation";
}
