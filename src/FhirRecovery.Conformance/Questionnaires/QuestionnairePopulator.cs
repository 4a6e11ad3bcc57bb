using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;

namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>The data $populate reads: a FHIR server's resources (the server implements it over its store).</summary>
public interface IPopulateDataSource
{
    /// <summary>Reads a literal reference ("Patient/123"); null when it does not resolve.</summary>
    Task<Resource?> ReadAsync(string reference, CancellationToken cancellationToken);

    /// <summary>Runs a FHIR search ("Goal?subject=Patient/123&amp;lifecycle-status=active") and returns the searchset Bundle.</summary>
    Task<Bundle> SearchAsync(string query, CancellationToken cancellationToken);
}

/// <summary>What $populate made: the pre-filled response and what it could not fill.</summary>
public sealed record PopulationResult(QuestionnaireResponse Response, IReadOnlyList<string> Issues);

/// <summary>
/// SDC <c>$populate</c> by expressions: the launch contexts (<c>sdc-questionnaire-launchContext</c>: at least
/// <c>patient</c>, the subject) become <c>%patient</c> etc.; the questionnaire's <c>variable</c>s are evaluated in order
/// (FHIRPath, or <c>application/x-fhir-query</c> searches whose <c>{{expression}}</c> parts are filled from the
/// variables and contexts before them, giving a searchset Bundle); each item's <c>initialExpression</c> (or its static
/// <c>initial[x]</c>) gives its answers. Items with no value are left out (groups too, when nothing in them is filled);
/// calculated scores are then computed. The response is <c>in-progress</c>: the person still answers it.
/// Not supported: item population contexts (repeating groups per resource) and CQL.
/// </summary>
public sealed class QuestionnairePopulator
{
    private static readonly Regex Embedded = new(@"\{\{(.+?)\}\}", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    private readonly QuestionnaireScorer _scorer = new();

    /// <param name="contexts">Launch contexts by name, besides the subject (e.g. "goal" → a Goal).</param>
    public async Task<PopulationResult> PopulateAsync(QuestionnaireDefinition questionnaire, ResourceReference subject, Resource? subjectResource,
        IReadOnlyDictionary<string, Resource> contexts, IPopulateDataSource data, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var issues = new List<string>();
        var response = new QuestionnaireResponse
        {
            Questionnaire = questionnaire.Canonical,
            Status = QuestionnaireResponse.QuestionnaireResponseStatus.InProgress,
            Subject = (ResourceReference)subject.DeepCopy(),
            AuthoredElement = new FhirDateTime(now),
        };
        if (questionnaire.Questionnaire.Meta?.Profile.Contains("https://fhirrecovery.org/fhir/StructureDefinition/recovery-questionnaire") == true)
        {
            response.Meta = new Meta { Profile = ["https://fhirrecovery.org/fhir/StructureDefinition/recovery-questionnaire-response"] };
        }

        var root = response.ToPocoNode();
        var environment = new Dictionary<string, IEnumerable<PocoNode>>(StringComparer.Ordinal)
        {
            ["questionnaire"] = [questionnaire.Questionnaire.ToPocoNode()],
        };
        foreach (var launch in questionnaire.LaunchContexts)
        {
            var resource = launch.Name == "patient" ? subjectResource : contexts.GetValueOrDefault(launch.Name);
            if (resource is null && launch.Name == "patient")
            {
                issues.Add($"The subject {subject.Reference} could not be read: expressions using %patient find nothing");
            }

            if (resource is not null && launch.Types.Count > 0 && !launch.Types.Contains(resource.TypeName))
            {
                issues.Add($"Launch context '{launch.Name}' is a {resource.TypeName}, but the questionnaire expects {string.Join(" or ", launch.Types)}");
                resource = null;
            }

            environment[launch.Name] = resource is null ? [] : [resource.ToPocoNode()];
        }

        foreach (var (name, resource) in contexts)
        {
            environment.TryAdd(name, [resource.ToPocoNode()]);
        }

        var context = QuestionnaireScorer.NewContext(root, questionnaire, environment, root);
        foreach (var variable in questionnaire.Variables)
        {
            if (variable.Name is not { } name)
            {
                continue;
            }

            environment[name] = context.Environment[name] = await EvaluateVariableAsync(variable, root, context, data, issues, cancellationToken);
        }

        response.Item = Fill(questionnaire.Items, root, environment, questionnaire, issues);

        var scored = _scorer.Score(response, questionnaire);
        if (scored.Corrected is { } withScores)
        {
            response.Item = withScores.Item;
        }

        return new PopulationResult(response, issues);
    }

    private static async Task<List<PocoNode>> EvaluateVariableAsync(NamedExpression variable, PocoNode root, SdcEvaluationContext context,
        IPopulateDataSource data, List<string> issues, CancellationToken cancellationToken)
    {
        if (variable.IsFhirQuery)
        {
            var query = Embedded.Replace(variable.Expression, match =>
            {
                var (compiled, error) = SdcFhirPath.Compile(match.Groups[1].Value);
                if (compiled is null)
                {
                    issues.Add($"variable '{variable.Name}': {{{{{match.Groups[1].Value}}}}} does not compile: {error}");
                    return "";
                }

                var value = compiled([root], context).FirstOrDefault()?.Poco;
                return Uri.EscapeDataString(value is PrimitiveType primitive ? primitive.ToString() ?? "" : "");
            });
            try
            {
                var bundle = await data.SearchAsync(query, cancellationToken);
                return [bundle.ToPocoNode()];
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                issues.Add($"variable '{variable.Name}': the query {query} failed: {ex.Message}");
                return [];
            }
        }

        if (variable.Compiled is not { } fhirPath)
        {
            issues.Add($"variable '{variable.Name}': {variable.Error ?? $"{variable.Language} is not supported"}");
            return [];
        }

        try
        {
            return fhirPath([root], context).ToList();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            issues.Add($"variable '{variable.Name}': {ex.Message}");
            return [];
        }
    }

    private static List<QuestionnaireResponse.ItemComponent> Fill(IReadOnlyList<ItemDefinition> definitions, PocoNode root,
        Dictionary<string, IEnumerable<PocoNode>> environment, QuestionnaireDefinition questionnaire, List<string> issues)
    {
        var items = new List<QuestionnaireResponse.ItemComponent>();
        foreach (var definition in definitions)
        {
            var itemEnvironment = environment;
            if (definition.Variables.Count > 0)
            {
                itemEnvironment = new Dictionary<string, IEnumerable<PocoNode>>(environment, StringComparer.Ordinal);
                QuestionnaireScorer.AddVariables(definition.Variables, root, QuestionnaireScorer.NewContext(root, questionnaire, itemEnvironment, root), itemEnvironment);
            }

            if (definition.IsGroup)
            {
                var children = Fill(definition.Children, root, itemEnvironment, questionnaire, issues);
                if (children.Count > 0)
                {
                    items.Add(new QuestionnaireResponse.ItemComponent { LinkId = definition.LinkId, Text = definition.Item.Text, Item = children });
                }

                continue;
            }

            if (!definition.IsQuestion)
            {
                continue;
            }

            var answers = Initial(definition, root, itemEnvironment, questionnaire, issues);
            if (answers.Count == 0)
            {
                continue;
            }

            if (!definition.Repeats && answers.Count > 1)
            {
                answers = answers.Take(1).ToList();
            }

            var item = new QuestionnaireResponse.ItemComponent
            {
                LinkId = definition.LinkId,
                Text = definition.Item.Text,
                Answer = answers.Select(v => new QuestionnaireResponse.AnswerComponent { Value = v }).ToList(),
            };
            if (definition.Children.Count > 0 && Fill(definition.Children, root, itemEnvironment, questionnaire, issues) is { Count: > 0 } nested)
            {
                item.Answer[0].Item = nested;
            }

            items.Add(item);
        }

        return items;
    }

    private static List<DataType> Initial(ItemDefinition definition, PocoNode root, Dictionary<string, IEnumerable<PocoNode>> environment,
        QuestionnaireDefinition questionnaire, List<string> issues)
    {
        if (definition.Initial is { Compiled: { } compiled } initial)
        {
            try
            {
                var values = new List<DataType>();
                foreach (var node in compiled([root], QuestionnaireScorer.NewContext(root, questionnaire, environment, root)))
                {
                    if (AnswerFor(node, definition) is { } value)
                    {
                        values.Add(value);
                    }
                }

                return values;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                issues.Add($"Item '{definition.LinkId}': initialExpression {initial.Expression} failed: {ex.Message}");
                return [];
            }
        }

        if (definition.Initial is { Error: { } error })
        {
            issues.Add($"Item '{definition.LinkId}': initialExpression does not compile: {error}");
        }

        return definition.Item.Initial.Select(i => i.Value).OfType<DataType>().Select(v => (DataType)v.DeepCopy()).ToList();
    }

    /// <summary>An expression result as an answer of the item's type (a resource becomes a Reference, a CodeableConcept its Coding).</summary>
    private static DataType? AnswerFor(PocoNode node, ItemDefinition definition)
    {
        switch (node.Poco)
        {
            case Resource resource when definition.Type == ItemType.Reference:
                return resource.Id is { } id ? new ResourceReference($"{resource.TypeName}/{id}") : null;
            case CodeableConcept concept when definition.Type is ItemType.Choice or ItemType.OpenChoice:
                // The coding the item can take: one of its options, else the first.
                return (DataType?)concept.Coding.FirstOrDefault(c => definition.Options.Count == 0 || definition.Options.Any(o => AnswerValues.Same(o.Value, c)))?.DeepCopy()
                       ?? (definition.Type == ItemType.OpenChoice && concept.Text is { } text ? new FhirString(text) : null);
            case Coding coding when definition.Type is ItemType.Choice or ItemType.OpenChoice:
                return (Coding)coding.DeepCopy();
            case ResourceReference reference when definition.Type == ItemType.Reference:
                return (ResourceReference)reference.DeepCopy();
        }

        var value = AnswerValues.FromFhirPath(node, definition.Type);
        return value is not null && AnswerValues.TypeFits(definition, value) ? value : null;
    }
}
