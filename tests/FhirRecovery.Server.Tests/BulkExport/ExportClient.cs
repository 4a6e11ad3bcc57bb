using System.Net;
using System.Text.Json.Nodes;
using FhirRecovery.Conformance;
using FhirRecovery.Server.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace FhirRecovery.Server.Tests.BulkExport;

/// <summary>A Bulk Data client for the tests: kick-off, polling, manifest and NDJSON download, with the checks the IG asks for.</summary>
public static class ExportClient
{
    private static readonly FhirJsonDeserializer Reader = new();

    public static readonly (string, string)[] AsyncJson = [("Prefer", "respond-async"), ("Accept", FhirHttp.Json)];

    /// <summary>Kicks off an export (relative URL under /fhir); asserts the 202 and answers the status URL.</summary>
    public static async Task<string> KickOffAsync(this HttpClient client, string url)
    {
        var response = await client.SendAsync(HttpMethod.Get, url, null, AsyncJson);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Kick-off {url}: {(int)response.StatusCode} {text}");
        var location = response.Content.Headers.ContentLocation ?? response.Headers.GetValues("Content-Location").Select(v => new Uri(v)).First();
        Assert.Contains("/fhir/$export-status/", location.ToString());
        return location.ToString();
    }

    /// <summary>Polls until the manifest comes (each 202 must carry X-Progress and Retry-After).</summary>
    public static async Task<JsonObject> ManifestAsync(this HttpClient client, string statusUrl, Func<Task>? beforeEachPoll = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (beforeEachPoll is not null)
            {
                await beforeEachPoll();
            }

            var response = await client.GetAsync(statusUrl);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
                return JsonNode.Parse(text)!.AsObject();
            }

            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Status: {(int)response.StatusCode} {text}");
            Assert.True(response.Headers.Contains("X-Progress"), "a 202 status answer carries X-Progress");
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.True(DateTime.UtcNow < deadline, "the export did not finish in time");
            await Task.Delay(100);
        }
    }

    /// <summary>The output files of one type in a manifest.</summary>
    public static IEnumerable<JsonObject> Outputs(this JsonObject manifest, string type) =>
        manifest["output"]!.AsArray().Select(o => o!.AsObject()).Where(o => o["type"]!.GetValue<string>() == type);

    public static IReadOnlyList<string> Types(this JsonObject manifest) =>
        manifest["output"]!.AsArray().Select(o => o!["type"]!.GetValue<string>()).ToList();

    /// <summary>Downloads the resources of a type (every line must parse; the count must match the manifest's).</summary>
    public static async Task<List<Resource>> DownloadAsync(this HttpClient client, JsonObject manifest, string type)
    {
        var resources = new List<Resource>();
        foreach (var output in manifest.Outputs(type))
        {
            var response = await client.GetAsync(output["url"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/fhir+ndjson", response.Content.Headers.ContentType?.MediaType);
            var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(output["count"]!.GetValue<long>(), lines.Length);
            resources.AddRange(lines.Select(line => Reader.DeserializeResource(line)));
        }

        Assert.All(resources, r => Assert.Equal(type, r.TypeName));
        return resources;
    }

    /// <summary>Every line of every output file validates against the base definitions (no error issues).</summary>
    public static async Task AssertAllValidAsync(this HttpClient client, JsonObject manifest, FhirServerFixture fixture)
    {
        var validator = fixture.Factory.Services.GetRequiredService<ConformanceEngine>().Validator;
        foreach (var type in manifest.Types().Distinct())
        {
            foreach (var resource in await client.DownloadAsync(manifest, type))
            {
                var result = validator.Validate(resource);
                Assert.False(result.HasErrors, $"{type}/{resource.Id}: {string.Join("; ", result.Issues.Where(i => i.IsError).Select(i => i.ToString()))}");
            }
        }
    }
}
