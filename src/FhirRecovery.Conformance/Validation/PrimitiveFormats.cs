using System.Globalization;
using System.Text.RegularExpressions;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// The lexical rules of the FHIR R4 primitive types (the regular expressions of the specification's datatypes page,
/// plus the range and calendar checks those expressions cannot express). Source-generated, with a match timeout, so
/// hostile strings cannot stall a validation.
/// </summary>
internal static partial class PrimitiveFormats
{
    /// <summary>R4: "strings SHALL NOT exceed 1MB in size".</summary>
    public const int MaxStringLength = 1024 * 1024;

    private const int TimeoutMs = 1000;

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex DecimalRegex();

    [GeneratedRegex(@"^-?([0]|([1-9][0-9]*))$", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex IntegerRegex();




    [GeneratedRegex(@"^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex TimeRegex();



    [GeneratedRegex(@"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex OidRegex();

    [GeneratedRegex(@"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex UuidRegex();

    [GeneratedRegex(@"^([0]|([1-9][0-9]*))$", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex UnsignedIntRegex();

    [GeneratedRegex(@"^\+?[1-9][0-9]*$", RegexOptions.CultureInvariant, TimeoutMs)]
    private static partial Regex PositiveIntRegex();

    /// <summary>Which JSON token a FHIR primitive is written as.</summary>
    public static JsonPrimitiveKind JsonKindOf(string fhirType) => fhirType switch
    {
        "boolean" => JsonPrimitiveKind.Boolean,
        "integer" or "decimal" or "positiveInt" or "unsignedInt" => JsonPrimitiveKind.Number,
        _ => JsonPrimitiveKind.String,
    };

    /// <summary>
    /// Checks the lexical form of <paramref name="text"/> (the value as written) against FHIR type <paramref name="fhirType"/>.
    /// Returns null when valid, otherwise a message saying what is wrong.
    /// </summary>
    public static string? Check(string fhirType, string text)
    {
        try
        {
            return fhirType switch
            {
                "boolean" => text is "true" or "false" ? null : $"'{Trim(text)}' is not a boolean (true or false)",
                "integer" => CheckInteger(text, long.MinValue),
                "unsignedInt" => UnsignedIntRegex().IsMatch(text) ? CheckInteger(text, 0) : $"'{Trim(text)}' is not a valid unsignedInt",
                "positiveInt" => PositiveIntRegex().IsMatch(text) ? CheckInteger(text, 1) : $"'{Trim(text)}' is not a valid positiveInt",
                "decimal" => DecimalRegex().IsMatch(text) ? null : $"'{Trim(text)}' is not a valid decimal",
                "date" => TemporalFormat.IsDate(text) ? CheckCalendar(text, "date") : $"'{Trim(text)}' is not a valid date",
                "dateTime" => TemporalFormat.IsDateTime(text) ? CheckCalendar(text, "dateTime") : $"'{Trim(text)}' is not a valid dateTime",
                "instant" => TemporalFormat.IsInstant(text) ? CheckCalendar(text, "instant") : $"'{Trim(text)}' is not a valid instant",
                "time" => TimeRegex().IsMatch(text) ? null : $"'{Trim(text)}' is not a valid time (hh:mm:ss)",
                "code" => IsCode(text) ? null : $"The code '{Trim(text)}' is not valid (no leading, trailing or double whitespace)",
                "id" => IsId(text) ? null : $"'{Trim(text)}' is not a valid id (1-64 of A-Z a-z 0-9 - .)",
                "oid" => OidRegex().IsMatch(text) ? null : $"'{Trim(text)}' is not a valid oid (urn:oid:...)",
                "uuid" => UuidRegex().IsMatch(text) ? null : $"'{Trim(text)}' is not a valid uuid (urn:uuid:, lower case)",
                "uri" or "url" or "canonical" => CheckUri(text, fhirType),
                "base64Binary" => CheckBase64(text),
                "string" or "markdown" => CheckString(text),
                _ => null,
            };
        }
        catch (RegexMatchTimeoutException)
        {
            return $"The value of type {fhirType} could not be checked in time (value of {text.Length} characters)";
        }
    }

    private static string? CheckString(string text)
    {
        if (text.Length > MaxStringLength)
        {
            return $"The string has {text.Length} characters; FHIR strings must not exceed 1 MB";
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return "A string must contain non-whitespace content";
        }

        foreach (var c in text)
        {
            if (c < 32 && c is not ('\r' or '\n' or '\t'))
            {
                return $"The string contains the illegal control character U+{(int)c:X4}";
            }
        }

        return null;
    }

    private static string? CheckUri(string text, string fhirType)
    {
        if (text.Length == 0)
        {
            return $"A {fhirType} must not be empty";
        }

        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                return $"The {fhirType} '{Trim(text)}' must not contain whitespace";
            }
        }

        if (text.StartsWith("urn:oid:", StringComparison.Ordinal) && !OidRegex().IsMatch(text))
        {
            return $"'{Trim(text)}' is not a valid OID";
        }

        if (text.StartsWith("urn:uuid:", StringComparison.Ordinal) && !UuidRegex().IsMatch(text))
        {
            return $"'{Trim(text)}' is not a valid UUID";
        }

        return null;
    }

    private static string? CheckBase64(string text)
    {
        var significant = 0;
        var padding = 0;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                continue;
            }

            if (c == '=')
            {
                padding++;
            }
            else if (padding > 0 || !(char.IsAsciiLetterOrDigit(c) || c is '+' or '/'))
            {
                return "The value is not valid base64 content";
            }

            significant++;
        }

        return significant % 4 == 0 && padding <= 2 ? null : "The value is not valid base64 content";
    }

    private static string? CheckInteger(string text, long minimum)
    {
        if (!IntegerRegex().IsMatch(text.TrimStart('+')))
        {
            return $"'{Trim(text)}' is not a valid integer";
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            || value > int.MaxValue || value < int.MinValue)
        {
            return $"The integer '{Trim(text)}' is outside the 32-bit range";
        }

        return value < minimum ? $"The value {value} must be at least {minimum}" : null;
    }

    /// <summary>code: [^\s]+( [^\s]+)* — no leading, trailing or repeated whitespace; only single spaces inside.</summary>
    private static bool IsCode(string text)
    {
        if (text.Length == 0 || char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1]))
        {
            return false;
        }

        for (var i = 1; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c) && (c != ' ' || char.IsWhiteSpace(text[i - 1])))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>id: [A-Za-z0-9\-\.]{1,64}.</summary>
    private static bool IsId(string text)
    {
        if (text.Length is 0 or > 64)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The regular expressions accept 2023-02-31: check the day exists in that month.</summary>
    private static string? CheckCalendar(string text, string fhirType)
    {
        if (text.Length >= 10)
        {
            var year = int.Parse(text.AsSpan(0, 4), CultureInfo.InvariantCulture);
            var month = int.Parse(text.AsSpan(5, 2), CultureInfo.InvariantCulture);
            var day = int.Parse(text.AsSpan(8, 2), CultureInfo.InvariantCulture);
            if (day > DateTime.DaysInMonth(year, month))
            {
                return $"'{Trim(text)}' is not a valid {fhirType}: {year:D4}-{month:D2} has no day {day}";
            }
        }

        return null;
    }

    private static string Trim(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 77), "...");
}

internal enum JsonPrimitiveKind
{
    String,
    Number,
    Boolean,
}
