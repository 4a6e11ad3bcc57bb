namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>
/// Reads HL7 v2 ER7 ("pipe and hat") messages: delimiters from MSH-1/MSH-2, segments separated by carriage returns
/// (line feeds and CR LF accepted, as files and HTTP bodies often carry them), MLLP framing stripped. Structure errors
/// throw <see cref="Hl7v2Exception"/> naming the segment; field content is checked by the message mappers.
/// </summary>
public static class Er7Parser
{
    /// <summary>Longest message accepted (a referral is a few KB): larger input is refused before it is split.</summary>
    public const int MaxLength = 4 * 1024 * 1024;

    public static Er7Message Parse(string text)
    {
        if (text.Length > MaxLength)
        {
            throw new Hl7v2Exception(null, Hl7ErrorCodes.SegmentSequenceError, $"The message is longer than {MaxLength} characters", reject: true);
        }

        var span = MllpFraming.Unframe(text.AsSpan()).TrimStart("\uFEFF \t\r\n");
        if (span.Length < 8 || !span.StartsWith("MSH"))
        {
            throw new Hl7v2Exception(new Er7Location("MSH", 1), Hl7ErrorCodes.SegmentSequenceError,
                "The message does not start with an MSH segment", reject: true);
        }

        var field = span[3];
        if (char.IsLetterOrDigit(field) || field is '\r' or '\n' or ' ')
        {
            throw new Hl7v2Exception(new Er7Location("MSH", 1, 1), Hl7ErrorCodes.DataTypeError,
                $"MSH-1 '{field}' is not a usable field separator", reject: true);
        }

        var encodingEnd = span[4..].IndexOf(field);
        var encoding = encodingEnd < 0 ? span[4..] : span.Slice(4, encodingEnd);
        if (encoding.Length is < 4 or > 5)
        {
            throw new Hl7v2Exception(new Er7Location("MSH", 1, 2), Hl7ErrorCodes.DataTypeError,
                "MSH-2 must hold the four encoding characters (component, repetition, escape, subcomponent)", reject: true);
        }

        var delimiters = new Er7Delimiters(field, encoding[0], encoding[1], encoding[2], encoding[3]);
        ReadOnlySpan<char> all = [field, encoding[0], encoding[1], encoding[2], encoding[3]];
        for (var i = 0; i < all.Length; i++)
        {
            if (char.IsLetterOrDigit(all[i]) || all[(i + 1)..].Contains(all[i]))
            {
                throw new Hl7v2Exception(new Er7Location("MSH", 1, 2), Hl7ErrorCodes.DataTypeError,
                    "MSH-1 and MSH-2 must be five different, non-alphanumeric characters", reject: true);
            }
        }

        var segments = new List<Er7Segment>(16);
        var text2 = span.ToString();
        var start = 0;
        while (start < text2.Length)
        {
            var end = text2.AsSpan(start).IndexOfAny('\r', '\n');
            var line = end < 0 ? text2.AsSpan(start) : text2.AsSpan(start, end);
            start = end < 0 ? text2.Length : start + end + 1;
            if (line.IsWhiteSpace())
            {
                continue;
            }

            segments.Add(ReadSegment(line, segments.Count + 1, delimiters));
        }

        return new Er7Message(delimiters, segments);
    }

    private static Er7Segment ReadSegment(ReadOnlySpan<char> line, int sequence, Er7Delimiters d)
    {
        if (line.Length < 3 || !IsSegmentName(line[..3]) || (line.Length > 3 && line[3] != d.Field))
        {
            var shown = line.Length > 20 ? line[..20].ToString() + "…" : line.ToString();
            throw new Hl7v2Exception(new Er7Location(line.Length >= 3 ? line[..3].ToString() : line.ToString(), sequence), Hl7ErrorCodes.SegmentSequenceError,
                $"Segment {sequence} ('{shown}') does not start with a three-character segment id followed by the field separator", reject: true);
        }

        var fields = line.ToString().Split(d.Field);
        if (sequence > 1 && fields[0] == "MSH")
        {
            throw new Hl7v2Exception(new Er7Location("MSH", sequence), Hl7ErrorCodes.SegmentSequenceError,
                "A second MSH segment: batches (several messages in one) are not accepted here; send one message per request", reject: true);
        }

        if (fields[0] == "MSH")
        {
            // MSH-1 is the field separator itself: shift so that this[n] is MSH-n as the standard numbers it.
            var shifted = new string[fields.Length + 1];
            shifted[0] = "MSH";
            shifted[1] = d.Field.ToString();
            Array.Copy(fields, 1, shifted, 2, fields.Length - 1);
            fields = shifted;
        }

        return new Er7Segment(fields, sequence, d);
    }

    private static bool IsSegmentName(ReadOnlySpan<char> name) =>
        name[0] is >= 'A' and <= 'Z' && name[1] is (>= 'A' and <= 'Z') or (>= '0' and <= '9') && name[2] is (>= 'A' and <= 'Z') or (>= '0' and <= '9');
}

/// <summary>MLLP (Minimal Lower Layer Protocol) framing: &lt;VT&gt; message &lt;FS&gt;&lt;CR&gt;.</summary>
public static class MllpFraming
{
    public const char StartBlock = '\x0B';
    public const char EndBlock = '\x1C';

    public static string Frame(string message) => $"{StartBlock}{message}{EndBlock}\r";

    /// <summary>The message inside an MLLP frame, or the input unchanged when it is not framed.</summary>
    public static ReadOnlySpan<char> Unframe(ReadOnlySpan<char> text)
    {
        var trimmed = text.TrimStart("\r\n ");
        if (trimmed.Length == 0 || trimmed[0] != StartBlock)
        {
            return text;
        }

        trimmed = trimmed[1..];
        var end = trimmed.IndexOf(EndBlock);
        return end < 0 ? trimmed : trimmed[..end];
    }

    /// <summary>Reads MLLP frames from a stream (e.g. a TCP connection) until it ends; bytes outside frames are skipped.</summary>
    public static async IAsyncEnumerable<string> ReadMessagesAsync(Stream stream, int maxMessageBytes = Er7Parser.MaxLength,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var buffer = new byte[8192];
        using var message = new MemoryStream();
        var inFrame = false;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var b = buffer[i];
                if (!inFrame)
                {
                    if (b == (byte)StartBlock)
                    {
                        inFrame = true;
                        message.SetLength(0);
                    }

                    continue;
                }

                if (b == (byte)EndBlock)
                {
                    inFrame = false;
                    yield return System.Text.Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                    continue;
                }

                if (message.Length >= maxMessageBytes)
                {
                    // An oversized frame is dropped whole rather than buffered without bound.
                    inFrame = false;
                    continue;
                }

                message.WriteByte(b);
            }
        }
    }
}
