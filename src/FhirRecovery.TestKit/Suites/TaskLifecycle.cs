using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.TestKit.Suites;

/// <summary>
/// The guide's Task lifecycles, as the kit expects a server to enforce them (peer-support-task: the closed-loop
/// referral of SDOH Clinical Care; recovery-patient-task), and the way from a lifecycle's start to any state.
/// </summary>
internal static class TaskLifecycle
{
    private static readonly Dictionary<string, string[]> PeerSupport = new(StringComparer.Ordinal)
    {
        ["requested"] = ["received", "accepted", "rejected", "cancelled"],
        ["received"] = ["accepted", "rejected", "cancelled"],
        ["accepted"] = ["in-progress", "on-hold", "cancelled"],
        ["in-progress"] = ["completed", "failed", "on-hold", "cancelled"],
    };

    private static readonly Dictionary<string, string[]> PatientTask = new(StringComparer.Ordinal)
    {
        ["ready"] = ["in-progress", "completed", "cancelled"],
        ["in-progress"] = ["completed", "failed", "on-hold", "cancelled"],
    };

    /// <summary>The states from the lifecycle's start to <paramref name="target"/> (start included), or just the target for other Tasks.</summary>
    public static IReadOnlyList<string> PathTo(FhirTask task, string target)
    {
        var (start, machine) = For(task);
        if (machine is null)
        {
            return [target];
        }

        var previous = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            var state = queue.Dequeue();
            if (state == target)
            {
                var path = new List<string> { state };
                while (previous.TryGetValue(path[0], out var before))
                {
                    path.Insert(0, before);
                }

                return path;
            }

            foreach (var next in machine.GetValueOrDefault(state) ?? [])
            {
                if (next != start && previous.TryAdd(next, state))
                {
                    queue.Enqueue(next);
                }
            }
        }

        return [target];
    }

    /// <summary>The versions to write so that a Task reaches its state through the lifecycle (copies of it, one per state).</summary>
    public static IEnumerable<FhirTask> Versions(FhirTask task)
    {
        var target = task.Status?.GetLiteral() ?? "requested";
        foreach (var state in PathTo(task, target))
        {
            var version = (FhirTask)task.DeepCopy();
            version.Status = EnumUtility.ParseLiteral<FhirTask.TaskStatus>(state);
            yield return version;
        }
    }

    private static (string Start, Dictionary<string, string[]>? Machine) For(FhirTask task) =>
        Specs.Claims(task, "peer-support-task") ? ("requested", PeerSupport)
        : Specs.Claims(task, "recovery-patient-task") ? ("ready", PatientTask)
        : ("", null);
}
