namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// Scanners for the FHIR date, dateTime and instant grammars (the datatypes page's regular expressions, written out
/// by hand because these are the most frequent primitives and regular expressions with timeouts are slow).
/// </summary>
internal static class TemporalFormat
{
    /// <summary>YYYY, YYYY-MM or YYYY-MM-DD.</summary>
    public static bool IsDate(string text)
    {
        var position = 0;
        return Date(text, ref position, requireDay: false) && position == text.Length;
    }

    /// <summary>A date, or a full date with time (hh:mm:ss[.fff]) and a required zone.</summary>
    public static bool IsDateTime(string text)
    {
        var position = 0;
        if (!Date(text, ref position, requireDay: false))
        {
            return false;
        }

        if (position == text.Length)
        {
            return true;
        }

        return position == 10 && TimeAndZone(text, ref position) && position == text.Length;
    }

    /// <summary>YYYY-MM-DDThh:mm:ss[.fff]zone, all parts required.</summary>
    public static bool IsInstant(string text)
    {
        var position = 0;
        return Date(text, ref position, requireDay: true) && position == 10 && TimeAndZone(text, ref position) && position == text.Length;
    }

    private static bool Date(string text, ref int position, bool requireDay)
    {
        // Year: four digits, not 0000.
        if (!Digits(text, position, 4, out var year) || year == 0)
        {
            return false;
        }

        position = 4;
        if (position == text.Length)
        {
            return !requireDay;
        }

        if (text[position] != '-' || !Digits(text, position + 1, 2, out var month) || month is < 1 or > 12)
        {
            return false;
        }

        position = 7;
        if (position == text.Length)
        {
            return !requireDay;
        }

        if (text[position] != '-' || !Digits(text, position + 1, 2, out var day) || day is < 1 or > 31)
        {
            return false;
        }

        position = 10;
        return true;
    }

    /// <summary>Thh:mm:ss(.f+)?(Z|(+|-)hh:mm), offset at most 14:00.</summary>
    private static bool TimeAndZone(string text, ref int position)
    {
        if (position >= text.Length || text[position] != 'T')
        {
            return false;
        }

        if (!Digits(text, position + 1, 2, out var hour) || hour > 23 || At(text, position + 3) != ':'
            || !Digits(text, position + 4, 2, out var minute) || minute > 59 || At(text, position + 6) != ':'
            || !Digits(text, position + 7, 2, out var second) || second > 60)
        {
            return false;
        }

        position += 9;
        if (At(text, position) == '.')
        {
            var start = ++position;
            while (position < text.Length && char.IsAsciiDigit(text[position]))
            {
                position++;
            }

            if (position == start)
            {
                return false;
            }
        }

        var zone = At(text, position);
        if (zone == 'Z')
        {
            position++;
            return true;
        }

        if (zone is not ('+' or '-') || !Digits(text, position + 1, 2, out var zoneHour) || At(text, position + 3) != ':'
            || !Digits(text, position + 4, 2, out var zoneMinute) || zoneMinute > 59 || zoneHour > 14 || (zoneHour == 14 && zoneMinute != 0))
        {
            return false;
        }

        position += 6;
        return true;
    }

    private static char At(string text, int index) => index < text.Length ? text[index] : '\0';

    private static bool Digits(string text, int start, int count, out int value)
    {
        value = 0;
        if (start + count > text.Length)
        {
            return false;
        }

        for (var i = start; i < start + count; i++)
        {
            var c = text[i];
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = value * 10 + (c - '0');
        }

        return true;
    }
}
