using System.Data.Common;
using FhirRecovery.Storage.Indexing;

namespace FhirRecovery.Storage.Sql;

/// <summary>
/// What differs between the databases: column types, row locking, the migration lock, how pending rows are written in
/// bulk, and how resource JSON is stored. Everything else (the schema's shape, the write protocol, search SQL) is shared.
/// </summary>
internal abstract class SqlDialect
{
    public abstract string Name { get; }

    public abstract Schema.ColumnTypes Types { get; }

    public abstract bool IsPostgres { get; }

    /// <summary>Appended to the SELECT that reads a resource's head row before writing it (PostgreSQL: " FOR UPDATE").</summary>
    public abstract string ForUpdate { get; }

    /// <summary>Serialises concurrent migrations (several instances starting at once); called inside the migration transaction.</summary>
    public abstract Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Writes the rows a session has collected (head updates, index deletions, versions, index rows), in that order.</summary>
    public abstract Task FlushAsync(DbConnection connection, DbTransaction transaction, PendingWrites pending, int commandTimeout,
        CancellationToken cancellationToken);

    /// <summary>The resource JSON as read back (PostgreSQL's jsonb reorders keys: put resourceType first again).</summary>
    public abstract byte[] ReadContent(DbDataReader reader, int ordinal);
}

/// <summary>The head row of a resource as a session sees it (after its own writes).</summary>
internal sealed record HeadState(long ResKey, long Version, long LastUpdated, bool IsDeleted);

internal sealed record VersionRow(long ResKey, string ResourceType, string Id, long Version, long LastUpdated, bool IsDeleted,
    HistoryMethod Method, byte[]? Json);

/// <summary>
/// Rows a session has produced but not yet sent: sessions write them in one batch before their next read or at commit,
/// which turns a transaction of a thousand resources into a few round trips.
/// </summary>
internal sealed class PendingWrites
{
    public Dictionary<long, HeadState> HeadUpdates { get; } = [];

    /// <summary>Resources whose index rows in the database (from before this session's batch) must go.</summary>
    public HashSet<long> IndexDeletes { get; } = [];

    public List<VersionRow> Versions { get; } = [];

    /// <summary>The latest index rows per resource (null: deleted, nothing to index).</summary>
    public Dictionary<long, (string ResourceType, IndexSet? Index)> Indexes { get; } = [];

    public bool IsEmpty => HeadUpdates.Count == 0 && IndexDeletes.Count == 0 && Versions.Count == 0 && Indexes.Count == 0;

    public void Clear()
    {
        HeadUpdates.Clear();
        IndexDeletes.Clear();
        Versions.Clear();
        Indexes.Clear();
    }
}
