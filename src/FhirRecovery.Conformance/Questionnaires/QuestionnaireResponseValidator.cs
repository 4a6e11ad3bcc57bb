using System.Globalization;
using System.Text.RegularExpressions;
using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Utility;
using Hl7.Fhir.Model;
using static Hl7.Fhir.Model.OperationOutcome;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;
using ResponseStatus = Hl7.Fhir.Model.QuestionnaireResponse.QuestionnaireResponseStatus;

namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>
/// Validates a QuestionnaireResponse against its Questionnaire (what SDC calls response validation), as a check of
/// the profile validator (<see cref="IResourceCheck"/>), so <c>$validate</c>, validation on write and the CLI apply it:
/// <list type="bullet">
/// <item>every item's linkId exists at that place in the questionnaire, and items keep the questionnaire's order;</item>
/// <item>answers have the type of their item; groups and display items have no answers; questions nest items under answers;</item>
/// <item>required items are answered in a completed (or amended) response; a non-repeating item has one answer and appears once;</item>
/// <item>choice answers are among the answerOptions or in the answerValueSet (local terminology);</item>
/// <item>enableWhen/enableBehavior (and SDC enableWhenExpression): a disabled item must not be answered;</item>
/// <item>minValue/maxValue (and SDC min/maxQuantity), maxLength, minLength, maxDecimalPlaces, regex, min/maxOccurs;</item>
/// <item>calculated scores (SDC calculatedExpression) as recorded against as computed: a difference is a warning,
/// because a server recomputes and stores the questionnaire's value (a missing score is information).</item>
/// </list>
/// Every issue is located by FHIRPath (e.g. <c>QuestionnaireResponse.item[0].answer[1].valueCoding</c>) and is of
/// <see cref="IssueKind.Profile"/>: the response is well-formed FHIR that breaks its questionnaire's rules.
/// </summary>
public sealed class QuestionnaireResponseValidator : IResourceCheck
{
    private readonly QuestionnaireResolver _resolver;
    private readonly IBindingChecker? _bindings;
    private readonly QuestionnaireScorer _scorer;

    public QuestionnaireResponseValidator(QuestionnaireResolver resolver, IBindingChecker? bindings, QuestionnaireScorer scorer)
    {
        _resolver = resolver;
        _bindings = bindings;
        _scorer = scorer;
    }

    public bool AppliesTo(Resource resource) => resource is QuestionnaireResponse;

    public void Check(Resource resource, string location, ICollection<ValidationIssue> issues) =>
        Validate((QuestionnaireResponse)resource, location, issues);

    /// <summary>Validates against the questionnaire the response names (found through the resolver).</summary>
    public IReadOnlyList<ValidationIssue> Validate(QuestionnaireResponse response, string location = "QuestionnaireResponse")
    {
        var issues = new List<ValidationIssue>();
        Validate(response, location, issues);
        return issues;
    }

    private void Validate(QuestionnaireResponse response, string location, ICollection<ValidationIssue> issues)
    {
        if (string.IsNullOrEmpty(response.Questionnaire))
        {
            // The base definition allows a response without a questionnaire (profiles may require one): nothing to check against.
            return;
        }

        var questionnaire = _resolver.FindFor(response);
        if (questionnaire is null)
        {
            issues.Add(new ValidationIssue(IssueSeverity.Warning, IssueType.NotFound,
                $"The questionnaire '{response.Questionnaire}' is not known here, so the answers were not checked against it",
                $"{location}.questionnaire") { RuleId = "qr-questionnaire-unknown" });
            return;
        }

        Validate(response, QuestionnaireDefinition.For(questionnaire), location, issues);
    }

    /// <summary>Validates against a given questionnaire.</summary>
    public void Validate(QuestionnaireResponse response, QuestionnaireDefinition questionnaire, string location, ICollection<ValidationIssue> issues)
    {
        var run = new Run(this, response, questionnaire, location, issues);
        run.Items(questionnaire.Items, response.Item, location, new ResponseScope(response.Item, null), null);
        run.Scores();
    }

