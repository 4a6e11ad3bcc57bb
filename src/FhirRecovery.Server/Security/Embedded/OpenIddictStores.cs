using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using FhirRecovery.Server.Security.Clients;
using FhirRecovery.Server.Security.Storage;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;

namespace FhirRecovery.Server.Security.Embedded;

/// <summary>An authorization (a user's grant to a client) as stored in <c>auth_authorizations</c>.</summary>
public sealed class StoredAuthorization
{
    public string Id { get; set; } = Guid.NewGuid().ToString("N");
    public string? ApplicationId { get; set; }
    public DateTimeOffset? CreationDate { get; set; }
    public Dictionary<string, JsonElement>? Properties { get; set; }
    public List<string> Scopes { get; set; } = [];
    public string? Status { get; set; }
    public string? Subject { get; set; }
    public string? Type { get; set; }

    [System.Text.Json.Serialization.JsonIgnore]
    public string Concurrency { get; set; } = Guid.NewGuid().ToString("N");
}

/// <summary>A token entry (authorization code, refresh token, ...) as stored in <c>auth_tokens</c>: status and redemption live here.</summary>
public sealed class StoredToken
{
    public string Id { get; set; } = Guid.NewGuid().ToString("N");
    public string? ApplicationId { get; set; }
    public string? AuthorizationId { get; set; }
    public DateTimeOffset? CreationDate { get; set; }
    public DateTimeOffset? ExpirationDate { get; set; }
    public string? Payload { get; set; }
    public Dictionary<string, JsonElement>? Properties { get; set; }
    public DateTimeOffset? RedemptionDate { get; set; }
    public string? ReferenceId { get; set; }
    public string? Status { get; set; }
    public string? Subject { get; set; }
    public string? Type { get; set; }

    [System.Text.Json.Serialization.JsonIgnore]
    public string Concurrency { get; set; } = Guid.NewGuid().ToString("N");
}

/// <summary>Scopes are SMART's, parsed where they are used: nothing is registered, so this store is empty.</summary>
public sealed class StoredScope
{
    public string Id { get; set; } = Guid.NewGuid().ToString("N");
    public string? Name { get; set; }
}

internal static class StoreRows
{
    public static long? Millis(DateTimeOffset? date) => date?.ToUnixTimeMilliseconds();

    public static T Read<T>(Dictionary<string, object?> row, Action<T, string> setConcurrency)
    {
        var value = JsonSerializer.Deserialize<T>((string)row["document"]!, StoredApplication.Json)!;
        setConcurrency(value, (string)row["concurrency"]!);
        return value;
    }

    public static async IAsyncEnumerable<T> ToAsync<T>(IEnumerable<T> items)
    {
        await System.Threading.Tasks.Task.CompletedTask;
        foreach (var item in items)
        {
            yield return item;
        }
    }

    /// <summary>OpenIddict's setters change the entity only; the store writes it on UpdateAsync.</summary>
    public static ValueTask Set(Action action)
    {
        action();
        return ValueTask.CompletedTask;
    }

    /// <summary>The WHERE clause of OpenIddict's find/revoke by subject, client, status and type (authorizations and tokens).</summary>
    public static (string Where, (string, object?)[] Parameters) Filter(string? subject, string? client, string? status, string? type)
    {
        var conditions = new List<string>();
        var parameters = new List<(string, object?)>();
        void Add(string column, string name, string? value)
        {
            if (value is not null)
            {
                conditions.Add($"{column} = {name}");
                parameters.Add((name, value));
            }
        }

        Add("subject", "@sub", subject);
        Add("application_id", "@app", client);
        Add("status", "@status", status);
        Add("type", "@type", type);
        return (conditions.Count == 0 ? "" : "WHERE " + string.Join(" AND ", conditions), parameters.ToArray());
    }

    public static ImmutableDictionary<string, JsonElement> Props(Dictionary<string, JsonElement>? properties) =>
        properties?.ToImmutableDictionary() ?? ImmutableDictionary<string, JsonElement>.Empty;
}

