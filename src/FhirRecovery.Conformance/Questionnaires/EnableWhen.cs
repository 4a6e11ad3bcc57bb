using Hl7.Fhir.Model;
using Operator = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemOperator;

namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>
/// Where an item sits in a response: its sibling list, then its parent's, up to the response's items. enableWhen
/// looks for the question it depends on from the nearest level outwards, so in a repeating group a condition on a
/// question of the same group reads that group's answer, not another repetition's.
/// </summary>
public sealed record ResponseScope(List<QuestionnaireResponse.ItemComponent> Items, ResponseScope? Outer)
{
    /// <summary>The answers of the nearest item(s) with this linkId; empty when none is found or none is answered.</summary>
    public List<QuestionnaireResponse.AnswerComponent> AnswersOf(string linkId)
    {
        var found = new List<QuestionnaireResponse.AnswerComponent>();
        for (var scope = this; scope is not null; scope = scope.Outer)
        {
            if (Search(scope.Items, linkId, found))
            {
                return found;
            }
        }

        return found;
    }

    private static bool Search(List<QuestionnaireResponse.ItemComponent> items, string linkId, List<QuestionnaireResponse.AnswerComponent> found)
    {
        var any = false;
        foreach (var item in items)
        {
            if (item.LinkId == linkId)
            {
                found.AddRange(item.Answer);
                any = true;
                continue;
            }

            any |= Search(item.Item, linkId, found);
            foreach (var answer in item.Answer)
            {
                any |= Search(answer.Item, linkId, found);
            }
        }

        return any;
    }
}

/// <summary>enableWhen and enableBehavior as R4 defines them (plus SDC enableWhenExpression).</summary>
public static class EnableWhen
{
    /// <summary>
    /// Whether an item is enabled. <paramref name="expression"/> evaluates an enableWhenExpression (null result: the
    /// expression could not be evaluated, and the item counts as enabled rather than silently hiding answers).
    /// </summary>
    public static bool IsEnabled(ItemDefinition item, ResponseScope scope, Func<NamedExpression, bool?>? expression = null)
    {
        if (item.EnableWhenExpression is { } enableExpression && expression?.Invoke(enableExpression) is { } result)
        {
            return result;
        }

        if (item.EnableWhen.Count == 0)
        {
            return true;
        }

        foreach (var condition in item.EnableWhen)
        {
            var holds = Holds(condition, scope.AnswersOf(condition.Question));
            if (item.EnableWhenAll && !holds)
            {
                return false;
            }

            if (!item.EnableWhenAll && holds)
            {
                return true;
            }
        }

        return item.EnableWhenAll;
    }

    public static bool Holds(EnableCondition condition, List<QuestionnaireResponse.AnswerComponent> answers)
    {
        if (condition.Operator == Operator.Exists)
        {
            var wanted = (condition.Answer as FhirBoolean)?.Value ?? true;
            return answers.Any(a => a.Value is not null) == wanted;
        }

        if (answers.Count == 0)
        {
            // No answer is "not equal" to anything; every other comparison needs an answer.
            return condition.Operator == Operator.NotEqual;
        }

        return condition.Operator switch
        {
            Operator.Equal => answers.Any(a => AnswerValues.Same(a.Value, condition.Answer)),
            Operator.NotEqual => answers.All(a => !AnswerValues.Same(a.Value, condition.Answer)),
            Operator.GreaterThan => answers.Any(a => AnswerValues.Compare(a.Value, condition.Answer) > 0),
            Operator.LessThan => answers.Any(a => AnswerValues.Compare(a.Value, condition.Answer) < 0),
            Operator.GreaterOrEqual => answers.Any(a => AnswerValues.Compare(a.Value, condition.Answer) >= 0),
            Operator.LessOrEqual => answers.Any(a => AnswerValues.Compare(a.Value, condition.Answer) <= 0),
            _ => false,
        };
    }

    /// <summary>"still-important = true and ..." for messages.</summary>
    public static string Describe(ItemDefinition item)
    {
        if (item.EnableWhen.Count == 0)
        {
            return item.EnableWhenExpression is { } e ? $"enableWhenExpression {e.Expression}" : "";
        }

        var parts = item.EnableWhen.Select(c => c.Operator == Operator.Exists
            ? $"{c.Question} {((c.Answer as FhirBoolean)?.Value == false ? "is not answered" : "is answered")}"
            : $"{c.Question} {Symbol(c.Operator)} {AnswerValues.Describe(c.Answer)}");
        return string.Join(item.EnableWhenAll ? " and " : " or ", parts);
    }

    private static string Symbol(Operator op) => op switch
    {
        Operator.Equal => "=",
        Operator.NotEqual => "!=",
        Operator.GreaterThan => ">",
        Operator.LessThan => "<",
        Operator.GreaterOrEqual => ">=",
        Operator.LessOrEqual => "<=",
        _ => "exists",
    };
}
