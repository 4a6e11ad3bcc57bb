using System.Text.Json;
using System.Text.Json.Serialization;
using FhirRecovery.Server.Security.Storage;

namespace FhirRecovery.Server.Security.Clients;

/// <summary>
/// A registered client as stored in <c>auth_applications</c> (one JSON document per client); the embedded server's
/// OpenIddict application store reads and writes these.
/// </summary>
public sealed class StoredApplication
{
    public string Id { get; set; } = Guid.NewGuid().ToString("N");

    public string? ClientId { get; set; }

    /// <summary>Hash of the secret (<see cref="ClientSecretHasher"/>), never the secret itself.</summary>
    public string? ClientSecret { get; set; }

    public string? ClientType { get; set; }

    public string? ApplicationType { get; set; }

    public string? ConsentType { get; set; }

    public string? DisplayName { get; set; }

    public Dictionary<string, string>? DisplayNames { get; set; }

    /// <summary>The client's public keys (JWKS JSON) for private_key_jwt.</summary>
    public string? JsonWebKeySet { get; set; }

    public List<string> Permissions { get; set; } = [];

    public List<string> RedirectUris { get; set; } = [];

    public List<string> PostLogoutRedirectUris { get; set; } = [];

    public List<string> Requirements { get; set; } = [];

    public Dictionary<string, JsonElement>? Properties { get; set; }

    public Dictionary<string, string>? Settings { get; set; }

    /// <summary>SMART scopes the client may be granted (empty: any).</summary>
    public List<string> AllowedScopes { get; set; } = [];

    public string? LaunchUri { get; set; }

    [JsonIgnore]
    public string Concurrency { get; set; } = Guid.NewGuid().ToString("N");

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The stored form of a registration (permissions in OpenIddict's notation, the secret hashed).</summary>
    public static StoredApplication From(ClientRegistration registration, string? existingId = null)
    {
        var grants = registration.EffectiveGrantTypes();
        var application = new StoredApplication
        {
            Id = existingId ?? Guid.NewGuid().ToString("N"),
            ClientId = registration.ClientId,
            DisplayName = registration.DisplayName ?? registration.ClientId,
            ClientType = registration.IsConfidential ? "confidential" : "public",
            ApplicationType = "web",
            ConsentType = "explicit",
            ClientSecret = string.IsNullOrEmpty(registration.ClientSecret) ? null : ClientSecretHasher.Hash(registration.ClientSecret),
            JsonWebKeySet = registration.Jwks ?? (registration.JwksPath is { } path ? File.ReadAllText(path) : null),
            RedirectUris = [.. registration.RedirectUris],
            AllowedScopes = [.. registration.Scopes],
            LaunchUri = registration.LaunchUri,
        };
        application.Permissions.Add("ept:token");
        application.Permissions.Add("ept:revocation");
        application.Permissions.Add("ept:introspection");
        foreach (var grant in grants)
        {
            application.Permissions.Add("gt:" + grant);
        }

        if (grants.Contains("authorization_code"))
        {
            application.Permissions.Add("ept:authorization");
            application.Permissions.Add("rst:code");
            // SMART App Launch 2: PKCE (S256) for every app.
            application.Requirements.Add("ft:pkce");
        }

        return application;
    }
}

/// <summary>Registers clients in the shared database (start-up configuration and <c>fhir-recovery clients add</c>).</summary>
public sealed class ClientRegistry(AuthDatabase database)
{
    /// <summary>Creates the client, or replaces the registration of an existing client id (its internal id is kept).</summary>
    public async Task<StoredApplication> UpsertAsync(ClientRegistration registration, CancellationToken cancellationToken = default)
    {
        var problems = registration.Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"Client '{registration.ClientId}': {string.Join("; ", problems)}");
        }

        var existing = await FindAsync(registration.ClientId, cancellationToken);
        var application = StoredApplication.From(registration, existing?.Id);
        if (existing is not null && string.IsNullOrEmpty(registration.ClientSecret))
        {
            application.ClientSecret = null;
        }

        await database.ExecuteAsync(
            "INSERT INTO auth_applications (id, client_id, document, concurrency) VALUES (@id, @client, @document, @concurrency) "
            + "ON CONFLICT (client_id) DO UPDATE SET document = @document, concurrency = @concurrency",
            cancellationToken,
            ("@id", application.Id), ("@client", application.ClientId), ("@document", JsonSerializer.Serialize(application, StoredApplication.Json)),
            ("@concurrency", application.Concurrency));
        return application;
    }

    public async Task<StoredApplication?> FindAsync(string clientId, CancellationToken cancellationToken = default)
    {
        var rows = await database.QueryAsync("SELECT document, concurrency FROM auth_applications WHERE client_id = @client", cancellationToken, ("@client", clientId));
        return rows.Count == 0 ? null : Read(rows[0]);
    }

    public async Task<IReadOnlyList<StoredApplication>> ListAsync(CancellationToken cancellationToken = default)
    {
        var rows = await database.QueryAsync("SELECT document, concurrency FROM auth_applications ORDER BY client_id", cancellationToken);
        return rows.Select(Read).ToList();
    }

    public static StoredApplication Read(Dictionary<string, object?> row)
    {
        var application = JsonSerializer.Deserialize<StoredApplication>((string)row["document"]!, StoredApplication.Json)!;
        application.Concurrency = (string)row["concurrency"]!;
        return application;
    }
}
