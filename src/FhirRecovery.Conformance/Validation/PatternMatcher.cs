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

    /// <summary>Whether the instance content (one value or a list) has a value matching the pattern item.</summary>
    private static bool AnyMatches(object valueContent, Base patternItem)
    {
        if (valueContent is Base single)
        {
            return Matches(single, patternItem);
        }

        foreach (var value in (IEnumerable)valueContent)
        {
            if (value is Base item && Matches(item, patternItem))
            {
                return true;
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
