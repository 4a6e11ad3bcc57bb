using Hl7.Fhir.Model;

namespace FhirRecovery.Samples.Tests;

/// <summary>The cohort Groups (zz-cohorts): a clinic's caseload, for Group/[id]/$export.</summary>
public class CohortTests
{
    /// <summary>Each Group lists exactly the patients whose managingOrganization is its clinic, in load order; each patient is in one.</summary>
    private static void AssertCohortsMatchPatients(int seed, IReadOnlyList<Patient> patients, IReadOnlyList<Group> groups)
    {
        var byClinic = patients.GroupBy(p => p.ManagingOrganization.Reference).ToDictionary(g => g.Key, g => g.Select(p => $"Patient/{p.Id}").ToList());
        Assert.Equal(byClinic.Keys.Order(StringComparer.Ordinal), groups.Select(g => g.ManagingEntity.Reference).Order(StringComparer.Ordinal));
        foreach (var group in groups)
        {
            Assert.Equal(Group.GroupType.Person, group.Type);
            Assert.True(group.Actual);
            Assert.Equal(byClinic[group.ManagingEntity.Reference], group.Member.Select(m => m.Entity.Reference));
            Assert.Equal(group.Member.Count, group.Quantity);
            Assert.Equal($"{group.ManagingEntity.Display} caseload", group.Name);
            Assert.Equal($"s{seed}-cohort-{group.ManagingEntity.Reference["Organization/".Length..]}", group.Id);
            Assert.Contains($"The {group.Member.Count} {(group.Member.Count == 1 ? "person" : "people")} ", group.Text.Div, StringComparison.Ordinal);
        }

        var members = groups.SelectMany(g => g.Member).Select(m => m.Entity.Reference).ToList();
        Assert.Equal(members.Count, members.Distinct().Count()); // nobody in two cohorts
        Assert.Equal(patients.Select(p => $"Patient/{p.Id}").Order(StringComparer.Ordinal), members.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_last_batch_holds_a_group_per_clinic_listing_exactly_its_patients()
    {
        var batches = SampleGenerator.Batches(new SampleRequest { Patients = 30, Seed = 12 }).ToList();

        var cohorts = batches[^1];
        Assert.Equal(Cohorts.BatchName, cohorts.Name);
        Assert.True(batches.SkipLast(1).All(b => string.CompareOrdinal(b.Name, cohorts.Name) < 0), "the cohorts must load after every patient");
        var patients = batches.SelectMany(b => b.Resources).OfType<Patient>().ToList();
        var groups = cohorts.Resources.Cast<Group>().ToList();
        Assert.Equal(3, groups.Count);
        Assert.Equal(["s12-cohort-sample-eastgate-cmht", "s12-cohort-sample-lakeside-recovery-clinic", "s12-cohort-sample-millbrook-mhs"], groups.Select(g => g.Id));
        AssertCohortsMatchPatients(12, patients, groups);
    }

    [Fact]
    public void Only_clinics_with_patients_get_a_cohort()
    {
        var batches = SampleGenerator.Batches(new SampleRequest { Patients = 1, Seed = 5 }).ToList();

        var patient = batches.SelectMany(b => b.Resources).OfType<Patient>().Single();
        var group = Assert.IsType<Group>(Assert.Single(batches[^1].Resources));
        Assert.Equal(patient.ManagingOrganization.Reference, group.ManagingEntity.Reference);
        Assert.Equal(1, group.Quantity);
        AssertCohortsMatchPatients(5, [patient], [group]);
    }

    [Fact]
    public void The_shipped_set_ends_with_the_cohorts_of_its_patients()
    {
        var shipped = SampleFiles.Read(TestPaths.SamplesData);

        Assert.Equal("zz-cohorts.json", shipped.Files[^1].Name);
        Assert.All(shipped.Files[^1].Bundle.Entry, e => Assert.IsType<Group>(e.Resource));
        var latest = shipped.Latest;
        AssertCohortsMatchPatients(42, latest.OfType<Patient>().ToList(), latest.OfType<Group>().ToList());
    }

    [Fact]
    public void Ndjson_puts_the_groups_after_the_patients_and_a_rerun_in_another_format_removes_the_cohort_file()
    {
        using var temp = new TempDirectory();
        var request = new SampleRequest { Patients = 5, Seed = 21 };
        SampleWriter.Write(request, temp.Path, SampleFormat.Bundle);
        Assert.True(File.Exists(temp.Combine("zz-cohorts.json")));

        var summary = SampleWriter.Write(request, temp.Path, SampleFormat.Ndjson);

        Assert.False(File.Exists(temp.Combine("zz-cohorts.json")));
        Assert.True(string.CompareOrdinal(SampleWriter.NdjsonFileName("Patient"), SampleWriter.NdjsonFileName("Group")) < 0);
        var groups = File.ReadAllLines(temp.Combine(SampleWriter.NdjsonFileName("Group"))).Select(l => SampleJson.Parse<Group>(l)).ToList();
        var patients = File.ReadAllLines(temp.Combine(SampleWriter.NdjsonFileName("Patient"))).Select(l => SampleJson.Parse<Patient>(l)).ToList();
        AssertCohortsMatchPatients(21, patients, groups);
        Assert.Equal((groups.Count, groups.Count), summary.Types["Group"]);
    }
}
