using System.Diagnostics;
using System.Text.Json;
using FhirRecovery.TestKit.Model;
using FhirRecovery.TestKit.Running;
using Hl7.Fhir.Model;
using static FhirRecovery.TestKit.Model.KitContext;

namespace FhirRecovery.TestKit.Suites;

/// <summary>
/// Bulk Data Access 2.0 export: kick-off with <c>Prefer: respond-async</c>, status polling, the manifest, NDJSON files
/// whose every line validates, and cancellation. Skipped when the CapabilityStatement declares no <c>$export</c>.
/// </summary>
public sealed class BulkExportSuite : KitSuite
{
    private const string Types = "Patient,Goal";
    private const int ValidatedLinesPerFile = 500;

    private string? _kickOff;
    private string? _notOffered;
    private string? _status;
    private Manifest? _manifest;

    public override string Name => "bulk-export";

    public override string Description => "Bulk Data $export: kick-off, polling, manifest, NDJSON files that validate, DELETE to cancel.";

    public BulkExportSuite()
    {
        Test("bulk-01", $"Kick-off ($export?_type={Types}, Prefer: respond-async) answers 202 Accepted with a Content-Location to poll",
            Specs.BulkRule("bulk data kick-off request", "export.html#bulk-data-kick-off-request"), async ctx =>
            {
                _kickOff = await KickOffUrlAsync(ctx, this) + $"?_type={Types}&_outputFormat={Uri.EscapeDataString("application/fhir+ndjson")}";
                _status = await KickOffAsync(ctx, _kickOff);
            });

        Test("bulk-02", "Polling answers 202 (X-Progress, Retry-After honoured) until 200 with a manifest: transactionTime, request, requiresAccessToken, output[type, url]",
            Specs.BulkRule("bulk data status request", "export.html#bulk-data-status-request"), async ctx =>
            {
                var status = After(_status, "bulk-01");
                var complete = await PollAsync(ctx, status);
                using var json = JsonDocument.Parse(complete.Body);
                var root = json.RootElement;
                Expect(root.TryGetProperty("transactionTime", out var time) && DateTimeOffset.TryParse(time.GetString(), out _), "the manifest has no transactionTime instant");
                Expect(root.TryGetProperty("request", out var request) && request.GetString() is { Length: > 0 }, "the manifest has no request");
                Expect(root.TryGetProperty("requiresAccessToken", out var requires) && requires.ValueKind is JsonValueKind.True or JsonValueKind.False, "the manifest has no requiresAccessToken boolean");
                Expect(root.TryGetProperty("output", out var output) && output.ValueKind == JsonValueKind.Array, "the manifest has no output array");
                var files = output.EnumerateArray().Select(o => new OutputFile(
                    o.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "",
                    o.TryGetProperty("url", out var u) ? u.GetString() ?? "" : "",
                    o.TryGetProperty("count", out var c) && c.TryGetInt32(out var n) ? n : null)).ToList();
                Expect(files.Count > 0, "the manifest lists no output files (the server has Patients and Goals: the kit wrote some)");
                var unexpected = files.Where(f => !Types.Split(',').Contains(f.Type) || !Uri.IsWellFormedUriString(f.Url, UriKind.Absolute)).ToList();
                Expect(unexpected.Count == 0, "outputs of a type not asked for, or without an absolute url: " + string.Join(", ", unexpected.Select(f => $"{f.Type} {f.Url}")));
                _manifest = new Manifest(requires.GetBoolean(), files);
            });

        Test("bulk-03", $"Every output file is NDJSON whose every line is a resource of the file's type that validates (first {ValidatedLinesPerFile} lines validated)",
            Specs.BulkRule("file request: one resource per line", "export.html#file-request"), async ctx =>
            {
                var manifest = After(_manifest, "bulk-02");
                var client = manifest.RequiresAccessToken ? ctx.Fhir : ctx.Fhir.WithToken(null);
                var failures = new List<string>();
                foreach (var file in manifest.Output)
                {
                    var download = await client.GetAsync(file.Url, ("Accept", "application/fhir+ndjson"));
                    ExpectStatus(download, 200);
                    var lines = download.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    if (file.Count is { } count && count != lines.Length)
                    {
                        failures.Add($"{file.Url}: count {count} but {lines.Length} lines");
                    }

                    foreach (var (line, number) in lines.Select((l, i) => (l, i + 1)).Take(ValidatedLinesPerFile))
                    {
                        var resource = FhirJsonText.TryParse(line);
                        if (resource is null || resource.TypeName != file.Type)
                        {
                            failures.Add($"{file.Type} file line {number}: not a {file.Type} resource");
                            continue;
                        }

                        failures.AddRange(ctx.ValidationErrors(resource).Take(1).Select(e => $"{file.Type}/{resource.Id} (line {number}) {e.Expression}: {e.Message}"));
                    }
                }

                Expect(failures.Count == 0, string.Join("; ", failures.Take(8)));
            });

        Test("bulk-04", "A kick-off cancelled with DELETE on its status URL answers 202, and the status URL then answers 404",
            Specs.BulkRule("bulk data delete request", "export.html#bulk-data-delete-request"), async ctx =>
            {
                var status = await KickOffAsync(ctx, After(_kickOff, "bulk-01"));
                ExpectStatus(await ctx.Fhir.DeleteAsync(status), 202);
                var after = await ctx.Fhir.GetAsync(status);
                Expect(after.Status is 404 or 410, $"after DELETE the status URL answers HTTP {after.Status}, not 404");
            });

        Test("bulk-05", "A kick-off without Prefer: respond-async is refused (4xx)",
            Specs.BulkRule("kick-off headers: Prefer respond-async is required", "export.html#headers"), async ctx =>
            {
                var response = await ctx.Fhir.GetAsync(After(_kickOff, "bulk-01"));
                Expect(response.Status is >= 400 and < 500, $"answered HTTP {response.Status}");
            });
    }

