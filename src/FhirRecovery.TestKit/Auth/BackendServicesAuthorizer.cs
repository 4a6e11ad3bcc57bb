using System.Net.Http.Headers;
using System.Text.Json;

namespace FhirRecovery.TestKit.Auth;

/// <summary>A token endpoint's answer (RFC 6749 §5.1), as far as the kit uses it.</summary>
public sealed record TokenResponse(string AccessToken, string? TokenType, int? ExpiresIn, string? Scope, string TokenEndpoint);

/// <summary>A failure to obtain a token: the run cannot start with the credentials given.</summary>
public sealed class AuthorizationFailedException(string message) : Exception(message);

/// <summary>
/// SMART Backend Services (client_credentials with a signed client assertion): finds the token endpoint in the
/// server's <c>.well-known/smart-configuration</c> and asks it for a token.
/// </summary>
public static class BackendServicesAuthorizer
{
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    public static async Task<TokenResponse> AuthorizeAsync(HttpClient http, Uri fhirBase, string clientId, string privateJwk, string scope, CancellationToken cancellationToken)
    {
        var tokenEndpoint = await TokenEndpointAsync(http, fhirBase, cancellationToken);
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["scope"] = scope,
            ["client_assertion_type"] = AssertionType,
            ["client_assertion"] = ClientAssertion.Create(privateJwk, clientId, tokenEndpoint, DateTimeOffset.UtcNow),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, tokenEndpoint) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new AuthorizationFailedException($"the token endpoint {tokenEndpoint} refused client '{clientId}': HTTP {(int)response.StatusCode} {body}");
        }

        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        var token = Text("access_token") ?? throw new AuthorizationFailedException($"the token endpoint {tokenEndpoint} answered no access_token");
        int? expires = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) ? seconds : null;
        return new TokenResponse(token, Text("token_type"), expires, Text("scope"), tokenEndpoint);
    }

    public static async Task<string> TokenEndpointAsync(HttpClient http, Uri fhirBase, CancellationToken cancellationToken)
    {
        var discovery = new Uri(fhirBase.AbsoluteUri.TrimEnd('/') + "/.well-known/smart-configuration");
        using var response = await http.GetAsync(discovery, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new AuthorizationFailedException($"{discovery} answered HTTP {(int)response.StatusCode}: no SMART configuration to find the token endpoint in");
        }

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return json.RootElement.TryGetProperty("token_endpoint", out var endpoint) && endpoint.GetString() is { Length: > 0 } url
            ? url
            : throw new AuthorizationFailedException($"{discovery} names no token_endpoint");
    }
}
