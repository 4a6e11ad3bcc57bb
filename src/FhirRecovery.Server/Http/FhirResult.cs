using System.Globalization;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;

namespace FhirRecovery.Server.Http;

/// <summary>
/// A FHIR answer: status, resource (a POCO, or a stored version's JSON sent as is when nothing needs changing), and the
/// versioning headers. Serialized in the negotiated format, with <c>_pretty</c> and (for reads) <c>_summary</c>/<c>_elements</c>.
/// </summary>
public sealed class FhirResult : IResult
{
    public int Status { get; init; } = StatusCodes.Status200OK;

    public Resource? Resource { get; init; }

    /// <summary>A searchset, written from the stored JSON when nothing needs changing (see <see cref="SearchBundle"/>).</summary>
    public Interactions.SearchBundle? Search { get; init; }

    /// <summary>A body already serialized in the negotiated format.</summary>
    public byte[]? Serialized { get; init; }

    /// <summary>A stored version: its JSON is the body (unless <see cref="Resource"/> is set) and it gives ETag and Last-Modified.</summary>
    public ResourceVersion? Version { get; init; }

    /// <summary>Whether the body goes out at all (false for Prefer: return=minimal and 304).</summary>
    public bool WithBody { get; init; } = true;

    public string? Location { get; init; }

    /// <summary>Whether <c>_summary</c>/<c>_elements</c> of the query apply (reads and searches, not write answers).</summary>
    public bool ApplySubsetting { get; init; }

    public static FhirResult Of(Resource resource, int status = StatusCodes.Status200OK) => new() { Resource = resource, Status = status };

    public static FhirResult Outcome(OperationOutcome outcome, int status) => new() { Resource = outcome, Status = status };

    public async System.Threading.Tasks.Task ExecuteAsync(HttpContext http)
    {
        var context = FhirRequestContext.Get(http);
        var response = http.Response;
        response.StatusCode = Status;
        if (Version is { } version)
        {
            SetVersionHeaders(response, version);
        }

        if (Location is not null)
        {
            response.Headers.Location = Location;
            response.Headers.ContentLocation = Location;
        }

        if (!WithBody || (Resource is null && Search is null && Serialized is null && Version?.Json is null))
        {
            return;
        }

        if (Serialized is not null)
        {
            response.ContentType = FhirMediaTypes.ContentType(context.Format);
            response.ContentLength = Serialized.Length;
            await response.Body.WriteAsync(Serialized, http.RequestAborted);
            return;
        }

        var subsetting = ApplySubsetting ? Subsetting.FromQuery(http.Request.Query) : Subsetting.None;
        response.ContentType = FhirMediaTypes.ContentType(context.Format);
        if (Search is not null)
        {
            if (context.Format == FhirFormat.Json && !context.Pretty && subsetting.IsNone)
            {
                await Search.WriteJsonAsync(response.Body, http.RequestAborted);
                return;
            }

            var searchset = Write(Search.ToBundle(subsetting), context, subsetting);
            response.ContentLength = searchset.Length;
            await response.Body.WriteAsync(searchset, http.RequestAborted);
            return;
        }

        if (Resource is null && context.Format == FhirFormat.Json && !context.Pretty && subsetting.IsNone)
        {
            // The common read: the stored JSON already is the answer.
            response.ContentLength = Version!.Json!.Length;
            await response.Body.WriteAsync(Version.Json, http.RequestAborted);
            return;
        }

        var resource = Resource ?? FhirSerialization.ParseStored(Version!.Json);
        var bytes = Write(resource, context, subsetting);
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, http.RequestAborted);
    }

    internal static byte[] Write(Resource resource, FhirRequestContext context, Subsetting subsetting)
    {
        var summary = subsetting.Summary;
        if (resource is not Bundle && subsetting.ElementsFor(resource.TypeName, isMatch: true) is { } elements)
        {
            resource = Subsetting.ApplyElements(resource, elements);
        }

        // _summary=count has no meaning for a single resource: send it whole.
        if (summary == SummaryType.Count && resource is not Bundle)
        {
            summary = SummaryType.False;
        }

        return FhirSerialization.Serialize(resource, context.Format, context.Pretty, summary);
    }

    public static void SetVersionHeaders(HttpResponse response, ResourceVersion version)
    {
        response.Headers.ETag = ETag(version.VersionId);
        response.Headers.LastModified = version.LastUpdated.ToUniversalTime().ToString("R", CultureInfo.InvariantCulture);
    }

    public static string ETag(long versionId) => $"W/\"{versionId}\"";
}
