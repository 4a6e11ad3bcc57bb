using System.Text;

namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>
/// Builds ER7 messages: values are escaped on the way in, empty trailing components and fields are left out, segments
/// end with a carriage return.
/// </summary>
public sealed class Er7MessageBuilder(Er7Delimiters? delimiters = null)
{
    private readonly List<Er7SegmentBuilder> _segments = [];

    public Er7Delimiters Delimiters { get; } = delimiters ?? Er7Delimiters.Default;

    public Er7SegmentBuilder Segment(string name)
    {
        var segment = new Er7SegmentBuilder(name, Delimiters);
        _segments.Add(segment);
        return segment;
    }

    /// <summary>The message, segments separated (and ended) by carriage returns.</summary>
    public override string ToString()
    {
        var builder = new StringBuilder(1024);
        foreach (var segment in _segments)
        {
            segment.WriteTo(builder);
            builder.Append('\r');
        }

        return builder.ToString();
    }
}

/// <summary>
/// One segment being written. Components are strings (escaped here) or <see cref="Er7.Sub"/> values (subcomponents,
/// each escaped). Field numbers are the standard's: for MSH, field 1 is the separator and 2 the encoding characters.
/// </summary>
public sealed class Er7SegmentBuilder
{
    private readonly string _name;
    private readonly Er7Delimiters _d;
    private readonly List<List<string>?> _fields = [];

    internal Er7SegmentBuilder(string name, Er7Delimiters d)
    {
        _name = name;
        _d = d;
    }

    /// <summary>Sets field <paramref name="field"/> to one repetition made of the components given.</summary>
    public Er7SegmentBuilder Set(int field, params object?[] components)
    {
        Repetitions(field).Clear();
        return Add(field, components);
    }

    /// <summary>Adds a repetition to field <paramref name="field"/>.</summary>
    public Er7SegmentBuilder Add(int field, params object?[] components)
    {
        var encoded = Encode(components);
        if (encoded.Length > 0)
        {
            Repetitions(field).Add(encoded);
        }

        return this;
    }

    private List<string> Repetitions(int field)
    {
        while (_fields.Count <= field)
        {
            _fields.Add(null);
        }

        return _fields[field] ??= [];
    }

    private string Encode(object?[] components)
    {
        var parts = new string[components.Length];
        for (var i = 0; i < components.Length; i++)
        {
            parts[i] = components[i] switch
            {
                null => "",
                Er7.Subcomponents sub => TrimJoin(sub.Values.Select(v => Er7Escaping.Escape(v, _d)).ToArray(), _d.Subcomponent),
                Er7.Raw raw => raw.Value,
                var value => Er7Escaping.Escape(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), _d),
            };
        }

        return TrimJoin(parts, _d.Component);
    }

    private static string TrimJoin(string[] parts, char separator)
    {
        var count = parts.Length;
        while (count > 0 && parts[count - 1].Length == 0)
        {
            count--;
        }

        return string.Join(separator, parts, 0, count);
    }

    internal void WriteTo(StringBuilder builder)
    {
        builder.Append(_name);
        var last = _fields.Count - 1;
        while (last > 0 && (_fields[last] is null || _fields[last]!.Count == 0))
        {
            last--;
        }

        var isHeader = _name is "MSH" or "BHS" or "FHS";
        for (var i = 1; i <= last; i++)
        {
            if (isHeader && i == 1)
            {
                // MSH-1 is the separator written just before MSH-2.
                continue;
            }

            builder.Append(_d.Field);
            if (isHeader && i == 2)
            {
                builder.Append(_d.EncodingCharacters);
                continue;
            }

            if (_fields[i] is { } repetitions)
            {
                builder.AppendJoin(_d.Repetition, repetitions);
            }
        }

        if (isHeader && last < 2)
        {
            builder.Append(_d.Field).Append(_d.EncodingCharacters);
        }
    }
}

/// <summary>Component values with structure of their own.</summary>
public static class Er7
{
    /// <summary>A component made of subcomponents (e.g. the HD of CX.4).</summary>
    public sealed record Subcomponents(string?[] Values);

    /// <summary>A value already encoded (not escaped again).</summary>
    public sealed record Raw(string Value);

    public static Subcomponents Sub(params string?[] values) => new(values);
}
