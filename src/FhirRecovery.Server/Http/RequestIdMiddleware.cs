using System.Diagnostics;
using System.Text.RegularExpressions;

namespace FhirRecovery.Server.Http;

/// <summary>
/// Gives every request an id (the client's <c>X-Request-Id</c> when it is sane, else a new one), returns it in
/// <c>X-Request-Id</c>, puts it on every log line of the request (a RequestId logging scope; it is also the
/// <see cref="HttpContext.TraceIdentifier"/>), and logs one line per request with status and duration: a server error as
/// Warning, a refused request or one slower than a second as Information, any other at Debug.
/// </summary>
/// <remarks>
/// Successful requests are Debug because the audit trail already records every FHIR request (who, what, outcome, time),
/// and a console line per request cost about a fifth of the CPU of a read (formatting, then the logger thread's writes).
/// <c>Logging:LogLevel:FhirRecovery.Server.Http.RequestIdMiddleware=Debug</c> turns the full access log on.
/// </remarks>
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
                var elapsed = Stopwatch.GetElapsedTime(started);
                var status = http.Response.StatusCode;
                var level = status >= 500 ? LogLevel.Warning
                    : status >= 400 || elapsed >= SlowRequest ? LogLevel.Information
                    : LogLevel.Debug;
                if (logger.IsEnabled(level))
                {
                    Answered(logger, level, http.Request.Method, http.Request.Path, http.Request.QueryString, status, elapsed.TotalMilliseconds);
                }
            }
        }
    }

    private static readonly TimeSpan SlowRequest = TimeSpan.FromSeconds(1);

    [LoggerMessage(EventId = 1, Message = "{Method} {Path}{Query} answered {Status} in {ElapsedMs:0.0} ms")]
    private static partial void Answered(ILogger logger, LogLevel level, string method, PathString path, QueryString query, int status, double elapsedMs);

    // Ids end up in logs and headers: only short, plain ones are taken over.
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex SafeId();
}
