using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>One calculated item of a response: what the response recorded and what the questionnaire computes.</summary>
/// <param name="Key">Stable address of the item (linkId path with repetition numbers), the same in the corrected copy.</param>
/// <param name="Location">FHIRPath of the item in the response as given, or of its parent when it was missing.</param>
public sealed record CalculatedAnswer(
    ItemDefinition Item,
    string Key,
    string Location,
    bool WasPresent,
    IReadOnlyList<DataType> Recorded,
    IReadOnlyList<DataType> Computed,
    string? Error)
{
    public bool Matches => Error is not null || (Recorded.Count == Computed.Count && Recorded.Zip(Computed).All(p => AnswerValues.Same(p.First, p.Second)));
}

/// <summary>The scores of a response: each calculated item, and a corrected copy when any differed.</summary>
public sealed record ScoringResult(IReadOnlyList<CalculatedAnswer> Answers, QuestionnaireResponse? Corrected)
{
    public static ScoringResult None { get; } = new([], null);

    public bool HasDifferences => Corrected is not null;

    public IEnumerable<CalculatedAnswer> Differences => Answers.Where(a => !a.Matches);
}

/// <summary>
/// SDC scoring: evaluates the questionnaire's <c>variable</c>s and every item's <c>calculatedExpression</c> (FHIRPath,
/// see <see cref="SdcFhirPath"/> for the functions) against a response. Calculations may build on each other (a total
/// over subscale scores): they are evaluated on the whole response and applied together, repeatedly, until nothing
/// changes. The response passed in is never modified; differences come back with a corrected copy.
/// </summary>
public sealed class QuestionnaireScorer
{
    private const int MaxPasses = 8;

    public ScoringResult Score(QuestionnaireResponse response, QuestionnaireDefinition questionnaire)
    {
        if (!questionnaire.HasCalculations)
        {
            return ScoringResult.None;
        }

        var first = Evaluate(response, questionnaire);
        if (first.All(s => s.Matches))
        {
            return new ScoringResult(first.Select(s => s.ToAnswer(s)).ToList(), null);
        }

        var copy = (QuestionnaireResponse)response.DeepCopy();
        var last = first;
        for (var pass = 0; pass < MaxPasses; pass++)
        {
            last = Evaluate(copy, questionnaire);
            if (last.All(s => s.Matches))
            {
                break;
            }

            // Every difference of this pass is applied before the next evaluation (so the order of items does not matter).
            foreach (var slot in last.Where(s => !s.Matches))
            {
                slot.Apply();
            }
        }

        var final = last.ToDictionary(s => s.Key, StringComparer.Ordinal);
        var answers = new List<CalculatedAnswer>();
        foreach (var slot in first)
        {
            answers.Add(slot.ToAnswer(final.GetValueOrDefault(slot.Key) ?? slot));
        }

        foreach (var slot in last.Where(s => first.All(f => f.Key != s.Key)))
        {
            // Items that appeared only in the corrected copy (inside an inserted group): nothing was recorded for them.
            answers.Add(slot.ToAnswer(slot) with { Recorded = [], WasPresent = false });
        }

        return new ScoringResult(answers, copy);
    }

    /// <summary>Evaluates every calculated item of <paramref name="response"/> once.</summary>
    private static List<Slot> Evaluate(QuestionnaireResponse response, QuestionnaireDefinition questionnaire)
    {
        var root = response.ToPocoNode();
        var environment = new Dictionary<string, IEnumerable<PocoNode>>(StringComparer.Ordinal)
        {
            ["questionnaire"] = [questionnaire.Questionnaire.ToPocoNode()],
        };
        var context = NewContext(root, questionnaire, environment, root);
        AddVariables(questionnaire.Variables, root, context, environment);

        var slots = new List<Slot>();
        Walk(questionnaire.Items, response.Item, root, "QuestionnaireResponse", "", new ResponseScope(response.Item, null), environment, root, questionnaire, slots);
        return slots;
    }

