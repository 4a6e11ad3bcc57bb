using System.Globalization;
using System.Text;
using FhirRecovery.Server.Configuration;
using FhirRecovery.Server.Endpoints;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Security;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Summary;

/// <summary>
/// The recovery operations:
/// <list type="bullet">
/// <item><c>GET|POST Patient/{id}/$recovery-summary</c>: a document Bundle (Composition first), or a printable HTML page
/// with <c>_format=html</c> or <c>Accept: text/html</c>;</item>
/// <item><c>GET|POST [base]/$recovery-orientation</c>, <c>Organization/{id}/$recovery-orientation</c>,
/// <c>Group/{id}/$recovery-orientation</c> with <c>periodStart</c>, <c>periodEnd</c> (dates or instants; in the query
/// or a Parameters body): a MeasureReport.</item>
/// </list>
/// </summary>
public sealed class RecoveryEndpoints : IFhirEndpointModule
{
    public void Map(RouteGroupBuilder fhir)
    {
        fhir.MapGet("/Patient/{id}/$recovery-summary", SummaryAsync).WithName("recovery-summary").WithTags("Operations")
            .WithSummary("$recovery-summary: the person's recovery summary as a FHIR document, or printable HTML (_format=html)")
            .WithMetadata(HtmlRepresentation.Instance);
        fhir.MapPost("/Patient/{id}/$recovery-summary", SummaryAsync).WithName("recovery-summary-post").WithTags("Operations")
            .WithSummary("$recovery-summary (POST)").WithMetadata(HtmlRepresentation.Instance);

        fhir.MapGet("/$recovery-orientation", (HttpContext http, RecoveryOrientationService service, CancellationToken ct) => OrientationAsync(http, null, null, service, ct))
            .WithName("recovery-orientation").WithTags("Operations")
            .WithSummary("$recovery-orientation: coverage of the recovery framework's domains and themes (MeasureReport), over all records");
        fhir.MapPost("/$recovery-orientation", (HttpContext http, RecoveryOrientationService service, CancellationToken ct) => OrientationAsync(http, null, null, service, ct))
            .WithName("recovery-orientation-post").WithTags("Operations").WithSummary("$recovery-orientation (POST, Parameters)");
        foreach (var type in new[] { "Organization", "Group" })
        {
            fhir.MapGet($"/{type}/{{id}}/$recovery-orientation", (HttpContext http, string id, RecoveryOrientationService service, CancellationToken ct) =>
                    OrientationAsync(http, type, id, service, ct))
                .WithName($"recovery-orientation-{type.ToLowerInvariant()}").WithTags("Operations")
                .WithSummary($"$recovery-orientation for the patients of a {type}");
            fhir.MapPost($"/{type}/{{id}}/$recovery-orientation", (HttpContext http, string id, RecoveryOrientationService service, CancellationToken ct) =>
                    OrientationAsync(http, type, id, service, ct))
                .WithName($"recovery-orientation-{type.ToLowerInvariant()}-post").WithTags("Operations")
                .WithSummary($"$recovery-orientation for the patients of a {type} (POST, Parameters)");
        }
    }

    private static async Task<IResult> SummaryAsync(HttpContext http, string id, RecoverySummaryService service, RecoveryFramework framework,
        IOptions<FhirServerOptions> options, CancellationToken cancellationToken)
    {
        if (!ResourceNames.IsValidId(id))
        {
            throw FhirException.NotFound($"Patient/{id} is not known");
        }

        var summary = await service.BuildAsync(id, cancellationToken);
        if (HtmlRepresentation.Requested(http))
        {
            return Results.Text(RecoverySummaryDocument.ToHtml(summary, framework), "text/html; charset=utf-8", Encoding.UTF8);
        }

        return FhirResult.Of(await service.ToDocumentAsync(summary, BaseUrl(http, options.Value), cancellationToken));
    }

    private static async Task<IResult> OrientationAsync(HttpContext http, string? type, string? id, RecoveryOrientationService service, CancellationToken cancellationToken)
    {
        // The counts come from the database in one query per family, not through the per-resource checks of the store.
        http.RequestServices.GetRequiredService<AccessPolicy>()
            .RequirePopulationAccess("$recovery-orientation", "Patient", "Goal", "QuestionnaireResponse", "ServiceRequest");
        if (id is not null && !ResourceNames.IsValidId(id))
        {
            throw FhirException.NotFound($"{type}/{id} is not known");
        }

        var values = SearchCriteria.From(http.Request.Query).Where(p => p.Key is "periodStart" or "periodEnd").ToList();
        if (HttpMethods.IsPost(http.Request.Method) && (http.Request.ContentLength ?? 1) > 0)
        {
            var (resource, _, _) = await RequestBody.ReadResourceAsync(http);
            if (resource is not Parameters parameters)
            {
                throw FhirException.BadRequest($"$recovery-orientation takes a Parameters body, not a {resource.TypeName}", "resourceType");
            }

            values.AddRange(parameters.Parameter.Where(p => p.Name is "periodStart" or "periodEnd")
                .Select(p => new KeyValuePair<string, string>(p.Name!, (p.Value as PrimitiveType)?.ToString() ?? "")));
        }

        var report = await service.EvaluateAsync(new OrientationScope(type, id), Date(values, "periodStart", end: false), Date(values, "periodEnd", end: true), cancellationToken);
        return FhirResult.Of(report);
    }

    /// <summary>A date (a start: its first instant; an end: its last) or an instant; 400 when malformed or repeated.</summary>
    private static DateTimeOffset? Date(List<KeyValuePair<string, string>> values, string name, bool end)
    {
        var given = values.Where(v => v.Key == name).Select(v => v.Value).ToList();
        if (given.Count == 0)
        {
            return null;
        }

        if (given.Count > 1)
        {
            throw FhirException.BadRequest($"{name} is given {given.Count} times; give it once", name);
        }

        var text = given[0].Trim();
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return end ? start.AddDays(1).AddTicks(-TimeSpan.TicksPerMillisecond) : start;
        }

        if (text.Length > 10 && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return instant;
        }

        throw FhirException.BadRequest($"{name} '{text}' is not a date (YYYY-MM-DD) or an instant", name);
    }

    /// <summary>The FHIR base URL (as FhirRequestContext works it out; that one negotiates the format, which HTML requests skip).</summary>
    private static string BaseUrl(HttpContext http, FhirServerOptions options) =>
        (options.PublicBaseUrl ?? $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/fhir").TrimEnd('/');
}