    /// <summary>System-level $export when declared, else Patient/$export; skips when neither is.</summary>
    private static async Task<string> KickOffUrlAsync(KitContext ctx, BulkExportSuite suite)
    {
        var capability = await ctx.CapabilityAsync();
        var rest = capability.Rest.FirstOrDefault();
        if (rest?.Operation.Any(o => o.Name?.TrimStart('$') == "export") == true)
        {
            return "$export";
        }

        if (rest?.Resource.Any(r => r.Type?.ToString() == "Patient" && r.Operation.Any(o => o.Name?.TrimStart('$') == "export")) == true)
        {
            return "Patient/$export";
        }

        suite._notOffered = "the CapabilityStatement declares no $export operation (Bulk Data Access)";
        throw Skip(suite._notOffered);
    }

    /// <summary>The value bulk-01 left; the same skip reason as bulk-01 when the server offers no export.</summary>
    private T After<T>(T? value, string test) where T : class =>
        _notOffered is { } reason ? throw Skip(reason) : Needs(value, test);

    private static async Task<string> KickOffAsync(KitContext ctx, string url)
    {
        var response = await ctx.Fhir.GetAsync(url, ("Accept", "application/fhir+json"), ("Prefer", "respond-async"));
        ExpectStatus(response, 202);
        return response.Header("Content-Location") ?? throw new TestFailedException("the 202 has no Content-Location");
    }

    private static async Task<FhirResponse> PollAsync(KitContext ctx, string status)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var response = await ctx.Fhir.GetAsync(status, ("Accept", "application/json"));
            if (response.Status == 200)
            {
                return response;
            }

            Expect(response.Status == 202, $"polling answered HTTP {response.Status}: {Excerpt(response.Body, 300)}");
            Expect(clock.Elapsed < ctx.Settings.ExportTimeout, $"the export did not complete within {ctx.Settings.ExportTimeout}");
            var wait = int.TryParse(response.Header("Retry-After"), out var seconds) ? TimeSpan.FromSeconds(Math.Clamp(seconds, 0, 5)) : TimeSpan.FromMilliseconds(500);
            await System.Threading.Tasks.Task.Delay(wait < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : wait);
        }
    }

    private sealed record OutputFile(string Type, string Url, int? Count);

    private sealed record Manifest(bool RequiresAccessToken, IReadOnlyList<OutputFile> Output);
}
