using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Security;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Audit;

/// <summary>
/// Records an AuditEvent for every FHIR request (read, search, write, operation), refusals included: it sits outside the
/// authorization middleware, so a 401 or 403 is audited like a success. Discovery (/metadata, smart-configuration) is not.
/// </summary>
public sealed class AuditMiddleware(RequestDelegate next, AuditTrail trail, IOptionsMonitor<AuditOptions> options, TimeProvider clock)
{
    private static readonly HashSet<string> NotAudited = new(StringComparer.Ordinal) { "capabilities", "smart-configuration" };

    public async System.Threading.Tasks.Task InvokeAsync(HttpContext http)
    {
        if (!options.CurrentValue.Enabled || !http.Request.Path.StartsWithSegments("/fhir") || HttpMethods.IsOptions(http.Request.Method))
        {
            await next(http);
            return;
        }

        var endpoint = http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
        if (endpoint is not null && NotAudited.Contains(endpoint))
        {
            await next(http);
            return;
        }

        var started = clock.GetUtcNow();
        int? status = null;
        string? error = null;
        try
        {
            await next(http);
        }
        catch (Exception ex)
        {
            var failure = StoreErrors.ToFhir(ex);
            status = failure?.Status ?? StatusCodes.Status500InternalServerError;
            error = failure?.Outcome.Issue.FirstOrDefault()?.Diagnostics;
            throw;
        }
        finally
        {
            await trail.RecordAsync(Record(http, endpoint, status ?? http.Response.StatusCode, error, started));
        }
    }

    private AuditRecord Record(HttpContext http, string? endpoint, int status, string? error, DateTimeOffset started)
    {
        var request = http.Request;
        var route = request.RouteValues;
        var type = route.TryGetValue("type", out var t) ? t as string : null;
        var id = route.TryGetValue("id", out var i) ? i as string : null;
        var access = http.Items.TryGetValue(FhirAuthorizationMiddleware.ItemKey, out var a) ? a as AccessContext : null;

        // The resource: from the URL, or for writes from Location (which carries the new version).
        string? resource = null;
        if (http.Response.Headers.Location.FirstOrDefault() is { } location && status < 300)
        {
            resource = AccessContext.RelativeReference(location) is { } reference && location.Contains("/_history/", StringComparison.Ordinal)
                ? $"{reference}/_history/{location[(location.LastIndexOf('/') + 1)..]}"
                : AccessContext.RelativeReference(location);
        }
        else if (type is not null && id is not null && ResourceNames.IsResourceType(type) && ResourceNames.IsValidId(id))
        {
            resource = route.TryGetValue("vid", out var vid) && vid is string version ? $"{type}/{id}/_history/{version}" : $"{type}/{id}";
        }

        var query = request.QueryString.HasValue ? request.QueryString.Value![1..] : null;
        return new AuditRecord(
            endpoint,
            request.Method,
            request.Path.Value ?? "",
            query,
            resource,
            status,
            status >= 400 ? error : null,
            access?.ToSnapshot(),
            AuditEventFactory.PatientsOf(access, type, id, route, request.Query),
            http.Connection.RemoteIpAddress?.ToString(),
            request.Host.Value,
            started,
            clock.GetUtcNow());
    }
}