/// <summary>OpenIddict's application store over <c>auth_applications</c> (clients from configuration and the CLI).</summary>
public sealed class ApplicationStore(AuthDatabase database) : IOpenIddictApplicationStore<StoredApplication>
{
    private const string Columns = "document, concurrency";

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken) => (await AllAsync(cancellationToken)).Count;

    public async ValueTask<long> CountAsync<TResult>(Func<IQueryable<StoredApplication>, IQueryable<TResult>> query, CancellationToken cancellationToken) =>
        query((await AllAsync(cancellationToken)).AsQueryable()).LongCount();

    public async ValueTask CreateAsync(StoredApplication application, CancellationToken cancellationToken)
    {
        application.Concurrency = Guid.NewGuid().ToString("N");
        await database.ExecuteAsync("INSERT INTO auth_applications (id, client_id, document, concurrency) VALUES (@id, @client, @doc, @c)", cancellationToken,
            ("@id", application.Id), ("@client", application.ClientId), ("@doc", JsonSerializer.Serialize(application, StoredApplication.Json)), ("@c", application.Concurrency));
    }

    public async ValueTask DeleteAsync(StoredApplication application, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM auth_applications WHERE id = @id", cancellationToken, ("@id", application.Id));

    public async ValueTask<StoredApplication?> FindByIdAsync(string identifier, CancellationToken cancellationToken) =>
        (await QueryAsync("WHERE id = @v", identifier, cancellationToken)).FirstOrDefault();

    public async ValueTask<StoredApplication?> FindByClientIdAsync(string identifier, CancellationToken cancellationToken) =>
        (await QueryAsync("WHERE client_id = @v", identifier, cancellationToken)).FirstOrDefault();

    public async IAsyncEnumerable<StoredApplication> FindByPostLogoutRedirectUriAsync(string uri, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var application in (await AllAsync(cancellationToken)).Where(a => a.PostLogoutRedirectUris.Contains(uri, StringComparer.Ordinal)))
        {
            yield return application;
        }
    }

    public async IAsyncEnumerable<StoredApplication> FindByRedirectUriAsync(string uri, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var application in (await AllAsync(cancellationToken)).Where(a => a.RedirectUris.Contains(uri, StringComparer.Ordinal)))
        {
            yield return application;
        }
    }

    public ValueTask<string?> GetApplicationTypeAsync(StoredApplication application, CancellationToken cancellationToken) => new(application.ApplicationType);

    public async ValueTask<TResult?> GetAsync<TState, TResult>(Func<IQueryable<StoredApplication>, TState, IQueryable<TResult>> query, TState state, CancellationToken cancellationToken) =>
        query((await AllAsync(cancellationToken)).AsQueryable(), state).FirstOrDefault();

    public ValueTask<string?> GetClientIdAsync(StoredApplication application, CancellationToken cancellationToken) => new(application.ClientId);

    public ValueTask<string?> GetClientSecretAsync(StoredApplication application, CancellationToken cancellationToken) => new(application.ClientSecret);

    public ValueTask<string?> GetClientTypeAsync(StoredApplication application, CancellationToken cancellationToken) => new(application.ClientType);

    public ValueTask<string?> GetConsentTypeAsync(StoredApplication application, CancellationToken cancellationToken) => new(application.ConsentType);

    public ValueTask<string?> GetDisplayNameAsync(StoredApplication application, CancellationToken cancellationToken) => new(application.DisplayName);

    public ValueTask<ImmutableDictionary<CultureInfo, string>> GetDisplayNamesAsync(StoredApplication application, CancellationToken cancellationToken) =>
        new((application.DisplayNames ?? []).ToImmutableDictionary(p => CultureInfo.GetCultureInfo(p.Key), p => p.Value));

    public ValueTask<string?> GetIdAsync(StoredApplication application, CancellationToken cancellationToken) => new(application.Id);

    public ValueTask<JsonWebKeySet?> GetJsonWebKeySetAsync(StoredApplication application, CancellationToken cancellationToken) =>
        new(application.JsonWebKeySet is { Length: > 0 } json ? JsonWebKeySet.Create(json) : null);

    public ValueTask<ImmutableArray<string>> GetPermissionsAsync(StoredApplication application, CancellationToken cancellationToken) => new([.. application.Permissions]);

    public ValueTask<ImmutableArray<string>> GetPostLogoutRedirectUrisAsync(StoredApplication application, CancellationToken cancellationToken) =>
        new([.. application.PostLogoutRedirectUris]);

    public ValueTask<ImmutableDictionary<string, JsonElement>> GetPropertiesAsync(StoredApplication application, CancellationToken cancellationToken) =>
        new(StoreRows.Props(application.Properties));

    public ValueTask<ImmutableArray<string>> GetRedirectUrisAsync(StoredApplication application, CancellationToken cancellationToken) => new([.. application.RedirectUris]);

    public ValueTask<ImmutableArray<string>> GetRequirementsAsync(StoredApplication application, CancellationToken cancellationToken) => new([.. application.Requirements]);

    public ValueTask<ImmutableDictionary<string, string>> GetSettingsAsync(StoredApplication application, CancellationToken cancellationToken) =>
        new((application.Settings ?? []).ToImmutableDictionary());

    public ValueTask<StoredApplication> InstantiateAsync(CancellationToken cancellationToken) => new(new StoredApplication());

    public async IAsyncEnumerable<StoredApplication> ListAsync(int? count, int? offset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var application in (await AllAsync(cancellationToken)).Skip(offset ?? 0).Take(count ?? int.MaxValue))
        {
            yield return application;
        }
    }

    public async IAsyncEnumerable<TResult> ListAsync<TState, TResult>(Func<IQueryable<StoredApplication>, TState, IQueryable<TResult>> query, TState state,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var result in query((await AllAsync(cancellationToken)).AsQueryable(), state))
        {
            yield return result;
        }
    }

    public ValueTask SetApplicationTypeAsync(StoredApplication application, string? type, CancellationToken cancellationToken) => StoreRows.Set(() => application.ApplicationType = type);

    public ValueTask SetClientIdAsync(StoredApplication application, string? identifier, CancellationToken cancellationToken) => StoreRows.Set(() => application.ClientId = identifier);

    public ValueTask SetClientSecretAsync(StoredApplication application, string? secret, CancellationToken cancellationToken) => StoreRows.Set(() => application.ClientSecret = secret);

    public ValueTask SetClientTypeAsync(StoredApplication application, string? type, CancellationToken cancellationToken) => StoreRows.Set(() => application.ClientType = type);

    public ValueTask SetConsentTypeAsync(StoredApplication application, string? type, CancellationToken cancellationToken) => StoreRows.Set(() => application.ConsentType = type);

    public ValueTask SetDisplayNameAsync(StoredApplication application, string? name, CancellationToken cancellationToken) => StoreRows.Set(() => application.DisplayName = name);

    public ValueTask SetDisplayNamesAsync(StoredApplication application, ImmutableDictionary<CultureInfo, string> names, CancellationToken cancellationToken) =>
        StoreRows.Set(() => application.DisplayNames = names.ToDictionary(p => p.Key.Name, p => p.Value));

    public ValueTask SetJsonWebKeySetAsync(StoredApplication application, JsonWebKeySet? set, CancellationToken cancellationToken) =>
        StoreRows.Set(() => application.JsonWebKeySet = set is null ? null : JsonSerializer.Serialize(new { keys = set.Keys.Select(JsonWebKeyConverter.ToDictionary) }));

    public ValueTask SetPermissionsAsync(StoredApplication application, ImmutableArray<string> permissions, CancellationToken cancellationToken) =>
        StoreRows.Set(() => application.Permissions = [.. permissions]);

    public ValueTask SetPostLogoutRedirectUrisAsync(StoredApplication application, ImmutableArray<string> uris, CancellationToken cancellationToken) =>
        StoreRows.Set(() => application.PostLogoutRedirectUris = [.. uris]);

    public ValueTask SetPropertiesAsync(StoredApplication application, ImmutableDictionary<string, JsonElement> properties, CancellationToken cancellationToken) =>
        StoreRows.Set(() => application.Properties = properties.ToDictionary());

    public ValueTask SetRedirectUrisAsync(StoredApplication application, ImmutableArray<string> uris, CancellationToken cancellationToken) =>
        StoreRows.Set(() => application.RedirectUris = [.. uris]);

    public ValueTask SetRequirementsAsync(StoredApplication application, ImmutableArray<string> requirements, CancellationToken cancellationToken) =>
        StoreRows.Set(() => application.Requirements = [.. requirements]);

    public ValueTask SetSettingsAsync(StoredApplication application, ImmutableDictionary<string, string> settings, CancellationToken cancellationToken) =>
        StoreRows.Set(() => application.Settings = settings.ToDictionary());

    public async ValueTask UpdateAsync(StoredApplication application, CancellationToken cancellationToken)
    {
        var previous = application.Concurrency;
        application.Concurrency = Guid.NewGuid().ToString("N");
        var updated = await database.ExecuteAsync("UPDATE auth_applications SET client_id = @client, document = @doc, concurrency = @c WHERE id = @id AND concurrency = @old",
            cancellationToken, ("@client", application.ClientId), ("@doc", JsonSerializer.Serialize(application, StoredApplication.Json)), ("@c", application.Concurrency),
            ("@id", application.Id), ("@old", previous));
        if (updated == 0)
        {
            throw new OpenIddictExceptions.ConcurrencyException("The application was changed or deleted meanwhile");
        }
    }

    private async Task<List<StoredApplication>> AllAsync(CancellationToken cancellationToken) =>
        (await database.QueryAsync($"SELECT {Columns} FROM auth_applications ORDER BY client_id", cancellationToken)).Select(ClientRegistry.Read).ToList();

    private async Task<List<StoredApplication>> QueryAsync(string where, string value, CancellationToken cancellationToken) =>
        (await database.QueryAsync($"SELECT {Columns} FROM auth_applications {where}", cancellationToken, ("@v", value))).Select(ClientRegistry.Read).ToList();
}

