using System.Text.Json;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Sql;

/// <summary>
/// One write transaction. The version check reads the resource's head row under a lock (PostgreSQL: FOR UPDATE; SQLite:
/// the session holds the database's single write lock), so check-and-write is atomic. Version and index rows are
/// collected and sent in one batch before the session's next read or at commit.
/// <para>
/// The transaction starts at the session's first database access, not when the session is made: a create or update
/// extracts the resource's search index values first, so that this CPU work is not done while holding SQLite's write
/// lock (every other writer of the database waits for that lock). Members that use <see cref="_write"/> call
/// <see cref="StartAsync"/> first.
/// </para>
/// </summary>
internal sealed partial class StoreSession : IStoreSession
{
    private static readonly JsonSerializerOptions FhirJson = new JsonSerializerOptions { Encoder = FhirJsonEncoding.Encoder }.ForFhir(ModelInfo.ModelInspector);

    private readonly StoreContext _context;
    private readonly Func<CancellationToken, Task<WriteTransaction>> _begin;
    private readonly SearchExecutor _search;
    private readonly PendingWrites _pending = new();

    // Heads this session has written: the database rows are locked by us and may lag behind (pending updates).
    private readonly Dictionary<(string Type, string Id), HeadState> _heads = [];
    private bool _completed;
    private WriteTransaction? _transaction;
    private List<Func<CancellationToken, Task>>? _committing;

    public StoreSession(StoreContext context, Func<CancellationToken, Task<WriteTransaction>> begin, SearchExecutor search,
        Func<string, string, CancellationToken, Task<ResourceVersion?>> readCommitted)
    {
        _context = context;
        _begin = begin;
        _search = search;
        _readCommitted = readCommitted;
    }

    private readonly Func<string, string, CancellationToken, Task<ResourceVersion?>> _readCommitted;

    public Task<ResourceVersion?> ReadCommittedAsync(string resourceType, string id, CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        return _transaction is null ? _readCommitted(resourceType, id, cancellationToken) : ReadAsync(resourceType, id, cancellationToken);
    }

    /// <summary>The session's database transaction; <see cref="StartAsync"/> must have run.</summary>
    private WriteTransaction _write =>
        _transaction ?? throw new InvalidOperationException("The session's transaction has not started: call StartAsync first.");

