using System.Text.Json;
using FhirRecovery.Storage;
using System.Text.RegularExpressions;
using System.Xml;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;

namespace FhirRecovery.Server.Http;

/// <summary>Reading and writing FHIR JSON and XML with Firely's (thread-safe, stateless) (de)serializers.</summary>
public static partial class FhirSerialization
{
    private static readonly FhirJsonDeserializer StrictJson = new();
    private static readonly FhirXmlDeserializer StrictXml = new();

    // What the store hands back was validated when written: the fastest lenient mode is safe for it.
    private static readonly FhirJsonDeserializer StoredJson = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));

    private static readonly FhirJsonSerializer JsonWriter = new();
    private static readonly FhirXmlSerializer XmlWriter = new();

    private static readonly XmlReaderSettings SafeXml = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersFromEntities = 0,
    };

    /// <summary>Parses a request body strictly: anything that is not well-formed FHIR is a 400 naming where.</summary>
    public static Resource Parse(ReadOnlyMemory<byte> body, FhirFormat format, string? expressionPrefix = null)
    {
        if (body.IsEmpty)
        {
            throw FhirException.BadRequest("The request body is empty: a FHIR resource is expected");
        }

        try
        {
            return format == FhirFormat.Xml ? ParseXml(body) : ParseJson(body.Span);
        }
        catch (DeserializationFailedException ex) when (ex.PartialResult is Resource empty && IsOnlyEmptyRoot(ex))
        {
            // {"resourceType":"X"} and nothing else: Firely calls the root empty, but no element of a resource is required by the base spec.
            return empty;
        }
        catch (DeserializationFailedException ex)
        {
            throw new FhirException(StatusCodes.Status400BadRequest, ToOutcome(ex, expressionPrefix));
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" (line {line + 1}, position {(ex.BytePositionInLine ?? 0) + 1})" : "";
            throw FhirException.BadRequest($"The body is not valid JSON{where}: {ex.Message}");
        }
        catch (XmlException ex)
        {
            throw FhirException.BadRequest($"The body is not well-formed XML (line {ex.LineNumber}, position {ex.LinePosition}): {ex.Message}");
        }
        catch (Exception ex) when (ex is InvalidCastException or InvalidOperationException or FormatException or ArgumentException)
        {
            // Firely's answers to a JSON array, a non-resource object or an unknown resourceType.
            throw FhirException.BadRequest($"The body is not a FHIR resource: {ex.Message}");
        }
    }

    private static Resource ParseJson(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 128 });
        return StrictJson.DeserializeResource(ref reader);
    }

    private static Resource ParseXml(ReadOnlyMemory<byte> body)
    {
        using var stream = new MemoryStream(body.ToArray(), writable: false);
        using var reader = XmlReader.Create(stream, SafeXml);
        return StrictXml.DeserializeResource(reader);
    }

    private static bool IsOnlyEmptyRoot(DeserializationFailedException ex) =>
        ex.Exceptions.All(e => e.ErrorCode is "JSON120" or "PVAL129" && e.Message.Contains("At $this,", StringComparison.Ordinal));

    /// <summary>Parses a version from the store (trusted content).</summary>
    public static Resource ParseStored(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
        try
        {
            return StoredJson.DeserializeResource(ref reader);
        }
        catch (DeserializationFailedException ex) when (ex.PartialResult is Resource partial)
        {
            return partial;
        }
    }

    public static byte[] Serialize(Resource resource, FhirFormat format, bool pretty = false, SummaryType summary = SummaryType.False) =>
        format == FhirFormat.Xml
            ? XmlWriter.SerializeToBytes(resource, summary: summary, pretty: pretty)
            : SerializeJson(resource, pretty, summary);

    public static byte[] SerializeToJson(Resource resource) => SerializeJson(resource, pretty: false, SummaryType.False);

    /// <summary>JSON escaped as the store writes it (<see cref="FhirJsonEncoding"/>), so reads of stored and re-serialized resources look alike.</summary>
    private static byte[] SerializeJson(Resource resource, bool pretty, SummaryType summary)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = pretty, Encoder = FhirJsonEncoding.Encoder }))
        {
            JsonWriter.Serialize(resource, writer, summary);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One issue per parser finding, with the FHIRPath location Firely reports ("At Goal.status, line 1...").</summary>
    public static OperationOutcome ToOutcome(DeserializationFailedException ex, string? expressionPrefix = null)
    {
        var outcome = new OperationOutcome();
        foreach (var error in ex.Exceptions.DefaultIfEmpty(new CodedException("PVAL000", ex.Message)))
        {
            var match = LocationPattern().Match(error.Message);
            string? expression = match.Success ? match.Groups[1].Value : null;
            if (expression is not null && expressionPrefix is not null)
            {
                var dot = expression.IndexOf('.');
                expression = expressionPrefix + (dot < 0 ? "" : expression[dot..]);
            }

            var issue = Outcomes.Error(OperationOutcome.IssueType.Structure, error.Message, expression).Issue[0];
            outcome.Issue.Add(issue);
        }

        return outcome;
    }

    [GeneratedRegex(@"At ([^\s,]+), line")]
    private static partial Regex LocationPattern();
}
