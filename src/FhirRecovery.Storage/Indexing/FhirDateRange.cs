using System.Globalization;

namespace FhirRecovery.Storage.Indexing;

/// <summary>
/// A FHIR date, dateTime or instant as the range of instants it covers, honouring its precision: "2024" covers the whole
/// year, "2024-03-05T10:00" the whole minute. Bounds are inclusive UTC ticks. Values without a time zone are taken as UTC.
/// </summary>
internal readonly record struct FhirDateRange(long Low, long High)
{
    public static readonly long MinTicks = DateTime.MinValue.Ticks;
    public static readonly long MaxTicks = DateTime.MaxValue.Ticks;

    public static FhirDateRange Exact(DateTimeOffset instant) => new(instant.UtcTicks, instant.UtcTicks);

    public static FhirDateRange Of(DateTimeOffset start, DateTimeOffset endExclusive) =>
        new(start.UtcTicks, endExclusive.UtcTicks - 1);

    /// <summary>Parses the value; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string text, out FhirDateRange range, out string? error)
    {
        range = default;
        error = null;
        var s = text.Trim();
        var pos = 0;

        if (!ReadDigits(s, ref pos, 4, out var year))
        {
            error = "expected a year of four digits (yyyy, yyyy-MM, yyyy-MM-dd or yyyy-MM-ddThh:mm[:ss[.fff]][Z|±hh:mm])";
            return false;
        }

        var month = 1;
        var day = 1;
        var unit = Unit.Year;
        if (pos < s.Length && s[pos] == '-')
        {
            pos++;
            if (!ReadDigits(s, ref pos, 2, out month) || month is < 1 or > 12)
            {
                error = "the month must be two digits from 01 to 12";
                return false;
            }

            unit = Unit.Month;
            if (pos < s.Length && s[pos] == '-')
            {
                pos++;
                if (!ReadDigits(s, ref pos, 2, out day) || day < 1 || year < 1 || day > DateTime.DaysInMonth(year, month))
                {
                    error = $"the day must be two digits, a day of {year:0000}-{month:00}";
                    return false;
                }

                unit = Unit.Day;
            }
        }

        if (year < 1)
        {
            error = "the year must be 0001 or later";
            return false;
        }

        int hour = 0, minute = 0, second = 0;
        long fractionTicks = 0;
        var fractionDigits = 0;
        var offset = TimeSpan.Zero;
        if (pos < s.Length && s[pos] == 'T')
        {
            if (unit != Unit.Day)
            {
                error = "a time needs a full date before it";
                return false;
            }

            pos++;
            if (!ReadDigits(s, ref pos, 2, out hour) || hour > 24)
            {
                error = "the hour must be two digits from 00 to 23";
                return false;
            }

            unit = Unit.Hour;
            if (pos < s.Length && s[pos] == ':')
            {
                pos++;
                if (!ReadDigits(s, ref pos, 2, out minute) || minute > 59)
                {
                    error = "the minutes must be two digits from 00 to 59";
                    return false;
                }

                unit = Unit.Minute;
                if (pos < s.Length && s[pos] == ':')
                {
                    pos++;
                    if (!ReadDigits(s, ref pos, 2, out second) || second > 60)
                    {
                        error = "the seconds must be two digits from 00 to 59";
                        return false;
                    }

                    second = Math.Min(second, 59); // a leap second counts as the last second of the minute
                    unit = Unit.Second;
                    if (pos < s.Length && s[pos] == '.')
                    {
                        pos++;
                        var start = pos;
                        while (pos < s.Length && char.IsAsciiDigit(s[pos]))
                        {
                            if (pos - start < 7)
                            {
                                fractionTicks = fractionTicks * 10 + (s[pos] - '0');
                            }

                            pos++;
                        }

                        fractionDigits = Math.Min(pos - start, 7);
                        if (fractionDigits == 0)
                        {
                            error = "expected digits after the decimal point of the seconds";
                            return false;
                        }

                        for (var i = fractionDigits; i < 7; i++)
                        {
                            fractionTicks *= 10;
                        }

                        unit = Unit.Fraction;
                    }
                }
            }

            if (hour == 24 && (minute != 0 || second != 0 || fractionTicks != 0))
            {
                error = "the hour must be two digits from 00 to 23";
                return false;
            }

            if (pos < s.Length)
            {
                // A '+' sent unencoded in a query string arrives as a space.
                var sign = s[pos];
                if (sign == 'Z')
                {
                    pos++;
                }
                else if (sign is '+' or '-' or ' ')
                {
                    pos++;
                    if (!ReadDigits(s, ref pos, 2, out var offsetHours) || pos >= s.Length || s[pos] != ':')
                    {
                        error = "the time zone must be Z or ±hh:mm";
                        return false;
                    }

                    pos++;
                    if (!ReadDigits(s, ref pos, 2, out var offsetMinutes) || offsetHours > 14 || offsetMinutes > 59)
                    {
                        error = "the time zone must be Z or ±hh:mm";
                        return false;
                    }

                    offset = new TimeSpan(offsetHours, offsetMinutes, 0);
                    if (sign == '-')
                    {
                        offset = -offset;
                    }
                }
            }
        }

        if (pos != s.Length)
        {
            error = $"unexpected '{s[pos..]}'";
            return false;
        }

        try
        {
            var local = new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Unspecified)
                .AddHours(hour).AddMinutes(minute).AddSeconds(second).AddTicks(fractionTicks);
            var startTicks = local.Ticks - offset.Ticks;
            long lengthTicks = unit switch
            {
                Unit.Year => new DateTime(year, 1, 1).AddYears(1).Ticks - new DateTime(year, 1, 1).Ticks,
                Unit.Month => TimeSpan.TicksPerDay * DateTime.DaysInMonth(year, month),
                Unit.Day => TimeSpan.TicksPerDay,
                Unit.Hour => TimeSpan.TicksPerHour,
                Unit.Minute => TimeSpan.TicksPerMinute,
                Unit.Second => TimeSpan.TicksPerSecond,
                _ => Pow10(7 - fractionDigits),
            };
            var low = Math.Clamp(startTicks, MinTicks, MaxTicks);
            var high = Math.Clamp(startTicks + lengthTicks - 1, MinTicks, MaxTicks);
            range = new FhirDateRange(low, high);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            error = "the date is out of range";
            return false;
        }
    }

    public static FhirDateRange? TryParse(string? text) =>
        text is not null && TryParse(text, out var range, out _) ? range : null;

    public static string Format(long ticks) =>
        new DateTimeOffset(ticks, TimeSpan.Zero).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static long Pow10(int n)
    {
        long r = 1;
        for (var i = 0; i < n; i++)
        {
            r *= 10;
        }

        return r;
    }

    private static bool ReadDigits(string s, ref int pos, int count, out int value)
    {
        value = 0;
        if (pos + count > s.Length)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            var c = s[pos + i];
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = value * 10 + (c - '0');
        }

        pos += count;
        return true;
    }

    private enum Unit
    {
        Year,
        Month,
        Day,
        Hour,
        Minute,
        Second,
        Fraction,
    }
}
