using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Questionnaires;
using FhirRecovery.Server.Endpoints;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;

namespace FhirRecovery.Server.Questionnaires;

/// <summary>
/// SDC operations:
/// <list type="bullet">
/// <item><c>POST QuestionnaireResponse/$extract</c> (body: the response, or a Parameters with <c>questionnaire-response</c>
/// and optionally <c>questionnaire</c>) and <c>GET|POST QuestionnaireResponse/{id}/$extract</c> (the stored response):
/// observation-based extraction, answered with the transaction Bundle of Observations (or, when some flagged items
/// could not be extracted, a Parameters with <c>return</c> and <c>issues</c>). The response is validated against its
/// questionnaire first (422 with the OperationOutcome when it has errors) and scored, so the Observations carry the
/// questionnaire's scores.</item>
/// <item><c>POST Questionnaire/$populate</c> (Parameters: <c>questionnaire</c> resource, or <c>canonical</c>/<c>url</c>/
/// <c>questionnaireRef</c>; <c>subject</c> Reference, required; <c>context</c> with <c>name</c> and <c>content</c>
/// Reference or resource, also as <c>launchContext</c>) and <c>GET|POST Questionnaire/{id}/$populate</c> (GET:
/// <c>?subject=Patient/x</c>): answered with a Parameters holding <c>response</c> (an in-progress
/// QuestionnaireResponse) and, when something could not be filled, <c>issues</c>.</item>
/// </list>
/// </summary>
public sealed class QuestionnaireEndpoints : IFhirEndpointModule
{
    public void Map(RouteGroupBuilder fhir)
    {
        fhir.MapPost("/QuestionnaireResponse/$extract", ExtractAsync).WithName("questionnaireresponse-extract").WithTags("Operations")
            .WithSummary("SDC $extract (observation-based) of the QuestionnaireResponse in the body");
        fhir.MapPost("/QuestionnaireResponse/{id}/$extract", ExtractStoredAsync).WithName("questionnaireresponse-extract-instance").WithTags("Operations")
            .WithSummary("SDC $extract (observation-based) of a stored QuestionnaireResponse");
        fhir.MapGet("/QuestionnaireResponse/{id}/$extract", ExtractStoredAsync).WithName("questionnaireresponse-extract-instance-get").WithTags("Operations")
            .WithSummary("SDC $extract (observation-based) of a stored QuestionnaireResponse");
        fhir.MapPost("/Questionnaire/$populate", (HttpContext http, QuestionnaireOperations operations, CancellationToken ct) => PopulateAsync(http, null, operations, ct))
            .WithName("questionnaire-populate").WithTags("Operations")
            .WithSummary("SDC $populate: a pre-filled QuestionnaireResponse from the subject's goals and observations");
        fhir.MapPost("/Questionnaire/{id}/$populate", (HttpContext http, string id, QuestionnaireOperations operations, CancellationToken ct) => PopulateAsync(http, id, operations, ct))
            .WithName("questionnaire-populate-instance").WithTags("Operations").WithSummary("SDC $populate of a stored Questionnaire");
        fhir.MapGet("/Questionnaire/{id}/$populate", (HttpContext http, string id, QuestionnaireOperations operations, CancellationToken ct) => PopulateAsync(http, id, operations, ct))
            .WithName("questionnaire-populate-instance-get").WithTags("Operations").WithSummary("SDC $populate of a stored Questionnaire (?subject=Patient/x)");
    }

    private static async Task<IResult> ExtractAsync(HttpContext http, QuestionnaireOperations operations, CancellationToken cancellationToken)
    {
        var (resource, _, _) = await RequestBody.ReadResourceAsync(http);
        Questionnaire? questionnaire = null;
        if (resource is Parameters parameters)
        {
            questionnaire = parameters.Parameter.FirstOrDefault(p => p.Name == "questionnaire")?.Resource as Questionnaire;
            resource = parameters.Parameter.FirstOrDefault(p => p.Name == "questionnaire-response")?.Resource
                       ?? throw FhirException.BadRequest("$extract needs the QuestionnaireResponse: the body, or the 'questionnaire-response' parameter", "questionnaire-response");
        }

        if (resource is not QuestionnaireResponse response)
        {
            throw FhirException.BadRequest($"$extract works on a QuestionnaireResponse, not a {resource.TypeName}", "questionnaire-response");
        }

        return FhirResult.Of(await operations.ExtractAsync(response, questionnaire, null, cancellationToken));
    }

