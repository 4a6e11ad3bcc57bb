using System.Data.Common;
using FhirRecovery.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace FhirRecovery.Server.Security.Storage;

/// <summary>
/// The authorization server's tables (clients, authorizations, tokens, keys, data-protection keys) in the FHIR store's own
/// database (<c>Storage:Provider</c>, <c>Storage:ConnectionString</c>), so every server instance sharing that database
/// shares them: a code issued by one instance is redeemed at another, a revoked token is revoked everywhere.
/// Plain ADO.NET on both providers; also used by <c>fhir-recovery clients add</c>.
/// </summary>
public sealed class AuthDatabase
{
    private static readonly string[] Schema =
    [
        "CREATE TABLE IF NOT EXISTS auth_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS auth_applications (id TEXT PRIMARY KEY, client_id TEXT NOT NULL UNIQUE, document TEXT NOT NULL, concurrency TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS auth_authorizations (id TEXT PRIMARY KEY, application_id TEXT, subject TEXT, status TEXT, type TEXT, "
        + "created BIGINT, document TEXT NOT NULL, concurrency TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS ix_auth_authorizations_app_subject ON auth_authorizations (application_id, subject)",
        "CREATE TABLE IF NOT EXISTS auth_tokens (id TEXT PRIMARY KEY, application_id TEXT, authorization_id TEXT, subject TEXT, status TEXT, "
        + "type TEXT, reference_id TEXT, created BIGINT, expires BIGINT, document TEXT NOT NULL, concurrency TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS ix_auth_tokens_reference ON auth_tokens (reference_id)",
        "CREATE INDEX IF NOT EXISTS ix_auth_tokens_authorization ON auth_tokens (authorization_id)",
        "CREATE INDEX IF NOT EXISTS ix_auth_tokens_app_subject ON auth_tokens (application_id, subject)",
        "CREATE TABLE IF NOT EXISTS auth_data_protection_keys (name TEXT PRIMARY KEY, xml TEXT NOT NULL)",
    ];

    private readonly string _connectionString;
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private volatile bool _schemaReady;

    public AuthDatabase(StorageOptions options)
    {
        IsPostgres = options.Provider == StorageOptions.PostgreSqlProvider;
        if (IsPostgres)
        {
            _connectionString = options.ConnectionString ?? throw new ArgumentException("Storage:ConnectionString is required for PostgreSQL");
            return;
        }

        var builder = new SqliteConnectionStringBuilder(string.IsNullOrWhiteSpace(options.ConnectionString)
            ? StorageOptions.DefaultSqliteConnectionString
            : options.ConnectionString)
        {
            Pooling = true,
            // Microsoft.Data.Sqlite retries a busy database until this timeout: the store's writer may hold the lock.
            DefaultTimeout = Math.Max(options.CommandTimeoutSeconds, 30),
        };
        var fullPath = Path.GetFullPath(builder.DataSource);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        builder.DataSource = fullPath;
        _connectionString = builder.ToString();
    }

    public bool IsPostgres { get; }

    /// <summary>An open connection, with the tables created (once per process; idempotent across instances).</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = await OpenRawAsync(cancellationToken);
        if (!_schemaReady)
        {
            await _schemaLock.WaitAsync(cancellationToken);
            try
            {
                if (!_schemaReady)
                {
                    foreach (var statement in Schema)
                    {
                        await using var command = Command(connection, statement);
                        try
                        {
                            await command.ExecuteNonQueryAsync(cancellationToken);
                        }
                        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable
                                                                or PostgresErrorCodes.DuplicateObject)
                        {
                            // Another instance created it at the same moment (IF NOT EXISTS is not atomic in PostgreSQL's catalog).
                        }
                    }

                    _schemaReady = true;
                }
            }
            finally
            {
                _schemaLock.Release();
            }
        }

        return connection;
    }

    private async Task<DbConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        DbConnection connection = IsPostgres ? new NpgsqlConnection(_connectionString) : new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            if (!IsPostgres)
            {
                await using var pragma = Command(connection, "PRAGMA busy_timeout = 10000");
                await pragma.ExecuteNonQueryAsync(cancellationToken);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>A command with named parameters (<c>@name</c>, understood by both providers); null values are sent as NULL.</summary>
    public static DbCommand Command(DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            if (value is null && parameter is NpgsqlParameter npgsql)
            {
                npgsql.NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text;
            }

            command.Parameters.Add(parameter);
        }

        return command;
    }

    public async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Rows as string/long values by column name.</summary>
    public async Task<List<Dictionary<string, object?>>> QueryAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<Dictionary<string, object?>>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>A named secret (signing key, ...): the stored one, or <paramref name="create"/>'s, stored first-come (all instances agree).</summary>
    public async Task<string> GetOrCreateKeyAsync(string name, Func<string> create, CancellationToken cancellationToken = default)
    {
        var existing = await QueryAsync("SELECT value FROM auth_keys WHERE name = @name", cancellationToken, ("@name", name));
        if (existing.Count > 0)
        {
            return (string)existing[0]["value"]!;
        }

        await ExecuteAsync("INSERT INTO auth_keys (name, value, created_at) VALUES (@name, @value, @created) ON CONFLICT (name) DO NOTHING", cancellationToken,
            ("@name", name), ("@value", create()), ("@created", DateTimeOffset.UtcNow.ToString("O")));
        var stored = await QueryAsync("SELECT value FROM auth_keys WHERE name = @name", cancellationToken, ("@name", name));
        return (string)stored[0]["value"]!;
    }
}
