using System.Collections;
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;
using Expression = Hl7.FhirPath.Expressions.Expression;
using P = Hl7.Fhir.ElementModel.Types;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// Evaluates the common fragment of invariant FHIRPath straight on the POCOs, from the tree Firely's parser builds:
/// member paths, <c>where()</c>, <c>extension('url')</c>, <c>%resource</c>, <c>exists()</c>, <c>empty()</c>,
/// <c>hasValue()</c>, <c>not()</c>, <c>and</c>/<c>or</c>/<c>implies</c> (three-valued), <c>=</c>/<c>!=</c>/<c>in</c>
/// against literals and <c>matches()</c>. Profiles' invariants are mostly of this shape and Firely's general
/// evaluator costs microseconds per call; anything outside the fragment, or a case it cannot decide at run time
/// (a comparison over several values, a date), is left to Firely, so results are always Firely's.
/// </summary>
internal sealed class FragmentInvariant
{
    private static readonly FhirPathCompiler Parser = new(new SymbolTable().AddStandardFP().AddFhirExtensions());
    private static readonly ConcurrentDictionary<string, Regex?> Patterns = new(StringComparer.Ordinal);

    private static readonly HashSet<string> StringTyped = new(StringComparer.Ordinal)
    {
        "string", "code", "id", "markdown", "uri", "url", "canonical", "oid", "uuid",
    };

    private readonly Func<Context, Tri> _evaluate;

    private FragmentInvariant(Func<Context, Tri> evaluate) => _evaluate = evaluate;

    internal enum Tri : byte
    {
        False,
        True,
        Empty,
        Undecided,
    }

    private readonly record struct Context(Base Focus, Base Resource);

    /// <summary>Null when the expression is not in the fragment.</summary>
    public static FragmentInvariant? TryCompile(string expression)
    {
        try
        {
            var evaluate = Boolean(Parser.Parse(expression));
            return evaluate is null ? null : new FragmentInvariant(evaluate);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Expressions Firely cannot parse are reported when Firely compiles them.
            return null;
        }
    }

    /// <summary>
    /// A path expression (a discriminator path such as "type.coding" or "extension('url').value") compiled to a native
    /// selector; null when it is outside the fragment. At run time the selector returns null when it cannot decide.
    /// Its result lists are scratch lists: use them only inside the <see cref="EnterScratch"/> scope they were made in.
    /// </summary>
    public static Func<Base, Base, List<Base>?>? TryCompilePath(string expression)
    {
        try
        {
            var select = Collection(Parser.Parse(expression));
            return select is null ? null : (focus, resource) => select(new Context(focus, resource));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return null;
        }
    }

    /// <summary>True/false when decided (empty counts as <paramref name="emptyIs"/>), null when Firely must decide.</summary>
    public bool? Evaluate(Base focus, Base resource, bool emptyIs)
    {
        using var scratch = EnterScratch();
        return _evaluate(new Context(focus, resource)) switch
        {
            Tri.True => true,
            Tri.False => false,
            Tri.Empty => emptyIs,
            _ => null,
        };
    }

    /// <summary>
    /// Intermediate results are lists taken from a per-thread stock and given back when the scope that took them ends
    /// (evaluations nest, so scopes are a stack): evaluating an invariant then allocates next to nothing.
    /// </summary>
    public static ScratchScope EnterScratch() => new(ScratchLists.Used);

    /// <summary>Scratch lists taken and not yet given back on this thread (0 between validations).</summary>
    internal static int ScratchListsInUse => ScratchLists.Used;

    public readonly struct ScratchScope(int mark) : IDisposable
    {
        public void Dispose() => ScratchLists.Release(mark);
    }

    private static class ScratchLists
    {
        [ThreadStatic]
        private static List<List<Base>>? t_lists;

        [ThreadStatic]
        private static int t_used;

        public static int Used => t_used;

        public static List<Base> Rent()
        {
            var lists = t_lists ??= [];
            if (t_used < lists.Count)
            {
                return lists[t_used++];
            }

            var list = new List<Base>(4);
            lists.Add(list);
            t_used++;
            return list;
        }

