using System.Globalization;
using FhirRecovery.Server.Endpoints;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Security;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.BulkExport;

/// <summary>
/// Bulk Data Access 2.0 (https://hl7.org/fhir/uv/bulkdata/):
/// <list type="bullet">
/// <item><c>GET|POST [base]/$export</c>, <c>Patient/$export</c>, <c>Group/{id}/$export</c>: kick-off (needs
/// <c>Prefer: respond-async</c>); 202 with <c>Content-Location</c> of the status URL;</item>
/// <item><c>GET [base]/$export-status/{job}</c>: 202 with <c>X-Progress</c> and <c>Retry-After</c> while running, 200 and
/// the manifest when done, 500 and an OperationOutcome when failed; <c>DELETE</c> cancels;</item>
/// <item><c>GET [base]/$export-file/{job}/{n}</c>: an NDJSON file of the manifest.</item>
/// </list>
/// </summary>
public sealed class BulkExportEndpoints : IFhirEndpointModule
{
    public void Map(RouteGroupBuilder fhir)
    {
        (string Path, ExportLevel Level, string Name)[] kickOffs =
        [
            ("/$export", ExportLevel.System, "export"),
            ("/Patient/$export", ExportLevel.Patient, "export-patient"),
            ("/Group/{id}/$export", ExportLevel.Group, "export-group"),
        ];
        foreach (var (path, level, name) in kickOffs)
        {
            fhir.MapGet(path, (HttpContext http, BulkExportJobs jobs, CancellationToken ct) => KickOffAsync(http, level, jobs, ct))
                .WithName(name).WithTags("Bulk Data").WithSummary($"{level}-level Bulk Data export kick-off (Prefer: respond-async)");
            fhir.MapPost(path, (HttpContext http, BulkExportJobs jobs, CancellationToken ct) => KickOffAsync(http, level, jobs, ct))
                .WithName(name + "-post").WithTags("Bulk Data").WithSummary($"{level}-level Bulk Data export kick-off (POST, Parameters)")
                .AcceptsFhir();
        }

        fhir.MapGet("/$export-status/{job}", StatusAsync).WithName("export-status").WithTags("Bulk Data")
            .WithSummary("Bulk Data export status: 202 while running, the manifest when complete");
        fhir.MapDelete("/$export-status/{job}", CancelAsync).WithName("export-cancel").WithTags("Bulk Data")
            .WithSummary("Cancels a Bulk Data export (or deletes a finished one's files)");
        fhir.MapGet("/$export-file/{job}/{file:int}", FileAsync).WithName("export-file").WithTags("Bulk Data")
            .WithSummary("An NDJSON file of a completed Bulk Data export").WithMetadata(NdjsonRepresentation.Instance);
    }

    private static async Task<IResult> KickOffAsync(HttpContext http, ExportLevel level, BulkExportJobs jobs, CancellationToken cancellationToken)
    {
        var request = http.Request;
        if (!request.Headers["Prefer"].Any(h => (h ?? "").Split([',', ';'], StringSplitOptions.TrimEntries).Contains("respond-async", StringComparer.OrdinalIgnoreCase)))
        {
            throw FhirException.BadRequest("$export runs asynchronously: send the header Prefer: respond-async", "Prefer");
        }

        var context = FhirRequestContext.Get(http);
        if (context.Format != FhirFormat.Json)
        {
            throw FhirException.BadRequest($"$export answers in {FhirMediaTypes.Json} only: send Accept: {FhirMediaTypes.Json}", "Accept");
        }

        var parameters = SearchCriteria.From(request.Query);
        if (HttpMethods.IsPost(request.Method) && (request.ContentLength ?? 1) > 0)
        {
            var (resource, _, _) = await RequestBody.ReadResourceAsync(http);
            if (resource is not Parameters body)
            {
                throw FhirException.BadRequest($"$export takes a Parameters body, not a {resource.TypeName}", "resourceType");
            }

            parameters.AddRange(body.Parameter.Select(p => new KeyValuePair<string, string>(p.Name ?? "", p.Value switch
            {
                ResourceReference reference => reference.Reference ?? "",
                PrimitiveType primitive => primitive.ToString() ?? "",
                _ => throw FhirException.BadRequest($"Parameters.parameter '{p.Name}' needs a value[x] of a primitive type or a Reference", "Parameters.parameter"),
            })));
        }

        var groupId = level == ExportLevel.Group ? request.RouteValues["id"] as string : null;
        var requestUrl = context.BaseUrl + request.Path.Value!["/fhir".Length..] + request.QueryString.Value;
        var id = await jobs.KickOffAsync(level, groupId, parameters, requestUrl, Access(http), cancellationToken);
        http.Response.Headers.ContentLocation = BulkExportJobs.StatusUrl(context.BaseUrl, id);
        return FhirResult.Of(Outcomes.Information($"Export job {id} accepted: poll its status at the Content-Location URL"), StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> StatusAsync(HttpContext http, string job, BulkExportJobs jobs, IOptionsMonitor<BulkExportOptions> options,
        CancellationToken cancellationToken)
    {
        var export = await jobs.JobAsync(job, Access(http), cancellationToken);
        switch (export.Status)
        {
            case ExportJobStatus.Queued or ExportJobStatus.Running:
                http.Response.Headers["X-Progress"] = export.Progress ?? "Queued";
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(options.CurrentValue.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return Results.StatusCode(StatusCodes.Status202Accepted);
            case ExportJobStatus.Failed:
                return FhirResult.Outcome(Outcomes.Error(OperationOutcome.IssueType.Exception, $"Export job {job} failed: {export.Error}"),
                    StatusCodes.Status500InternalServerError);
            default:
                if (export.FinishedAt is { } finished)
                {
                    http.Response.Headers.Expires = (finished + options.CurrentValue.FileRetention).ToString("R", CultureInfo.InvariantCulture);
                }

                return Results.Json(await jobs.ManifestAsync(export, FhirRequestContext.Get(http).BaseUrl, cancellationToken), contentType: "application/json");
        }
    }

    private static async Task<IResult> CancelAsync(HttpContext http, string job, BulkExportJobs jobs, CancellationToken cancellationToken)
    {
        await jobs.CancelAsync(job, Access(http), cancellationToken);
        return FhirResult.Of(Outcomes.Information($"Export job {job} is cancelled and its files deleted"), StatusCodes.Status202Accepted);
    }

    private static async System.Threading.Tasks.Task FileAsync(HttpContext http, string job, int file, BulkExportJobs jobs, CancellationToken cancellationToken)
    {
        await jobs.CopyFileAsync(job, file, Access(http), http.Response.Body,
            () => http.Response.ContentType = NdjsonRepresentation.MediaType, cancellationToken);
    }

    private static AccessContext Access(HttpContext http) => http.RequestServices.GetRequiredService<AccessPolicy>().Current;
}
