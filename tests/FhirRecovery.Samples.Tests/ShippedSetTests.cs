using Hl7.Fhir.Model;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Samples.Tests;

/// <summary>The data set shipped in samples/data (what the server loads on start).</summary>
public class ShippedSetTests
{
    /// <summary>How samples/README.md says the set was made.</summary>
    private static readonly SampleRequest ShippedRequest = new() { Patients = 60, Seed = 42 };

    private static readonly Lazy<SampleFiles> Shipped = new(() => SampleFiles.Read(TestPaths.SamplesData));

    [Fact]
    public void The_shipped_files_are_exactly_what_the_documented_command_generates()
    {
        using var temp = new TempDirectory();
        SampleWriter.Write(ShippedRequest, temp.Path, SampleFormat.Bundle);

        var expected = Directory.EnumerateFiles(temp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var actual = Directory.EnumerateFiles(TestPaths.SamplesData).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, actual);
        foreach (var name in expected)
        {
            Assert.True(File.ReadAllBytes(Path.Combine(temp.Path, name!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(TestPaths.SamplesData, name!))),
                $"samples/data/{name} differs from the generator's output: regenerate with 'fhir-recovery samples generate --patients 60 --seed 42'");
        }
    }

    [Fact]
    public void The_readme_shows_the_sets_contents()
    {
        var summary = new SampleSummary();
        summary.AddShared(SampleGenerator.Shared());
        var cohorts = new Cohorts(ShippedRequest.Seed);
        foreach (var patient in SampleGenerator.Patients(ShippedRequest))
        {
            summary.Add(patient);
            cohorts.Add(patient);
        }

        summary.AddCohorts(cohorts.Batch());

        var readme = File.ReadAllText(TestPaths.SamplesReadme).ReplaceLineEndings("\n");
        var start = readme.IndexOf("<!-- summary:begin", StringComparison.Ordinal);
        var end = readme.IndexOf("<!-- summary:end -->", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "samples/README.md lost its summary markers");
        var shown = readme[(readme.IndexOf('\n', start) + 1)..end];
        var expected = summary.ToMarkdown();
        // Files and size are the written files' (checked against the directory here; the generator's summary counts them too).
        var written = Directory.EnumerateFiles(TestPaths.SamplesData).Select(f => new FileInfo(f)).ToList();
        expected = expected.Replace("0 files, 0.0 MB", $"{written.Count} files, {written.Sum(f => f.Length) / 1024.0 / 1024.0:0.0} MB", StringComparison.Ordinal);
        Assert.Equal(expected.Trim(), shown.Trim());
    }

    [Fact]
    public void It_has_at_least_fifty_patients_with_care_plans_and_consent()
    {
        var latest = Shipped.Value.Latest;
        var patients = latest.OfType<Patient>().ToList();

        Assert.True(patients.Count >= 50, $"{patients.Count} patients");
        Assert.All(patients, p =>
        {
            Assert.Contains(latest.OfType<CarePlan>(), c => c.Subject.Reference == $"Patient/{p.Id}");
            Assert.Contains(latest.OfType<Consent>(), c => c.Patient.Reference == $"Patient/{p.Id}");
            Assert.InRange(latest.OfType<Goal>().Count(g => g.Subject.Reference == $"Patient/{p.Id}"), 2, 6);
        });
    }

    [Fact]
    public void Goals_cover_all_four_recovery_domains()
    {
        var domains = Shipped.Value.Latest.OfType<Goal>()
            .SelectMany(g => g.Category).SelectMany(c => c.Coding)
            .Where(c => c.System == Ig.Systems.RecoveryFramework)
            .Select(c => c.Code)
            .Where(c => RecoveryFramework.FromDomainCode(c) is not null)
            .ToHashSet();

        Assert.Equal(
            ["organisational-commitment", "promoting-citizenship", "supporting-personally-defined-recovery", "working-relationship"],
            domains.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Tasks_are_in_every_workflow_state_the_ig_allows()
    {
        var tasks = Shipped.Value.Latest.OfType<FhirTask>().ToList();
        var states = tasks.Select(t => Hl7.Fhir.Utility.EnumUtility.GetLiteral(t.Status)).ToHashSet();

        Assert.Equal(RequiredTaskStates.Codes.Order(StringComparer.Ordinal), states.Order(StringComparer.Ordinal));
        Assert.All(tasks.Where(t => t.Status is FhirTask.TaskStatus.Rejected or FhirTask.TaskStatus.Cancelled or FhirTask.TaskStatus.Failed or FhirTask.TaskStatus.EnteredInError),
            t => Assert.NotNull(t.StatusReason));
        Assert.All(tasks.Where(t => t.Status == FhirTask.TaskStatus.Completed), t => Assert.NotEmpty(t.Output));
        // Closed loop: every Task's focus is a referral of the set, for the same patient.
        var referrals = Shipped.Value.Latest.OfType<ServiceRequest>().ToDictionary(s => $"ServiceRequest/{s.Id}");
        Assert.All(tasks, t => Assert.Equal(t.For.Reference, referrals[t.Focus.Reference].Subject.Reference));
    }

    [Fact]
    public void Loading_the_files_in_order_builds_version_histories()
    {
        var versions = Shipped.Value.Versions.GroupBy(r => $"{r.TypeName}/{r.Id}").ToDictionary(g => g.Key, g => g.Count());

        Assert.True(versions.Where(v => v.Key.StartsWith("Goal/", StringComparison.Ordinal)).All(v => v.Value >= 2), "every goal is followed up");
        Assert.Contains(versions, v => v.Key.StartsWith("Goal/", StringComparison.Ordinal) && v.Value >= 5);
        Assert.Contains(versions, v => v.Key.StartsWith("Task/", StringComparison.Ordinal) && v.Value >= 4);
        Assert.Contains(versions, v => v.Key.StartsWith("ServiceRequest/", StringComparison.Ordinal) && v.Value >= 2);
    }

    [Fact]
    public void References_resolve_in_load_order()
    {
        ReferenceTests.AssertReferencesResolve(Shipped.Value);
    }
}
