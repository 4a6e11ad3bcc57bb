using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Endpoints;

/// <summary>System-level interactions: capabilities, batch/transaction, search across types, and unknown operations.</summary>
internal static class SystemEndpoints
{
    public static void Map(RouteGroupBuilder fhir)
    {
        fhir.MapGet("/metadata", Capabilities).WithName("capabilities").WithSummary("capabilities: the CapabilityStatement").WithTags("System");
        fhir.MapPost("/", BatchOrTransactionAsync).WithName("batch-transaction").WithSummary("batch or transaction (a Bundle)").WithTags("System")
            .AcceptsFhir();
        fhir.MapGet("/", SearchAsync).WithName("search-system").WithSummary("search across all types (GET)").WithTags("Search");
        fhir.MapPost("/_search", SearchWithPostAsync).WithName("search-system-post").WithSummary("search across all types (POST, form-encoded)").WithTags("Search");
    }

    private static IResult Capabilities(HttpContext http, CapabilityStatementBuilder capabilities)
    {
        var context = FhirRequestContext.Get(http);
        return Subsetting.FromQuery(http.Request.Query).IsNone
            ? new FhirResult { Serialized = capabilities.Serialized(context.BaseUrl, context.Format, context.Pretty) }
            : new FhirResult { Resource = capabilities.Get(context.BaseUrl), ApplySubsetting = true };
    }

    private static async Task<IResult> BatchOrTransactionAsync(HttpContext http, BundleProcessor processor, CancellationToken cancellationToken)
    {
        var context = FhirRequestContext.Get(http);
        var (resource, _, _) = await RequestBody.ReadResourceAsync(http);
        if (resource is not Bundle bundle)
        {
            throw FhirException.BadRequest($"POST to the base takes a batch or transaction Bundle, not a {resource.TypeName}", "resourceType");
        }

        var mode = HistoryImport.ModeOf(http.Request);
        if (mode == WriteMode.HistoryImport)
        {
            HistoryImport.Authorize(Security.CurrentAccess.Caller, bundle);
        }

        var response = await processor.ProcessAsync(bundle,
            new BundleContext(context.BaseUrl, context.Return ?? PreferReturn.Representation, context.Handling, mode), cancellationToken);
        return FhirResult.Of(response);
    }

    private static Task<IResult> SearchAsync(HttpContext http, SearchService search, CancellationToken cancellationToken) =>
        TypeEndpoints.RunSearchAsync(http, null, null, SearchCriteria.From(http.Request.Query), search, cancellationToken);

    private static async Task<IResult> SearchWithPostAsync(HttpContext http, SearchService search, CancellationToken cancellationToken) =>
        await TypeEndpoints.RunSearchAsync(http, null, null, await TypeEndpoints.QueryAndFormAsync(http), search, cancellationToken);

    /// <summary>An operation the server does not have (<c>$x</c> in the path where no endpoint takes it).</summary>
    public static FhirException UnknownOperation(string operation) =>
        FhirException.NotSupported($"Operation {operation} is not supported here (see the CapabilityStatement at /fhir/metadata)");
}
