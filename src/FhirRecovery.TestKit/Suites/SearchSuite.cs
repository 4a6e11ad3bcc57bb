using FhirRecovery.TestKit.Examples;
using FhirRecovery.TestKit.Model;
using Hl7.Fhir.ElementModel;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;
using static FhirRecovery.TestKit.Model.KitContext;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.TestKit.Suites;

/// <summary>The searches the guide requires: by patient and status, its own SearchParameters, paging, _include.</summary>
public sealed class SearchSuite : KitSuite
{
    private const int GoalCount = 7;
    private const int ActiveGoals = 5;
    private static readonly FhirPathCompiler Compiler = new(new SymbolTable().AddStandardFP().AddFhirExtensions());

    private string? _patient;
    private IReadOnlyList<IgExample>? _examples;

    public override string Name => "search";

    public override string Description => "Goal by patient and lifecycle-status, the guide's SearchParameters, paging through next links, _include=Task:focus.";

    public SearchSuite()
    {
        Test("srch-01", $"Goal?patient=&lifecycle-status=active finds exactly the patient's active goals ({ActiveGoals} of {GoalCount} created)",
            Specs.IgRule("recovery-goal: searched by patient and lifecycle-status", "StructureDefinition/recovery-goal"), async ctx =>
            {
                var patient = await CreateGoalsAsync(ctx);
                var (found, _) = await SearchAllAsync(ctx, $"Goal?patient=Patient/{patient}&lifecycle-status=active");
                Expect(found.Count == ActiveGoals && found.All(g => g is Goal { LifecycleStatus: Goal.GoalLifecycleStatus.Active }),
                    $"found {found.Count} goals ({string.Join(", ", found.OfType<Goal>().Select(g => g.LifecycleStatus))}), expected the {ActiveGoals} active ones");
                _patient = patient;
            });

        Test("srch-02", "Every SearchParameter of the guide (except those needing resolve()) finds the example whose value it indexes",
            Specs.IgRule("the guide's SearchParameters", "ImplementationGuide/fhirrecovery.ig"), async ctx =>
            {
                var examples = IgExamples.ForRun(ctx.RunId + "s");
                var refused = await ExampleWriter.WriteAsync(ctx, examples);
                Expect(refused.Count == 0, "the examples to search were refused: " + string.Join("; ", refused));
                _examples = examples;
                var misses = new List<string>();
                var exercised = 0;
                foreach (var parameter in Specs.IgDefinitions<SearchParameter>(ctx).Where(p => p.Expression is { } e && !e.Contains("resolve()", StringComparison.Ordinal)))
                {
                    var type = parameter.Base.First()!.Value.ToString();
                    foreach (var example in examples.Where(e => e.Type == type))
                    {
                        if (SearchValue(parameter, example.Resource) is not { } value)
                        {
                            continue;
                        }

                        exercised++;
                        var bundle = (await ctx.Fhir.GetAsync($"{type}?_id={example.Id}&{parameter.Code}={Uri.EscapeDataString(value)}")).As<Bundle>();
                        if (!bundle.Entry.Any(e => e.Resource?.Id == example.Id))
                        {
                            misses.Add($"{type}?{parameter.Code}={value} does not find {example.Reference}");
                        }
                    }
                }

                Expect(exercised > 0, "no example carries a value of the guide's SearchParameters");
                Expect(misses.Count == 0, string.Join("; ", misses.Take(8)));
            });

        Test("srch-03", $"Paging: Goal?patient=&_count=3 followed through its next links gives all {GoalCount} goals once, no page larger than asked",
            Specs.FhirRule("paging: next links lead through the whole result", "http.html#paging"), async ctx =>
            {
                var patient = Needs(_patient, "srch-01");
                var (found, pages) = await SearchAllAsync(ctx, $"Goal?patient=Patient/{patient}&_count=3");
                var ids = found.Select(r => r.Id).ToList();
                var duplicates = ids.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
                Expect(duplicates.Count == 0, "duplicates across pages: " + string.Join(", ", duplicates));
                Expect(ids.Count == GoalCount, $"{ids.Count} goals over {pages.Count} pages, expected {GoalCount}: matches lost");
                Expect(pages.All(p => p <= 3), $"page sizes {string.Join(", ", pages)} exceed _count=3");
            });

        Test("srch-04", "Task?_id=&_include=Task:focus returns the peer-support Tasks with their referral ServiceRequests (search mode include)",
            Specs.FhirRule("_include", "search.html#include"), async ctx =>
            {
                var tasks = Needs(_examples, "srch-02").Where(e => e.Resource is FhirTask t && t.Focus?.Reference?.StartsWith("ServiceRequest/", StringComparison.Ordinal) == true).ToList();
                Expect(tasks.Count > 0, "the examples have no Task whose focus is a referral");
                var bundle = (await ctx.Fhir.GetAsync($"Task?_id={string.Join(',', tasks.Select(t => t.Id))}&_include=Task:focus")).As<Bundle>();
                var included = bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Include).Select(e => $"{e.Resource?.TypeName}/{e.Resource?.Id}").ToHashSet();
                var wanted = tasks.Select(t => ((FhirTask)t.Resource).Focus!.Reference).OfType<string>().Distinct().ToList();
                var missing = wanted.Where(w => !included.Contains(w)).ToList();
                Expect(missing.Count == 0, $"not included: {string.Join(", ", missing)} (included: {string.Join(", ", included)})");
                Expect(bundle.Entry.Count(e => e.Resource is FhirTask) == tasks.Count, "the Tasks themselves are not all matched");
            });

