using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Validation;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;

namespace FhirRecovery.Server.Endpoints;

/// <summary>
/// <c>$validate</c> at type and instance level: the body is the resource or a Parameters with <c>resource</c>,
/// <c>mode</c> (create, update, delete) and <c>profile</c>. Answers 200 with the OperationOutcome whatever the verdict
/// (a 4xx means the validation itself could not be done).
/// </summary>
internal static class ValidateEndpoints
{
    public static void Map(RouteGroupBuilder fhir)
    {
        fhir.MapPost("/$validate", (HttpContext http, ConformanceEngine engine, IResourceStore store, CancellationToken ct) => ValidateAsync(http, null, null, engine, store, ct))
            .WithName("validate-system").WithSummary("$validate a resource of any type").WithTags("Operations");
        fhir.MapPost("/{type}/$validate", (HttpContext http, string type, ConformanceEngine engine, IResourceStore store, CancellationToken ct) => ValidateAsync(http, type, null, engine, store, ct))
            .WithName("validate-type").WithSummary("$validate a resource against the base definition, its meta.profile and a profile parameter").WithTags("Operations");
        fhir.MapPost("/{type}/{id}/$validate", (HttpContext http, string type, string id, ConformanceEngine engine, IResourceStore store, CancellationToken ct) => ValidateAsync(http, type, id, engine, store, ct))
            .WithName("validate-instance").WithSummary("$validate for an update or delete of this resource").WithTags("Operations");
        fhir.MapGet("/{type}/{id}/$validate", (HttpContext http, string type, string id, ConformanceEngine engine, IResourceStore store, CancellationToken ct) => ValidateAsync(http, type, id, engine, store, ct))
            .WithName("validate-stored").WithSummary("$validate the stored resource").WithTags("Operations");
    }

    private static async Task<IResult> ValidateAsync(HttpContext http, string? type, string? id, ConformanceEngine engine, IResourceStore store, CancellationToken cancellationToken)
    {
        if (type is not null)
        {
            ResourceNames.RequireType(type);
        }

        var query = http.Request.Query;
        var mode = query["mode"].LastOrDefault();
        var profiles = query["profile"].OfType<string>().ToList();
        ReadOnlyMemory<byte>? content = null;
        var format = FhirFormat.Json;
        Resource? resource = null;

        var body = HttpMethods.IsPost(http.Request.Method) ? await RequestBody.ReadAsync(http) : [];
        if (body.Length > 0)
        {
            format = FhirMediaTypes.RequestFormat(http.Request, body);
            if (WriteValidation.SniffResourceType(body, format) == "Parameters" && type != "Parameters")
            {
                var parameters = (Parameters)FhirSerialization.Parse(body, format);
                resource = parameters.Parameter.FirstOrDefault(p => p.Name == "resource")?.Resource;
                mode = (parameters.Parameter.FirstOrDefault(p => p.Name == "mode")?.Value as PrimitiveType)?.ToString() ?? mode;
                profiles.AddRange(parameters.Parameter.Where(p => p.Name == "profile").Select(p => (p.Value as PrimitiveType)?.ToString()).OfType<string>());
            }
            else
            {
                content = body;
            }
        }

        if (mode is not (null or "create" or "update" or "delete" or "profile"))
        {
            throw FhirException.BadRequest($"$validate mode '{mode}' is not one of create, update, delete, profile", "mode");
        }

        foreach (var profile in profiles.Where(p => !engine.Definitions.Contains(p)))
        {
            throw FhirException.BadRequest($"$validate profile '{profile}' is not known to this server", "profile");
        }

        if (mode == "delete")
        {
            return await ValidateDeleteAsync(type, id, store, cancellationToken);
        }

        if (content is null && resource is null)
        {
            if (id is null || type is null)
            {
                throw FhirException.BadRequest("$validate needs the resource: in the body, or as the 'resource' parameter of a Parameters");
            }

            // GET [type]/[id]/$validate: the stored version.
            var stored = await store.ReadAsync(type, id, cancellationToken);
            if (stored is null || stored.IsDeleted)
            {
                throw stored is null ? FhirException.NotFound($"{type}/{id} is not known") : FhirException.Gone($"{type}/{id} was deleted");
            }

            content = stored.Json;
        }

        var result = content is { } bytes
            ? engine.Validator.Validate(bytes, format == FhirFormat.Xml ? ResourceFormat.Xml : ResourceFormat.Json, profiles)
            : engine.Validator.Validate(resource!, profiles);
        var outcome = result.ToOperationOutcome();
        if (result.Resource is { } validated)
        {
            if (type is not null && validated.TypeName != type)
            {
                throw FhirException.BadRequest($"The resource is a {validated.TypeName}, but $validate was called on {type}", "resourceType");
            }

            if (mode == "update")
            {
                CheckUpdate(validated, id, outcome);
            }
        }

        return FhirResult.Of(outcome);
    }

    private static void CheckUpdate(Resource resource, string? id, OperationOutcome outcome)
    {
        var message = string.IsNullOrEmpty(resource.Id)
            ? "mode=update: the resource has no id"
            : id is not null && resource.Id != id ? $"mode=update: the resource's id '{resource.Id}' is not the id of the URL ('{id}')" : null;
        if (message is not null)
        {
            outcome.Issue.RemoveAll(i => i.Severity == OperationOutcome.IssueSeverity.Information && i.Code == OperationOutcome.IssueType.Informational);
            outcome.Issue.Add(Outcomes.Error(OperationOutcome.IssueType.Invalid, message, $"{resource.TypeName}.id").Issue[0]);
        }
    }

    private static async Task<IResult> ValidateDeleteAsync(string? type, string? id, IResourceStore store, CancellationToken cancellationToken)
    {
        if (type is null || id is null)
        {
            throw FhirException.BadRequest("$validate with mode=delete is called on the resource: [type]/[id]/$validate", "mode");
        }

        var current = await store.ReadAsync(type, id, cancellationToken);
        if (current is null || current.IsDeleted)
        {
            throw current is null ? FhirException.NotFound($"{type}/{id} is not known") : FhirException.Gone($"{type}/{id} is already deleted");
        }

        // The store keeps no referential integrity: any live resource may be deleted.
        return FhirResult.Of(Outcomes.Information($"{type}/{id} can be deleted"));
    }
}
