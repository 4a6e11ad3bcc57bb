using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Net.Http.Headers;

namespace FhirRecovery.Server.Endpoints;

/// <summary>Type-level interactions: create (and conditional create), conditional update/patch/delete, search.</summary>
internal static class TypeEndpoints
{
    /// <summary>The compartments of FHIR R4 (CompartmentDefinition).</summary>
    private static readonly HashSet<string> CompartmentTypes = new(StringComparer.Ordinal) { "Patient", "Encounter", "RelatedPerson", "Practitioner", "Device" };

    public static void Map(RouteGroupBuilder fhir)
    {
        fhir.MapPost("/{type}", CreateAsync).WithName("create").WithSummary("create (server-assigned id); If-None-Exist for conditional create").WithTags("Type")
            .AcceptsFhir();
        fhir.MapPut("/{type}", ConditionalUpdateAsync).WithName("conditional-update").WithSummary("conditional update: PUT [type]?criteria").WithTags("Type")
            .AcceptsFhir();
        fhir.MapPatch("/{type}", ConditionalPatchAsync).WithName("conditional-patch").WithSummary("conditional patch: PATCH [type]?criteria").WithTags("Type")
            .AcceptsFhir(patch: true);
        fhir.MapDelete("/{type}", ConditionalDeleteAsync).WithName("conditional-delete").WithSummary("conditional delete: DELETE [type]?criteria").WithTags("Type");
        fhir.MapGet("/{type}", SearchAsync).WithName("search-type").WithSummary("search a type (GET)").WithTags("Search");
        fhir.MapPost("/{type}/_search", SearchWithPostAsync).WithName("search-type-post").WithSummary("search a type (POST, form-encoded parameters)").WithTags("Search")
            .Accepts<object>(isOptional: true, FhirMediaTypes.Form);
        fhir.MapGet("/{compartment}/{id}/{type}", CompartmentSearchAsync).WithName("search-compartment").WithSummary("search within a compartment, e.g. Patient/1/Goal").WithTags("Search");
    }

    private static async Task<IResult> CreateAsync(HttpContext http, string type, IResourceStore store, ResourceInteractions interactions, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        var body = await RequestBody.ReadAsync(http);
        var input = interactions.Validation.ReadForWrite(body, FhirMediaTypes.RequestFormat(http.Request, body));
        if (input.Resource.TypeName != type)
        {
            throw FhirException.BadRequest($"The body is a {input.Resource.TypeName}, but the URL is for {type}", "resourceType");
        }

        var ifNoneExist = http.Request.Headers["If-None-Exist"].FirstOrDefault();
        var result = await SingleWrite.RunAsync(store, session => interactions.CreateAsync(session, input.Copy(), ifNoneExist, cancellationToken), cancellationToken);
        return FhirResponses.Written(http, result);
    }

    private static async Task<IResult> ConditionalUpdateAsync(HttpContext http, string type, IResourceStore store, ResourceInteractions interactions, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        var criteria = Criteria(http, "PUT");
        var ifMatch = FhirResponses.IfMatch(http.Request);
        var body = await RequestBody.ReadAsync(http);
        var input = interactions.Validation.ReadForWrite(body, FhirMediaTypes.RequestFormat(http.Request, body));
        var result = await SingleWrite.RunAsync(store, session => interactions.ConditionalUpdateAsync(session, type, criteria, input.Copy(), ifMatch, cancellationToken),
            cancellationToken);
        return FhirResponses.Written(http, result);
    }

    private static async Task<IResult> ConditionalPatchAsync(HttpContext http, string type, IResourceStore store, ResourceInteractions interactions, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        var criteria = Criteria(http, "PATCH");
        var ifMatch = FhirResponses.IfMatch(http.Request);
        var patch = await InstanceEndpoints.ReadPatchAsync(http);
        var result = await SingleWrite.RunAsync(store, async session =>
        {
            var matches = await SearchCriteria.MatchAsync(session, type, criteria, "Conditional patch", cancellationToken);
            if (matches.Count != 1)
            {
                throw matches.Count == 0
                    ? FhirException.NotFound($"Conditional patch: '{criteria}' matches no {type}")
                    : FhirException.PreconditionFailed($"Conditional patch: '{criteria}' matches more than one {type}");
            }

            return await interactions.PatchAsync(session, type, matches[0].Id, patch, ifMatch, cancellationToken);
        }, cancellationToken);
        return FhirResponses.Written(http, result);
    }

