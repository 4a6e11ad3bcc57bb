using FhirRecovery.TestKit.Model;
using FhirRecovery.TestKit.Suites;
using Hl7.Fhir.Model;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.TestKit.Examples;

/// <summary>Writes the guide's examples to the server under test the way the guide's workflow lets them be written.</summary>
public static class ExampleWriter
{
    /// <summary>Writes every example (update-as-create); answers what the server refused, one line each.</summary>
    public static async Task<List<string>> WriteAsync(KitContext ctx, IReadOnlyList<IgExample> examples)
    {
        var refused = new List<string>();
        foreach (var (example, version) in WriteOrder(examples))
        {
            var response = await ctx.Fhir.PutAsync(example.Reference, version);
            if (response.Status is not (200 or 201))
            {
                var why = response.Resource is OperationOutcome outcome ? outcome.Issue.FirstOrDefault()?.Diagnostics : null;
                refused.Add($"{example.FileName} ({(version as FhirTask)?.Status}): HTTP {response.Status} {why}");
            }
        }

        return refused;
    }

    /// <summary>
    /// What to write, in order: everything but referrals and Tasks; referrals as active (a closed referral takes no new
    /// Task); each Task along its lifecycle; then the referrals as in the example.
    /// </summary>
    private static IEnumerable<(IgExample Example, Resource Version)> WriteOrder(IReadOnlyList<IgExample> examples)
    {
        foreach (var example in examples.Where(e => e.Resource is not (ServiceRequest or FhirTask)))
        {
            yield return (example, example.Resource);
        }

        var referrals = examples.Where(e => e.Resource is ServiceRequest).ToList();
        foreach (var referral in referrals)
        {
            var open = (ServiceRequest)referral.Resource.DeepCopy();
            open.Status = RequestStatus.Active;
            yield return (referral, open);
        }

        foreach (var task in examples.Where(e => e.Resource is FhirTask))
        {
            foreach (var version in TaskLifecycle.Versions((FhirTask)task.Resource))
            {
                yield return (task, version);
            }
        }

        foreach (var referral in referrals.Where(r => ((ServiceRequest)r.Resource).Status != RequestStatus.Active))
        {
            yield return (referral, referral.Resource);
        }
    }
}