        public static void Release(int mark)
        {
            if (t_lists is not { } lists)
            {
                return;
            }

            // Cleared now, so the stock holds no instance data between evaluations.
            for (var i = mark; i < t_used; i++)
            {
                lists[i].Clear();
            }

            t_used = mark;
        }
    }

    private static List<Base> One(Base item)
    {
        var list = ScratchLists.Rent();
        list.Add(item);
        return list;
    }

    /// <summary>A boolean-valued expression, or null when it is outside the fragment.</summary>
    private static Func<Context, Tri>? Boolean(Expression expression)
    {
        switch (expression)
        {
            case BracketExpression bracket:
                return Boolean(bracket.Operand);

            case BinaryExpression { Op: "and" or "or" or "implies" } binary:
            {
                var operands = binary.Arguments.ToList();
                var left = Boolean(operands[0]);
                var right = Boolean(operands[1]);
                if (left is null || right is null)
                {
                    return null;
                }

                return binary.Op switch
                {
                    "and" => c => And(left(c), right(c)),
                    "or" => c => Or(left(c), right(c)),
                    _ => c => Implies(left(c), right(c)),
                };
            }

            case BinaryExpression { Op: "=" or "!=" } comparison:
            {
                var operands = comparison.Arguments.ToList();
                var negate = comparison.Op == "!=";
                if (Collection(operands[0]) is not { } left)
                {
                    return null;
                }

                if (operands[1] is ConstantExpression { Value: string or bool } constant)
                {
                    var literal = constant.Value;
                    return c => Single(left(c)) is var (state, item) && state != Tri.True
                        ? state
                        : Compare(item!, literal) is { } equal ? (equal != negate ? Tri.True : Tri.False) : Tri.Undecided;
                }

                if (Collection(operands[1]) is not { } right)
                {
                    return null;
                }

                // Two paths: like-typed single strings or booleans compare; empty on either side gives empty.
                return c =>
                {
                    var (leftState, leftItem) = Single(left(c));
                    var (rightState, rightItem) = Single(right(c));
                    if (leftState == Tri.Undecided || rightState == Tri.Undecided)
                    {
                        return Tri.Undecided;
                    }

                    if (leftState == Tri.Empty || rightState == Tri.Empty)
                    {
                        return Tri.Empty;
                    }

                    var literal = (rightItem as PrimitiveType)?.JsonValue;
                    if (literal is not (string or bool) || (literal is string && !StringTyped.Contains(rightItem!.TypeName)))
                    {
                        return Tri.Undecided;
                    }

                    return Compare(leftItem!, literal) is { } equal ? (equal != negate ? Tri.True : Tri.False) : Tri.Undecided;
                };
            }

            case BinaryExpression { Op: "<" or "<=" or ">" or ">=" } ordering:
            {
                var operands = ordering.Arguments.ToList();
                var left = Operand(operands[0]);
                var right = Operand(operands[1]);
                if (left is null || right is null)
                {
                    return null;
                }

                var op = ordering.Op;
                return c =>
                {
                    var (leftState, leftValue) = left(c);
                    var (rightState, rightValue) = right(c);
                    if (leftState == Tri.Undecided || rightState == Tri.Undecided)
                    {
                        return Tri.Undecided;
                    }

                    if (leftState == Tri.Empty || rightState == Tri.Empty)
                    {
                        return Tri.Empty;
                    }

                    return CompareOrdered(leftValue!, rightValue!) switch
                    {
                        (false, _) => Tri.Undecided,
                        (true, null) => Tri.Empty,
                        (true, { } order) => op switch
                        {
                            "<" => order < 0,
                            "<=" => order <= 0,
                            ">" => order > 0,
                            _ => order >= 0,
                        } ? Tri.True : Tri.False,
                    };
                };
            }

            case FunctionCallExpression { FunctionName: "all" } call when call is not BinaryExpression && call.Arguments.Count() == 1:
            {
                var focus = Collection(call.Focus);
                var predicate = Boolean(call.Arguments.Single());
                if (focus is null || predicate is null)
                {
                    return null;
                }

                return c =>
                {
                    if (focus(c) is not { } items)
                    {
                        return Tri.Undecided;
                    }

                    var result = Tri.True;
                    foreach (var item in items)
                    {
                        switch (predicate(c with { Focus = item }))
                        {
                            case Tri.False:
                                return Tri.False;
                            case Tri.True:
                                break;
                            default:
                                result = Tri.Undecided;
                                break;
                        }
                    }

                    return result;
                };
            }

            case BinaryExpression { Op: "in" } membership:
            {
                var operands = membership.Arguments.ToList();
                if (Collection(operands[0]) is not { } values || Literals(operands[1]) is not { } literals)
                {
                    return null;
                }

                return c =>
                {
                    // Firely answers false, not empty, for an empty left operand of "in".
                    var (state, item) = Single(values(c));
                    if (state != Tri.True)
                    {
                        return state == Tri.Empty ? Tri.False : state;
                    }

                    foreach (var literal in literals)
                    {
                        if (Compare(item!, literal) is not { } equal)
                        {
                            return Tri.Undecided;
                        }

                        if (equal)
                        {
                            return Tri.True;
                        }
                    }

                    return Tri.False;
                };
            }

            case FunctionCallExpression { FunctionName: "exists" or "empty" } call when call is not BinaryExpression && !call.Arguments.Any()
                                                                                        && MemberPath(call.Focus) is { } names:
            {
                // The commonest invariant shape: answered by walking the path, without collecting anything.
                var exists = call.FunctionName == "exists";
                return c => AnyAtPath(c.Focus, names, 0) switch
                {
                    null => Tri.Undecided,
                    var found => found == exists ? Tri.True : Tri.False,
                };
            }

            case FunctionCallExpression { FunctionName: "exists" or "empty" } call when call is not BinaryExpression && !call.Arguments.Any():
            {
                var values = Collection(call.Focus);
                if (values is null)
                {
                    return null;
                }

                var exists = call.FunctionName == "exists";
                return c => values(c) is { } items ? (items.Count > 0) == exists ? Tri.True : Tri.False : Tri.Undecided;
            }

            case FunctionCallExpression { FunctionName: "hasValue" } call when call is not BinaryExpression && !call.Arguments.Any():
            {
                var values = Collection(call.Focus);
                return values is null
                    ? null
                    : c => values(c) is { } items
                        ? items.Count == 1 && items[0] is PrimitiveType { JsonValue: not null } ? Tri.True : Tri.False
                        : Tri.Undecided;
            }

            case FunctionCallExpression { FunctionName: "matches" } call when call is not BinaryExpression
                                                                             && call.Arguments.SingleOrDefault() is ConstantExpression { Value: string pattern }:
            {
                var values = Collection(call.Focus);
                var regex = Patterns.GetOrAdd(pattern, p =>
                {
                    try
                    {
                        return new Regex(p, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                    }
                    catch (ArgumentException)
                    {
                        return null;
                    }
                });
                if (values is null || regex is null)
                {
                    return null;
                }

                return c =>
                {
                    var (state, item) = Single(values(c));
                    if (state != Tri.True)
                    {
                        return state;
                    }

                    if (item is not PrimitiveType { JsonValue: string text } || !StringTyped.Contains(item.TypeName))
                    {
                        return Tri.Undecided;
                    }

                    // A timeout propagates: handing the same pattern to Firely would only run it again, unbounded.
                    return regex.IsMatch(text) ? Tri.True : Tri.False;
                };
            }

            case FunctionCallExpression { FunctionName: "contains" or "startsWith" or "endsWith" } call when call is not BinaryExpression
                                                                                                        && call.Arguments.SingleOrDefault() is ConstantExpression { Value: string argument }:
            {
                var values = Collection(call.Focus);
                if (values is null)
                {
                    return null;
                }

                var function = call.FunctionName;
                return c =>
                {
                    var (state, item) = Single(values(c));
                    if (state != Tri.True)
                    {
                        return state;
                    }

                    if (item is not PrimitiveType { JsonValue: string text } || !StringTyped.Contains(item.TypeName))
                    {
                        return Tri.Undecided;
                    }

                    var found = function switch
                    {
                        "contains" => text.Contains(argument, StringComparison.Ordinal),
                        "startsWith" => text.StartsWith(argument, StringComparison.Ordinal),
                        _ => text.EndsWith(argument, StringComparison.Ordinal),
                    };
                    return found ? Tri.True : Tri.False;
                };
            }

            case FunctionCallExpression { FunctionName: "not" } call when call is not BinaryExpression && !call.Arguments.Any():
            {
                var operand = Boolean(call.Focus);
                return operand is null ? null : c => Not(operand(c));
            }

            default:
            {
                // A path used as a boolean: true/false when it holds a single boolean, empty when nothing.
                var values = Collection(expression);
                return values is null
                    ? null
                    : c => values(c) switch
                    {
                        null => Tri.Undecided,
                        { Count: 0 } => Tri.Empty,
                        [FhirBoolean { JsonValue: bool flag }] => flag ? Tri.True : Tri.False,
                        _ => Tri.Undecided,
                    };
            }
        }
    }

    /// <summary>A collection-valued expression (null result at run time: undecided), or null when outside the fragment.</summary>
    private static Func<Context, List<Base>?>? Collection(Expression expression)
    {
        switch (expression)
        {
            case AxisExpression { AxisName: "that" or "this" }:
                return c => One(c.Focus);

            case VariableRefExpression { Name: "resource" } when expression is not AxisExpression:
                return c => One(c.Resource);

            case BracketExpression bracket:
                return Collection(bracket.Operand);

            case ChildExpression { Focus: AxisExpression { AxisName: "that" or "this" } } direct:
            {
                // A step from the focus itself (most paths start so): no list is made to hold the focus.
                var name = direct.ChildName;
                return c => Children(c.Focus, name);
            }

            case ChildExpression child:
            {
                var focus = Collection(child.Focus);
                var name = child.ChildName;
                return focus is null ? null : c => focus(c) is { } items ? Children(items, name) : null;
            }


            case FunctionCallExpression { FunctionName: "where" } call when call.Arguments.Count() == 1:
            {
                var focus = Collection(call.Focus);
                var predicate = Boolean(call.Arguments.Single());
                if (focus is null || predicate is null)
                {
                    return null;
                }

                return c =>
                {
                    if (focus(c) is not { } items)
                    {
                        return null;
                    }

                    var kept = ScratchLists.Rent();
                    foreach (var item in items)
                    {
                        switch (predicate(c with { Focus = item }))
                        {
                            case Tri.True:
                                kept.Add(item);
                                break;
                            case Tri.Undecided:
                                return null;
                        }
                    }

                    return kept;
                };
            }

            case FunctionCallExpression { FunctionName: "ofType" } call when call.Arguments.SingleOrDefault() is ConstantExpression { Value: string typeName }:
            {
                var focus = Collection(call.Focus);
                Func<Base, bool> ofType = item => item.TypeName == typeName;
                return focus is null ? null : c => focus(c) is { } items ? Kept(items, ofType) : null;
            }

            case FunctionCallExpression { FunctionName: "extension" } call when call.Arguments.SingleOrDefault() is ConstantExpression { Value: string url }:
            {
                var focus = Collection(call.Focus);
                Func<Base, bool> withUrl = e => e is Extension { Url: var u } && u == url;
                return focus is null
                    ? null
                    : c => focus(c) is { } items && Children(items, "extension") is { } extensions
                        ? Kept(extensions, withUrl)
                        : null;
            }

            default:
                return null;
        }
    }

    /// <summary>
    /// An operand of an ordering comparison: a single date/dateTime/instant/integer/decimal value from a path, or a
    /// literal, as Firely's own comparable types (so precision rules are Firely's).
    /// </summary>
    private static Func<Context, (Tri State, P.Any? Value)>? Operand(Expression expression)
    {
        switch (expression)
        {
            case ConstantExpression { Value: int or long or decimal or P.Date or P.DateTime } constant:
            {
                var value = ConstantValue(constant.Value!);
                return _ => (Tri.True, value);
            }

            case UnaryExpression { Op: "-" } negative when negative.Arguments.SingleOrDefault() is ConstantExpression { Value: int or long or decimal } constant:
            {
                var value = ConstantValue(constant.Value! switch
                {
                    int i => -i,
                    long l => -l,
                    decimal d => -d,
                    var other => other,
                });
                return _ => (Tri.True, value);
            }
        }

        var values = Collection(expression);
        if (values is null)
        {
            return null;
        }

        return c =>
        {
            var (state, item) = Single(values(c));
            if (state != Tri.True)
            {
                return (state, null);
            }

            var value = ComparableValue(item!);
            return value is null ? (Tri.Undecided, null) : (Tri.True, value);
        };
    }

    /// <summary>A FHIR primitive as Firely's comparable FHIRPath value (date, dateTime, instant, integer, decimal), else null.</summary>
    internal static P.Any? ComparableValue(Base item) => item switch
    {
        Date { JsonValue: string text } => P.Date.TryParse(text, out var date) ? date : null,
        FhirDateTime { JsonValue: string text } => P.DateTime.TryParse(text, out var dateTime) ? dateTime : null,
        Instant { JsonValue: string text } => P.DateTime.TryParse(text, out var instant) ? instant : null,
        Integer { JsonValue: int number } => new P.Integer(number),
        PositiveInt { JsonValue: int number } => new P.Integer(number),
        UnsignedInt { JsonValue: int number } => new P.Integer(number),
        FhirDecimal { JsonValue: decimal number } => new P.Decimal(number),
        _ => null,
    };

    private static P.Any ConstantValue(object value) => value switch
    {
        int i => new P.Integer(i),
        long l => new P.Long(l),
        decimal d => new P.Decimal(d),
        P.Any any => any,
        _ => throw new ArgumentException($"Not a comparable constant: {value}"),
    };

    /// <summary>
    /// Orders two values as FHIRPath does: a date against a dateTime as dateTimes, an integer against a decimal as
    /// decimals. (false, _) when the types cannot be ordered; (true, null) when the precisions leave it open.
    /// </summary>
    internal static (bool Comparable, int? Order) CompareOrdered(P.Any left, P.Any right)
    {
        (left, right) = (left, right) switch
        {
            (P.Date date, P.DateTime) => (P.DateTime.Parse(date.ToString()), right),
            (P.DateTime, P.Date date) => (left, P.DateTime.Parse(date.ToString())),
            (P.Integer integer, P.Decimal) => (new P.Decimal(integer.Value), right),
            (P.Decimal, P.Integer integer) => (left, new P.Decimal(integer.Value)),
            _ => (left, right),
        };

        if (left.GetType() != right.GetType())
        {
            return (false, null);
        }

        switch (left)
        {
            case P.DateTime dateTime:
                return dateTime.TryCompareTo(right, out var dateTimeOrder) ? (true, dateTimeOrder) : (false, null);
            case P.Date date:
                return date.TryCompareTo(right, out var dateOrder) ? (true, dateOrder) : (false, null);
            case P.Integer or P.Long or P.Decimal:
                return (true, ((IComparable)left).CompareTo(right));
            default:
                return (false, null);
        }
    }

    /// <summary>The child names of a pure member path from the focus ($this.a.b.c), or null for anything else.</summary>
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
                case AxisExpression { AxisName: "that" or "this" }:
                    names.Reverse();
                    return names.Count == 0 ? null : names.ToArray();
                default:
                    return null;
            }
        }
    }

    /// <summary>Whether anything is found at the path below <paramref name="item"/>; null below a primitive (Firely's to decide).</summary>
    private static bool? AnyAtPath(Base item, string[] path, int index)
    {
        if (index == path.Length)
        {
            return true;
        }

        if (item is PrimitiveType)
        {
            return null;
        }

        if (!item.TryGetValue(path[index], out var value) || value is null)
        {
            return false;
        }

        if (value is IList list)
        {
            bool? result = false;
            foreach (var element in list)
            {
                if (element is Base b)
                {
                    switch (AnyAtPath(b, path, index + 1))
                    {
                        case true:
                            return true;
                        case null:
                            result = null;
                            break;
                    }
                }
            }

            return result;
        }

        return value is Base single ? AnyAtPath(single, path, index + 1) : false;
    }

    private static List<string>? Literals(Expression expression) => expression switch
    {
        ConstantExpression { Value: string text } => [text],
        BracketExpression bracket => Literals(bracket.Operand),
        BinaryExpression { Op: "|" } union when union.Arguments.Select(Literals).ToList() is var parts && parts.All(p => p is not null) =>
            parts.SelectMany(p => p!).ToList(),
        _ => null,
    };

    /// <summary>Children by name; null (undecided) below a primitive, whose children Firely models differently (value).</summary>
    private static List<Base>? Children(List<Base> items, string name)
    {
        // Most steps find nothing or one value: the list is made (sized) only when there is something to hold.
        List<Base>? next = null;
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (item is PrimitiveType)
            {
                return null;
            }

            if (!item.TryGetValue(name, out var value) || value is null)
            {
                continue;
            }

            if (value is IList list)
            {
                for (var k = 0; k < list.Count; k++)
                {
                    if (list[k] is Base b)
                    {
                        (next ??= ScratchLists.Rent()).Add(b);
                    }
                }
            }
            else if (value is Base single)
            {
                (next ??= ScratchLists.Rent()).Add(single);
            }
        }

        return next ?? NoValues;
    }

    private static List<Base>? Children(Base item, string name)
    {
        if (item is PrimitiveType)
        {
            return null;
        }

        if (!item.TryGetValue(name, out var value) || value is null)
        {
            return NoValues;
        }

        if (value is Base single)
        {
            return One(single);
        }

        if (value is not IList list)
        {
            return NoValues;
        }

        List<Base>? next = null;
        for (var k = 0; k < list.Count; k++)
        {
            if (list[k] is Base b)
            {
                (next ??= ScratchLists.Rent()).Add(b);
            }
        }

        return next ?? NoValues;
    }

    private static List<Base> Kept(List<Base> items, Func<Base, bool> keep)
    {
        var kept = ScratchLists.Rent();
        foreach (var item in items)
        {
            if (keep(item))
            {
                kept.Add(item);
            }
        }

        return kept;
    }

    /// <summary>The empty result, shared: results are read, never added to.</summary>
    private static readonly List<Base> NoValues = [];

    /// <summary>FHIRPath operators on a single value: Empty for none, Undecided for several or undecided input.</summary>
    private static (Tri State, Base? Item) Single(List<Base>? items) => items switch
    {
        null => (Tri.Undecided, null),
        { Count: 0 } => (Tri.Empty, null),
        { Count: 1 } => items[0] is PrimitiveType { JsonValue: null } ? (Tri.Empty, null) : (Tri.True, items[0]),
        _ => (Tri.Undecided, null),
    };

    /// <summary>Like with like only (string-typed with string, boolean with boolean); null: Firely's to decide.</summary>
    private static bool? Compare(Base item, object literal) => (item, literal) switch
    {
        (FhirBoolean { JsonValue: bool actual }, bool expected) => actual == expected,
        (PrimitiveType { JsonValue: string actual }, string expected) when StringTyped.Contains(item.TypeName) => actual == expected,
        _ => null,
    };

    private static Tri Not(Tri value) => value switch
    {
        Tri.True => Tri.False,
        Tri.False => Tri.True,
        _ => value,
    };

    private static Tri And(Tri left, Tri right)
    {
        if (left == Tri.False || right == Tri.False)
        {
            return Tri.False;
        }

        if (left == Tri.Undecided || right == Tri.Undecided)
        {
            return Tri.Undecided;
        }

        return left == Tri.True && right == Tri.True ? Tri.True : Tri.Empty;
    }

    private static Tri Or(Tri left, Tri right)
    {
        if (left == Tri.True || right == Tri.True)
        {
            return Tri.True;
        }

        if (left == Tri.Undecided || right == Tri.Undecided)
        {
            return Tri.Undecided;
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
