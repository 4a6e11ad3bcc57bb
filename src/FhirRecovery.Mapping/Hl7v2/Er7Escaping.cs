using System.Globalization;
using System.Text;

namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>HL7 v2 escape sequences (v2.5.1 chapter 2.7): \F\ \S\ \T\ \R\ \E\, \Xhh..\, and \.br\ as a line break.</summary>
public static class Er7Escaping
{
    public static string Unescape(ReadOnlySpan<char> value, in Er7Delimiters d)
    {
        var escape = value.IndexOf(d.Escape);
        if (escape < 0)
        {
            return value.ToString();
        }

        var builder = new StringBuilder(value.Length);
        while (escape >= 0)
        {
            builder.Append(value[..escape]);
            value = value[(escape + 1)..];
            var end = value.IndexOf(d.Escape);
            if (end < 0)
            {
                // An escape character without its closing partner: keep it as text rather than lose data.
                builder.Append(d.Escape).Append(value);
                return builder.ToString();
            }

            var sequence = value[..end];
            value = value[(end + 1)..];
            AppendSequence(builder, sequence, d);
            escape = value.IndexOf(d.Escape);
        }

        builder.Append(value);
        return builder.ToString();
    }

    private static void AppendSequence(StringBuilder builder, ReadOnlySpan<char> sequence, in Er7Delimiters d)
    {
        switch (sequence)
        {
            case "F":
                builder.Append(d.Field);
                return;
            case "S":
                builder.Append(d.Component);
                return;
            case "T":
                builder.Append(d.Subcomponent);
                return;
            case "R":
                builder.Append(d.Repetition);
                return;
            case "E":
                builder.Append(d.Escape);
                return;
            case ".br":
                builder.Append('\n');
                return;
        }

        if (sequence.Length > 1 && sequence[0] == 'X' && sequence.Length % 2 == 1)
        {
            var bytes = new byte[(sequence.Length - 1) / 2];
            for (var i = 0; i < bytes.Length; i++)
            {
                if (!byte.TryParse(sequence.Slice(1 + (2 * i), 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out bytes[i]))
                {
                    return;
                }
            }

            builder.Append(Encoding.UTF8.GetString(bytes));
        }

        // Highlighting (\H\ \N\), character set switches and other formatting commands carry no text: dropped.
    }

    public static string Escape(string? value, in Er7Delimiters d)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        var needs = false;
        foreach (var c in value)
        {
            if (c == d.Field || c == d.Component || c == d.Subcomponent || c == d.Repetition || c == d.Escape || c is '\r' or '\n')
            {
                needs = true;
                break;
            }
        }

        if (!needs)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 16);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == d.Field)
            {
                builder.Append(d.Escape).Append('F').Append(d.Escape);
            }
            else if (c == d.Component)
            {
                builder.Append(d.Escape).Append('S').Append(d.Escape);
            }
            else if (c == d.Subcomponent)
            {
                builder.Append(d.Escape).Append('T').Append(d.Escape);
            }
            else if (c == d.Repetition)
            {
                builder.Append(d.Escape).Append('R').Append(d.Escape);
            }
            else if (c == d.Escape)
            {
                builder.Append(d.Escape).Append('E').Append(d.Escape);
            }
            else if (c == '\r' || c == '\n')
            {
                if (c == '\r' && i + 1 < value.Length && value[i + 1] == '\n')
                {
                    i++;
                }

                builder.Append(d.Escape).Append(".br").Append(d.Escape);
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
