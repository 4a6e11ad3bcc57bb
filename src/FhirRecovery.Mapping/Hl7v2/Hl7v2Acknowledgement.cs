namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>The acknowledgment codes of MSA-1 (original mode).</summary>
public enum AckCode
{
    /// <summary>Application accept.</summary>
    AA,

    /// <summary>Application error: the content of a field is wrong; a corrected message may succeed.</summary>
    AE,

    /// <summary>Application reject: the message cannot be processed as sent (structure, type, version, refused consent).</summary>
    AR,
}

/// <summary>Writes ACK messages (ACK^{trigger}^ACK) with MSA and one ERR per problem (ERR-2 location, ERR-3 table 0357, ERR-8 text).</summary>
public static class Hl7v2Acknowledgement
{
    public static string Create(Er7Message? incoming, AckCode code, IReadOnlyList<Hl7v2Error> errors, DateTimeOffset now, string controlId,
        string sendingApplication = "FHIRRECOVERY", string sendingFacility = "FHIRRECOVERY")
    {
        var builder = new Er7MessageBuilder(incoming?.Delimiters);
        var header = incoming?.Header;
        var trigger = incoming is null || string.IsNullOrEmpty(incoming.TriggerEvent) ? "I12" : incoming.TriggerEvent;
        builder.Segment("MSH")
            .Set(3, sendingApplication)
            .Set(4, sendingFacility)
            .Set(5, Raw(header?[3]))
            .Set(6, Raw(header?[4]))
            .Set(7, V2Types.FormatTimestamp(now))
            .Set(9, "ACK", trigger, "ACK")
            .Set(10, controlId)
            .Set(11, incoming is null || string.IsNullOrEmpty(incoming.ProcessingId) ? "P" : incoming.ProcessingId)
            .Set(12, "2.5.1");
        builder.Segment("MSA")
            .Set(1, code.ToString())
            .Set(2, incoming?.ControlId ?? "")
            .Set(3, errors.Count == 0 ? null : Truncate(errors[0].Message, 80));
        foreach (var error in errors)
        {
            var segment = builder.Segment("ERR");
            if (error.Location is { } where)
            {
                segment.Set(2, where.Segment, where.SegmentSequence, Zero(where.Field), Zero(where.Repetition == 0 && where.Field > 0 ? 1 : where.Repetition),
                    Zero(where.Component), Zero(where.Subcomponent));
            }

            segment.Set(3, error.Code, Hl7ErrorCodes.Display(error.Code), "HL70357")
                .Set(4, "E")
                .Set(8, error.ToString());
        }

        return builder.ToString();
    }

    private static Er7.Raw Raw(Er7Field? field) => new(field?.Raw ?? "");

    private static string? Zero(int value) => value == 0 ? null : value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