    /// <summary>One validation of one response.</summary>
    private sealed class Run(QuestionnaireResponseValidator owner, QuestionnaireResponse response, QuestionnaireDefinition questionnaire,
        string location, ICollection<ValidationIssue> issues)
    {
        private readonly bool _complete = response.Status is ResponseStatus.Completed or ResponseStatus.Amended;
        private PocoNode? _root;

        private string Name => questionnaire.Canonical ?? response.Questionnaire ?? "its questionnaire";

        private void Report(IssueSeverity severity, IssueType code, string ruleId, string message, string expression) =>
            issues.Add(new ValidationIssue(severity, code, message, expression) { RuleId = ruleId });

        /// <summary>The items of one level (the response's, a group's, or an answer's) against the questionnaire items there.</summary>
        public void Items(IReadOnlyList<ItemDefinition> definitions, List<QuestionnaireResponse.ItemComponent> items, string path,
            ResponseScope scope, ItemDefinition? parent)
        {
            var counts = new int[definitions.Count];
            var lastPosition = -1;
            ItemDefinition? lastDefinition = null;
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                var itemPath = $"{path}.item[{i}]";
                if (string.IsNullOrEmpty(item.LinkId))
                {
                    // linkId is 1..1 in the base definition, which reports its absence.
                    continue;
                }

                var definition = Find(definitions, item.LinkId);
                if (definition is null)
                {
                    var elsewhere = questionnaire.Find(item.LinkId);
                    Report(IssueSeverity.Error, IssueType.Structure, "qr-linkid",
                        elsewhere is null
                            ? $"linkId '{item.LinkId}' is not an item of {Name}"
                            : $"linkId '{item.LinkId}' is in the wrong place: {Name} has it {(elsewhere.Parent is { } p ? $"under '{p.LinkId}'" : "at the top level")}, not {(parent is null ? "at the top level" : $"under '{parent.LinkId}'")}",
                        $"{itemPath}.linkId");
                    continue;
                }

                if (definition.Position < lastPosition)
                {
                    Report(IssueSeverity.Error, IssueType.Structure, "qr-order",
                        $"Item '{item.LinkId}' is out of order: {Name} puts it before '{lastDefinition!.LinkId}'", $"{itemPath}.linkId");
                }
                else
                {
                    lastPosition = definition.Position;
                    lastDefinition = definition;
                }

                counts[IndexOf(definitions, definition)]++;
                if (definition.HasEnableRules && !EnableWhen.IsEnabled(definition, scope, e => Condition(e, item)))
                {
                    if (HasContent(item))
                    {
                        Report(IssueSeverity.Error, IssueType.BusinessRule, "qr-disabled",
                            $"Item {definition.Label} is answered, but it is not enabled: its enableWhen ({EnableWhen.Describe(definition)}) does not hold, so it must not be answered",
                            itemPath);
                    }

                    continue;
                }

                Item(item, definition, itemPath, scope);
            }

            for (var d = 0; d < definitions.Count; d++)
            {
                var definition = definitions[d];
                var count = counts[d];
                if (count > 1 && !(definition.IsGroup && definition.Repeats))
                {
                    var second = items.FindIndex(items.FindIndex(x => x.LinkId == definition.LinkId) + 1, x => x.LinkId == definition.LinkId);
                    Report(IssueSeverity.Error, IssueType.Structure, "qr-repeats",
                        definition.IsGroup
                            ? $"Group {definition.Label} appears {count} times, but it does not repeat"
                            : $"Item {definition.Label} appears {count} times: a question appears once, and a question that repeats has several answers",
                        $"{path}.item[{second}]");
                }

                if (definition.IsGroup && definition.Repeats && count > 0)
                {
                    Occurrences(definition, count, $"{path}.item[{items.FindIndex(x => x.LinkId == definition.LinkId)}]", "repetitions");
                }

                if (count == 0 && _complete && definition.Required && !definition.IsDisplay
                    && (!definition.HasEnableRules || EnableWhen.IsEnabled(definition, scope, e => Condition(e, null))))
                {
                    Report(IssueSeverity.Error, IssueType.Required, "qr-required",
                        $"Item {definition.Label} is required, but the {StatusWord} response does not answer it", path);
                }
            }
        }

        private string StatusWord => response.Status == ResponseStatus.Amended ? "amended" : "completed";

