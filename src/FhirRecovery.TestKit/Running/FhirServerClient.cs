using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using FhirRecovery.TestKit.Model;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.TestKit.Running;

/// <summary>An answer of the server under test: status, headers, body, and the body as a FHIR resource when it is one.</summary>
public sealed class FhirResponse(int status, HttpResponseHeaders headers, HttpContentHeaders? contentHeaders, string body, string url)
{
    private Resource? _resource;
    private bool _parsed;

    public int Status { get; } = status;

    public string Body { get; } = body;

    public string Url { get; } = url;

    public string? Header(string name) =>
        headers.TryGetValues(name, out var values) ? string.Join(", ", values)
        : contentHeaders is not null && contentHeaders.TryGetValues(name, out var content) ? string.Join(", ", content)
        : null;

    public string? Location => headers.Location?.ToString() ?? Header("Content-Location");

    /// <summary>The body parsed as FHIR JSON (what could be read of it), or null when it is not a resource.</summary>
    public Resource? Resource
    {
        get
        {
            if (!_parsed)
            {
                _parsed = true;
                _resource = FhirJsonText.TryParse(Body);
            }

            return _resource;
        }
    }

    /// <summary>The body as a <typeparamref name="T"/>, or the test fails.</summary>
    public T As<T>() where T : Resource =>
        Resource as T ?? throw new TestFailedException($"{Url} answered HTTP {Status} without a {typeof(T).Name}: {KitContext.Excerpt(Body, 300)}");
}

/// <summary>FHIR JSON in and out, lenient on input (a server's small mistakes are the validator's to report).</summary>
public static class FhirJsonText
{
    public static string Serialize(Resource resource) => new FhirJsonSerializer().SerializeToString(resource);

    public static Resource? TryParse(string text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.TrimStart()[0] != '{')
        {
            return null;
        }

        try
        {
            return new FhirJsonDeserializer().DeserializeResource(text);
        }
        catch (DeserializationFailedException ex)
        {
            return ex.PartialResult as Resource;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public static T Parse<T>(string text) where T : Resource => (T)new FhirJsonDeserializer().DeserializeResource(text);
}

/// <summary>
/// HTTP to the server under test with one bearer token; every exchange is recorded (excerpted) for the current test's
/// report.
/// </summary>
public sealed class FhirServerClient(HttpClient http, Uri baseUrl, string? token, Action<RecordedExchange> record)
{
    public const string FhirJson = "application/fhir+json";

    public Uri BaseUrl { get; } = new(baseUrl.AbsoluteUri.TrimEnd('/') + "/");

    public string? Token { get; } = token;

    /// <summary>A client of the same server with another token (null: none).</summary>
    public FhirServerClient WithToken(string? other) => new(http, BaseUrl, other, record);

    public Task<FhirResponse> GetAsync(string url, params (string Name, string Value)[] headers) => SendAsync(HttpMethod.Get, url, null, headers);

    public Task<FhirResponse> DeleteAsync(string url, params (string Name, string Value)[] headers) => SendAsync(HttpMethod.Delete, url, null, headers);

    public Task<FhirResponse> PostAsync(string url, Resource resource, params (string Name, string Value)[] headers) =>
        SendAsync(HttpMethod.Post, url, Json(resource), headers);

    public Task<FhirResponse> PutAsync(string url, Resource resource, params (string Name, string Value)[] headers) =>
        SendAsync(HttpMethod.Put, url, Json(resource), headers);

    public static HttpContent Json(Resource resource) => Text(FhirJsonText.Serialize(resource), FhirJson);

    public static HttpContent Text(string text, string mediaType)
    {
        var content = new StringContent(text, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType) { CharSet = "utf-8" };
        return content;
    }

    /// <summary>A URL relative to the FHIR base (<c>Goal?subject=...</c>), or absolute (a <c>next</c> link).</summary>
    public Uri Resolve(string url) => Uri.TryCreate(url, UriKind.Absolute, out var absolute) && absolute.Scheme.StartsWith("http", StringComparison.Ordinal)
        ? absolute
        : new Uri(BaseUrl, url.TrimStart('/'));

    public async Task<FhirResponse> SendAsync(HttpMethod method, string url, HttpContent? content, IEnumerable<(string Name, string Value)>? headers = null)
    {
        var target = Resolve(url);
        using var request = new HttpRequestMessage(method, target) { Content = content };
        request.Headers.Accept.ParseAdd(FhirJson);
        if (Token is { Length: > 0 })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        }

        foreach (var (name, value) in headers ?? [])
        {
            if (name.Equals("Accept", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.Accept.Clear();
            }

            request.Headers.TryAddWithoutValidation(name, value);
        }

        var requestBody = content is null ? null : await content.ReadAsStringAsync();
        var watch = Stopwatch.StartNew();
        try
        {
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            record(new RecordedExchange(method.Method, target.AbsoluteUri, KitContext.Excerpt(requestBody), (int)response.StatusCode, KitContext.Excerpt(body), watch.Elapsed.TotalMilliseconds));
            return new FhirResponse((int)response.StatusCode, response.Headers, response.Content.Headers, body, target.AbsoluteUri);
        }
        catch (HttpRequestException ex)
        {
            record(new RecordedExchange(method.Method, target.AbsoluteUri, KitContext.Excerpt(requestBody), null, ex.Message, watch.Elapsed.TotalMilliseconds));
            throw new TestFailedException($"{method} {target}: {ex.Message}");
        }
    }
}
