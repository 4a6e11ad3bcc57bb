using Hl7.Fhir.Model;
using Microsoft.Net.Http.Headers;

namespace FhirRecovery.Server.Http;

public enum FhirFormat
{
    Json,
    Xml,
}

/// <summary>The media types the server reads and writes, and how requests choose among them.</summary>
public static class FhirMediaTypes
{
    public const string Json = "application/fhir+json";
    public const string Xml = "application/fhir+xml";
    public const string JsonPatch = "application/json-patch+json";
    public const string Form = "application/x-www-form-urlencoded";

    private static readonly string[] JsonTypes = [Json, "application/json", "application/json+fhir", "text/json"];
    private static readonly string[] XmlTypes = [Xml, "application/xml", "application/xml+fhir", "text/xml"];

    /// <summary>Every media type a resource body may be sent as.</summary>
    public static readonly IReadOnlyList<string> Readable = [.. JsonTypes, .. XmlTypes];

    /// <summary>Every format name accepted in <c>_format</c>, for the CapabilityStatement.</summary>
    public static readonly string[] Formats = ["json", "xml", Json, Xml];

    public static string ContentType(FhirFormat format) => (format == FhirFormat.Xml ? Xml : Json) + "; charset=utf-8";

    /// <summary>
    /// The format to answer in: <c>_format</c> first (it overrides Accept, for clients that cannot set headers), then the
    /// Accept header by quality; JSON when neither says. 406 when the client accepts nothing the server can write.
    /// </summary>
    public static FhirFormat NegotiateResponse(HttpRequest request)
    {
        if (request.Query.TryGetValue("_format", out var formatValues) && formatValues.LastOrDefault() is { Length: > 0 } format)
        {
            return FromFormatParameter(format)
                   ?? throw new FhirException(StatusCodes.Status406NotAcceptable, OperationOutcome.IssueType.NotSupported,
                       $"_format '{format}' is not supported: use json, xml, {Json} or {Xml}", "_format");
        }

        var accept = request.Headers.Accept;
        if (accept.Count == 0 || !MediaTypeHeaderValue.TryParseList(accept, out var ranges) || ranges.Count == 0)
        {
            return FhirFormat.Json;
        }

        foreach (var range in ranges.OrderByDescending(r => r.Quality ?? 1.0))
        {
            if (range.Quality is 0)
            {
                continue;
            }

            if (FromMediaRange(range.MediaType.Value) is { } chosen)
            {
                return chosen;
            }
        }

        throw new FhirException(StatusCodes.Status406NotAcceptable, OperationOutcome.IssueType.NotSupported,
            $"None of the media types in Accept ({string.Join(", ", accept.ToArray())}) can be produced: use {Json} or {Xml}");
    }

    public static FhirFormat? FromFormatParameter(string value)
    {
        // An unescaped '+' in a query string arrives as a space (application/fhir json).
        var trimmed = value.Split(';')[0].Trim().Replace(' ', '+').ToLowerInvariant();
        return trimmed switch
        {
            "json" => FhirFormat.Json,
            "xml" => FhirFormat.Xml,
            _ => FromMediaType(trimmed),
        };
    }

    private static FhirFormat? FromMediaRange(string? mediaType) => mediaType?.ToLowerInvariant() switch
    {
        null => null,
        "*/*" or "application/*" => FhirFormat.Json,
        var m => FromMediaType(m),
    };

    public static FhirFormat? FromMediaType(string mediaType)
    {
        var m = mediaType.ToLowerInvariant();
        if (JsonTypes.Contains(m))
        {
            return FhirFormat.Json;
        }

        return XmlTypes.Contains(m) ? FhirFormat.Xml : null;
    }

    /// <summary>
    /// The format of a request body, from Content-Type (415 when it is not a FHIR format or not UTF-8); sniffed from the
    /// content when the client sent none.
    /// </summary>
    public static FhirFormat RequestFormat(HttpRequest request, ReadOnlySpan<byte> body)
    {
        var contentType = request.ContentType;
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return Sniff(body);
        }

        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType.Value is not { } mediaType)
        {
            throw UnsupportedMediaType(contentType);
        }

        RequireUtf8(parsed);
        return FromMediaType(mediaType) ?? throw UnsupportedMediaType(contentType);
    }

    /// <summary>Only UTF-8 is read (FHIR's JSON and XML are UTF-8); another charset is answered 415.</summary>
    public static void RequireUtf8(MediaTypeHeaderValue contentType)
    {
        var charset = contentType.Charset.Value;
        if (charset is not null && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            throw new FhirException(StatusCodes.Status415UnsupportedMediaType, OperationOutcome.IssueType.NotSupported,
                $"charset '{charset}' is not supported: send UTF-8");
        }
    }

    /// <summary>
    /// Declares the body media types of an endpoint (for OpenAPI; routing then answers 415 for others; a request without Content-Type still gets through, its body is sniffed, with an
    /// OperationOutcome from the status code page).
    /// </summary>
    public static RouteHandlerBuilder AcceptsFhir(this RouteHandlerBuilder endpoint, bool patch = false) =>
        patch
            ? endpoint.Accepts<object>(isOptional: true, JsonPatch, [.. Readable])
            : endpoint.Accepts<object>(isOptional: true, Json, [.. Readable.Skip(1)]);

    public static FhirException UnsupportedMediaType(string contentType) =>
        new(StatusCodes.Status415UnsupportedMediaType, OperationOutcome.IssueType.NotSupported,
            $"Content-Type '{contentType}' cannot be read: send {Json} or {Xml}");

    private static FhirFormat Sniff(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF)
            {
                continue;
            }

            return b == (byte)'<' ? FhirFormat.Xml : FhirFormat.Json;
        }

        return FhirFormat.Json;
    }
}
