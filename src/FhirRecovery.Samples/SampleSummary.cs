using System.Globalization;
using System.Text;
using Hl7.Fhir.Model;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Samples;

/// <summary>What a generated set contains: resources and versions per type, Task states, goal domains and statuses.</summary>
public sealed class SampleSummary
{
    public int Patients { get; private set; }

    public int Files { get; set; }

    public long Bytes { get; set; }

    /// <summary>Type → (resources, versions), in load order of the types.</summary>
    public SortedDictionary<string, (int Resources, int Versions)> Types { get; } = new(Comparer<string>.Create(
        (a, b) => PatientStory.LoadRank(a) != PatientStory.LoadRank(b) ? PatientStory.LoadRank(a).CompareTo(PatientStory.LoadRank(b)) : string.CompareOrdinal(a, b)));

    /// <summary>Final Task.status → count (after all versions are loaded).</summary>
    public SortedDictionary<string, int> TaskStates { get; } = new(StringComparer.Ordinal);

    /// <summary>Task.status → how many Task versions had it (the history a server keeps).</summary>
    public SortedDictionary<string, int> TaskStatesInHistory { get; } = new(StringComparer.Ordinal);

    /// <summary>Recovery domain code → goals classified in it.</summary>
    public SortedDictionary<string, int> GoalDomains { get; } = new(StringComparer.Ordinal);

    /// <summary>Final Goal.lifecycleStatus → count.</summary>
    public SortedDictionary<string, int> GoalStates { get; } = new(StringComparer.Ordinal);

    /// <summary>Questionnaire canonical → responses.</summary>
    public SortedDictionary<string, int> Responses { get; } = new(StringComparer.Ordinal);

    public int Versions => Types.Values.Sum(t => t.Versions);

    public void AddShared(SampleBatch shared) => CountOnce(shared);

    /// <summary>The cohort Groups (<see cref="Cohorts.Batch"/>): one version each.</summary>
    public void AddCohorts(SampleBatch cohorts) => CountOnce(cohorts);

    private void CountOnce(SampleBatch batch)
    {
        foreach (var resource in batch.Resources)
        {
            Count(resource.TypeName, 1, 1);
        }
    }

    public void Add(PatientRecord patient)
    {
        Patients++;
        foreach (var version in patient.Versions)
        {
            if (version is FhirTask task)
            {
                Increment(TaskStatesInHistory, Code(task.Status));
            }
        }

        var versions = patient.Versions.GroupBy(r => r.TypeName).ToDictionary(g => g.Key, g => g.Count());
        foreach (var group in patient.Latest().GroupBy(r => r.TypeName))
        {
            Count(group.Key, group.Count(), versions[group.Key]);
        }

        foreach (var resource in patient.Latest())
        {
            switch (resource)
            {
                case FhirTask task:
                    Increment(TaskStates, Code(task.Status));
                    break;
                case Goal goal:
                    Increment(GoalStates, Code(goal.LifecycleStatus));
                    foreach (var domain in goal.Category.SelectMany(c => c.Coding)
                                 .Where(c => c.System == Ig.Systems.RecoveryFramework && c.Code is not null && RecoveryFramework.FromDomainCode(c.Code) is not null))
                    {
                        Increment(GoalDomains, domain.Code!);
                    }

                    break;
                case QuestionnaireResponse response:
                    Increment(Responses, response.Questionnaire ?? "(none)");
                    break;
            }
        }
    }

    /// <summary>The summary as Markdown tables (what samples/README.md shows).</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Patients} patients; {Types.Values.Sum(t => t.Resources)} resources in {Versions} versions; {Files} files, {Bytes / 1024.0 / 1024.0:0.0} MB.\n\n");
        text.Append("| Resource type | Resources | Versions |\n|---|---:|---:|\n");
        foreach (var (type, (resources, versions)) in Types)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {type} | {resources} | {versions} |\n");
        }

        Table(text, "Task status (final)", TaskStates, "Tasks");
        Table(text, "Task status (all versions)", TaskStatesInHistory, "Task versions");
        Table(text, "Recovery domain", GoalDomains, "Goals");
        Table(text, "Goal lifecycle status (final)", GoalStates, "Goals");
        Table(text, "Questionnaire", Responses, "Responses");
        return text.ToString();
    }

    private static void Table(StringBuilder text, string heading, SortedDictionary<string, int> counts, string column)
    {
        text.Append(CultureInfo.InvariantCulture, $"\n| {heading} | {column} |\n|---|---:|\n");
        foreach (var (key, count) in counts)
        {
            // Canonicals carry "|version": a bare pipe would end the table cell.
            text.Append(CultureInfo.InvariantCulture, $"| {key.Replace("|", "\\|", StringComparison.Ordinal)} | {count} |\n");
        }
    }

    private void Count(string type, int resources, int versions)
    {
        Types.TryGetValue(type, out var current);
        Types[type] = (current.Resources + resources, current.Versions + versions);
    }

    private static void Increment(SortedDictionary<string, int> counts, string key) => counts[key] = counts.GetValueOrDefault(key) + 1;

    private static string Code(Enum? value) => value is null ? "(none)" : Hl7.Fhir.Utility.EnumUtility.GetLiteral(value) ?? value.ToString();
}
