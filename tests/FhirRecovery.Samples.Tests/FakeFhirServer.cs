using FhirRecovery.Cli.Verbs;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace FhirRecovery.Samples.Tests;

/// <summary>A request the fake server received.</summary>
public sealed record RecordedRequest(HttpMethod Method, Uri Uri, string Body, string? ContentType, string? Authorization, string? Prefer, string? Accept, string? Import = null)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    /// <summary>"METHOD url" of each entry.</summary>
    public List<string> Entries => Json.GetProperty("entry").EnumerateArray()
        .Select(e => $"{e.GetProperty("request").GetProperty("method").GetString()} {e.GetProperty("request").GetProperty("url").GetString()}")
        .ToList();
}

/// <summary>
/// An HTTP handler standing in for a FHIR server: records every request and answers from a script (status, body,
/// Retry-After), or a successful transaction-response when the script is used up; a scripted null throws a network error.
/// </summary>
public sealed class FakeFhirServer : HttpMessageHandler
{
    private readonly ConcurrentQueue<Func<RecordedRequest, HttpResponseMessage>?> _script = new();

    public List<RecordedRequest> Requests { get; } = [];

    public FakeFhirServer Then(HttpStatusCode status, string? body = null, TimeSpan? retryAfter = null)
    {
        _script.Enqueue(_ =>
        {
            var response = new HttpResponseMessage(status) { Content = new StringContent(body ?? "", Encoding.UTF8, "application/fhir+json") };
            if (retryAfter is { } delay)
            {
                response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(delay);
            }

            return response;
        });
        return this;
    }

    public FakeFhirServer ThenNetworkError()
    {
        _script.Enqueue(null);
        return this;
    }

    public FakeFhirServer Then(Func<RecordedRequest, HttpResponseMessage> answer)
    {
        _script.Enqueue(answer);
        return this;
    }

    public static string Outcome(string diagnostics) =>
        JsonSerializer.Serialize(new { resourceType = "OperationOutcome", issue = new[] { new { severity = "error", code = "processing", diagnostics } } });

    /// <summary>A transaction-response: one entry per request entry, 201 for the first time an id is seen, else 200.</summary>
    public static HttpResponseMessage Success(RecordedRequest request, HashSet<string> seen)
    {
        var entries = request.Entries.Select(e => new { response = new { status = seen.Add(e) ? "201 Created" : "200 OK" } }).ToArray();
        var body = JsonSerializer.Serialize(new { resourceType = "Bundle", type = "transaction-response", entry = entries });
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/fhir+json") };
    }

    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var recorded = new RecordedRequest(
            request.Method,
            request.RequestUri!,
            request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken),
            request.Content?.Headers.ContentType?.MediaType,
            request.Headers.Authorization?.ToString(),
            request.Headers.TryGetValues("Prefer", out var prefer) ? string.Join(",", prefer) : null,
            request.Headers.Accept.ToString(),
            request.Headers.TryGetValues(FhirLoader.HistoryImportHeader, out var import) ? string.Join(",", import) : null);
        lock (Requests)
        {
            Requests.Add(recorded);
        }

        if (!_script.TryDequeue(out var answer))
        {
            return Success(recorded, _seen);
        }

        return answer is null ? throw new HttpRequestException("Connection refused (fake)") : answer(recorded);
    }
}