    /// <summary>Begins the database transaction (SQLite: takes the write lock) unless it has begun.</summary>
    private async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        EnsureOpen();
        _transaction ??= await _begin(cancellationToken);
    }

    [GeneratedRegex("^[A-Za-z0-9\\-\\.]{1,64}$")]
    private static partial Regex IdPattern();

    public async Task<ResourceVersion?> ReadAsync(string resourceType, string id, CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        await FlushAsync(cancellationToken);
        return await RelationalResourceStore.ReadAsync(_context, _write.Connection, _write.Transaction, resourceType, id, cancellationToken);
    }

    public async Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        await FlushAsync(cancellationToken);
        return await _search.SearchAsync(_write.Connection, _write.Transaction, request, cancellationToken);
    }

    public async Task<ResourceVersion> CreateAsync(Resource resource, CancellationToken cancellationToken = default)
    {
        var (type, id) = Identify(resource);
        var index = _context.Indexer.Extract(resource);
        await StartAsync(cancellationToken);
        var now = Now();
        if (!_heads.ContainsKey((type, id)) && await InsertHeadAsync(type, id, now, cancellationToken) is { } key)
        {
            return Write(resource, type, id, new HeadState(key, 0, 0, true), newHead: true, now, HistoryMethod.Create, index);
        }

        var head = await LockHeadAsync(type, id, cancellationToken);
        if (head is null || !head.IsDeleted)
        {
            throw new ResourceExistsException(type, id);
        }

        return Write(resource, type, id, head, newHead: false, now, HistoryMethod.Create, index);
    }

    public async Task<WriteOutcome> UpdateAsync(Resource resource, long? expectedVersion, CancellationToken cancellationToken = default)
    {
        var (type, id) = Identify(resource);
        var index = _context.Indexer.Extract(resource);
        await StartAsync(cancellationToken);
        var now = Now();
        for (var attempt = 0; ; attempt++)
        {
            var head = await LockHeadAsync(type, id, cancellationToken);
            if (head is null)
            {
                if (expectedVersion is not null)
                {
                    throw new VersionConflictException(type, id, expectedVersion, null);
                }

                if (await InsertHeadAsync(type, id, now, cancellationToken) is { } key)
                {
                    var created = Write(resource, type, id, new HeadState(key, 0, 0, true), newHead: true, now, HistoryMethod.Update, index);
                    return new WriteOutcome(created, Created: true);
                }

                if (attempt > 0)
                {
                    throw new InvalidOperationException($"{type}/{id} could neither be created nor locked.");
                }

                continue; // created concurrently by another session since we looked: lock it and update it
            }

            if (expectedVersion is not null && expectedVersion != head.Version)
            {
                throw new VersionConflictException(type, id, expectedVersion, head.Version);
            }

            var version = Write(resource, type, id, head, newHead: false, now, HistoryMethod.Update, index);
            return new WriteOutcome(version, Created: head.IsDeleted);
        }
    }

    public async Task<ResourceVersion?> DeleteAsync(string resourceType, string id, long? expectedVersion, CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        var head = await LockHeadAsync(resourceType, id, cancellationToken);
        if (expectedVersion is not null && expectedVersion != head?.Version)
        {
            throw new VersionConflictException(resourceType, id, expectedVersion, head?.Version);
        }

        if (head is null || head.IsDeleted)
        {
            return null;
        }

        return Write(null, resourceType, id, head, newHead: false, Now(), HistoryMethod.Delete, index: null);
    }

    public void OnCommitting(Func<CancellationToken, Task> callback)
    {
        EnsureOpen();
        (_committing ??= []).Add(callback);
    }

    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        // By index: a callback may add another (which then runs too).
        for (var i = 0; _committing is not null && i < _committing.Count; i++)
        {
            await _committing[i](cancellationToken);
        }

        _committing = null;
        if (_transaction is null)
        {
            // Nothing was read or written: there is no transaction to commit.
            _completed = true;
            return;
        }

        await FlushAsync(cancellationToken);
        _completed = true;
        await _write.CommitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _completed = true;
        if (_transaction is not null)
        {
            await _transaction.DisposeAsync();
        }
    }

    private void EnsureOpen()
    {
        if (_completed)
        {
            throw new InvalidOperationException("The session is committed or disposed; begin a new one.");
        }
    }

    private (string Type, string Id) Identify(Resource resource)
    {
        EnsureOpen();
        var type = resource.TypeName;
        if (string.IsNullOrEmpty(resource.Id) || !IdPattern().IsMatch(resource.Id))
        {
            throw new ArgumentException(
                $"{type}.id '{resource.Id}' is not a valid FHIR id (1 to 64 letters, digits, '-' and '.'); the store needs the caller to assign one.",
                nameof(resource));
        }

        return (type, resource.Id);
    }

    /// <summary>Now, to the millisecond (what FHIR instants and HTTP dates carry without surprises).</summary>
    private long Now()
    {
        var ticks = _context.Time.GetUtcNow().UtcTicks;
        return ticks - ticks % TimeSpan.TicksPerMillisecond;
    }

    /// <summary>Adds the head row of a new resource, or returns null when it exists (PostgreSQL waits for a concurrent creator).</summary>
    private async Task<long?> InsertHeadAsync(string type, string id, long now, CancellationToken cancellationToken)
    {
        var p = new SqlParameters();
        var sql = $"""
            INSERT INTO resources (res_type, res_id, version_id, last_updated, is_deleted)
            VALUES ({p.Add(type)}, {p.Add(id)}, 1, {p.Add(now)}, 0)
            ON CONFLICT (res_type, res_id) DO NOTHING
            RETURNING res_key
            """;
        await using var command = p.CreateCommand(_write.Connection, _write.Transaction, sql, _context.CommandTimeout);
        var key = await command.ExecuteScalarAsync(cancellationToken);
        return key is null or DBNull ? null : Convert.ToInt64(key, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The head row, locked for this transaction, or null when the resource never existed.</summary>
    private async Task<HeadState?> LockHeadAsync(string type, string id, CancellationToken cancellationToken)
    {
        if (_heads.TryGetValue((type, id), out var known))
        {
            return known;
        }

        var p = new SqlParameters();
        var sql = $"SELECT res_key, version_id, last_updated, is_deleted FROM resources WHERE res_type = {p.Add(type)} AND res_id = {p.Add(id)}{_context.Dialect.ForUpdate}";
        await using var command = p.CreateCommand(_write.Connection, _write.Transaction, sql, _context.CommandTimeout);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var head = new HeadState(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2),
            Convert.ToInt32(reader.GetValue(3), System.Globalization.CultureInfo.InvariantCulture) != 0);
        _heads[(type, id)] = head;
        return head;
    }

    /// <summary>Adds a version (<paramref name="resource"/> null: a deletion) with its index values, extracted by the caller.</summary>
    private ResourceVersion Write(Resource? resource, string type, string id, HeadState previous, bool newHead, long now, HistoryMethod method,
        Indexing.IndexSet? index)
    {
        // lastUpdated strictly increases per resource, even when the clock does not move (or moves back).
        var lastUpdated = newHead ? now : Math.Max(now, previous.LastUpdated + TimeSpan.TicksPerMillisecond);
        var version = newHead ? 1 : previous.Version + 1;
        var deleted = resource is null;
        byte[]? json = null;
        if (resource is not null)
        {
            // The index was extracted before meta.versionId/lastUpdated were set: no search parameter is indexed from
            // them (_lastUpdated is a column of resources).
            resource.Meta ??= new Meta();
            resource.Meta.VersionId = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            resource.Meta.LastUpdated = new DateTimeOffset(lastUpdated, TimeSpan.Zero);
            json = JsonSerializer.SerializeToUtf8Bytes(resource, FhirJson);
        }

        var key = previous.ResKey;
        var head = new HeadState(key, version, lastUpdated, deleted);
        if (!newHead)
        {
            _pending.HeadUpdates[key] = head;
            if (!_pending.Indexes.ContainsKey(key))
            {
                _pending.IndexDeletes.Add(key); // rows from before this batch
            }
        }
        else if (version != 1)
        {
            throw new InvalidOperationException("a new head starts at version 1");
        }

        _heads[(type, id)] = head;
        _pending.Versions.Add(new VersionRow(key, type, id, version, lastUpdated, deleted, method, json));
        _pending.Indexes[key] = (type, index);
        return new ResourceVersion(type, id, version, new DateTimeOffset(lastUpdated, TimeSpan.Zero), deleted, json) { Method = method };
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        EnsureOpen();
        if (_pending.IsEmpty)
        {
            return;
        }

        await _context.Dialect.FlushAsync(_write.Connection, _write.Transaction, _pending, _context.CommandTimeout, cancellationToken);
        _pending.Clear();
    }
}
