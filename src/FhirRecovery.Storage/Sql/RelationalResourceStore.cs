using System.Data.Common;
using System.Security.Cryptography;
using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Search;
using FhirRecovery.Storage.Terminology;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Sql;

/// <summary>
/// The store over an ADO.NET database; the subclasses (<see cref="SqliteResourceStore"/>, <see cref="PostgresResourceStore"/>)
/// only open connections and write transactions, everything else is shared and dialect differences live in
/// <see cref="SqlDialect"/>.
/// </summary>
public abstract partial class RelationalResourceStore : IResourceStore
{
    private const string PageTokenSecretSetting = "page_token_secret";

    private readonly SearchExecutor _search;
    private readonly HistoryExecutor _history;
    private volatile bool _initialized;

    private protected RelationalResourceStore(SqlDialect dialect, StorageOptions options, SearchParameterRegistry registry,
        CompartmentDefinitions compartments, ICodeExpansion? terminology, TimeProvider time)
    {
        Context = new StoreContext(dialect, options, registry, compartments, terminology, time);
        _search = new SearchExecutor(Context);
        _history = new HistoryExecutor(Context);
    }

    internal StoreContext Context { get; }

    /// <summary>The search parameters this store indexes and understands (for the CapabilityStatement).</summary>
    public SearchParameterRegistry SearchParameters => Context.Registry;

    /// <summary>A pooled connection, open, for reads outside a session.</summary>
    private protected abstract Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>A connection with a write transaction started (SQLite: holding the write lock).</summary>
    private protected abstract Task<WriteTransaction> BeginWriteAsync(CancellationToken cancellationToken);

    /// <summary>Runs once before the migrations (SQLite: WAL mode).</summary>
    private protected virtual Task PrepareDatabaseAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await using (var connection = await OpenConnectionAsync(cancellationToken))
        {
            await PrepareDatabaseAsync(connection, cancellationToken);
        }