/// <summary>JWKS keys back to their JSON members (for the rare case OpenIddict writes a key set).</summary>
internal static class JsonWebKeyConverter
{
    public static Dictionary<string, object?> ToDictionary(JsonWebKey key) => new()
    {
        ["kty"] = key.Kty, ["kid"] = key.Kid, ["use"] = key.Use, ["alg"] = key.Alg, ["n"] = key.N, ["e"] = key.E,
        ["crv"] = key.Crv, ["x"] = key.X, ["y"] = key.Y,
    };
}

/// <summary>OpenIddict's authorization store over <c>auth_authorizations</c>.</summary>
public sealed class AuthorizationStore(AuthDatabase database, TimeProvider clock) : IOpenIddictAuthorizationStore<StoredAuthorization>
{
    private const string Select = "SELECT document, concurrency FROM auth_authorizations";

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken) => (await QueryAsync("", cancellationToken)).Count;

    public async ValueTask<long> CountAsync<TResult>(Func<IQueryable<StoredAuthorization>, IQueryable<TResult>> query, CancellationToken cancellationToken) =>
        query((await QueryAsync("", cancellationToken)).AsQueryable()).LongCount();

    public async ValueTask CreateAsync(StoredAuthorization authorization, CancellationToken cancellationToken)
    {
        authorization.Concurrency = Guid.NewGuid().ToString("N");
        await database.ExecuteAsync(
            "INSERT INTO auth_authorizations (id, application_id, subject, status, type, created, document, concurrency) VALUES (@id, @app, @sub, @status, @type, @created, @doc, @c)",
            cancellationToken, Columns(authorization));
    }

    public async ValueTask DeleteAsync(StoredAuthorization authorization, CancellationToken cancellationToken)
    {
        await database.ExecuteAsync("DELETE FROM auth_tokens WHERE authorization_id = @id", cancellationToken, ("@id", authorization.Id));
        await database.ExecuteAsync("DELETE FROM auth_authorizations WHERE id = @id", cancellationToken, ("@id", authorization.Id));
    }

    public async IAsyncEnumerable<StoredAuthorization> FindAsync(string? subject, string? client, string? status, string? type, ImmutableArray<string>? scopes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (where, parameters) = StoreRows.Filter(subject, client, status, type);
        foreach (var authorization in await QueryAsync(where, cancellationToken, parameters))
        {
            if (scopes is { } required && !required.All(s => authorization.Scopes.Contains(s, StringComparer.Ordinal)))
            {
                continue;
            }

            yield return authorization;
        }
    }

    public IAsyncEnumerable<StoredAuthorization> FindByApplicationIdAsync(string identifier, CancellationToken cancellationToken) =>
        FindAsync(null, identifier, null, null, null, cancellationToken);

    public async ValueTask<StoredAuthorization?> FindByIdAsync(string identifier, CancellationToken cancellationToken) =>
        (await QueryAsync("WHERE id = @id", cancellationToken, ("@id", identifier))).FirstOrDefault();

    public IAsyncEnumerable<StoredAuthorization> FindBySubjectAsync(string subject, CancellationToken cancellationToken) =>
        FindAsync(subject, null, null, null, null, cancellationToken);

    public ValueTask<string?> GetApplicationIdAsync(StoredAuthorization authorization, CancellationToken cancellationToken) => new(authorization.ApplicationId);

    public async ValueTask<TResult?> GetAsync<TState, TResult>(Func<IQueryable<StoredAuthorization>, TState, IQueryable<TResult>> query, TState state, CancellationToken cancellationToken) =>
        query((await QueryAsync("", cancellationToken)).AsQueryable(), state).FirstOrDefault();

    public ValueTask<DateTimeOffset?> GetCreationDateAsync(StoredAuthorization authorization, CancellationToken cancellationToken) => new(authorization.CreationDate);

    public ValueTask<string?> GetIdAsync(StoredAuthorization authorization, CancellationToken cancellationToken) => new(authorization.Id);

    public ValueTask<ImmutableDictionary<string, JsonElement>> GetPropertiesAsync(StoredAuthorization authorization, CancellationToken cancellationToken) =>
        new(StoreRows.Props(authorization.Properties));

    public ValueTask<ImmutableArray<string>> GetScopesAsync(StoredAuthorization authorization, CancellationToken cancellationToken) => new([.. authorization.Scopes]);

    public ValueTask<string?> GetStatusAsync(StoredAuthorization authorization, CancellationToken cancellationToken) => new(authorization.Status);

    public ValueTask<string?> GetSubjectAsync(StoredAuthorization authorization, CancellationToken cancellationToken) => new(authorization.Subject);

    public ValueTask<string?> GetTypeAsync(StoredAuthorization authorization, CancellationToken cancellationToken) => new(authorization.Type);

    public ValueTask<StoredAuthorization> InstantiateAsync(CancellationToken cancellationToken) => new(new StoredAuthorization());

    public async IAsyncEnumerable<StoredAuthorization> ListAsync(int? count, int? offset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var authorization in (await QueryAsync("", cancellationToken)).Skip(offset ?? 0).Take(count ?? int.MaxValue))
        {
            yield return authorization;
        }
    }

    public async IAsyncEnumerable<TResult> ListAsync<TState, TResult>(Func<IQueryable<StoredAuthorization>, TState, IQueryable<TResult>> query, TState state,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var result in query((await QueryAsync("", cancellationToken)).AsQueryable(), state))
        {
            yield return result;
        }
    }

    public async ValueTask<long> PruneAsync(DateTimeOffset threshold, CancellationToken cancellationToken)
    {
        var limit = StoreRows.Millis(threshold);
        await database.ExecuteAsync(
            "DELETE FROM auth_tokens WHERE authorization_id IN (SELECT id FROM auth_authorizations WHERE created < @t AND status <> 'valid')", cancellationToken, ("@t", limit));
        return await database.ExecuteAsync("DELETE FROM auth_authorizations WHERE created < @t AND status <> 'valid'", cancellationToken, ("@t", limit));
    }

    public async ValueTask<long> RevokeAsync(string? subject, string? client, string? status, string? type, CancellationToken cancellationToken)
    {
        var (where, parameters) = StoreRows.Filter(subject, client, status, type);
        return await database.ExecuteAsync($"UPDATE auth_authorizations SET status = 'revoked' {where}", cancellationToken, parameters);
    }

    public ValueTask<long> RevokeByApplicationIdAsync(string identifier, CancellationToken cancellationToken) => RevokeAsync(null, identifier, null, null, cancellationToken);

    public ValueTask<long> RevokeBySubjectAsync(string subject, CancellationToken cancellationToken) => RevokeAsync(subject, null, null, null, cancellationToken);

    public ValueTask SetApplicationIdAsync(StoredAuthorization authorization, string? identifier, CancellationToken cancellationToken) => StoreRows.Set(() => authorization.ApplicationId = identifier);

    public ValueTask SetCreationDateAsync(StoredAuthorization authorization, DateTimeOffset? date, CancellationToken cancellationToken) => StoreRows.Set(() => authorization.CreationDate = date);

    public ValueTask SetPropertiesAsync(StoredAuthorization authorization, ImmutableDictionary<string, JsonElement> properties, CancellationToken cancellationToken) =>
        StoreRows.Set(() => authorization.Properties = properties.ToDictionary());

    public ValueTask SetScopesAsync(StoredAuthorization authorization, ImmutableArray<string> scopes, CancellationToken cancellationToken) => StoreRows.Set(() => authorization.Scopes = [.. scopes]);

    public ValueTask SetStatusAsync(StoredAuthorization authorization, string? status, CancellationToken cancellationToken) => StoreRows.Set(() => authorization.Status = status);

    public ValueTask SetSubjectAsync(StoredAuthorization authorization, string? subject, CancellationToken cancellationToken) => StoreRows.Set(() => authorization.Subject = subject);

    public ValueTask SetTypeAsync(StoredAuthorization authorization, string? type, CancellationToken cancellationToken) => StoreRows.Set(() => authorization.Type = type);

    public async ValueTask UpdateAsync(StoredAuthorization authorization, CancellationToken cancellationToken)
    {
        var previous = authorization.Concurrency;
        authorization.Concurrency = Guid.NewGuid().ToString("N");
        var updated = await database.ExecuteAsync(
            "UPDATE auth_authorizations SET application_id = @app, subject = @sub, status = @status, type = @type, created = @created, document = @doc, concurrency = @c "
            + "WHERE id = @id AND concurrency = @old",
            cancellationToken, [.. Columns(authorization), ("@old", previous)]);
        if (updated == 0)
        {
            throw new OpenIddictExceptions.ConcurrencyException("The authorization was changed or deleted meanwhile");
        }
    }

    private (string Name, object? Value)[] Columns(StoredAuthorization a) =>
    [
        ("@id", a.Id), ("@app", a.ApplicationId), ("@sub", a.Subject), ("@status", a.Status), ("@type", a.Type),
        ("@created", StoreRows.Millis(a.CreationDate ?? clock.GetUtcNow())), ("@doc", JsonSerializer.Serialize(a, StoredApplication.Json)), ("@c", a.Concurrency),
    ];

    private async Task<List<StoredAuthorization>> QueryAsync(string where, CancellationToken cancellationToken, params (string, object?)[] parameters) =>
        (await database.QueryAsync($"{Select} {where}", cancellationToken, parameters))
        .Select(r => StoreRows.Read<StoredAuthorization>(r, (a, c) => a.Concurrency = c)).ToList();
}

