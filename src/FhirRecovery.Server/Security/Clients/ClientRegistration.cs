using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FhirRecovery.Server.Security.Clients;

/// <summary>
/// A SMART client of the embedded authorization server, as configured (<c>Auth:Embedded:Clients</c>) or given to
/// <c>fhir-recovery clients add</c>:
/// <list type="bullet">
/// <item>public app (browser, native): no secret, no keys; authorization code + PKCE;</item>
/// <item>confidential symmetric: <see cref="ClientSecret"/>;</item>
/// <item>confidential asymmetric (SMART Backend Services, or apps using <c>private_key_jwt</c>): <see cref="Jwks"/> or <see cref="JwksPath"/>.</item>
/// </list>
/// </summary>
public sealed class ClientRegistration
{
    public string ClientId { get; set; } = "";

    public string? DisplayName { get; set; }

    /// <summary>Secret of a confidential symmetric client (stored hashed).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The client's public keys (a JWKS document, JSON) for <c>private_key_jwt</c>.</summary>
    public string? Jwks { get; set; }

    /// <summary>A file holding the JWKS, read when the client is registered.</summary>
    public string? JwksPath { get; set; }

    public List<string> RedirectUris { get; set; } = [];

    /// <summary>The app's launch URL, for the EHR launch page (<c>/smart/ehr-launch</c>).</summary>
    public string? LaunchUri { get; set; }

    /// <summary>
    /// Scopes the client may be granted (SMART scopes cover narrower ones: <c>patient/*.rs</c> allows <c>patient/Goal.rs</c>
    /// and <c>patient/Goal.read</c>). Empty: any scope.
    /// </summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>authorization_code, refresh_token, client_credentials. Empty: decided from the client's kind.</summary>
    public List<string> GrantTypes { get; set; } = [];

    public bool IsConfidential => !string.IsNullOrEmpty(ClientSecret) || !string.IsNullOrEmpty(Jwks) || !string.IsNullOrEmpty(JwksPath);

    /// <summary>The grant types in effect: as given, or by kind (apps with redirect URIs: code + refresh; key holders: client credentials too).</summary>
    public IReadOnlyList<string> EffectiveGrantTypes()
    {
        if (GrantTypes.Count > 0)
        {
            return GrantTypes;
        }

        var grants = new List<string>();
        if (RedirectUris.Count > 0)
        {
            grants.Add("authorization_code");
            grants.Add("refresh_token");
        }

        if (IsConfidential)
        {
            grants.Add("client_credentials");
        }

        return grants;
    }

    /// <summary>Problems that make the registration unusable (empty when fine).</summary>
    public List<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(ClientId) || ClientId.Any(char.IsWhiteSpace))
        {
            problems.Add("a client id without spaces is required");
        }

        foreach (var uri in RedirectUris)
        {
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Fragment.Length > 0)
            {
                problems.Add($"redirect URI '{uri}' is not an absolute URI without fragment");
            }
        }

        foreach (var grant in EffectiveGrantTypes())
        {
            if (grant is not ("authorization_code" or "refresh_token" or "client_credentials"))
            {
                problems.Add($"grant type '{grant}' is not supported (authorization_code, refresh_token, client_credentials)");
            }
        }

        if (EffectiveGrantTypes().Contains("authorization_code") && RedirectUris.Count == 0)
        {
            problems.Add("the authorization_code grant needs at least one redirect URI");
        }

        if (EffectiveGrantTypes().Contains("client_credentials") && !IsConfidential)
        {
            problems.Add("client_credentials needs a confidential client (a JWKS for private_key_jwt, or a secret)");
        }

        if (EffectiveGrantTypes().Count == 0)
        {
            problems.Add("no grant type: give redirect URIs (apps) or a JWKS (backend services)");
        }

        if (!string.IsNullOrEmpty(Jwks))
        {
            try
            {
                var keys = JsonNode.Parse(Jwks)?["keys"] as JsonArray;
                if (keys is null || keys.Count == 0)
                {
                    problems.Add("the JWKS has no keys");
                }
                else if (keys.Any(k => k?["d"] is not null))
                {
                    problems.Add("the JWKS holds a private key: register only the public keys");
                }
            }
            catch (JsonException ex)
            {
                problems.Add($"the JWKS is not JSON: {ex.Message}");
            }
        }

        return problems;
    }
}

/// <summary>
/// Client secrets are kept as PBKDF2-SHA256 hashes (never the secret), checked in constant time. One format for the
/// server and the CLI, so a client added by either is usable by the other.
/// </summary>
public static class ClientSecretHasher
{
    private const int Iterations = 100_000;

    public static string Hash(string secret)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(secret, salt, Iterations, HashAlgorithmName.SHA256, 32);
        return $"pbkdf2-sha256${Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    public static bool Verify(string secret, string? stored)
    {
        var parts = stored?.Split('$');
        if (parts is not ["pbkdf2-sha256", var iterationsText, var saltText, var hashText] || !int.TryParse(iterationsText, out var iterations))
        {
            return false;
        }

        try
        {
            var expected = Convert.FromBase64String(hashText);
            var actual = Rfc2898DeriveBytes.Pbkdf2(secret, Convert.FromBase64String(saltText), iterations, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
