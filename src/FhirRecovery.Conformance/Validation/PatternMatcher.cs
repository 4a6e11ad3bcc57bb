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

        foreach (var (name, patternContent) in pattern.EnumerateElements())
        {
            if (patternContent is null)
            {
                continue;
            }

            if (!value.TryGetValue(name, out var valueContent) || valueContent is null)
            {
                return false;
            }

            var valueItems = Items(valueContent);
            foreach (var patternItem in Items(patternContent))
            {
                if (!valueItems.Any(v => Matches(v, patternItem)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static List<Base> Items(object content) => content switch
    {
        Base single => [single],
        IEnumerable list => list.OfType<Base>().ToList(),
        _ => [],
    };

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