/// <summary>
/// OpenIddict's token store over <c>auth_tokens</c>. Redeeming a code or rotating a refresh token is an update checked
/// against the row's concurrency stamp, so of two instances redeeming the same code at once only one succeeds.
/// </summary>
public sealed class TokenStore(AuthDatabase database, TimeProvider clock) : IOpenIddictTokenStore<StoredToken>
{
    private const string Select = "SELECT document, concurrency FROM auth_tokens";

    public async ValueTask<long> CountAsync(CancellationToken cancellationToken) => (await QueryAsync("", cancellationToken)).Count;

    public async ValueTask<long> CountAsync<TResult>(Func<IQueryable<StoredToken>, IQueryable<TResult>> query, CancellationToken cancellationToken) =>
        query((await QueryAsync("", cancellationToken)).AsQueryable()).LongCount();

    public async ValueTask CreateAsync(StoredToken token, CancellationToken cancellationToken)
    {
        token.Concurrency = Guid.NewGuid().ToString("N");
        await database.ExecuteAsync(
            "INSERT INTO auth_tokens (id, application_id, authorization_id, subject, status, type, reference_id, created, expires, document, concurrency) "
            + "VALUES (@id, @app, @auth, @sub, @status, @type, @ref, @created, @expires, @doc, @c)",
            cancellationToken, Columns(token));
    }

