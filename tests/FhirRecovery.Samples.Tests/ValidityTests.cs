using System.Collections.Concurrent;
using Hl7.Fhir.Model;

namespace FhirRecovery.Samples.Tests;

/// <summary>Everything the generator writes is valid against the IG, checked with the project's conformance engine.</summary>
public class ValidityTests
{
    private static List<string> Errors(IEnumerable<Resource> resources)
    {
        var engine = SharedEngine.Engine;
        var failures = new ConcurrentBag<string>();
        Parallel.ForEach(resources, resource =>
        {
            foreach (var issue in engine.Validator.Validate(resource).Issues.Where(i => i.IsError))
            {
                failures.Add($"{resource.TypeName}/{resource.Id}: {issue.Severity} {issue.Expression} {issue.Message}");
            }
        });
        return failures.Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public void Every_version_of_every_generated_resource_validates_against_its_profile()
    {
        var resources = SampleGenerator.Batches(new SampleRequest { Patients = 10, Seed = 7 }).SelectMany(b => b.Resources).ToList();

        // All the types, each recovery type declaring its profile (so the validator applies it).
        Assert.Equal(
            ["CarePlan", "Consent", "Goal", "Group", "Organization", "Patient", "Practitioner", "PractitionerRole", "QuestionnaireResponse", "ServiceRequest", "Task"],
            resources.Select(r => r.TypeName).Distinct().Order(StringComparer.Ordinal));
        Assert.All(resources.Where(r => r is Goal or CarePlan or QuestionnaireResponse or ServiceRequest or Hl7.Fhir.Model.Task),
            r => Assert.Single(r.Meta.Profile));

        var errors = Errors(resources);
        Assert.True(errors.Count == 0, $"{errors.Count} errors:\n" + string.Join("\n", errors.Take(40)));
    }

    [Fact]
    public void Every_transaction_bundle_validates()
    {
        var bundles = SampleGenerator.Batches(new SampleRequest { Patients = 4, Seed = 8 }).Select(SampleGenerator.ToTransaction).ToList();

        var errors = Errors(bundles);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(40)));
    }

    [Fact]
    public void The_benchmark_corpus_validates()
    {
        var errors = Errors(BenchmarkCorpus.Resources(400, seed: 99).ToList());

        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(40)));
    }

    [Fact]
    public void The_cohort_groups_validate_against_the_core_group_profile()
    {
        var groups = SampleGenerator.Batches(new SampleRequest { Patients = 12, Seed = 9 }).Last().Resources.Cast<Group>().ToList();
        Assert.NotEmpty(groups);

        var errors = Errors(groups);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(40)));

        // Guards against a vacuous pass: members on a Group that is not 'actual' break grp-1 of the core profile.
        var broken = (Group)groups[0].DeepCopy();
        broken.Actual = false;
        Assert.Contains(SharedEngine.Engine.Validator.Validate(broken).Issues, i => i.IsError && i.Message.Contains("grp-1", StringComparison.Ordinal));
    }

    [Fact]
    public void The_validator_really_applies_the_profiles_to_generated_resources()
    {
        // Guards against a vacuous pass: a completed Task without outputs breaks pst-1 of peer-support-task.
        var task = SampleGenerator.Batches(new SampleRequest { Patients = 3, Seed = 1 })
            .SelectMany(b => b.Resources).OfType<Hl7.Fhir.Model.Task>().First();
        var broken = (Hl7.Fhir.Model.Task)task.DeepCopy();
        broken.Status = Hl7.Fhir.Model.Task.TaskStatus.Completed;
        broken.Output.Clear();

        var result = SharedEngine.Engine.Validator.Validate(broken);

        Assert.Contains(result.Issues, i => i.IsError && i.Message.Contains("pst-1", StringComparison.Ordinal));
    }
}