        Test("srch-05", "Task?focus=&status= (the referrer's view of a referral) finds the referral's Tasks in that state only",
            Specs.IgRule("peer-support-task: the referrer follows the referral's Tasks", "StructureDefinition/peer-support-task"), async ctx =>
            {
                var tasks = Needs(_examples, "srch-02").Select(e => e.Resource).OfType<FhirTask>().Where(t => t.Focus?.Reference?.StartsWith("ServiceRequest/", StringComparison.Ordinal) == true).ToList();
                foreach (var group in tasks.GroupBy(t => (Reference: t.Focus!.Reference!, Status: t.Status is { } s ? Hl7.Fhir.Utility.EnumUtility.GetLiteral(s) : "")))
                {
                    var (found, _) = await SearchAllAsync(ctx, $"Task?focus={group.Key.Reference}&status={group.Key.Status}");
                    var expected = group.Select(t => t.Id).Order().ToList();
                    var actual = found.Select(r => r.Id).Order().ToList();
                    Expect(expected.SequenceEqual(actual), $"Task?focus={group.Key.Reference}&status={group.Key.Status} found [{string.Join(", ", actual)}], expected [{string.Join(", ", expected)}]");
                }
            });
    }

    /// <summary>A patient with <see cref="GoalCount"/> recovery goals, <see cref="ActiveGoals"/> of them active; its id.</summary>
    private static async Task<string> CreateGoalsAsync(KitContext ctx)
    {
        var patient = await RecoveryData.CreatePatientAsync(ctx, "search");
        for (var i = 0; i < GoalCount; i++)
        {
            var goal = RecoveryData.Goal(patient, $"Search test goal {i + 1}");
            if (i >= ActiveGoals)
            {
                goal.LifecycleStatus = Goal.GoalLifecycleStatus.Completed;
                goal.AchievementStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/goal-achievement", "achieved", "Achieved");
            }

            ExpectStatus(await ctx.Fhir.PostAsync("Goal", goal), 201);
        }

        return patient;
    }

    /// <summary>Every match of a search, following next links (at most 50 pages), and the size of each page.</summary>
    public static async Task<(List<Resource> Matches, List<int> PageSizes)> SearchAllAsync(KitContext ctx, string url)
    {
        var matches = new List<Resource>();
        var pages = new List<int>();
        string? next = url;
        while (next is not null)
        {
            Expect(pages.Count < 50, $"{url}: more than 50 pages (a next link that never ends?)");
            var response = await ctx.Fhir.GetAsync(next);
            ExpectStatus(response, 200);
            var bundle = response.As<Bundle>();
            var page = bundle.Entry.Where(e => e.Search?.Mode is null or Bundle.SearchEntryMode.Match).Select(e => e.Resource).OfType<Resource>().ToList();
            matches.AddRange(page);
            pages.Add(page.Count);
            next = bundle.Link.FirstOrDefault(l => l.Relation == "next")?.Url;
        }

        return (matches, pages);
    }

    /// <summary>The first value the parameter's expression finds in the resource, written as a search value; null when none.</summary>
    private static string? SearchValue(SearchParameter parameter, Resource resource)
    {
        var nodes = Compiler.Compile(parameter.Expression).Invoke([resource.ToPocoNode()], new FhirEvaluationContext()).Select(n => n.Poco).ToList();
        foreach (var value in nodes)
        {
            var text = value switch
            {
                Coding { Code: { } code } coding => coding.System is null ? code : $"{coding.System}|{code}",
                CodeableConcept concept when concept.Coding.FirstOrDefault() is { Code: { } code } coding => coding.System is null ? code : $"{coding.System}|{code}",
                // A reference parameter only takes references to its target types (Task.focus may be a Goal; referral is ServiceRequest only).
                ResourceReference { Reference: { } reference } when !reference.StartsWith('#')
                    && (!parameter.Target.Any() || parameter.Target.Any(t => reference.StartsWith($"{t}/", StringComparison.Ordinal))) => reference,
                Integer { Value: { } number } when parameter.Type == SearchParamType.Number => number.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Code { Value: { } code } when parameter.Type == SearchParamType.Token => code,
                _ => null,
            };
            if (text is not null)
            {
                return text;
            }
        }

        return null;
    }
}