        private void Item(QuestionnaireResponse.ItemComponent item, ItemDefinition definition, string path, ResponseScope scope)
        {
            if (definition.IsDisplay)
            {
                if (item.Answer.Count > 0 || item.Item.Count > 0)
                {
                    Report(IssueSeverity.Error, IssueType.Structure, "qr-display",
                        $"Item {definition.Label} is a display item: it takes no answers and no items", path);
                }

                return;
            }

            if (definition.IsGroup)
            {
                if (item.Answer.Count > 0)
                {
                    Report(IssueSeverity.Error, IssueType.Structure, "qr-group-answer",
                        $"Item {definition.Label} is a group: it has items, not answers", $"{path}.answer[0]");
                }

                if (_complete && definition.Required && !HasContent(item))
                {
                    Report(IssueSeverity.Error, IssueType.Required, "qr-required",
                        $"Group {definition.Label} is required, but none of its items is answered", path);
                }

                Items(definition.Children, item.Item, path, new ResponseScope(item.Item, scope), definition);
                return;
            }

            if (item.Item.Count > 0)
            {
                Report(IssueSeverity.Error, IssueType.Structure, "qr-question-items",
                    $"Item {definition.Label} is a question ({definition.Type.GetLiteral()}): items nested in a question go under its answers (answer.item), not item.item",
                    $"{path}.item[0]");
            }

            if (item.Answer.Count == 0)
            {
                if (_complete && definition.Required)
                {
                    Report(IssueSeverity.Error, IssueType.Required, "qr-required",
                        $"Item {definition.Label} is required, but it has no answer", path);
                }

                return;
            }

            if (item.Answer.Count > 1 && !definition.Repeats)
            {
                Report(IssueSeverity.Error, IssueType.Structure, "qr-repeats",
                    $"Item {definition.Label} has {item.Answer.Count} answers, but it does not repeat", $"{path}.answer[1]");
            }
            else if (definition.Repeats)
            {
                Occurrences(definition, item.Answer.Count, path, "answers");
            }

            for (var a = 0; a < item.Answer.Count; a++)
            {
                var answer = item.Answer[a];
                var answerPath = $"{path}.answer[{a}]";
                Answer(answer, definition, answerPath);
                if (answer.Item.Count > 0)
                {
                    if (definition.Children.Count == 0)
                    {
                        Report(IssueSeverity.Error, IssueType.Structure, "qr-linkid",
                            $"Item {definition.Label} has no child items in {Name}, but answer {a + 1} has items", $"{answerPath}.item[0]");
                    }
                    else
                    {
                        Items(definition.Children, answer.Item, answerPath, new ResponseScope(answer.Item, scope), definition);
                    }
                }
            }

            if (_complete && definition.Children.Count > 0)
            {
                // Required children of a question are looked for under its answers (with no answer items, under the first answer).
                if (item.Answer.All(a => a.Item.Count == 0))
                {
                    Items(definition.Children, [], $"{path}.answer[0]", new ResponseScope([], scope), definition);
                }
            }
        }

        private void Occurrences(ItemDefinition definition, int count, string path, string what)
        {
            if (definition.MinOccurs is { } min && count < min && _complete)
            {
                Report(IssueSeverity.Error, IssueType.Required, "qr-occurs",
                    $"Item {definition.Label} needs at least {min} {what}, it has {count}", path);
            }

            if (definition.MaxOccurs is { } max && count > max)
            {
                Report(IssueSeverity.Error, IssueType.Structure, "qr-occurs",
                    $"Item {definition.Label} allows at most {max} {what}, it has {count}", path);
            }
        }

        private void Answer(QuestionnaireResponse.AnswerComponent answer, ItemDefinition definition, string path)
        {
            if (answer.Value is not { } value)
            {
                Report(IssueSeverity.Error, IssueType.Required, "qr-answer-value",
                    $"Answer to {definition.Label} has no value", path);
                return;
            }

            var valuePath = $"{path}.{AnswerValues.JsonName(value)}";
            if (!AnswerValues.TypeFits(definition, value))
            {
                Report(IssueSeverity.Error, IssueType.Value, "qr-answer-type",
                    $"Answer to {definition.Label} is of type {value.TypeName}, but the item is of type {definition.Type.GetLiteral()} and takes {AnswerValues.Expected(definition)}",
                    valuePath);
                return;
            }

            if (definition.Type is ItemType.Choice or ItemType.OpenChoice)
            {
                Choice(value, definition, valuePath);
            }

            Limits(value, definition, valuePath);
        }

