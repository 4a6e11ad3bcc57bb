using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Diagnostics;

namespace FhirRecovery.Server.Http;

/// <summary>
/// Every error answer carries an OperationOutcome: client mistakes (<see cref="FhirException"/>, Kestrel's
/// <see cref="BadHttpRequestException"/> such as 413) with their status, anything unexpected as a 500 that says no
/// more than the request id (the exception is logged with it).
/// </summary>
public sealed class FhirErrorMiddleware(RequestDelegate next, ILogger<FhirErrorMiddleware> logger)
{
    public async System.Threading.Tasks.Task InvokeAsync(HttpContext http)
    {
        try
        {
            await next(http);
        }
        catch (Exception exception) when (!http.Response.HasStarted && Interactions.StoreErrors.ToFhir(exception) is { } ex)
        {
            await WriteAsync(http, ex.Status, ex.Outcome, ex.Headers);
        }
        catch (BadHttpRequestException ex) when (!http.Response.HasStarted)
        {
            var code = ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? OperationOutcome.IssueType.TooLong : OperationOutcome.IssueType.Invalid;
            await WriteAsync(http, ex.StatusCode, Outcomes.Error(code, ex.Message));
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody to answer.
        }
        catch (Exception ex) when (!http.Response.HasStarted)
        {
            logger.LogError(ex, "Unhandled error in {Method} {Path} (request {RequestId})", http.Request.Method, http.Request.Path, http.TraceIdentifier);
            await WriteAsync(http, StatusCodes.Status500InternalServerError, Outcomes.Error(OperationOutcome.IssueType.Exception,
                $"The server could not process the request because of an internal error. Quote request id {http.TraceIdentifier} when reporting it."));
        }
    }

    public static System.Threading.Tasks.Task WriteAsync(HttpContext http, int status, OperationOutcome outcome, IDictionary<string, string>? headers = null)
    {
        http.Response.Clear();
        http.Response.StatusCode = status;
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            http.Response.Headers[name] = value;
        }

        var format = FhirRequestContext.ErrorFormat(http);
        var bytes = FhirSerialization.Serialize(outcome, format);
        http.Response.ContentType = FhirMediaTypes.ContentType(format);
        http.Response.ContentLength = bytes.Length;
        return http.Response.Body.WriteAsync(bytes, http.RequestAborted).AsTask();
    }

    /// <summary>For answers produced without a body (routing's 404 and 405): an OperationOutcome saying what happened.</summary>
    public static System.Threading.Tasks.Task WriteStatusCodePageAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        var last = http.Request.Path.Value?.Split('/', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (status is StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed && last is ['$', ..])
        {
            // Routing found no endpoint for "$x": say that the operation is unknown, not that the URL is.
            var unknown = Endpoints.SystemEndpoints.UnknownOperation(last);
            return WriteAsync(http, unknown.Status, unknown.Outcome);
        }

        var (code, message) = status switch
        {
            StatusCodes.Status404NotFound => (OperationOutcome.IssueType.NotFound, $"No FHIR endpoint at {http.Request.Path}"),
            StatusCodes.Status405MethodNotAllowed => (OperationOutcome.IssueType.NotSupported, $"{http.Request.Method} is not allowed on {http.Request.Path}"),
            StatusCodes.Status413PayloadTooLarge => (OperationOutcome.IssueType.TooLong, "The request body is too large"),
            StatusCodes.Status415UnsupportedMediaType => (OperationOutcome.IssueType.NotSupported, $"Content-Type '{http.Request.ContentType}' is not supported here"),
            _ => (OperationOutcome.IssueType.Processing, $"HTTP {status}"),
        };
        return WriteAsync(http, status, Outcomes.Error(code, message));
    }
}