    private static void Walk(IReadOnlyList<ItemDefinition> definitions, List<QuestionnaireResponse.ItemComponent> container, PocoNode owner,
        string ownerPath, string ownerKey, ResponseScope scope, Dictionary<string, IEnumerable<PocoNode>> environment, PocoNode root,
        QuestionnaireDefinition questionnaire, List<Slot> slots)
    {
        List<PocoNode>? nodes = null;
        foreach (var definition in definitions)
        {
            var occurrence = 0;
            for (var i = 0; i < container.Count; i++)
            {
                var item = container[i];
                if (item.LinkId != definition.LinkId)
                {
                    continue;
                }

                nodes ??= SdcFhirPath.ChildNodes(owner, "item").ToList();
                var node = nodes[i];
                var key = $"{ownerKey}/{definition.LinkId}#{occurrence++}";
                var path = $"{ownerPath}.item[{i}]";
                if (definition.HasEnableRules && !EnableWhen.IsEnabled(definition, scope, e => Condition(e, node, root, questionnaire, environment)))
                {
                    continue;
                }

                var itemEnvironment = environment;
                if (definition.Variables.Count > 0)
                {
                    itemEnvironment = new Dictionary<string, IEnumerable<PocoNode>>(environment, StringComparer.Ordinal);
                    AddVariables(definition.Variables, node, NewContext(root, questionnaire, itemEnvironment, node), itemEnvironment);
                }

                if (definition.Calculated is { } calculated)
                {
                    slots.Add(Slot.Evaluated(definition, calculated, key, path, container, item, node, root, questionnaire, itemEnvironment, []));
                }

                if (definition.Children.Count == 0)
                {
                    continue;
                }

                if (definition.IsGroup)
                {
                    Walk(definition.Children, item.Item, node, path, key, new ResponseScope(item.Item, scope), itemEnvironment, root, questionnaire, slots);
                }
                else
                {
                    var answerNodes = SdcFhirPath.ChildNodes(node, "answer").ToList();
                    for (var a = 0; a < item.Answer.Count; a++)
                    {
                        Walk(definition.Children, item.Answer[a].Item, answerNodes[a], $"{path}.answer[{a}]", $"{key}@{a}",
                            new ResponseScope(item.Answer[a].Item, scope), itemEnvironment, root, questionnaire, slots);
                    }
                }
            }

            if (occurrence == 0 && (definition.Calculated is not null || (definition.IsGroup && definition.HasCalculatedDescendants))
                && (!definition.HasEnableRules || EnableWhen.IsEnabled(definition, scope, e => Condition(e, owner, root, questionnaire, environment))))
            {
                // Not in the response: computed with its parent as context, and added where the questionnaire puts it
                // (with the groups around it, when they are missing too).
                Missing(definition, [], $"{ownerKey}/{definition.LinkId}#0", ownerPath, container, owner, root, questionnaire, environment, slots);
            }
        }
    }

    private static void Missing(ItemDefinition definition, List<ItemDefinition> missingGroups, string key, string ownerPath,
        List<QuestionnaireResponse.ItemComponent> container, PocoNode owner, PocoNode root, QuestionnaireDefinition questionnaire,
        Dictionary<string, IEnumerable<PocoNode>> environment, List<Slot> slots)
    {
        if (definition.Calculated is { } calculated)
        {
            slots.Add(Slot.Evaluated(definition, calculated, key, ownerPath, container, null, owner, root, questionnaire, environment, missingGroups));
            return;
        }

        foreach (var child in definition.Children.Where(c => c.Calculated is not null || (c.IsGroup && c.HasCalculatedDescendants)))
        {
            Missing(child, [.. missingGroups, definition], $"{key}/{child.LinkId}#0", ownerPath, container, owner, root, questionnaire, environment, slots);
        }
    }

    private static bool? Condition(NamedExpression expression, PocoNode focus, PocoNode root, QuestionnaireDefinition questionnaire,
        Dictionary<string, IEnumerable<PocoNode>> environment)
    {
        if (expression.Compiled is not { } compiled)
        {
            return null;
        }

        try
        {
            var result = compiled([focus], NewContext(root, questionnaire, environment, focus)).ToList();
            return result.Count == 1 && result[0].Poco is PrimitiveType { JsonValue: bool value } ? value : null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return null;
        }
    }

    internal static SdcEvaluationContext NewContext(PocoNode root, QuestionnaireDefinition questionnaire,
        Dictionary<string, IEnumerable<PocoNode>> environment, PocoNode context)
    {
        var withContext = new Dictionary<string, IEnumerable<PocoNode>>(environment, StringComparer.Ordinal) { ["context"] = [context] };
        return new SdcEvaluationContext
        {
            Resource = root,
            RootResource = root,
            Environment = withContext,
            Questionnaire = questionnaire,
        };
    }

    /// <summary>Evaluates variables in order into <paramref name="environment"/> (a failing one is empty, as SDC says of errors).</summary>
    internal static void AddVariables(IEnumerable<NamedExpression> variables, PocoNode focus, SdcEvaluationContext context,
        Dictionary<string, IEnumerable<PocoNode>> environment)
    {
        foreach (var variable in variables)
        {
            if (variable.Name is not { } name || variable.Compiled is not { } compiled)
            {
                continue;
            }

            List<PocoNode> value;
            try
            {
                value = compiled([focus], context).ToList();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                value = [];
            }

            environment[name] = value;
            context.Environment[name] = value;
        }
    }