        private void Choice(DataType value, ItemDefinition definition, string path)
        {
            var open = definition.Type == ItemType.OpenChoice;
            if (open && value is FhirString)
            {
                // open-choice: free text is the "other" answer.
                return;
            }

            if (definition.Options.Count > 0)
            {
                foreach (var option in definition.Options)
                {
                    if (AnswerValues.Same(option.Value, value))
                    {
                        return;
                    }
                }

                Report(open ? IssueSeverity.Warning : IssueSeverity.Error, IssueType.CodeInvalid, "qr-answer-option",
                    $"Answer {AnswerValues.Describe(value)} to {definition.Label} is not one of its answerOptions ({string.Join(", ", definition.Options.Select(o => AnswerValues.Describe(o.Value)))})",
                    path);
                return;
            }

            if (definition.AnswerValueSet is { Length: > 0 } valueSet && value is Coding coding && owner._bindings is { } bindings)
            {
                if (valueSet.StartsWith('#'))
                {
                    // A value set contained in the questionnaire: not resolvable by canonical; the local service cannot check it.
                    return;
                }

                if (string.IsNullOrEmpty(coding.Code))
                {
                    Report(IssueSeverity.Error, IssueType.CodeInvalid, "qr-answer-valueset",
                        $"Answer to {definition.Label} is a Coding without a code", path);
                    return;
                }

                var check = bindings.Check(valueSet, coding.System, coding.Code, coding.Display);
                switch (check.Outcome)
                {
                    case CodeCheckOutcome.Invalid:
                        Report(open ? IssueSeverity.Warning : IssueSeverity.Error, IssueType.CodeInvalid, "qr-answer-valueset",
                            $"Answer {AnswerValues.Describe(coding)} to {definition.Label} is not in its answerValueSet {valueSet}{(check.Message is { } m ? $": {m}" : "")}",
                            path);
                        break;
                    case CodeCheckOutcome.Unknown:
                        Report(IssueSeverity.Information, IssueType.CodeInvalid, "qr-answer-valueset",
                            $"Answer {AnswerValues.Describe(coding)} to {definition.Label} could not be checked against {valueSet} here{(check.Message is { } u ? $": {u}" : "")}",
                            path);
                        break;
                }
            }
        }

        private void Limits(DataType value, ItemDefinition definition, string path)
        {
            if (definition.MinValue is { } min && AnswerValues.Compare(value, min) is < 0)
            {
                Report(IssueSeverity.Error, IssueType.Value, "qr-min-value",
                    $"Answer {AnswerValues.Describe(value)} to {definition.Label} is below its minimum {AnswerValues.Describe(min)}", path);
            }

            if (definition.MaxValue is { } max && AnswerValues.Compare(value, max) is > 0)
            {
                Report(IssueSeverity.Error, IssueType.Value, "qr-max-value",
                    $"Answer {AnswerValues.Describe(value)} to {definition.Label} is above its maximum {AnswerValues.Describe(max)}", path);
            }

            if (value is FhirString or FhirUri && ((PrimitiveType)value).ToString() is { } text)
            {
                // Length counts characters as a person sees them (UTF-16 surrogate pairs are one character).
                var length = new StringInfo(text).LengthInTextElements;
                if (definition.MaxLength is { } maxLength && length > maxLength)
                {
                    Report(IssueSeverity.Error, IssueType.Value, "qr-max-length",
                        $"Answer to {definition.Label} is {length} characters long, more than its maxLength {maxLength}", path);
                }

                if (definition.MinLength is { } minLength && length < minLength)
                {
                    Report(IssueSeverity.Error, IssueType.Value, "qr-min-length",
                        $"Answer to {definition.Label} is {length} characters long, less than its minLength {minLength}", path);
                }

                if (definition.Regex is { } regex)
                {
                    bool matches;
                    try
                    {
                        matches = regex.IsMatch(text);
                    }
                    catch (RegexMatchTimeoutException)
                    {
                        matches = false;
                    }

                    if (!matches)
                    {
                        Report(IssueSeverity.Error, IssueType.Value, "qr-regex",
                            $"Answer to {definition.Label} does not match its pattern {regex}", path);
                    }
                }
            }

            if (definition.MaxDecimalPlaces is { } places && value is FhirDecimal { Value: { } number } && Scale(number) > places)
            {
                Report(IssueSeverity.Error, IssueType.Value, "qr-decimal-places",
                    $"Answer {number.ToString(CultureInfo.InvariantCulture)} to {definition.Label} has more than {places} decimal places", path);
            }
        }

