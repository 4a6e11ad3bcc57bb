using System.Diagnostics;
using System.Text.RegularExpressions;

namespace FhirRecovery.Server.Http;

/// <summary>
/// Gives every request an id (the client's <c>X-Request-Id</c> when it is sane, else a new one), returns it in
/// <c>X-Request-Id</c>, puts it on every log line of the request (a RequestId logging scope; it is also the
/// <see cref="HttpContext.TraceIdentifier"/>), and logs one line per request with status and duration.
/// </summary>
public sealed partial class RequestIdMiddleware(RequestDelegate next, ILogger<RequestIdMiddleware> logger)
{
    public const string Header = "X-Request-Id";

    public async System.Threading.Tasks.Task InvokeAsync(HttpContext http)
    {
        var incoming = http.Request.Headers[Header].FirstOrDefault();
        var id = incoming is not null && SafeId().IsMatch(incoming) ? incoming : Guid.NewGuid().ToString("N");
        http.TraceIdentifier = id;
        http.Response.OnStarting(() =>
        {
            http.Response.Headers[Header] = id;
            return System.Threading.Tasks.Task.CompletedTask;
        });

        using (logger.BeginScope("RequestId:{RequestId}", id))
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(http);
            }
            finally
            {
                logger.LogInformation("{Method} {Path}{Query} answered {Status} in {ElapsedMs:0.0} ms",
                    http.Request.Method, http.Request.Path, http.Request.QueryString, http.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
    }

    // Ids end up in logs and headers: only short, plain ones are taken over.
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex SafeId();
}
