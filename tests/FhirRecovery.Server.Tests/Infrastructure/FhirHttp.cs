using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Server.Tests.Infrastructure;

/// <summary>Raw HTTP helpers: FHIR bodies in, parsed resources and OperationOutcome checks out.</summary>
public static class FhirHttp
{
    public const string Json = "application/fhir+json";
    public const string Xml = "application/fhir+xml";

    private static readonly FhirJsonSerializer JsonWriter = new();
    private static readonly FhirXmlSerializer XmlWriter = new();
    private static readonly FhirJsonDeserializer JsonReader = new();
    private static readonly FhirXmlDeserializer XmlReader = new();

    public static string ToJson(Resource resource) => JsonWriter.SerializeToString(resource);

    public static string ToXml(Resource resource) => XmlWriter.SerializeToString(resource);

    public static HttpContent Body(Resource resource) => new StringContent(ToJson(resource), Encoding.UTF8, Json);

    public static HttpContent Body(string text, string mediaType = Json)
    {
        var content = new StringContent(text, Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
        return content;
    }

    public static async Task<HttpResponseMessage> SendAsync(this HttpClient client, HttpMethod method, string url, HttpContent? body = null,
        params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, url) { Content = body };
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return await client.SendAsync(request);
    }

    public static Task<HttpResponseMessage> PostAsync(this HttpClient client, string url, Resource resource, params (string Name, string Value)[] headers) =>
        client.SendAsync(HttpMethod.Post, url, Body(resource), headers);

    public static Task<HttpResponseMessage> PutAsync(this HttpClient client, string url, Resource resource, params (string Name, string Value)[] headers) =>
        client.SendAsync(HttpMethod.Put, url, Body(resource), headers);

    /// <summary>Parses the body (JSON or XML by Content-Type).</summary>
    public static async Task<T> ReadAsync<T>(this HttpResponseMessage response) where T : Resource
    {
        var text = await response.Content.ReadAsStringAsync();
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        Resource resource = mediaType == Xml ? XmlReader.DeserializeResource(text) : JsonReader.DeserializeResource(text);
        Assert.True(resource is T, $"Expected {typeof(T).Name}, got HTTP {(int)response.StatusCode}: {text}");
        return (T)resource;
    }

    /// <summary>Asserts the status and that the body is an OperationOutcome (optionally mentioning something); returns it.</summary>
    public static async Task<OperationOutcome> AssertOutcomeAsync(this HttpResponseMessage response, HttpStatusCode status, string? mentions = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.StartsWith("application/fhir+", response.Content.Headers.ContentType?.MediaType ?? "(none)");
        var outcome = await response.ReadAsync<OperationOutcome>();
        Assert.NotEmpty(outcome.Issue);
        if (mentions is not null)
        {
            Assert.Contains(mentions, text, StringComparison.OrdinalIgnoreCase);
        }

        return outcome;
    }

    public static async Task AssertStatusAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        if (response.StatusCode != status)
        {
            Assert.Fail($"Expected {(int)status}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    public static string? ETag(this HttpResponseMessage response) => response.Headers.ETag?.ToString();
}