    public async ValueTask DeleteAsync(StoredToken token, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM auth_tokens WHERE id = @id", cancellationToken, ("@id", token.Id));

    public async IAsyncEnumerable<StoredToken> FindAsync(string? subject, string? client, string? status, string? type, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (where, parameters) = StoreRows.Filter(subject, client, status, type);
        foreach (var token in await QueryAsync(where, cancellationToken, parameters))
        {
            yield return token;
        }
    }

    public IAsyncEnumerable<StoredToken> FindByApplicationIdAsync(string identifier, CancellationToken cancellationToken) => FindAsync(null, identifier, null, null, cancellationToken);

    public async IAsyncEnumerable<StoredToken> FindByAuthorizationIdAsync(string identifier, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var token in await QueryAsync("WHERE authorization_id = @auth", cancellationToken, ("@auth", identifier)))
        {
            yield return token;
        }
    }

    public async ValueTask<StoredToken?> FindByIdAsync(string identifier, CancellationToken cancellationToken) =>
        (await QueryAsync("WHERE id = @id", cancellationToken, ("@id", identifier))).FirstOrDefault();

    public async ValueTask<StoredToken?> FindByReferenceIdAsync(string identifier, CancellationToken cancellationToken) =>
        (await QueryAsync("WHERE reference_id = @ref", cancellationToken, ("@ref", identifier))).FirstOrDefault();

