namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>A parsed ER7 message: its delimiters and segments in order.</summary>
public sealed class Er7Message
{
    internal Er7Message(Er7Delimiters delimiters, IReadOnlyList<Er7Segment> segments)
    {
        Delimiters = delimiters;
        Segments = segments;
    }

    public Er7Delimiters Delimiters { get; }

    public IReadOnlyList<Er7Segment> Segments { get; }

    public Er7Segment Header => Segments[0];

    /// <summary>MSH-9.1, e.g. REF.</summary>
    public string MessageType => Header[9].Component(1);

    /// <summary>MSH-9.2, e.g. I12.</summary>
    public string TriggerEvent => Header[9].Component(2);

    /// <summary>MSH-10.</summary>
    public string ControlId => Header[10].Value;

    /// <summary>MSH-11.1 (P production, D debugging, T training).</summary>
    public string ProcessingId => Header[11].Component(1);

    /// <summary>MSH-12.1.</summary>
    public string Version => Header[12].Component(1);

    public Er7Segment? First(string name)
    {
        foreach (var segment in Segments)
        {
            if (segment.Name == name)
            {
                return segment;
            }
        }

        return null;
    }

    public IEnumerable<Er7Segment> All(string name) => Segments.Where(s => s.Name == name);
}

/// <summary>One segment. Field n is <c>this[n]</c> (for MSH, MSH-1 is the field separator, as the standard counts).</summary>
public sealed class Er7Segment
{
    private readonly string[] _fields;

    internal Er7Segment(string[] fields, int sequence, Er7Delimiters delimiters)
    {
        _fields = fields;
        Sequence = sequence;
        Delimiters = delimiters;
    }

    public string Name => _fields[0];

    /// <summary>1-based position of the segment in the message (ERR-2.2).</summary>
    public int Sequence { get; }

    public Er7Delimiters Delimiters { get; }

    public int FieldCount => _fields.Length - 1;

    public Er7Field this[int field] => field < _fields.Length ? new Er7Field(_fields[field], Delimiters) : new Er7Field("", Delimiters);

    public Er7Location Where(int field = 0, int repetition = 0, int component = 0) => new(Name, Sequence, field, repetition, component);
}

/// <summary>A field (or one repetition of it) as sent; components and subcomponents are split, and unescaped, on access.</summary>
public readonly struct Er7Field(string raw, Er7Delimiters delimiters)
{
    public string Raw { get; } = raw;

    public bool IsEmpty => Raw.Length == 0;

    /// <summary>The v2 null value <c>""</c>: the sender says the value is deleted/absent.</summary>
    public bool IsNull => Raw == "\"\"";

    /// <summary>The first component's first subcomponent, unescaped.</summary>
    public string Value => Component(1);

    /// <summary>The whole field unescaped, without splitting (for ST, TX, FT fields that are text).</summary>
    public string Text => Er7Escaping.Unescape(Raw, delimiters);

    public int RepetitionCount
    {
        get
        {
            if (Raw.Length == 0)
            {
                return 0;
            }

            var count = 1;
            foreach (var c in Raw)
            {
                if (c == delimiters.Repetition)
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>The non-empty repetitions, in order.</summary>
    public IEnumerable<Er7Field> Repetitions
    {
        get
        {
            if (Raw.Length == 0)
            {
                yield break;
            }

            foreach (var part in Raw.Split(delimiters.Repetition))
            {
                if (part.Length > 0)
                {
                    yield return new Er7Field(part, delimiters);
                }
            }
        }
    }

    /// <summary>Component <paramref name="component"/> (1-based), subcomponent <paramref name="subcomponent"/>, unescaped; "" when absent.</summary>
    public string Component(int component, int subcomponent = 1)
    {
        var span = Slice(Raw.AsSpan(), delimiters.Repetition, 1);
        span = Slice(span, delimiters.Component, component);
        span = Slice(span, delimiters.Subcomponent, subcomponent);
        return span.Length == 0 ? "" : Er7Escaping.Unescape(span, delimiters);
    }

    /// <summary>All subcomponents of a component joined back (for a component that is itself a composite such as HD inside CX).</summary>
    public Er7Field ComponentField(int component)
    {
        var span = Slice(Raw.AsSpan(), delimiters.Repetition, 1);
        return new Er7Field(Slice(span, delimiters.Component, component).ToString().Replace(delimiters.Subcomponent, delimiters.Component), delimiters);
    }

    private static ReadOnlySpan<char> Slice(ReadOnlySpan<char> span, char separator, int index)
    {
        for (var i = 1; i < index; i++)
        {
            var next = span.IndexOf(separator);
            if (next < 0)
            {
                return [];
            }

            span = span[(next + 1)..];
        }

        var end = span.IndexOf(separator);
        return end < 0 ? span : span[..end];
    }

    public override string ToString() => Raw;
}