    private static async Task<IResult> ConditionalDeleteAsync(HttpContext http, string type, IResourceStore store, ResourceInteractions interactions, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        var criteria = Criteria(http, "DELETE");
        var result = await SingleWrite.RunAsync(store, session => interactions.ConditionalDeleteAsync(session, type, criteria, cancellationToken), cancellationToken);
        return FhirResponses.Deleted(http, result, $"{type}?{criteria}");
    }

    private static async Task<IResult> SearchAsync(HttpContext http, string type, SearchService search, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        return await RunSearchAsync(http, type, null, SearchCriteria.From(http.Request.Query), search, cancellationToken);
    }

    private static async Task<IResult> SearchWithPostAsync(HttpContext http, string type, SearchService search, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        return await RunSearchAsync(http, type, null, await QueryAndFormAsync(http), search, cancellationToken);
    }

    private static async Task<IResult> CompartmentSearchAsync(HttpContext http, string compartment, string id, string type, SearchService search, CancellationToken cancellationToken)
    {
        if (!CompartmentTypes.Contains(compartment))
        {
            throw FhirException.NotFound(ResourceNames.IsResourceType(compartment)
                ? $"{compartment} is not a compartment (compartments: {string.Join(", ", CompartmentTypes)})"
                : $"Unknown resource type '{compartment}'");
        }

        if (type != "*")
        {
            ResourceNames.RequireType(type);
        }

        return await RunSearchAsync(http, type == "*" ? null : type, new CompartmentScope(compartment, id), SearchCriteria.From(http.Request.Query), search, cancellationToken);
    }

    internal static async Task<IResult> RunSearchAsync(HttpContext http, string? type, CompartmentScope? compartment,
        List<KeyValuePair<string, string>> parameters, SearchService search, CancellationToken cancellationToken)
    {
        var context = FhirRequestContext.Get(http);
        var subsetting = Subsetting.FromQuery(http, type);
        var bundle = await search.SearchAsync(new SearchInput(type, parameters, compartment, context.Handling, subsetting), context.BaseUrl, null, cancellationToken);
        return new FhirResult { Search = bundle, ApplySubsetting = true };
    }

    /// <summary>POST _search: the query string plus the form-encoded body (any other body is 415).</summary>
    internal static async Task<List<KeyValuePair<string, string>>> QueryAndFormAsync(HttpContext http)
    {
        var parameters = SearchCriteria.From(http.Request.Query);
        if (http.Request.ContentLength is 0 || (http.Request.ContentLength is null && string.IsNullOrEmpty(http.Request.ContentType)))
        {
            return parameters;
        }

        if (!MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var contentType)
            || !string.Equals(contentType.MediaType.Value, FhirMediaTypes.Form, StringComparison.OrdinalIgnoreCase))
        {
            throw new FhirException(StatusCodes.Status415UnsupportedMediaType, OperationOutcome.IssueType.NotSupported,
                $"POST _search takes {FhirMediaTypes.Form} parameters, not '{http.Request.ContentType}'");
        }

        var body = await RequestBody.ReadAsync(http);
        parameters.AddRange(SearchCriteria.Parse(System.Text.Encoding.UTF8.GetString(body)));
        return parameters;
    }

    /// <summary>The criteria of a conditional interaction: the query string, without the REST layer's own parameters.</summary>
    private static string Criteria(HttpContext http, string method)
    {
        var criteria = SearchCriteria.From(http.Request.Query).Where(p => !SearchCriteria.ResponseParameters.Contains(p.Key)).ToList();
        if (criteria.Count == 0)
        {
            throw new FhirException(StatusCodes.Status405MethodNotAllowed, OperationOutcome.IssueType.NotSupported,
                $"{method} on a resource type needs search criteria (conditional {method.ToLowerInvariant()}), or use {method} [type]/[id]");
        }

        return SearchCriteria.ToQueryString(criteria);
    }
}