    public IAsyncEnumerable<StoredToken> FindBySubjectAsync(string subject, CancellationToken cancellationToken) => FindAsync(subject, null, null, null, cancellationToken);

    public ValueTask<string?> GetApplicationIdAsync(StoredToken token, CancellationToken cancellationToken) => new(token.ApplicationId);

    public async ValueTask<TResult?> GetAsync<TState, TResult>(Func<IQueryable<StoredToken>, TState, IQueryable<TResult>> query, TState state, CancellationToken cancellationToken) =>
        query((await QueryAsync("", cancellationToken)).AsQueryable(), state).FirstOrDefault();

    public ValueTask<string?> GetAuthorizationIdAsync(StoredToken token, CancellationToken cancellationToken) => new(token.AuthorizationId);

    public ValueTask<DateTimeOffset?> GetCreationDateAsync(StoredToken token, CancellationToken cancellationToken) => new(token.CreationDate);

    public ValueTask<DateTimeOffset?> GetExpirationDateAsync(StoredToken token, CancellationToken cancellationToken) => new(token.ExpirationDate);

    public ValueTask<string?> GetIdAsync(StoredToken token, CancellationToken cancellationToken) => new(token.Id);

    public ValueTask<string?> GetPayloadAsync(StoredToken token, CancellationToken cancellationToken) => new(token.Payload);

    public ValueTask<ImmutableDictionary<string, JsonElement>> GetPropertiesAsync(StoredToken token, CancellationToken cancellationToken) => new(StoreRows.Props(token.Properties));

    public ValueTask<DateTimeOffset?> GetRedemptionDateAsync(StoredToken token, CancellationToken cancellationToken) => new(token.RedemptionDate);

    public ValueTask<string?> GetReferenceIdAsync(StoredToken token, CancellationToken cancellationToken) => new(token.ReferenceId);

    public ValueTask<string?> GetStatusAsync(StoredToken token, CancellationToken cancellationToken) => new(token.Status);

    public ValueTask<string?> GetSubjectAsync(StoredToken token, CancellationToken cancellationToken) => new(token.Subject);

    public ValueTask<string?> GetTypeAsync(StoredToken token, CancellationToken cancellationToken) => new(token.Type);

    public ValueTask<StoredToken> InstantiateAsync(CancellationToken cancellationToken) => new(new StoredToken());

