using System.Globalization;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Microsoft.Net.Http.Headers;

namespace FhirRecovery.Server.Endpoints;

/// <summary>The HTTP shape of the interactions' results (status, Location, versioning headers, Prefer: return).</summary>
internal static class FhirResponses
{
    /// <summary>Answer to create/update/patch: the resource, nothing or an OperationOutcome, as Prefer: return asks.</summary>
    public static IResult Written(HttpContext http, WriteResult result)
    {
        var context = FhirRequestContext.Get(http);
        var version = result.Version!;
        var location = context.Url($"{version.ResourceType}/{version.Id}/_history/{version.VersionId}");
        return (context.Return ?? PreferReturn.Representation) switch
        {
            PreferReturn.Minimal => new FhirResult { Status = result.Status, Version = version, Location = location, WithBody = false },
            PreferReturn.OperationOutcome => new FhirResult
            {
                Status = result.Status,
                Version = version,
                Location = location,
                Resource = new CheckedResource(new Hl7.Fhir.Model.Basic(), result.Warnings)
                    .ToOutcome($"{version.ResourceType}/{version.Id} stored as version {version.VersionId}"),
            },
            _ => new FhirResult { Status = result.Status, Version = version, Location = location },
        };
    }

    /// <summary>Answer to delete: 204, or 200 with an OperationOutcome when asked for one.</summary>
    public static IResult Deleted(HttpContext http, WriteResult result, string what)
    {
        var context = FhirRequestContext.Get(http);
        if (context.Return == PreferReturn.OperationOutcome)
        {
            var message = result.Version is null ? $"{what}: nothing to delete" : $"{what} deleted (version {result.Version.VersionId})";
            return new FhirResult { Status = StatusCodes.Status200OK, Resource = Outcomes.Information(message), Version = result.Version };
        }

        return new FhirResult { Status = StatusCodes.Status204NoContent, Version = result.Version, WithBody = false };
    }

    /// <summary>If-None-Match (the current ETag, or *) and If-Modified-Since (not changed since): 304.</summary>
    public static bool NotModified(HttpRequest request, ResourceVersion version)
    {
        var ifNoneMatch = request.Headers.IfNoneMatch;
        if (ifNoneMatch.Count > 0)
        {
            return EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags)
                   && tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Tag.Value?.Trim('"') == version.VersionId.ToString(CultureInfo.InvariantCulture));
        }

        if (request.Headers.IfModifiedSince.FirstOrDefault() is { } since
            && DateTimeOffset.TryParseExact(since, "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            // HTTP dates have whole seconds.
            var lastModified = version.LastUpdated.ToUniversalTime();
            lastModified = lastModified.AddTicks(-(lastModified.Ticks % TimeSpan.TicksPerSecond));
            return lastModified <= instant;
        }

        return false;
    }

    public static long? IfMatch(HttpRequest request) => ResourceInteractions.ParseETag(request.Headers.IfMatch.FirstOrDefault());
}
