using Hl7.Fhir.Model;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Samples.Tests;

public class GeneratorTests
{
    private static Dictionary<string, byte[]> Write(SampleRequest request, SampleFormat format, TempDirectory temp, string name)
    {
        var directory = temp.Combine(name);
        SampleWriter.Write(request, directory, format);
        return Directory.EnumerateFiles(directory).ToDictionary(Path.GetFileName, File.ReadAllBytes, StringComparer.Ordinal)!;
    }

    [Theory]
    [InlineData(SampleFormat.Bundle)]
    [InlineData(SampleFormat.Ndjson)]
    public void The_same_seed_gives_byte_identical_files(SampleFormat format)
    {
        using var temp = new TempDirectory();
        var request = new SampleRequest { Patients = 12, Seed = 2024, Start = new DateOnly(2024, 3, 1) };

        var first = Write(request, format, temp, "a");
        var second = Write(request, format, temp, "b");

        Assert.Equal(first.Keys.Order(), second.Keys.Order());
        foreach (var (name, bytes) in first)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(second[name]), $"{name} differs between two runs with the same seed");
        }
    }

    [Theory]
    [InlineData("th-TH")] // Thai Buddhist calendar: a culture-formatted year would be 543 years off
    [InlineData("ar-SA")]
    [InlineData("fr-FR")]
    public void The_output_does_not_depend_on_the_machines_culture(string culture)
    {
        var request = new SampleRequest { Patients = 3, Seed = 17 };
        static string Render(SampleRequest r) => string.Concat(SampleGenerator.Batches(r).Select(b => System.Text.Encoding.UTF8.GetString(SampleWriter.TransactionLines(b))));
        var invariant = WithCulture(System.Globalization.CultureInfo.InvariantCulture, () => Render(request));

        var other = WithCulture(new System.Globalization.CultureInfo(culture), () => Render(request));

        Assert.Equal(invariant, other);
    }

    private static T WithCulture<T>(System.Globalization.CultureInfo culture, Func<T> action)
    {
        var (current, currentUi) = (System.Globalization.CultureInfo.CurrentCulture, System.Globalization.CultureInfo.CurrentUICulture);
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.CurrentUICulture = culture;
        try
        {
            return action();
        }
        finally
        {
            (System.Globalization.CultureInfo.CurrentCulture, System.Globalization.CultureInfo.CurrentUICulture) = (current, currentUi);
        }
    }

    [Fact]
    public void A_different_seed_gives_different_data()
    {
        var a = SampleGenerator.Patients(new SampleRequest { Patients = 10, Seed = 1 }).ToList();
        var b = SampleGenerator.Patients(new SampleRequest { Patients = 10, Seed = 2 }).ToList();

        static string Names(IEnumerable<PatientRecord> patients) => string.Join(",", patients.Select(p =>
            ((Patient)p.Batches[0].Resources.First(r => r is Patient)).Name[0].ToString()));
        Assert.NotEqual(Names(a), Names(b));
        Assert.NotEqual(
            a.SelectMany(p => p.Latest()).OfType<Goal>().Select(g => g.Description.Text),
            b.SelectMany(p => p.Latest()).OfType<Goal>().Select(g => g.Description.Text));
        // Ids carry the seed, so two sets can share one server without overwriting each other.
        Assert.Empty(a.SelectMany(p => p.Latest()).Select(r => r.Id).Intersect(b.SelectMany(p => p.Latest()).Select(r => r.Id)));
    }

    [Fact]
    public void The_start_date_moves_every_date_and_nothing_else()
    {
        var early = SampleGenerator.Patient(new SampleRequest { Seed = 3, Start = new DateOnly(2025, 1, 6) }, 4);
        var later = SampleGenerator.Patient(new SampleRequest { Seed = 3, Start = new DateOnly(2025, 1, 16) }, 4);

        var earlyGoals = early.Latest().OfType<Goal>().ToList();
        var laterGoals = later.Latest().OfType<Goal>().ToList();
        Assert.Equal(earlyGoals.Select(g => g.Description.Text), laterGoals.Select(g => g.Description.Text));
        Assert.Equal(
            earlyGoals.Select(g => DateOnly.Parse(((Date)g.Start).Value!).AddDays(10)),
            laterGoals.Select(g => DateOnly.Parse(((Date)g.Start).Value!)));
    }

    [Fact]
    public void A_patient_does_not_depend_on_the_size_of_the_set()
    {
        var small = SampleGenerator.Patients(new SampleRequest { Patients = 3, Seed = 9 }).Last();
        var large = SampleGenerator.Patients(new SampleRequest { Patients = 8, Seed = 9 }).ElementAt(2);

        Assert.Equal(
            small.Versions.Select(r => SampleJson.SerializeToString(r)),
            large.Versions.Select(r => SampleJson.SerializeToString(r)));
    }

    [Fact]
    public void Goals_cover_all_four_recovery_domains_with_themes_chime_life_domains_and_priority()
    {
        var goals = SampleGenerator.Patients(new SampleRequest { Patients = 4, Seed = 11 }).SelectMany(p => p.Latest()).OfType<Goal>().ToList();

        var domains = goals.SelectMany(g => g.Category).SelectMany(c => c.Coding)
            .Where(c => c.System == Ig.Systems.RecoveryFramework)
            .Select(c => RecoveryFramework.FromDomainCode(c.Code!))
            .OfType<RecoveryDomain>()
            .Distinct();
        Assert.Equal(RecoveryFramework.Domains.Order(), domains.Order());
        foreach (var goal in goals)
        {
            var systems = goal.Category.SelectMany(c => c.Coding).Select(c => c.System).ToList();
            Assert.Equal(2, systems.Count(s => s == Ig.Systems.RecoveryFramework)); // theme and its domain (rg-5)
            Assert.Contains(Ig.Systems.ChimeProcess, systems);
            Assert.Contains(Ig.Systems.LifeDomain, systems);
            Assert.Contains(goal.Extension, e => e.Url == Ig.Extensions.PersonRatedPriority);
            Assert.Equal(goal.Subject.Reference, goal.ExpressedBy.Reference);
            Assert.False(string.IsNullOrWhiteSpace(goal.Description.Text));
        }
    }

    [Fact]
    public void Goals_have_a_follow_up_history_of_versions()
    {
        var patients = SampleGenerator.Patients(new SampleRequest { Patients = 10, Seed = 42 }).ToList();
        var histories = patients.SelectMany(p => p.Versions).OfType<Goal>().GroupBy(g => g.Id).Select(g => g.ToList()).ToList();

        Assert.All(histories, history =>
        {
            Assert.True(history.Count >= 2, $"Goal/{history[0].Id} has no follow-up version");
            // Every follow-up adds a goal attainment rating and keeps the earlier ones.
            var ratings = history.Select(g => g.Extension.Count(e => e.Url == Ig.Extensions.GoalAttainmentLevel)).ToList();
            Assert.Equal(Enumerable.Range(1, history.Count), ratings);
            Assert.True(history.Zip(history.Skip(1)).All(p => string.CompareOrdinal(p.First.StatusDate, p.Second.StatusDate) < 0), "statusDate must move forward");
        });
        Assert.Contains(histories, h => h[^1].LifecycleStatus == Goal.GoalLifecycleStatus.Completed && h[^1].AchievementStatus.Coding[0].Code == "achieved");
        Assert.Contains(histories, h => h[^1].LifecycleStatus == Goal.GoalLifecycleStatus.Cancelled);
        Assert.Contains(histories, h => h.Select(g => g.AchievementStatus?.Coding[0].Code).Distinct().Count() >= 3);
        Assert.Contains(histories, h => h.Select(g => g.Note.Count).Distinct().Count() >= 3);
    }

    [Fact]
    public void No_transaction_changes_a_resource_twice_and_versions_come_in_order()
    {
        foreach (var patient in SampleGenerator.Patients(new SampleRequest { Patients = 20, Seed = 5 }))
        {
            foreach (var batch in patient.Batches)
            {
                var keys = batch.Resources.Select(r => $"{r.TypeName}/{r.Id}").ToList();
                Assert.Equal(keys.Count, keys.Distinct().Count());
            }

            Assert.Equal(patient.Batches.Select(b => b.Name).Order(StringComparer.Ordinal), patient.Batches.Select(b => b.Name));
        }
    }

    [Fact]
    public void Task_histories_follow_the_closed_loop_workflow()
    {
        var tasks = SampleGenerator.Patients(new SampleRequest { Patients = 20, Seed = 42 })
            .SelectMany(p => p.Versions).OfType<FhirTask>().GroupBy(t => t.Id).Select(g => g.ToList()).ToList();

        // Allowed moves between Task states (HL7 task state machine, as the SDOH closed-loop referral uses it).
        var allowed = new Dictionary<FhirTask.TaskStatus, FhirTask.TaskStatus[]>
        {
            [FhirTask.TaskStatus.Requested] = [FhirTask.TaskStatus.Received, FhirTask.TaskStatus.Accepted, FhirTask.TaskStatus.Rejected, FhirTask.TaskStatus.EnteredInError],
            [FhirTask.TaskStatus.Received] = [FhirTask.TaskStatus.Accepted, FhirTask.TaskStatus.Rejected],
            [FhirTask.TaskStatus.Accepted] = [FhirTask.TaskStatus.InProgress, FhirTask.TaskStatus.Cancelled],
            [FhirTask.TaskStatus.OnHold] = [FhirTask.TaskStatus.InProgress, FhirTask.TaskStatus.Cancelled],
            [FhirTask.TaskStatus.InProgress] = [FhirTask.TaskStatus.InProgress, FhirTask.TaskStatus.OnHold, FhirTask.TaskStatus.Completed, FhirTask.TaskStatus.Failed],
        };
        Assert.All(tasks, history =>
        {
            Assert.Equal(FhirTask.TaskStatus.Requested, history[0].Status);
            foreach (var (from, to) in history.Zip(history.Skip(1)))
            {
                Assert.Contains(to.Status!.Value, allowed[from.Status!.Value]);
                Assert.True(string.CompareOrdinal(from.LastModified, to.LastModified) < 0, $"Task/{to.Id}: lastModified must move forward");
            }

            var last = history[^1];
            if (last.Status is FhirTask.TaskStatus.Rejected or FhirTask.TaskStatus.Cancelled or FhirTask.TaskStatus.Failed or FhirTask.TaskStatus.EnteredInError)
            {
                Assert.NotNull(last.StatusReason);
            }

            if (last.Status == FhirTask.TaskStatus.Completed)
            {
                Assert.Equal(
                    ["referral-outcome", "contact-made", "matched-peer-worker", "sessions-attended", "closure-summary"],
                    last.Output.Select(o => o.Type.Coding[0].Code));
            }
        });
    }

    [Fact]
    public void The_first_ten_patients_show_every_task_state_the_ig_allows()
    {
        var states = SampleGenerator.Patients(new SampleRequest { Patients = 10, Seed = 123 })
            .SelectMany(p => p.Latest()).OfType<FhirTask>().Select(t => Hl7.Fhir.Utility.EnumUtility.GetLiteral(t.Status)).ToHashSet();

        Assert.Equal(RequiredTaskStates.Codes.Order(), states.Order());
    }

    [Fact]
    public void The_generator_refuses_bad_requests()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SampleGenerator.Patients(new SampleRequest { Patients = 0 }).ToList());
        Assert.Throws<ArgumentOutOfRangeException>(() => SampleGenerator.Patients(new SampleRequest { Seed = -1 }).ToList());
    }
}

/// <summary>The Task states the IG allows: the codes of its peer-support-task-status ValueSet (read from profiles/).</summary>
internal static class RequiredTaskStates
{
    public static IReadOnlyList<string> Codes { get; } = Read();

    private static List<string> Read()
    {
        var valueSet = SampleJson.Parse<ValueSet>(File.ReadAllText(Path.Combine(TestPaths.Profiles, "ValueSet-peer-support-task-status.json")));
        var codes = valueSet.Compose.Include.SelectMany(i => i.Concept).Select(c => c.Code).ToList();
        Assert.Contains("entered-in-error", codes);
        return codes;
    }
}