    public async IAsyncEnumerable<StoredToken> ListAsync(int? count, int? offset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var token in (await QueryAsync("", cancellationToken)).Skip(offset ?? 0).Take(count ?? int.MaxValue))
        {
            yield return token;
        }
    }

    public async IAsyncEnumerable<TResult> ListAsync<TState, TResult>(Func<IQueryable<StoredToken>, TState, IQueryable<TResult>> query, TState state,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var result in query((await QueryAsync("", cancellationToken)).AsQueryable(), state))
        {
            yield return result;
        }
    }

    public async ValueTask<long> PruneAsync(DateTimeOffset threshold, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM auth_tokens WHERE created < @t AND (status <> 'valid' OR expires < @now)", cancellationToken,
            ("@t", StoreRows.Millis(threshold)), ("@now", StoreRows.Millis(clock.GetUtcNow())));

    public async ValueTask<long> RevokeAsync(string? subject, string? client, string? status, string? type, CancellationToken cancellationToken)
    {
        var (where, parameters) = StoreRows.Filter(subject, client, status, type);
        return await database.ExecuteAsync($"UPDATE auth_tokens SET status = 'revoked' {where}", cancellationToken, parameters);
    }

    public ValueTask<long> RevokeByApplicationIdAsync(string identifier, CancellationToken cancellationToken) => RevokeAsync(null, identifier, null, null, cancellationToken);

    public async ValueTask<long> RevokeByAuthorizationIdAsync(string identifier, CancellationToken cancellationToken) =>
        await RevokeWhereAsync("authorization_id = @auth", ("@auth", identifier), cancellationToken);

    public ValueTask<long> RevokeBySubjectAsync(string subject, CancellationToken cancellationToken) => RevokeAsync(subject, null, null, null, cancellationToken);

    public ValueTask SetApplicationIdAsync(StoredToken token, string? identifier, CancellationToken cancellationToken) => StoreRows.Set(() => token.ApplicationId = identifier);

    public ValueTask SetAuthorizationIdAsync(StoredToken token, string? identifier, CancellationToken cancellationToken) => StoreRows.Set(() => token.AuthorizationId = identifier);

    public ValueTask SetCreationDateAsync(StoredToken token, DateTimeOffset? date, CancellationToken cancellationToken) => StoreRows.Set(() => token.CreationDate = date);

    public ValueTask SetExpirationDateAsync(StoredToken token, DateTimeOffset? date, CancellationToken cancellationToken) => StoreRows.Set(() => token.ExpirationDate = date);

    public ValueTask SetPayloadAsync(StoredToken token, string? payload, CancellationToken cancellationToken) => StoreRows.Set(() => token.Payload = payload);

    public ValueTask SetPropertiesAsync(StoredToken token, ImmutableDictionary<string, JsonElement> properties, CancellationToken cancellationToken) =>
        StoreRows.Set(() => token.Properties = properties.ToDictionary());

    public ValueTask SetRedemptionDateAsync(StoredToken token, DateTimeOffset? date, CancellationToken cancellationToken) => StoreRows.Set(() => token.RedemptionDate = date);

    public ValueTask SetReferenceIdAsync(StoredToken token, string? identifier, CancellationToken cancellationToken) => StoreRows.Set(() => token.ReferenceId = identifier);

    public ValueTask SetStatusAsync(StoredToken token, string? status, CancellationToken cancellationToken) => StoreRows.Set(() => token.Status = status);

    public ValueTask SetSubjectAsync(StoredToken token, string? subject, CancellationToken cancellationToken) => StoreRows.Set(() => token.Subject = subject);

    public ValueTask SetTypeAsync(StoredToken token, string? type, CancellationToken cancellationToken) => StoreRows.Set(() => token.Type = type);

    public async ValueTask UpdateAsync(StoredToken token, CancellationToken cancellationToken)
    {
        var previous = token.Concurrency;
        token.Concurrency = Guid.NewGuid().ToString("N");
        var updated = await database.ExecuteAsync(
            "UPDATE auth_tokens SET application_id = @app, authorization_id = @auth, subject = @sub, status = @status, type = @type, reference_id = @ref, "
            + "created = @created, expires = @expires, document = @doc, concurrency = @c WHERE id = @id AND concurrency = @old",
            cancellationToken, [.. Columns(token), ("@old", previous)]);
        if (updated == 0)
        {
            throw new OpenIddictExceptions.ConcurrencyException("The token was changed or deleted meanwhile (redeemed by another request?)");
        }
    }

    private async Task<long> RevokeWhereAsync(string condition, (string, object?) parameter, CancellationToken cancellationToken) =>
        await database.ExecuteAsync($"UPDATE auth_tokens SET status = 'revoked' WHERE {condition}", cancellationToken, parameter);

    private (string Name, object? Value)[] Columns(StoredToken t) =>
    [
        ("@id", t.Id), ("@app", t.ApplicationId), ("@auth", t.AuthorizationId), ("@sub", t.Subject), ("@status", t.Status), ("@type", t.Type),
        ("@ref", t.ReferenceId), ("@created", StoreRows.Millis(t.CreationDate ?? clock.GetUtcNow())), ("@expires", StoreRows.Millis(t.ExpirationDate)),
        ("@doc", JsonSerializer.Serialize(t, StoredApplication.Json)), ("@c", t.Concurrency),
    ];

    private async Task<List<StoredToken>> QueryAsync(string where, CancellationToken cancellationToken, params (string, object?)[] parameters) =>
        (await database.QueryAsync($"{Select} {where}", cancellationToken, parameters))
        .Select(r => StoreRows.Read<StoredToken>(r, (t, c) => t.Concurrency = c)).ToList();
}