    private static async Task<IResult> ExtractStoredAsync(HttpContext http, string id, QuestionnaireOperations operations, IResourceStore store, CancellationToken cancellationToken)
    {
        var stored = ResourceNames.IsValidId(id) ? await store.ReadAsync("QuestionnaireResponse", id, cancellationToken) : null;
        if (stored is null || stored.IsDeleted || stored.Json is null)
        {
            throw stored is { IsDeleted: true } ? FhirException.Gone($"QuestionnaireResponse/{id} was deleted") : FhirException.NotFound($"QuestionnaireResponse/{id} is not known");
        }

        var response = (QuestionnaireResponse)FhirSerialization.ParseStored(stored.Json);
        return FhirResult.Of(await operations.ExtractAsync(response, null, $"QuestionnaireResponse/{id}", cancellationToken));
    }

    private static async Task<IResult> PopulateAsync(HttpContext http, string? id, QuestionnaireOperations operations, CancellationToken cancellationToken)
    {
        var request = new PopulateRequest();
        if (HttpMethods.IsPost(http.Request.Method) && http.Request.ContentLength is not 0)
        {
            var body = await RequestBody.ReadAsync(http);
            if (body.Length > 0)
            {
                var parsed = FhirSerialization.Parse(body, FhirMediaTypes.RequestFormat(http.Request, body));
                request = parsed is Parameters parameters
                    ? PopulateRequest.From(parameters)
                    : throw FhirException.BadRequest($"$populate takes a Parameters body, not a {parsed.TypeName}");
            }
        }

        foreach (var subject in http.Request.Query["subject"].OfType<string>())
        {
            request.Subject ??= new ResourceReference(subject);
        }

        request.Canonical ??= http.Request.Query["canonical"].LastOrDefault() ?? http.Request.Query["url"].LastOrDefault();
        return FhirResult.Of(await operations.PopulateAsync(id, request, cancellationToken));
    }
}

/// <summary>The inputs of $populate, from a Parameters body and the query.</summary>
public sealed class PopulateRequest
{
    public Questionnaire? Questionnaire { get; set; }

    public string? Canonical { get; set; }

    public ResourceReference? Subject { get; set; }

    public List<(string Name, DataType? Reference, Resource? Resource)> Contexts { get; } = [];

    public static PopulateRequest From(Parameters parameters)
    {
        var request = new PopulateRequest();
        foreach (var parameter in parameters.Parameter)
        {
            switch (parameter.Name)
            {
                case "questionnaire":
                    request.Questionnaire = parameter.Resource as Questionnaire
                                            ?? throw FhirException.BadRequest("$populate: 'questionnaire' must be a Questionnaire resource", "questionnaire");
                    break;
                case "canonical" or "url" or "questionnaireRef":
                    request.Canonical = parameter.Value switch
                    {
                        ResourceReference reference => reference.Reference,
                        PrimitiveType primitive => primitive.ToString(),
                        _ => null,
                    };
                    break;
                case "subject":
                    request.Subject = parameter.Value as ResourceReference
                                      ?? throw FhirException.BadRequest("$populate: 'subject' must be a Reference (valueReference)", "subject");
                    break;
                case "context" or "launchContext":
                    var name = (parameter.Part.FirstOrDefault(p => p.Name == "name")?.Value as PrimitiveType)?.ToString() switch
                    {
                        { Length: > 0 } text => text,
                        _ => (parameter.Part.FirstOrDefault(p => p.Name == "name")?.Value as Coding)?.Code,
                    };
                    var content = parameter.Part.FirstOrDefault(p => p.Name == "content");
                    if (name is null || content is null)
                    {
                        throw FhirException.BadRequest("$populate: each 'context' needs a 'name' and a 'content' (Reference or resource)", "context");
                    }

                    request.Contexts.Add((name, content.Value, content.Resource));
                    break;
            }
        }

        return request;
    }
}
