using System.Collections.Concurrent;
using System.Data.Common;
using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Search;
using FhirRecovery.Storage.Sql;
using FhirRecovery.Storage.Terminology;
using Microsoft.Data.Sqlite;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage;

/// <summary>
/// The embedded store: one SQLite file in WAL mode (readers never wait for the writer), pooled connections, one writer at
/// a time. Writers of this process queue on an async lock instead of SQLite's busy-wait (which sleeps in steps and ruins
/// tail latency); writers of other processes are covered by BEGIN IMMEDIATE and the busy timeout.
/// </summary>
public sealed class SqliteResourceStore : RelationalResourceStore, IDisposable
{
    // Idle prepared readers kept per store: enough for the request threads of a busy server, few enough not to matter.
    private const int MaxIdleReaders = 32;

    private readonly ConcurrentBag<PreparedReader> _readers = [];
    private volatile bool _disposed;

    private static readonly ConcurrentDictionary<string, SemaphoreSlim> WriterLocks = new(StringComparer.Ordinal);

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writerLock;
    private readonly int _busyTimeout;

    public SqliteResourceStore(StorageOptions options, SearchParameterRegistry searchParameters, CompartmentDefinitions compartments,
        ICodeExpansion? terminology = null, TimeProvider? time = null)
        : base(SqliteDialect.Instance, options, searchParameters, compartments, terminology, time ?? TimeProvider.System)
    {
        var builder = new SqliteConnectionStringBuilder(string.IsNullOrWhiteSpace(options.ConnectionString)
            ? StorageOptions.DefaultSqliteConnectionString
            : options.ConnectionString)
        {
            Pooling = true,
            DefaultTimeout = options.CommandTimeoutSeconds,
        };
        if (builder.Mode is SqliteOpenMode.Memory || builder.DataSource is "" or ":memory:")
        {
            throw new ArgumentException("The SQLite store needs a database file (an in-memory database would not survive its connections).", nameof(options));
        }

        var fullPath = Path.GetFullPath(builder.DataSource);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        builder.DataSource = fullPath;
        _connectionString = builder.ToString();
        _busyTimeout = options.SqliteBusyTimeoutMilliseconds;
        _writerLock = WriterLocks.GetOrAdd(fullPath, _ => new SemaphoreSlim(1, 1));
        DatabasePath = fullPath;
    }

    /// <summary>The database file.</summary>
    public string DatabasePath { get; }

    private protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA busy_timeout = {_busyTimeout}";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private protected override async Task PrepareDatabaseAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        // WAL is a property of the database file: set once, it stays. Switching needs the database to itself, so only
        // switch when needed (a second instance starting next to a writing one must not wait for it).
        command.CommandText = "PRAGMA journal_mode";
        if (await command.ExecuteScalarAsync(cancellationToken) is string mode && mode.Equals("wal", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        await _writerLock.WaitAsync(cancellationToken);
        try
        {
            command.CommandText = "PRAGMA journal_mode = WAL";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        finally
        {
            _writerLock.Release();
        }
    }

    /// <summary>
    /// Read by id, the server's most frequent query, on a connection of this store's own that keeps the statement
    /// prepared: parsing and planning the SQL again (and setting the busy timeout of a freshly pooled connection) cost
    /// more than the lookup itself.
    /// </summary>
    public override async Task<ResourceVersion?> ReadAsync(string resourceType, string id, CancellationToken cancellationToken = default)
    {
        if (!_readers.TryTake(out var reader))
        {
            reader = new PreparedReader(await OpenConnectionAsync(cancellationToken), Context);
        }

        var reusable = false;
        try
        {
            var version = reader.Read(resourceType, id);
            reusable = true;
            return version;
        }
        finally
        {
            if (reusable && !_disposed && _readers.Count < MaxIdleReaders)
            {
                _readers.Add(reader);
            }
            else
            {
                reader.Dispose();
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        while (_readers.TryTake(out var reader))
        {
            reader.Dispose();
        }
    }

    private protected override async Task<WriteTransaction> BeginWriteAsync(CancellationToken cancellationToken)
    {
        if (!await _writerLock.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(_busyTimeout, 1000) * 3), cancellationToken))
        {
            throw new TimeoutException($"No write access to {DatabasePath}: another session of this process has held it too long (a session left open?).");
        }

        DbConnection? connection = null;
        try
        {
            connection = await OpenConnectionAsync(cancellationToken);
            await using (var command = connection.CreateCommand())
            {
                // NORMAL is durable against a killed process in WAL mode; only an OS crash can lose the last commits.
                command.CommandText = "PRAGMA synchronous = NORMAL";
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            var transaction = ((SqliteConnection)connection).BeginTransaction(deferred: false); // BEGIN IMMEDIATE
            return new WriteTransaction(connection, transaction, new Releaser(_writerLock));
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            _writerLock.Release();
            throw;
        }
    }

    /// <summary>An open connection with the read-by-id statement prepared on it, used by one caller at a time.</summary>
    private sealed class PreparedReader : IDisposable
    {
        private readonly DbConnection _connection;
        private readonly SqliteCommand _command;
        private readonly SqliteParameter _type;
        private readonly SqliteParameter _id;
        private readonly StoreContext _context;

        public PreparedReader(DbConnection connection, StoreContext context)
        {
            _connection = connection;
            _context = context;
            _command = (SqliteCommand)connection.CreateCommand();
            _command.CommandText = ReadCurrentSql;
            _command.CommandTimeout = context.CommandTimeout;
            _type = _command.Parameters.Add("@p0", SqliteType.Text);
            _id = _command.Parameters.Add("@p1", SqliteType.Text);
            _type.Value = "";
            _id.Value = "";
            _command.Prepare();
        }

        // Synchronous on purpose: Microsoft.Data.Sqlite's async methods run synchronously anyway, and a read by key is
        // microseconds of work.
        public ResourceVersion? Read(string resourceType, string id)
        {
            _type.Value = resourceType;
            _id.Value = id;
            using var reader = _command.ExecuteReader();
            return reader.Read() ? VersionReader.Read(reader, 0, _context.Dialect) : null;
        }

        public void Dispose()
        {
            _command.Dispose();
            _connection.Dispose();
        }
    }

    private sealed class Releaser(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                semaphore.Release();
            }
        }
    }
}
