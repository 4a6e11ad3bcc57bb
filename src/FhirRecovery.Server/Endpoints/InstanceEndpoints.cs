using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Patching;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Net.Http.Headers;

namespace FhirRecovery.Server.Endpoints;

/// <summary>Instance-level interactions: read, vread, update (also update-as-create), patch, delete.</summary>
internal static class InstanceEndpoints
{
    public static void Map(RouteGroupBuilder fhir)
    {
        fhir.MapGet("/{type}/{id}", ReadAsync).WithName("read").WithSummary("read: the current version of a resource").WithTags("Instance");
        fhir.MapGet("/{type}/{id}/_history/{vid}", VReadAsync).WithName("vread").WithSummary("vread: one version of a resource").WithTags("Instance");
        fhir.MapPut("/{type}/{id}", UpdateAsync).WithName("update").WithSummary("update (or create with the client's id); If-Match for version-aware updates").WithTags("Instance")
            .AcceptsFhir();
        fhir.MapPatch("/{type}/{id}", PatchAsync).WithName("patch").WithSummary("patch with JSON Patch (application/json-patch+json) or FHIRPath Patch (a Parameters)").WithTags("Instance")
            .AcceptsFhir(patch: true);
        fhir.MapDelete("/{type}/{id}", DeleteAsync).WithName("delete").WithSummary("delete (later reads answer 410; history keeps it)").WithTags("Instance");
    }

    private static async Task<IResult> ReadAsync(HttpContext http, string type, string id, IResourceStore store, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        _ = Subsetting.FromQuery(http, type); // a strict client's unknown _elements is a 400 before anything is read
        if (id.StartsWith('$'))
        {
            throw SystemEndpoints.UnknownOperation(id);
        }

        var version = ResourceNames.IsValidId(id) ? await store.ReadAsync(type, id, cancellationToken) : null;
        if (version is null)
        {
            throw FhirException.NotFound($"{type}/{id} is not known");
        }

        if (version.IsDeleted)
        {
            var gone = FhirException.Gone($"{type}/{id} was deleted (version {version.VersionId})");
            gone.Headers[HeaderNames.ETag] = FhirResult.ETag(version.VersionId);
            throw gone;
        }

        return FhirResponses.NotModified(http.Request, version)
            ? new FhirResult { Status = StatusCodes.Status304NotModified, Version = version, WithBody = false }
            : new FhirResult { Version = version, ApplySubsetting = true };
    }

    private static async Task<IResult> VReadAsync(HttpContext http, string type, string id, string vid, IResourceStore store, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        _ = Subsetting.FromQuery(http, type); // a strict client's unknown _elements is a 400 before anything is read
        if (!long.TryParse(vid, out var versionId) || !ResourceNames.IsValidId(id))
        {
            throw FhirException.NotFound($"{type}/{id}/_history/{vid} is not known");
        }

        var version = await store.ReadVersionAsync(type, id, versionId, cancellationToken);
        if (version is null)
        {
            throw FhirException.NotFound(await store.ReadAsync(type, id, cancellationToken) is null
                ? $"{type}/{id} is not known"
                : $"{type}/{id} has no version {vid}");
        }

        if (version.IsDeleted)
        {
            throw FhirException.Gone($"Version {vid} of {type}/{id} is its deletion");
        }

        return FhirResponses.NotModified(http.Request, version)
            ? new FhirResult { Status = StatusCodes.Status304NotModified, Version = version, WithBody = false }
            : new FhirResult { Version = version, ApplySubsetting = true };
    }

    private static async Task<IResult> UpdateAsync(HttpContext http, string type, string id, IResourceStore store,
        ResourceInteractions interactions, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        var ifMatch = FhirResponses.IfMatch(http.Request);
        var body = await RequestBody.ReadAsync(http);
        var input = interactions.Validation.ReadForWrite(body, FhirMediaTypes.RequestFormat(http.Request, body));
        var result = await SingleWrite.RunAsync(store, session => interactions.UpdateAsync(session, type, id, input.Copy(), ifMatch, cancellationToken), cancellationToken);
        return FhirResponses.Written(http, result);
    }

    private static async Task<IResult> PatchAsync(HttpContext http, string type, string id, IResourceStore store,
        ResourceInteractions interactions, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        var ifMatch = FhirResponses.IfMatch(http.Request);
        var patch = await ReadPatchAsync(http);
        var result = await SingleWrite.RunAsync(store, session => interactions.PatchAsync(session, type, id, patch, ifMatch, cancellationToken), cancellationToken);
        return FhirResponses.Written(http, result);
    }

    private static async Task<IResult> DeleteAsync(HttpContext http, string type, string id, IResourceStore store,
        ResourceInteractions interactions, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        var ifMatch = FhirResponses.IfMatch(http.Request);
        var result = await SingleWrite.RunAsync(store, session => interactions.DeleteAsync(session, type, id, ifMatch, cancellationToken), cancellationToken);
        return FhirResponses.Deleted(http, result, $"{type}/{id}");
    }

    /// <summary>JSON Patch by its media type; FHIRPath Patch as a Parameters in FHIR JSON or XML; anything else 415.</summary>
    public static async Task<PatchDocument> ReadPatchAsync(HttpContext http)
    {
        var body = await RequestBody.ReadAsync(http);
        if (MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var contentType)
            && string.Equals(contentType.MediaType.Value, FhirMediaTypes.JsonPatch, StringComparison.OrdinalIgnoreCase))
        {
            FhirMediaTypes.RequireUtf8(contentType);
            return JsonPatch.Parse(body);
        }

        if (string.IsNullOrEmpty(http.Request.ContentType))
        {
            throw new FhirException(StatusCodes.Status415UnsupportedMediaType, OperationOutcome.IssueType.NotSupported,
                $"A patch needs a Content-Type: {FhirMediaTypes.JsonPatch} (JSON Patch) or {FhirMediaTypes.Json}/{FhirMediaTypes.Xml} (FHIRPath Patch Parameters)");
        }

        var format = FhirMediaTypes.RequestFormat(http.Request, body);
        return FhirSerialization.Parse(body, format) is Parameters parameters
            ? FhirPathPatch.FromParameters(parameters)
            : throw FhirException.BadRequest("A FHIRPath Patch is a Parameters resource");
    }
}
