using System.Collections;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// FHIR pattern[x] semantics: every element the pattern has must be in the instance with the same value; the instance
/// may have more. For repeating elements each pattern item must match some instance item, so a CodeableConcept
/// with extra codings still matches a pattern naming one coding (Firely's Matches requires the lists to line up).
/// </summary>
internal static class PatternMatcher
{
    public static bool Matches(Base value, Base pattern)
    {
        if (pattern is PrimitiveType patternPrimitive)
        {
            if (value is not PrimitiveType valuePrimitive || !SameValue(valuePrimitive.JsonValue, patternPrimitive.JsonValue))
            {
                return false;
            }
        }
        else if (value.TypeName != pattern.TypeName && !pattern.GetType().IsInstanceOfType(value))
        {
            return false;
        }

        foreach (var (name, patternContent) in ElementsOf(pattern))
        {
            if (!value.TryGetValue(name, out var valueContent) || valueContent is null)
            {
                return false;
            }

            if (patternContent is Base singlePattern)
            {
                if (!AnyMatches(valueContent, singlePattern))
                {
                    return false;
                }

                continue;
            }

            foreach (var patternItem in (IEnumerable)patternContent)
            {
                if (patternItem is Base item && !AnyMatches(valueContent, item))
                {
                    return false;
                }
            }
        }

        return true;
    }

    // Patterns come from definitions and are matched against many values: their elements are listed once.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Base, KeyValuePair<string, object>[]> PatternElements = new();

    private static KeyValuePair<string, object>[] ElementsOf(Base pattern) =>
        PatternElements.TryGetValue(pattern, out var known)
            ? known
            : PatternElements.GetValue(pattern, p => p.EnumerateElements().Where(e => e.Value is not null).ToArray());

    /// <summary>Whether the instance content (one value or a list) has a value matching the pattern item.</summary>
    private static bool AnyMatches(object valueContent, Base patternItem)
    {
        if (valueContent is Base single)
        {
            return Matches(single, patternItem);
        }

        if (valueContent is IList list)
        {
            for (var i = 0; i < list.Count; i++)
            {
                if (list[i] is Base item && Matches(item, patternItem))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Values as read from JSON: numbers compare by value (1.0 = 1), everything else by its text.</summary>
    private static bool SameValue(object? left, object? right)
    {
        if (left is null || right is null)
        {
            return left is null && right is null;
        }

        if (IsNumber(left) && IsNumber(right))
        {
            return Convert.ToDecimal(left, System.Globalization.CultureInfo.InvariantCulture) == Convert.ToDecimal(right, System.Globalization.CultureInfo.InvariantCulture);
        }

        return Equals(left, right) || string.Equals(Convert.ToString(left, System.Globalization.CultureInfo.InvariantCulture), Convert.ToString(right, System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    private static bool IsNumber(object value) => value is int or long or decimal or double or float;
}