    /// <summary>A calculated item (present or missing) evaluated once.</summary>
    private sealed class Slot
    {
        private List<QuestionnaireResponse.ItemComponent> _container = null!;
        private IReadOnlyList<ItemDefinition> _missingGroups = [];

        public required ItemDefinition Definition { get; init; }

        public required string Key { get; init; }

        public required string Path { get; init; }

        public QuestionnaireResponse.ItemComponent? Instance { get; private init; }

        public List<DataType> Recorded { get; private init; } = [];

        public List<DataType> Computed { get; private init; } = [];

        public string? Error { get; private init; }

        public bool Matches => Error is not null || (Recorded.Count == Computed.Count && Recorded.Zip(Computed).All(p => AnswerValues.Same(p.First, p.Second)));

        public static Slot Evaluated(ItemDefinition definition, NamedExpression expression, string key, string path,
            List<QuestionnaireResponse.ItemComponent> container, QuestionnaireResponse.ItemComponent? instance, PocoNode focus, PocoNode root,
            QuestionnaireDefinition questionnaire, Dictionary<string, IEnumerable<PocoNode>> environment, IReadOnlyList<ItemDefinition> missingGroups)
        {
            var computed = new List<DataType>();
            string? error = expression.Error;
            if (expression.Compiled is { } compiled)
            {
                try
                {
                    foreach (var node in compiled([focus], NewContext(root, questionnaire, environment, focus)))
                    {
                        if (AnswerValues.FromFhirPath(node, definition.Type) is { } value)
                        {
                            computed.Add(value);
                        }
                    }
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    error = ex.Message;
                }
            }
            else if (error is null)
            {
                error = $"{expression.Language} expressions are not evaluated here";
            }

            if (!definition.Repeats && computed.Count > 1)
            {
                error = $"the calculatedExpression gives {computed.Count} values for an item that does not repeat";
            }

            return new Slot
            {
                Definition = definition,
                Key = key,
                Path = path,
                Instance = instance,
                Recorded = instance?.Answer.Select(a => a.Value).OfType<DataType>().ToList() ?? [],
                Computed = computed,
                Error = error,
                _container = container,
                _missingGroups = missingGroups,
            };
        }

        /// <summary>Writes the computed answers into the response this slot was evaluated on.</summary>
        public void Apply()
        {
            if (Instance is not null)
            {
                if (Computed.Count == 0)
                {
                    _container.Remove(Instance);
                    return;
                }

                Instance.Answer = Computed.Select(v => new QuestionnaireResponse.AnswerComponent { Value = (DataType)v.DeepCopy() }).ToList();
                return;
            }

            if (Computed.Count == 0)
            {
                return;
            }

            var container = _container;
            foreach (var group in _missingGroups)
            {
                // A group an earlier slot of this pass has already added is shared, not added twice.
                var existing = container.FirstOrDefault(i => i.LinkId == group.LinkId);
                if (existing is null)
                {
                    existing = new QuestionnaireResponse.ItemComponent { LinkId = group.LinkId, Text = group.Item.Text };
                    Insert(container, existing, group);
                }

                container = existing.Item;
            }

            Insert(container, new QuestionnaireResponse.ItemComponent
            {
                LinkId = Definition.LinkId,
                Text = Definition.Item.Text,
                Answer = Computed.Select(v => new QuestionnaireResponse.AnswerComponent { Value = (DataType)v.DeepCopy() }).ToList(),
            }, Definition);
        }

        private static void Insert(List<QuestionnaireResponse.ItemComponent> container, QuestionnaireResponse.ItemComponent item, ItemDefinition definition)
        {
            var index = container.FindIndex(existing => Position(definition.Siblings, existing.LinkId) > definition.Position);
            container.Insert(index < 0 ? container.Count : index, item);
        }

        private static int Position(IReadOnlyList<ItemDefinition> siblings, string? linkId)
        {
            foreach (var sibling in siblings)
            {
                if (sibling.LinkId == linkId)
                {
                    return sibling.Position;
                }
            }

            return int.MaxValue;
        }

        public CalculatedAnswer ToAnswer(Slot final) =>
            new(Definition, Key, Path, Instance is not null, Recorded, final.Computed, final.Error ?? Error);
    }
}
