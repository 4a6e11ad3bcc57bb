using FhirRecovery.Conformance;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Endpoints;

/// <summary>
/// The terminology operations over the local terminology service, at type and instance level, by GET (parameters in the
/// query) or POST (a Parameters body): ValueSet $expand and $validate-code, CodeSystem $lookup, $validate-code and
/// $subsumes, ConceptMap $translate.
/// </summary>
internal static class TerminologyEndpoints
{
    private delegate Parameters Operation(ConformanceEngine engine, Parameters input, Resource? instance);

    private sealed record Definition(string Type, string Name, string CanonicalParameter, Operation Run, string Summary);

    private static readonly Definition[] Operations =
    [
        new("ValueSet", "expand", "url", (e, p, r) => e.Terminology.ExpandOperation(p, r as ValueSet), "ValueSet $expand"),
        new("ValueSet", "validate-code", "url", (e, p, r) => e.Terminology.ValueSetValidateCodeOperation(p, r as ValueSet), "ValueSet $validate-code"),
        new("CodeSystem", "lookup", "system", (e, p, r) => e.Terminology.LookupOperation(p, r as CodeSystem), "CodeSystem $lookup"),
        new("CodeSystem", "validate-code", "url", (e, p, r) => e.Terminology.CodeSystemValidateCodeOperation(p, r as CodeSystem), "CodeSystem $validate-code"),
        new("CodeSystem", "subsumes", "system", (e, p, r) => e.Terminology.SubsumesOperation(p, r as CodeSystem), "CodeSystem $subsumes"),
        new("ConceptMap", "translate", "url", (e, p, r) => e.Terminology.TranslateOperation(p, r as ConceptMap), "ConceptMap $translate"),
    ];

    public static void Map(RouteGroupBuilder fhir)
    {
        foreach (var operation in Operations)
        {
            var typeLevel = $"/{operation.Type}/${operation.Name}";
            var instanceLevel = $"/{operation.Type}/{{id}}/${operation.Name}";
            fhir.MapMethods(typeLevel, ["GET", "POST"], (HttpContext http, ConformanceEngine engine, IResourceStore store, CancellationToken ct) =>
                    RunAsync(http, operation, null, engine, store, ct))
                .WithName($"{operation.Type}-{operation.Name}").WithSummary(operation.Summary).WithTags("Terminology");
            fhir.MapMethods(instanceLevel, ["GET", "POST"], (HttpContext http, string id, ConformanceEngine engine, IResourceStore store, CancellationToken ct) =>
                    RunAsync(http, operation, id, engine, store, ct))
                .WithName($"{operation.Type}-{operation.Name}-instance").WithSummary(operation.Summary + " on a stored resource").WithTags("Terminology");
        }
    }

    private static async Task<IResult> RunAsync(HttpContext http, Definition operation, string? id, ConformanceEngine engine, IResourceStore store, CancellationToken cancellationToken)
    {
        var input = await InputAsync(http);
        Resource? instance = null;
        if (id is not null)
        {
            var stored = await store.ReadAsync(operation.Type, id, cancellationToken);
            if (stored is null || stored.IsDeleted)
            {
                throw stored is null ? FhirException.NotFound($"{operation.Type}/{id} is not known") : FhirException.Gone($"{operation.Type}/{id} was deleted");
            }

            instance = FhirSerialization.ParseStored(stored.Json!);
        }
        else if (input.Parameter.FirstOrDefault(p => p.Name == operation.CanonicalParameter)?.Value is PrimitiveType { } canonical
                 && canonical.ToString() is { Length: > 0 } url && !engine.Definitions.Contains(url))
        {
            // A definition written through the API (not part of the loaded IG): use the stored one.
            instance = await FindStoredAsync(store, operation.Type, url, cancellationToken);
        }

        return FhirResult.Of(operation.Run(engine, input, instance));
    }

    /// <summary>GET: the query string as parameters; POST: a Parameters body.</summary>
    private static async Task<Parameters> InputAsync(HttpContext http)
    {
        var parameters = new Parameters();
        foreach (var (name, value) in SearchCriteria.From(http.Request.Query).Where(p => !SearchCriteria.ResponseParameters.Contains(p.Key)))
        {
            parameters.Parameter.Add(new Parameters.ParameterComponent { Name = name, Value = new FhirString(value) });
        }

        if (HttpMethods.IsPost(http.Request.Method))
        {
            var (resource, _, _) = await RequestBody.ReadResourceAsync(http);
            if (resource is not Parameters body)
            {
                throw FhirException.BadRequest($"The body of a terminology operation is a Parameters resource, not a {resource.TypeName}", "resourceType");
            }

            parameters.Parameter.AddRange(body.Parameter);
        }

        return parameters;
    }

    private static async Task<Resource?> FindStoredAsync(IResourceStore store, string type, string canonical, CancellationToken cancellationToken)
    {
        var (url, version) = Conformance.Definitions.DefinitionResolver.SplitCanonical(canonical);
        List<KeyValuePair<string, string>> parameters = [new("url", url), new("_count", "1")];
        if (version is not null)
        {
            parameters.Add(new("version", version));
        }

        var result = await store.SearchAsync(new SearchRequest { ResourceType = type, Parameters = parameters }, cancellationToken);
        return result.Matches.FirstOrDefault() is { Json: { } json } ? FhirSerialization.ParseStored(json) : null;
    }
}
