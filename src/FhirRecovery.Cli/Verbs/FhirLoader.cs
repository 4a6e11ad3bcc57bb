using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace FhirRecovery.Cli.Verbs;

/// <summary>How the loader talks to the server.</summary>
public sealed record LoaderOptions
{
    /// <summary>Retries of one request on 429, 502, 503, 504, a network error or a timeout, before giving up.</summary>
    public int MaxRetries { get; init; } = 6;

    /// <summary>First back-off; doubled on each retry (capped by <see cref="MaxDelay"/>) unless the server sends Retry-After.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one request may take (a large transaction with validation on write is slow).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public string? BearerToken { get; init; }

    /// <summary>
    /// Send <c>X-FhirRecovery-Import: history</c>: the versions are a recorded history, so FhirRecovery skips its live
    /// workflow rules for them (other servers ignore the header). False (<c>--live</c>): ordinary writes.
    /// </summary>
    public bool HistoryImport { get; init; } = true;
}

/// <summary>What the server said to one request.</summary>
public sealed record LoadOutcome(bool Succeeded, int Created, int Updated, int Failed, int Retries, string? Problem, bool IsUsageProblem);

/// <summary>
/// Posts Bundles to a FHIR server's base URL and reads the answer, retrying what a retry can fix.
/// </summary>
/// <remarks>
/// Plain <see cref="HttpClient"/> rather than Firely's FhirClient, on purpose: the loader sends the input's JSON bytes
/// unchanged (FhirClient would parse every resource into a POCO and serialize it again, which costs time and drops
/// whatever the model does not know), it needs the raw status code and the Retry-After header to back off on 429/503,
/// and the failing request's OperationOutcome verbatim for its message. The handler is also the seam tests use.
/// Time (back-off delays, request rates) comes from a <see cref="TimeProvider"/>.
/// </remarks>
public sealed class FhirLoader(HttpClient http, Uri baseUrl, LoaderOptions options, TimeProvider time)
{
    public static readonly MediaTypeHeaderValue FhirJson = new("application/fhir+json") { CharSet = "utf-8" };

    /// <summary>FhirRecovery's history import header (the server's <c>HistoryImport.Header</c>; the CLI does not reference the server).</summary>
    public const string HistoryImportHeader = "X-FhirRecovery-Import";

    public async Task<LoadOutcome> SendAsync(LoadUnit unit, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            HttpResponseMessage response;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.RequestTimeout);
            try
            {
                using var request = CreateRequest(unit);
                response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is HttpRequestException or TaskCanceledException or IOException)
            {
                var reason = ex is TaskCanceledException ? $"no answer within {options.RequestTimeout.TotalSeconds:0} s" : ex.Message;
                if (attempt >= options.MaxRetries)
                {
                    return new LoadOutcome(false, 0, 0, 0, attempt, $"cannot reach {baseUrl}: {reason} (after {attempt} retries)", IsUsageProblem: true);
                }

                await DelayAsync(Backoff(attempt, null), cancellationToken);
                continue;
            }