/// <summary>The empty scope store (see <see cref="StoredScope"/>).</summary>
public sealed class ScopeStore : IOpenIddictScopeStore<StoredScope>
{
    public ValueTask<long> CountAsync(CancellationToken cancellationToken) => new(0L);

    public ValueTask<long> CountAsync<TResult>(Func<IQueryable<StoredScope>, IQueryable<TResult>> query, CancellationToken cancellationToken) => new(0L);

    public ValueTask CreateAsync(StoredScope scope, CancellationToken cancellationToken) =>
        throw new NotSupportedException("SMART scopes are not registered: they are parsed where they are used");

    public ValueTask DeleteAsync(StoredScope scope, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<StoredScope?> FindByIdAsync(string identifier, CancellationToken cancellationToken) => new((StoredScope?)null);

    public ValueTask<StoredScope?> FindByNameAsync(string name, CancellationToken cancellationToken) => new((StoredScope?)null);

    public IAsyncEnumerable<StoredScope> FindByNamesAsync(ImmutableArray<string> names, CancellationToken cancellationToken) => StoreRows.ToAsync<StoredScope>([]);

    public IAsyncEnumerable<StoredScope> FindByResourceAsync(string resource, CancellationToken cancellationToken) => StoreRows.ToAsync<StoredScope>([]);

    public ValueTask<TResult?> GetAsync<TState, TResult>(Func<IQueryable<StoredScope>, TState, IQueryable<TResult>> query, TState state, CancellationToken cancellationToken) =>
        new(default(TResult));

    public ValueTask<string?> GetDescriptionAsync(StoredScope scope, CancellationToken cancellationToken) => new((string?)null);

    public ValueTask<ImmutableDictionary<CultureInfo, string>> GetDescriptionsAsync(StoredScope scope, CancellationToken cancellationToken) =>
        new(ImmutableDictionary<CultureInfo, string>.Empty);

    public ValueTask<string?> GetDisplayNameAsync(StoredScope scope, CancellationToken cancellationToken) => new(scope.Name);

    public ValueTask<ImmutableDictionary<CultureInfo, string>> GetDisplayNamesAsync(StoredScope scope, CancellationToken cancellationToken) =>
        new(ImmutableDictionary<CultureInfo, string>.Empty);

    public ValueTask<string?> GetIdAsync(StoredScope scope, CancellationToken cancellationToken) => new(scope.Id);

    public ValueTask<string?> GetNameAsync(StoredScope scope, CancellationToken cancellationToken) => new(scope.Name);

    public ValueTask<ImmutableDictionary<string, JsonElement>> GetPropertiesAsync(StoredScope scope, CancellationToken cancellationToken) =>
        new(ImmutableDictionary<string, JsonElement>.Empty);

    public ValueTask<ImmutableArray<string>> GetResourcesAsync(StoredScope scope, CancellationToken cancellationToken) => new(ImmutableArray<string>.Empty);

    public ValueTask<StoredScope> InstantiateAsync(CancellationToken cancellationToken) => new(new StoredScope());

    public IAsyncEnumerable<StoredScope> ListAsync(int? count, int? offset, CancellationToken cancellationToken) => StoreRows.ToAsync<StoredScope>([]);

    public IAsyncEnumerable<TResult> ListAsync<TState, TResult>(Func<IQueryable<StoredScope>, TState, IQueryable<TResult>> query, TState state, CancellationToken cancellationToken) =>
        StoreRows.ToAsync<TResult>([]);

    public ValueTask SetDescriptionAsync(StoredScope scope, string? description, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask SetDescriptionsAsync(StoredScope scope, ImmutableDictionary<CultureInfo, string> descriptions, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask SetDisplayNameAsync(StoredScope scope, string? name, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask SetDisplayNamesAsync(StoredScope scope, ImmutableDictionary<CultureInfo, string> names, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask SetNameAsync(StoredScope scope, string? name, CancellationToken cancellationToken)
    {
        scope.Name = name;
        return ValueTask.CompletedTask;
    }

    public ValueTask SetPropertiesAsync(StoredScope scope, ImmutableDictionary<string, JsonElement> properties, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask SetResourcesAsync(StoredScope scope, ImmutableArray<string> resources, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask UpdateAsync(StoredScope scope, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
