using Hl7.Fhir.Model;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Server.Workflow;

/// <summary>
/// The status a peer-support referral (ServiceRequest) has because of its Tasks, one per organisation it was sent to:
/// <list type="bullet">
/// <item>any Task still pending or going on (requested, received, accepted, in-progress) → <c>active</c>;</item>
/// <item>else any paused → <c>on-hold</c>;</item>
/// <item>else any completed → <c>completed</c> (the closed loop ended with support given);</item>
/// <item>else any cancelled or failed → <c>revoked</c> (the referral ended without support);</item>
/// <item>else any rejected → <c>active</c>: the request still stands, for the referrer to send it elsewhere;</item>
/// <item>else (all entered in error) → <c>entered-in-error</c>.</item>
/// </list>
/// </summary>
public static class ReferralStatus
{
    public static RequestStatus? Derive(IEnumerable<FhirTask> tasks)
    {
        var statuses = tasks.Select(t => t.Status).OfType<FhirTask.TaskStatus>().ToList();
        if (statuses.Count == 0)
        {
            return null;
        }

        if (statuses.Any(s => s is FhirTask.TaskStatus.Requested or FhirTask.TaskStatus.Received or FhirTask.TaskStatus.Accepted or FhirTask.TaskStatus.InProgress))
        {
            return RequestStatus.Active;
        }

        if (statuses.Contains(FhirTask.TaskStatus.OnHold))
        {
            return RequestStatus.OnHold;
        }

        if (statuses.Contains(FhirTask.TaskStatus.Completed))
        {
            return RequestStatus.Completed;
        }

        if (statuses.Any(s => s is FhirTask.TaskStatus.Cancelled or FhirTask.TaskStatus.Failed))
        {
            return RequestStatus.Revoked;
        }

        return statuses.Contains(FhirTask.TaskStatus.Rejected) ? RequestStatus.Active : RequestStatus.EnteredInError;
    }

    /// <summary>Referral states in which its Tasks may only end: the referrer withdrew it, or it is over.</summary>
    public static bool IsClosed(RequestStatus? status) =>
        status is RequestStatus.Revoked or RequestStatus.Completed or RequestStatus.EnteredInError;
}
