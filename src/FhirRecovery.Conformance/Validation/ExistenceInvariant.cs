using System.Collections;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;
using Expression = Hl7.FhirPath.Expressions.Expression;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// Most invariants only ask whether elements are present ("contained.meta.versionId.empty()",
/// "status = 'completed' implies output.exists()"). This evaluates that fragment of FHIRPath — member paths,
/// exists(), empty(), not(), and/or/implies and = / != against a literal — straight on the POCO, from the tree
/// Firely's parser builds, with FHIRPath's three-valued logic. Anything outside the fragment, or a case it cannot
/// decide at run time (a comparison over several values), is left to Firely's evaluator.
/// </summary>
internal sealed class ExistenceInvariant
{
    private static readonly FhirPathCompiler Parser = new(new SymbolTable().AddStandardFP().AddFhirExtensions());

    private static readonly HashSet<string> StringTyped = new(StringComparer.Ordinal)
    {
        "string", "code", "id", "markdown", "uri", "url", "canonical", "oid", "uuid",
    };

    private readonly Func<Base, Tri> _evaluate;

    private ExistenceInvariant(Func<Base, Tri> evaluate) => _evaluate = evaluate;

    /// <summary>The result of a sub-expression: true, false, empty, or "cannot decide here".</summary>
    internal enum Tri : byte
    {
        False,
        True,
        Empty,
        Undecided,
    }

    /// <summary>Null when the expression is not in the fragment.</summary>
    public static ExistenceInvariant? TryCompile(string expression)
    {
        try
        {
            var evaluate = Compile(Parser.Parse(expression));
            return evaluate is null ? null : new ExistenceInvariant(evaluate);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Expressions Firely cannot parse are reported when Firely compiles them.
            return null;
        }
    }

    /// <summary>True/false when decided (empty counts as <paramref name="emptyIs"/>), null when Firely must decide.</summary>
    public bool? Evaluate(Base focus, bool emptyIs) => _evaluate(focus) switch
    {
        Tri.True => true,
        Tri.False => false,
        Tri.Empty => emptyIs,
        _ => null,
    };

    private static Func<Base, Tri>? Compile(Expression expression)
    {
        switch (expression)
        {
            case BracketExpression bracket:
                return Compile(bracket.Operand);

            case BinaryExpression { Op: "and" or "or" or "implies" } binary:
            {
                var left = Compile(binary.Left);
                var right = Compile(binary.Right);
                if (left is null || right is null)
                {
                    return null;
                }

                return binary.Op switch
                {
                    "and" => focus => And(left(focus), right(focus)),
                    "or" => focus => Or(left(focus), right(focus)),
                    _ => focus => Implies(left(focus), right(focus)),
                };
            }

            case BinaryExpression { Op: "=" or "!=" } comparison when comparison.Right is ConstantExpression { Value: string or bool } constant
                                                                       && MemberPath(comparison.Left) is { } path:
            {
                var literal = constant.Value;
                var negate = comparison.Op == "!=";
                return focus =>
                {
                    var values = Navigate(focus, path);
                    if (values.Count == 0)
                    {
                        return Tri.Empty;
                    }

                    if (values.Count > 1 || values[0] is not PrimitiveType { JsonValue: { } value })
                    {
                        return Tri.Undecided;
                    }

                    // Only like with like; other pairings (dates, numbers, string vs boolean) are Firely's to decide.
                    bool equal;
                    if (literal is bool expected && value is bool actual)
                    {
                        equal = expected == actual;
                    }
                    else if (literal is string expectedText && value is string actualText && StringTyped.Contains(values[0].TypeName))
                    {
                        equal = expectedText == actualText;
                    }
                    else
                    {
                        return Tri.Undecided;
                    }

                    return equal != negate ? Tri.True : Tri.False;
                };
            }

            case FunctionCallExpression { FunctionName: "exists" or "empty", Arguments: var arguments } call
                when !arguments.Any() && call is not BinaryExpression && MemberPath(call.Focus) is { } path:
            {
                var exists = call.FunctionName == "exists";
                return focus => (Navigate(focus, path).Count > 0) == exists ? Tri.True : Tri.False;
            }

            case FunctionCallExpression { FunctionName: "not", Arguments: var arguments } call when !arguments.Any() && call is not BinaryExpression:
            {
                var operand = Compile(call.Focus);
                return operand is null ? null : focus => Not(operand(focus));
            }

            default:
                return null;
        }
    }

    /// <summary>The child names of a pure member path from the focus ($this.a.b.c), or null when it is anything else.</summary>
    private static string[]? MemberPath(Expression expression)
    {
        var names = new List<string>();
        while (true)
        {
            switch (expression)
            {
                case ChildExpression child:
                    names.Add(child.ChildName);
                    expression = child.Focus;
                    continue;
                case AxisExpression { AxisName: "this" }:
                    names.Reverse();
                    return names.Count == 0 ? null : names.ToArray();
                default:
                    return null;
            }
        }
    }

    private static List<Base> Navigate(Base focus, string[] path)
    {
        var current = new List<Base> { focus };
        foreach (var name in path)
        {
            var next = new List<Base>();
            foreach (var item in current)
            {
                if (!item.TryGetValue(name, out var value) || value is null)
                {
                    continue;
                }

                if (value is IList list)
                {
                    foreach (var element in list)
                    {
                        if (element is Base b)
                        {
                            next.Add(b);
                        }
                    }
                }
                else if (value is Base single)
                {
                    next.Add(single);
                }
            }

            if (next.Count == 0)
            {
                return next;
            }

            current = next;
        }

        return current;
    }

    private static Tri Not(Tri value) => value switch
    {
        Tri.True => Tri.False,
        Tri.False => Tri.True,
        _ => value,
    };

    private static Tri And(Tri left, Tri right)
    {
        if (left == Tri.Undecided || right == Tri.Undecided)
        {
            return left == Tri.False || right == Tri.False ? Tri.False : Tri.Undecided;
        }

        if (left == Tri.False || right == Tri.False)
        {
            return Tri.False;
        }

        return left == Tri.True && right == Tri.True ? Tri.True : Tri.Empty;
    }

    private static Tri Or(Tri left, Tri right)
    {
        if (left == Tri.Undecided || right == Tri.Undecided)
        {
            return left == Tri.True || right == Tri.True ? Tri.True : Tri.Undecided;
        }

        if (left == Tri.True || right == Tri.True)
        {
            return Tri.True;
        }

        return left == Tri.False && right == Tri.False ? Tri.False : Tri.Empty;
    }

    private static Tri Implies(Tri left, Tri right) => left switch
    {
        Tri.False => Tri.True,
        Tri.True => right,
        Tri.Empty => right == Tri.True ? Tri.True : right == Tri.Undecided ? Tri.Undecided : Tri.Empty,
        _ => right == Tri.True ? Tri.True : Tri.Undecided,
    };
}