            using (response)
            {
                if (IsTransient(response.StatusCode))
                {
                    if (attempt >= options.MaxRetries)
                    {
                        return new LoadOutcome(false, 0, 0, 0, attempt,
                            $"the server kept answering {(int)response.StatusCode} {response.ReasonPhrase} (after {attempt} retries): {await DescribeAsync(response, cancellationToken)}",
                            IsUsageProblem: true);
                    }

                    await DelayAsync(Backoff(attempt, response.Headers.RetryAfter), cancellationToken);
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    var usage = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed;
                    return new LoadOutcome(false, 0, 0, 0, attempt,
                        $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}: {await DescribeAsync(response, cancellationToken)}", usage);
                }

                var (created, updated, failed, problem) = await ReadResponseBundleAsync(response, cancellationToken);
                return new LoadOutcome(failed == 0, created, updated, failed, attempt, problem, IsUsageProblem: false);
            }
        }
    }

    private HttpRequestMessage CreateRequest(LoadUnit unit)
    {
        // POST [base] with a transaction or batch Bundle (FHIR RESTful API, "batch/transaction").
        var request = new HttpRequestMessage(HttpMethod.Post, baseUrl)
        {
            Content = new ReadOnlyMemoryContent(unit.Body) { Headers = { ContentType = FhirJson } },
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
        // The answer only needs each entry's status: minimal keeps the responses small.
        request.Headers.Add("Prefer", "return=minimal");
        if (options.HistoryImport)
        {
            request.Headers.Add(HistoryImportHeader, "history");
        }
        if (options.BearerToken is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout;

    /// <summary>Retry-After when the server gives one (capped), else exponential back-off with a little jitter.</summary>
    public TimeSpan Backoff(int attempt, RetryConditionHeaderValue? retryAfter)
    {
        if (retryAfter?.Delta is { } delta)
        {
            return delta < options.MaxDelay ? delta : options.MaxDelay;
        }

        if (retryAfter?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait <= TimeSpan.Zero ? TimeSpan.Zero : wait < options.MaxDelay ? wait : options.MaxDelay;
        }

        var exponential = options.BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 16));
        // Jitter spreads the retries of several loaders hitting one busy server; it never enters any output.
        var jittered = exponential * (0.8 + (Random.Shared.NextDouble() * 0.4));
        return TimeSpan.FromMilliseconds(Math.Min(jittered, options.MaxDelay.TotalMilliseconds));
    }

    private Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(delay, time, cancellationToken);

    /// <summary>The transaction-response or batch-response: created/updated counts and failed batch entries.</summary>
    private static async Task<(int Created, int Updated, int Failed, string? Problem)> ReadResponseBundleAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (body.Length == 0)
        {
            return (0, 0, 0, null);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (!document.RootElement.TryGetProperty("entry", out var entries) || entries.ValueKind != JsonValueKind.Array)
            {
                return (0, 0, 0, null);
            }

            int created = 0, updated = 0, failed = 0, index = 0;
            var problems = new List<string>();
            foreach (var entry in entries.EnumerateArray())
            {
                var status = entry.TryGetProperty("response", out var r) && r.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String
                    ? s.GetString() ?? ""
                    : "";
                if (status.StartsWith("201", StringComparison.Ordinal))
                {
                    created++;
                }
                else if (status.StartsWith('2'))
                {
                    updated++;
                }
                else
                {
                    failed++;
                    var outcome = r.ValueKind == JsonValueKind.Object && r.TryGetProperty("outcome", out var o) ? Diagnostics(o) : null;
                    problems.Add($"entry[{index}]: {status}{(outcome is null ? "" : $": {outcome}")}");
                }

                index++;
            }

            return (created, updated, failed, problems.Count == 0 ? null : string.Join("; ", problems.Take(5)) + (problems.Count > 5 ? $"; and {problems.Count - 5} more" : ""));
        }
        catch (JsonException)
        {
            // A 2xx without a readable Bundle: the server accepted the request; nothing to count.
            return (0, 0, 0, null);
        }
    }

    /// <summary>The OperationOutcome's messages when the body is one, else the start of the body.</summary>
    public static async Task<string> DescribeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            using var document = JsonDocument.Parse(body);
            if (Diagnostics(document.RootElement) is { } text)
            {
                return text;
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page): show its start below.
        }

        body = body.ReplaceLineEndings(" ").Trim();
        return body.Length == 0 ? "(no body)" : body.Length > 300 ? body[..300] + "…" : body;
    }

    private static string? Diagnostics(JsonElement outcome)
    {
        if (outcome.ValueKind != JsonValueKind.Object
            || !outcome.TryGetProperty("resourceType", out var type) || type.GetString() != "OperationOutcome"
            || !outcome.TryGetProperty("issue", out var issues) || issues.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var messages = new List<string>();
        foreach (var issue in issues.EnumerateArray())
        {
            var severity = issue.TryGetProperty("severity", out var s) ? s.GetString() : null;
            var text = issue.TryGetProperty("diagnostics", out var d) ? d.GetString()
                : issue.TryGetProperty("details", out var details) && details.TryGetProperty("text", out var t) ? t.GetString()
                : issue.TryGetProperty("code", out var c) ? c.GetString()
                : null;
            var where = issue.TryGetProperty("expression", out var e) && e.ValueKind == JsonValueKind.Array && e.GetArrayLength() > 0
                ? $" ({e[0].GetString()})"
                : "";
            if (text is not null && severity is "error" or "fatal" or null)
            {
                messages.Add(text + where);
            }
        }

        return messages.Count == 0 ? null : string.Join(" | ", messages);
    }
}
