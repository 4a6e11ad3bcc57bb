using FhirRecovery.Server.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Server.Tests.Workflow;

/// <summary>
/// The shipped sample data set (samples/data), read straight from its files, so tests can compare what the server
/// computes with what the files say: every resource's final version, and every version in file order.
/// </summary>
public sealed class SampleData
{
    public const string Framework = "https://fhirrecovery.org/fhir/CodeSystem/recovery-framework";

    private static readonly Lazy<SampleData> Shared = new(() => new SampleData());

    private SampleData()
    {
        var parser = new FhirJsonDeserializer();
        foreach (var file in Directory.EnumerateFiles(TestResources.RepoPath("samples", "data"), "*.json").Order(StringComparer.Ordinal))
        {
            var bundle = parser.Deserialize<Bundle>(File.ReadAllText(file));
            foreach (var resource in bundle.Entry.Select(e => e.Resource))
            {
                Versions.Add(resource);
                Final[$"{resource.TypeName}/{resource.Id}"] = resource;
            }
        }

        foreach (var file in Directory.EnumerateFiles(TestResources.RepoPath("profiles", "questionnaires"), "*.json"))
        {
            var questionnaire = parser.Deserialize<Questionnaire>(File.ReadAllText(file));
            Questionnaires[$"{questionnaire.Url}|{questionnaire.Version}"] = questionnaire;
        }

        var codeSystem = parser.Deserialize<CodeSystem>(File.ReadAllText(TestResources.RepoPath("profiles", "CodeSystem-recovery-framework.json")));
        foreach (var domain in codeSystem.Concept)
        {
            DomainOf[domain.Code] = domain.Code;
            foreach (var theme in domain.Concept)
            {
                DomainOf[theme.Code] = domain.Code;
            }
        }
    }

    public static SampleData Instance => Shared.Value;

    public List<Resource> Versions { get; } = [];

    public Dictionary<string, Resource> Final { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, Questionnaire> Questionnaires { get; } = new(StringComparer.Ordinal);

    /// <summary>Each framework code (domains and themes) to its domain.</summary>
    public Dictionary<string, string> DomainOf { get; } = new(StringComparer.Ordinal);

    public IEnumerable<T> All<T>() where T : Resource => Final.Values.OfType<T>();

    public T Get<T>(string reference) where T : Resource => (T)Final[reference];

    /// <summary>The framework codes of a goal's categories.</summary>
    public static IEnumerable<string> FrameworkCodes(Goal goal) =>
        goal.Category.SelectMany(c => c.Coding).Where(c => c.System == Framework).Select(c => c.Code).Distinct();

    /// <summary>The framework codes a Questionnaire's items are focused on (extension item-recovery-focus).</summary>
    public IEnumerable<string> FocusCodes(Questionnaire questionnaire)
    {
        static IEnumerable<Questionnaire.ItemComponent> Items(IEnumerable<Questionnaire.ItemComponent> items) => items.SelectMany(i => Items(i.Item).Prepend(i));
        return Items(questionnaire.Item)
            .SelectMany(i => i.Extension.Where(e => e.Url == "https://fhirrecovery.org/fhir/StructureDefinition/item-recovery-focus"))
            .Select(e => e.Value).OfType<CodeableConcept>().SelectMany(c => c.Coding)
            .Where(c => c.System == Framework).Select(c => c.Code).Distinct();
    }

    /// <summary>Counts of items per framework code, a domain counting every item with the domain or one of its themes.</summary>
    public Dictionary<string, int> CountByCode<T>(IEnumerable<T> items, Func<T, IEnumerable<string>> codes)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var own = codes(item).ToHashSet(StringComparer.Ordinal);
            foreach (var code in own.Concat(own.Select(c => DomainOf[c])).Distinct())
            {
                counts[code] = counts.GetValueOrDefault(code) + 1;
            }
        }

        return counts;
    }

    public static string? SubjectOf(Resource resource) => resource switch
    {
        Goal g => g.Subject?.Reference,
        QuestionnaireResponse q => q.Subject?.Reference,
        ServiceRequest s => s.Subject?.Reference,
        FhirTask t => t.For?.Reference,
        _ => null,
    };
}
