using Microsoft.Net.Http.Headers;

namespace FhirRecovery.Server.Http;

/// <summary>
/// Endpoint metadata: the endpoint can also answer in HTML (for people: a printable page), chosen with
/// <c>_format=html</c> or an Accept header that prefers <c>text/html</c>. FHIR content negotiation leaves such requests to
/// the endpoint instead of refusing them with 406.
/// </summary>
public sealed class HtmlRepresentation
{
    public const string MediaType = "text/html";

    public static readonly HtmlRepresentation Instance = new();

    /// <summary>Whether this request is for an HTML-capable endpoint and asks for HTML.</summary>
    public static bool Requested(HttpContext http) =>
        http.GetEndpoint()?.Metadata.GetMetadata<HtmlRepresentation>() is not null && Prefers(http.Request);

    /// <summary>_format=html (or text/html) wins; else the best-quality Accept range that names HTML or a FHIR format decides.</summary>
    public static bool Prefers(HttpRequest request)
    {
        if (request.Query.TryGetValue("_format", out var format) && format.LastOrDefault() is { Length: > 0 } value)
        {
            return value.Trim().Equals("html", StringComparison.OrdinalIgnoreCase) || value.Trim().StartsWith(MediaType, StringComparison.OrdinalIgnoreCase);
        }

        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var ranges))
        {
            return false;
        }

        foreach (var range in ranges.Where(r => r.Quality is not 0).OrderByDescending(r => r.Quality ?? 1.0))
        {
            var mediaType = range.MediaType.Value ?? "";
            if (mediaType.Equals(MediaType, StringComparison.OrdinalIgnoreCase) || mediaType.Equals("application/xhtml+xml", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            if (FhirMediaTypes.FromMediaType(mediaType) is not null || mediaType is "*/*" or "application/*")
            {
                return false;
            }
        }

        return false;
    }
}