        private static int Scale(decimal value) => (decimal.GetBits(value)[3] >> 16) & 0xFF;

        /// <summary>Calculated scores as recorded against as computed.</summary>
        public void Scores()
        {
            if (!questionnaire.HasCalculations || response.Status == ResponseStatus.EnteredInError)
            {
                return;
            }

            var result = owner._scorer.Score(response, questionnaire);
            foreach (var answer in result.Answers)
            {
                var where = answer.Location.StartsWith("QuestionnaireResponse", StringComparison.Ordinal)
                    ? location + answer.Location["QuestionnaireResponse".Length..]
                    : answer.Location;
                if (answer.Error is not null)
                {
                    Report(IssueSeverity.Warning, IssueType.Exception, "qr-score-error",
                        $"The score {answer.Item.Label} could not be computed: {answer.Error}", where);
                    continue;
                }

                if (answer.Matches)
                {
                    continue;
                }

                var computed = answer.Computed.Count == 0 ? "nothing" : string.Join(", ", answer.Computed.Select(AnswerValues.Describe));
                if (!answer.WasPresent)
                {
                    Report(IssueSeverity.Information, IssueType.Informational, "qr-score-missing",
                        $"The score {answer.Item.Label} is not recorded; its calculatedExpression gives {computed} (a server stores it)", where);
                    continue;
                }

                var recorded = answer.Recorded.Count == 0 ? "nothing" : string.Join(", ", answer.Recorded.Select(AnswerValues.Describe));
                Report(IssueSeverity.Warning, IssueType.Value, "qr-score-mismatch",
                    $"The score {answer.Item.Label} is recorded as {recorded}, but its calculatedExpression gives {computed} (a server stores {computed})",
                    answer.Recorded.Count > 0 ? $"{where}.answer[0].{AnswerValues.JsonName(answer.Recorded[0])}" : where);
            }
        }

        private bool? Condition(NamedExpression expression, QuestionnaireResponse.ItemComponent? item)
        {
            if (expression.Compiled is not { } compiled)
            {
                return null;
            }

            _root ??= response.ToPocoNode();
            var focus = item is null ? _root : Locate(_root, item) ?? _root;
            try
            {
                var environment = new Dictionary<string, IEnumerable<PocoNode>>(StringComparer.Ordinal)
                {
                    ["questionnaire"] = [questionnaire.Questionnaire.ToPocoNode()],
                };
                var context = QuestionnaireScorer.NewContext(_root, questionnaire, environment, focus);
                QuestionnaireScorer.AddVariables(questionnaire.Variables, _root, context, environment);
                var result = compiled([focus], context).ToList();
                return result.Count == 1 && result[0].Poco is PrimitiveType { JsonValue: bool value } ? value : null;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return null;
            }
        }

        private static PocoNode? Locate(PocoNode node, QuestionnaireResponse.ItemComponent item)
        {
            foreach (var child in SdcFhirPath.ChildNodes(node, "item"))
            {
                if (ReferenceEquals(child.Poco, item))
                {
                    return child;
                }

                if (Locate(child, item) is { } found)
                {
                    return found;
                }

                foreach (var answer in SdcFhirPath.ChildNodes(child, "answer"))
                {
                    if (Locate(answer, item) is { } nested)
                    {
                        return nested;
                    }
                }
            }

            return null;
        }

        private static ItemDefinition? Find(IReadOnlyList<ItemDefinition> definitions, string linkId)
        {
            foreach (var definition in definitions)
            {
                if (definition.LinkId == linkId)
                {
                    return definition;
                }
            }

            return null;
        }

        private static int IndexOf(IReadOnlyList<ItemDefinition> definitions, ItemDefinition definition)
        {
            for (var i = 0; i < definitions.Count; i++)
            {
                if (ReferenceEquals(definitions[i], definition))
                {
                    return i;
                }
            }

            return 0;
        }

        private static bool HasContent(QuestionnaireResponse.ItemComponent item) =>
            item.Answer.Any(a => a.Value is not null || a.Item.Any(HasContent)) || item.Item.Any(HasContent);
    }
}