        await using var write = await BeginWriteAsync(cancellationToken);
        var (connection2, transaction) = (write.Connection, write.Transaction);
        await Context.Dialect.LockForMigrationAsync(connection2, transaction, cancellationToken);
        await ExecuteAsync(connection2, transaction,
            $"CREATE TABLE IF NOT EXISTS schema_version (version {Context.Dialect.Types.Long} PRIMARY KEY, applied_at {Context.Dialect.Types.Text} NOT NULL)",
            cancellationToken);
        var current = Convert.ToInt64(await ScalarAsync(connection2, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version", cancellationToken),
            System.Globalization.CultureInfo.InvariantCulture);
        var migrations = Schema.Migrations(Context.Dialect.Types, Context.Dialect.IsPostgres);
        for (var version = current + 1; version <= migrations.Count; version++)
        {
            await ExecuteAsync(connection2, transaction, migrations[(int)version - 1], cancellationToken);
            var p = new SqlParameters();
            var sql = $"INSERT INTO schema_version (version, applied_at) VALUES ({p.Add(version)}, {p.Add(Context.Time.GetUtcNow().ToString("O"))})";
            await using var insert = p.CreateCommand(connection2, transaction, sql, Context.CommandTimeout);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        // One signing key per database, so every instance sharing it accepts the others' page tokens.
        var secret = Context.Options.PageTokenSecret;
        if (string.IsNullOrEmpty(secret))
        {
            var p = new SqlParameters();
            var insert = $"INSERT INTO store_settings (name, value) VALUES ({p.Add(PageTokenSecretSetting)}, {p.Add(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)))}) ON CONFLICT (name) DO NOTHING";
            await using (var command = p.CreateCommand(connection2, transaction, insert, Context.CommandTimeout))
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            var q = new SqlParameters();
            await using var select = q.CreateCommand(connection2, transaction, $"SELECT value FROM store_settings WHERE name = {q.Add(PageTokenSecretSetting)}", Context.CommandTimeout);
            secret = (string)(await select.ExecuteScalarAsync(cancellationToken))!;
        }

        await write.CommitAsync(cancellationToken);
        Context.PageTokens = new PageTokenCodec(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
        _initialized = true;
    }

    private void EnsureInitialized()
    {
        if (!_initialized)
        {
            throw new InvalidOperationException("The store is not initialised: call InitializeAsync first.");
        }
    }

    public async Task<bool> IsEmptyAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await ScalarAsync(connection, null, "SELECT res_key FROM resources LIMIT 1", cancellationToken) is null or DBNull;
    }

    public virtual async Task<ResourceVersion?> ReadAsync(string resourceType, string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await ReadAsync(Context, connection, null, resourceType, id, cancellationToken);
    }

    internal static async Task<ResourceVersion?> ReadAsync(StoreContext context, DbConnection connection, DbTransaction? transaction,
        string resourceType, string id, CancellationToken cancellationToken)
    {
        var p = new SqlParameters();
        p.Add(resourceType);
        p.Add(id);
        return await SingleAsync(context, connection, transaction, p, ReadCurrentSql, cancellationToken);
    }

    /// <summary>The current version of one resource; parameters @p0 (type) and @p1 (id).</summary>
    private protected static readonly string ReadCurrentSql = $"""
        SELECT {VersionReader.Columns("v")}
        FROM resources h JOIN resource_versions v ON v.res_key = h.res_key AND v.version_id = h.version_id
        WHERE h.res_type = @p0 AND h.res_id = @p1
        """;

    public async Task<ResourceVersion?> ReadVersionAsync(string resourceType, string id, long versionId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var p = new SqlParameters();
        var sql = $"""
            SELECT {VersionReader.Columns("v")}
            FROM resources h JOIN resource_versions v ON v.res_key = h.res_key
            WHERE h.res_type = {p.Add(resourceType)} AND h.res_id = {p.Add(id)} AND v.version_id = {p.Add(versionId)}
            """;
        return await SingleAsync(Context, connection, null, p, sql, cancellationToken);
    }

    private static async Task<ResourceVersion?> SingleAsync(StoreContext context, DbConnection connection, DbTransaction? transaction,
        SqlParameters p, string sql, CancellationToken cancellationToken)
    {
        await using var command = p.CreateCommand(connection, transaction, sql, context.CommandTimeout);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? VersionReader.Read(reader, 0, context.Dialect) : null;
    }

    public Task<IStoreSession> BeginAsync(CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        // The database transaction begins at the session's first read or write (see StoreSession).
        return Task.FromResult<IStoreSession>(new StoreSession(Context, BeginWriteAsync, _search, ReadAsync));
    }

    public async Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await _search.SearchAsync(connection, null, request, cancellationToken);
    }

    public async Task<HistoryResult> HistoryAsync(HistoryRequest request, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        await using var connection = await OpenConnectionAsync(cancellationToken);
        return await _history.HistoryAsync(connection, null, request, cancellationToken);
    }

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await OpenConnectionAsync(cancellationToken);
            return await ScalarAsync(connection, null, "SELECT 1", cancellationToken) is not null;
        }
        catch (DbException)
        {
            return false;
        }
    }

    internal async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = Context.CommandTimeout;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = Context.CommandTimeout;
        return await command.ExecuteScalarAsync(cancellationToken);
    }
}

/// <summary>
/// An open connection with a write transaction. Commit and dispose both end it and release the connection and the
/// writer lock at once (a committed session that the caller disposes later must not keep SQLite's writers waiting).
/// </summary>
internal sealed class WriteTransaction(DbConnection connection, DbTransaction transaction, IDisposable? writerLock) : IAsyncDisposable
{
    private bool _ended;

    public DbConnection Connection { get; } = connection;

    public DbTransaction Transaction { get; } = transaction;

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            // Committed or failed to commit (then the database rolls back): either way the transaction is over.
            await EndAsync(rollback: false);
        }
    }

    public ValueTask DisposeAsync() => EndAsync(rollback: true);

    private async ValueTask EndAsync(bool rollback)
    {
        if (_ended)
        {
            return;
        }

        _ended = true;
        try
        {
            if (rollback)
            {
                try
                {
                    await Transaction.RollbackAsync();
                }
                catch (Exception e) when (e is DbException or InvalidOperationException)
                {
                    // The connection broke: the database has rolled back already.
                }
            }

            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
        finally
        {
            writerLock?.Dispose();
        }
    }
}
