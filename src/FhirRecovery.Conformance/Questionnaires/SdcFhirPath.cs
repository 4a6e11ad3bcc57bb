using System.Collections.Concurrent;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;

namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>
/// FHIRPath for questionnaire expressions (SDC <c>variable</c>, <c>calculatedExpression</c>, <c>initialExpression</c>,
/// <c>enableWhenExpression</c>), evaluated by Firely's engine with FHIR's functions plus these:
/// <list type="bullet">
/// <item><c>ordinal()</c> (alias <c>weight()</c>, its name since R5): for each Coding (or answerOption) in the input, its
/// score: the <c>ordinalValue</c>/<c>itemWeight</c> extension on the Coding itself, else on the matching answerOption of
/// the item the answer belongs to in <c>%questionnaire</c>, else on any answerOption of <c>%questionnaire</c> with that
/// system and code. Codings without a score contribute nothing.</item>
/// <item><c>answers()</c>: the answer values of the input items (a QuestionnaireResponse, items or answers) and of all
/// items nested below them, in document order, each still knowing its item (so <c>answers().ordinal()</c> works).</item>
/// <item><c>sum()</c>: the sum of the numbers in the input (FHIRPath 3.0); 0 for an empty input; an integer when every
/// input is one.</item>
/// </list>
/// Environment: <c>%resource</c> (the QuestionnaireResponse), <c>%questionnaire</c>, <c>%context</c> (the item
/// evaluated for), the variables in scope by name, and for population the launch contexts (<c>%patient</c>, ...).
/// </summary>
public static class SdcFhirPath
{
    public static SymbolTable Symbols { get; } = CreateSymbols();

    private static readonly FhirPathCompiler Compiler = new(Symbols);
    private static readonly ConcurrentDictionary<string, (CompiledExpression? Compiled, string? Error)> Cache = new(StringComparer.Ordinal);

    /// <summary>Compiles once per distinct expression text; an expression that does not compile comes back with the error.</summary>
    public static (CompiledExpression? Compiled, string? Error) Compile(string expression) =>
        Cache.GetOrAdd(expression, text =>
        {
            try
            {
                return (Compiler.Compile(text), null);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return (null, ex.Message);
            }
        });

    private static SymbolTable CreateSymbols()
    {
        var symbols = new SymbolTable().AddStandardFP().AddFhirExtensions();
        symbols.Add("ordinal", (IEnumerable<PocoNode> focus, EvaluationContext context) => Ordinal(focus, context));
        symbols.Add("weight", (IEnumerable<PocoNode> focus, EvaluationContext context) => Ordinal(focus, context));
        symbols.Add("answers", (IEnumerable<PocoNode> focus) => Answers(focus));
        symbols.Add("sum", (IEnumerable<PocoNode> focus) => Sum(focus));
        return symbols;
    }

    private static IEnumerable<PocoNode> Ordinal(IEnumerable<PocoNode> focus, EvaluationContext context)
    {
        var questionnaire = (context as SdcEvaluationContext)?.Questionnaire;
        foreach (var node in focus)
        {
            var weight = node.Poco switch
            {
                Coding coding => WeightOf(coding) ?? questionnaire?.WeightOf(ItemOf(node)?.LinkId, coding),
                Questionnaire.AnswerOptionComponent option => QuestionnaireDefinition.WeightOf(option),
                _ => null,
            };
            if (weight is { } value)
            {
                yield return PocoNode.ForPrimitive(new FhirDecimal(value));
            }
        }
    }

    /// <summary>The score carried by the Coding itself.</summary>
    internal static decimal? WeightOf(Element element)
    {
        foreach (var extension in element.Extension)
        {
            if (extension.Url is SdcUrls.OrdinalValue or SdcUrls.ItemWeight && extension.Value is FhirDecimal { Value: { } value })
            {
                return value;
            }

            if (extension.Url is SdcUrls.OrdinalValue or SdcUrls.ItemWeight && extension.Value is Integer { Value: { } integer })
            {
                return integer;
            }
        }

        return null;
    }

    /// <summary>The QuestionnaireResponse item an answer value belongs to (value → answer → item), if any.</summary>
    private static QuestionnaireResponse.ItemComponent? ItemOf(PocoNode node)
    {
        for (var parent = node.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent.Poco is QuestionnaireResponse.ItemComponent item)
            {
                return item;
            }
        }

        return null;
    }

    private static IEnumerable<PocoNode> Answers(IEnumerable<PocoNode> focus)
    {
        var result = new List<PocoNode>();
        foreach (var node in focus)
        {
            switch (node.Poco)
            {
                case QuestionnaireResponse or QuestionnaireResponse.ItemComponent:
                    CollectFromItem(node, result);
                    break;
                case QuestionnaireResponse.AnswerComponent:
                    CollectFromAnswer(node, result);
                    break;
            }
        }

        return result;
    }

    private static void CollectFromItem(PocoNode owner, List<PocoNode> result)
    {
        foreach (var answer in ChildNodes(owner, "answer"))
        {
            CollectFromAnswer(answer, result);
        }

        foreach (var item in ChildNodes(owner, "item"))
        {
            CollectFromItem(item, result);
        }
    }

    private static void CollectFromAnswer(PocoNode answer, List<PocoNode> result)
    {
        foreach (var value in ChildNodes(answer, "value"))
        {
            result.Add(value);
        }

        foreach (var item in ChildNodes(answer, "item"))
        {
            CollectFromItem(item, result);
        }
    }

    /// <summary>The children of a node by element name, obtained from the node itself so they keep their parent.</summary>
    internal static IEnumerable<PocoNode> ChildNodes(PocoNode node, string name) =>
        node.Child(name) switch
        {
            PocoListNode list => list,
            PocoNode single => [single],
            _ => [],
        };

    private static IEnumerable<PocoNode> Sum(IEnumerable<PocoNode> focus)
    {
        decimal total = 0;
        var integral = true;
        foreach (var node in focus)
        {
            if (!TryNumber(node, out var value, out var isInteger))
            {
                throw new InvalidOperationException($"sum() needs numbers, got {node.Poco?.TypeName}");
            }

            total += value;
            integral &= isInteger;
        }

        yield return integral && total is >= int.MinValue and <= int.MaxValue
            ? PocoNode.ForPrimitive(new Integer((int)total))
            : PocoNode.ForPrimitive(new FhirDecimal(total));
    }

    /// <summary>A number from a FHIRPath result (FHIR integer/decimal or a System number).</summary>
    public static bool TryNumber(PocoNode node, out decimal value, out bool isInteger)
    {
        value = 0;
        isInteger = false;
        if (node.Poco is not PrimitiveType primitive)
        {
            return false;
        }

        switch (primitive.JsonValue)
        {
            case int i:
                value = i;
                isInteger = true;
                return true;
            case long l:
                value = l;
                isInteger = true;
                return true;
            case decimal d:
                value = d;
                return true;
            case double d:
                value = (decimal)d;
                return true;
            default:
                return false;
        }
    }
}

/// <summary>The evaluation context of questionnaire expressions: Firely's, plus the questionnaire being answered.</summary>
public sealed class SdcEvaluationContext : FhirEvaluationContext
{
    public QuestionnaireDefinition? Questionnaire { get; init; }
}
