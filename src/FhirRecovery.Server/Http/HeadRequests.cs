using Microsoft.AspNetCore.Routing;

namespace FhirRecovery.Server.Http;

/// <summary>
/// HEAD as HTTP defines it (RFC 9110 §9.3.2) for every GET of the FHIR API (read, vread, search, history, metadata,
/// operations): the same status and headers (ETag, Last-Modified, Content-Type, Content-Length), no body.
/// </summary>
public static class HeadRequests
{
    /// <summary>Lets every GET endpoint of <paramref name="group"/> answer HEAD too (the same handler runs).</summary>
    public static void AllowHeadWhereGet(RouteGroupBuilder group) =>
        ((IEndpointConventionBuilder)group).Add(endpoint =>
        {
            var methods = endpoint.Metadata.OfType<HttpMethodMetadata>().LastOrDefault();
            if (methods is not null && methods.HttpMethods.Contains(HttpMethods.Get) && !methods.HttpMethods.Contains(HttpMethods.Head))
            {
                endpoint.Metadata.Add(new HttpMethodMetadata([.. methods.HttpMethods, HttpMethods.Head], methods.AcceptCorsPreflight));
            }
        });
}

/// <summary>
/// Drops the body of every HEAD answer (errors included), whatever writes it. Kestrel discards it too, but not every
/// host does (the test server, other servers behind IIS), and a handler need not know.
/// </summary>
public sealed class HeadRequestMiddleware(RequestDelegate next)
{
    public async System.Threading.Tasks.Task InvokeAsync(HttpContext http)
    {
        if (!HttpMethods.IsHead(http.Request.Method))
        {
            await next(http);
            return;
        }

        var body = http.Response.Body;
        http.Response.Body = Stream.Null;
        try
        {
            await next(http);
        }
        finally
        {
            http.Response.Body = body;
        }
    }
}
