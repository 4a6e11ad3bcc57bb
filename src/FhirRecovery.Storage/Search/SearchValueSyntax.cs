using System.Globalization;
using System.Text;

namespace FhirRecovery.Storage.Search;

/// <summary>The escaping rules of FHIR search values: <c>\,</c> <c>\$</c> <c>\|</c> <c>\\</c>.</summary>
internal static class SearchValueSyntax
{
    /// <summary>Splits on <paramref name="separator"/> where it is not escaped; the parts keep their escapes.</summary>
    public static List<string> Split(string value, char separator)
    {
        var parts = new List<string>();
        var start = 0;
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\')
            {
                i++;
            }
            else if (value[i] == separator)
            {
                parts.Add(value[start..i]);
                start = i + 1;
            }
        }

        parts.Add(value[start..]);
        return parts;
    }

    public static string Unescape(string value)
    {
        if (!value.Contains('\\'))
        {
            return value;
        }

        var builder = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '\\' && i + 1 < value.Length)
            {
                i++;
            }

            builder.Append(value[i]);
        }

        return builder.ToString();
    }

    public static bool TryParsePrefix(string value, out SearchPrefix prefix, out string rest, out string? error)
    {
        prefix = SearchPrefix.Eq;
        rest = value;
        error = null;
        if (value.Length < 2 || !char.IsAsciiLetter(value[0]) || !char.IsAsciiLetter(value[1]))
        {
            return true;
        }

        var text = value[..2];
        SearchPrefix? parsed = text switch
        {
            "eq" => SearchPrefix.Eq,
            "ne" => SearchPrefix.Ne,
            "gt" => SearchPrefix.Gt,
            "lt" => SearchPrefix.Lt,
            "ge" => SearchPrefix.Ge,
            "le" => SearchPrefix.Le,
            "sa" => SearchPrefix.Sa,
            "eb" => SearchPrefix.Eb,
            "ap" => SearchPrefix.Ap,
            _ => null,
        };
        if (parsed is null)
        {
            error = $"unknown prefix '{text}' (expected eq, ne, gt, lt, ge, le, sa, eb or ap)";
            return false;
        }

        prefix = parsed.Value;
        rest = value[2..];
        return true;
    }

    /// <summary>A decimal with the range its precision implies: "100" → [99.5, 100.5), "1.50" → [1.495, 1.505), "1e2" → [50, 150).</summary>
    public static bool TryParseNumber(string text, out decimal value, out decimal low, out decimal high)
    {
        value = low = high = 0;
        var s = text.Trim();
        if (s.Length == 0 || !decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            return false;
        }

        var exponentAt = s.IndexOfAny(['e', 'E']);
        var mantissa = exponentAt < 0 ? s : s[..exponentAt];
        var exponent = exponentAt < 0 ? 0 : int.Parse(s[(exponentAt + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var dot = mantissa.IndexOf('.');
        var decimals = dot < 0 ? 0 : mantissa.Length - dot - 1;
        var halfUnit = 0.5m * Pow10(exponent - decimals);
        low = value - halfUnit;
        high = value + halfUnit;
        return true;
    }

    private static decimal Pow10(int power)
    {
        var result = 1m;
        for (var i = 0; i < Math.Abs(power) && i < 28; i++)
        {
            result *= 10m;
        }

        return power >= 0 ? result : 1m / result;
    }
}
