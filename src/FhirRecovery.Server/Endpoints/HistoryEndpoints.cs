using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;

namespace FhirRecovery.Server.Endpoints;

/// <summary>history at instance, type and system level.</summary>
internal static class HistoryEndpoints
{
    public static void Map(RouteGroupBuilder fhir)
    {
        fhir.MapGet("/{type}/{id}/_history", InstanceAsync).WithName("history-instance").WithSummary("history of a resource (_since, _at, _count)").WithTags("History");
        fhir.MapGet("/{type}/_history", TypeAsync).WithName("history-type").WithSummary("history of a type (_since, _at, _count)").WithTags("History");
        fhir.MapGet("/_history", SystemAsync).WithName("history-system").WithSummary("history of the whole server (_since, _at, _count)").WithTags("History");
    }

    private static async Task<IResult> InstanceAsync(HttpContext http, string type, string id, HistoryService history, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        if (!ResourceNames.IsValidId(id))
        {
            throw FhirException.NotFound($"{type}/{id} is not known");
        }

        return await RunAsync(http, type, id, history, cancellationToken);
    }

    private static async Task<IResult> TypeAsync(HttpContext http, string type, HistoryService history, CancellationToken cancellationToken)
    {
        ResourceNames.RequireType(type);
        return await RunAsync(http, type, null, history, cancellationToken);
    }

    private static Task<IResult> SystemAsync(HttpContext http, HistoryService history, CancellationToken cancellationToken) =>
        RunAsync(http, null, null, history, cancellationToken);

    private static async Task<IResult> RunAsync(HttpContext http, string? type, string? id, HistoryService history, CancellationToken cancellationToken)
    {
        var context = FhirRequestContext.Get(http);
        var bundle = await history.HistoryAsync(type, id, SearchCriteria.From(http.Request.Query), context.BaseUrl, cancellationToken);
        return new FhirResult { Resource = bundle, ApplySubsetting = true };
    }
}
