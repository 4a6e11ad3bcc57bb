namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>The delimiters of one ER7 message, as MSH-1 and MSH-2 declare them.</summary>
public readonly record struct Er7Delimiters(char Field, char Component, char Repetition, char Escape, char Subcomponent)
{
    public static readonly Er7Delimiters Default = new('|', '^', '~', '\\', '&');

    /// <summary>MSH-2 as written: component, repetition, escape, subcomponent.</summary>
    public string EncodingCharacters => new([Component, Repetition, Escape, Subcomponent]);
}

/// <summary>Where in a message something is: segment (name and 1-based position), field, repetition, component, subcomponent.</summary>
public readonly record struct Er7Location(string Segment, int SegmentSequence, int Field = 0, int Repetition = 0, int Component = 0, int Subcomponent = 0)
{
    /// <summary>The usual human notation, e.g. <c>PID-3[2].4</c> or <c>RF1-10</c>.</summary>
    public override string ToString()
    {
        if (Field == 0)
        {
            return Segment;
        }

        var text = $"{Segment}-{Field}";
        if (Repetition > 1)
        {
            text += $"[{Repetition}]";
        }

        if (Component > 0)
        {
            text += $".{Component}";
        }

        if (Subcomponent > 0)
        {
            text += $".{Subcomponent}";
        }

        return text;
    }
}

/// <summary>HL7 table 0357 (message error condition codes) as used in ERR-3.</summary>
public static class Hl7ErrorCodes
{
    public const string SegmentSequenceError = "100";
    public const string RequiredFieldMissing = "101";
    public const string DataTypeError = "102";
    public const string TableValueNotFound = "103";
    public const string UnsupportedMessageType = "200";
    public const string UnsupportedEventCode = "201";
    public const string UnsupportedProcessingId = "202";
    public const string UnsupportedVersionId = "203";
    public const string UnknownKeyIdentifier = "204";
    public const string DuplicateKeyIdentifier = "205";
    public const string ApplicationInternalError = "207";

    public static string Display(string code) => code switch
    {
        SegmentSequenceError => "Segment sequence error",
        RequiredFieldMissing => "Required field missing",
        DataTypeError => "Data type error",
        TableValueNotFound => "Table value not found",
        UnsupportedMessageType => "Unsupported message type",
        UnsupportedEventCode => "Unsupported event code",
        UnsupportedProcessingId => "Unsupported processing id",
        UnsupportedVersionId => "Unsupported version id",
        UnknownKeyIdentifier => "Unknown key identifier",
        DuplicateKeyIdentifier => "Duplicate key identifier",
        _ => "Application internal error",
    };
}

/// <summary>One problem with a v2 message: where, which table 0357 code, and a message for people.</summary>
public sealed record Hl7v2Error(Er7Location? Location, string Code, string Message)
{
    /// <summary>
    /// AR (reject: the message can never be processed as sent: structure, type, version, a refused consent) rather than AE
    /// (error: the content of a field is wrong; a corrected message may succeed).
    /// </summary>
    public bool Reject { get; init; }

    public override string ToString() => Location is { } where ? $"{where}: {Message}" : Message;
}

/// <summary>A v2 message that cannot be read or mapped; carries the errors the ACK reports.</summary>
public sealed class Hl7v2Exception : Exception
{
    public Hl7v2Exception(IReadOnlyList<Hl7v2Error> errors)
        : base(string.Join("; ", errors.Select(e => e.ToString())))
    {
        Errors = errors;
    }

    public Hl7v2Exception(Er7Location? location, string code, string message, bool reject = false)
        : this([new Hl7v2Error(location, code, message) { Reject = reject }])
    {
    }

    public IReadOnlyList<Hl7v2Error> Errors { get; }

    /// <summary>AR when any error is a rejection, else AE.</summary>
    public bool IsReject => Errors.Any(e => e.Reject);
}
