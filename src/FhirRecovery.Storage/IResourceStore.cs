using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage;

/// <summary>
/// The one contract of FhirRecovery's stores (SQLite, the embedded default; PostgreSQL, production). Every version of
/// every resource is kept; search parameters are indexed at write time. Implementations hold no in-process state that
/// another server instance sharing the database would need (caches must be rebuildable), so several instances can
/// serve one PostgreSQL behind a load balancer.
/// </summary>
public interface IResourceStore
{
    /// <summary>Creates or migrates the schema (idempotent; safe when several instances start at once).</summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>True when no resource has ever been stored (the server then loads the sample data set).</summary>
    Task<bool> IsEmptyAsync(CancellationToken cancellationToken = default);

    /// <summary>The current version of a resource (a deleted one comes back with <see cref="ResourceVersion.IsDeleted"/>), or null.</summary>
    Task<ResourceVersion?> ReadAsync(string resourceType, string id, CancellationToken cancellationToken = default);

    /// <summary>A specific version, or null when that version does not exist.</summary>
    Task<ResourceVersion?> ReadVersionAsync(string resourceType, string id, long versionId, CancellationToken cancellationToken = default);

    /// <summary>Starts an atomic unit of work (one database transaction): all its writes land together or not at all.</summary>
    Task<IStoreSession> BeginAsync(CancellationToken cancellationToken = default);

    Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken = default);

    Task<HistoryResult> HistoryAsync(HistoryRequest request, CancellationToken cancellationToken = default);

    /// <summary>Whether the database answers (for /readyz).</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// One database transaction. Reads and searches see the session's own writes (conditional create/update/delete and
/// transaction Bundles need that). Disposing without <see cref="CommitAsync"/> rolls everything back.
/// </summary>
public interface IStoreSession : IAsyncDisposable
{
    Task<ResourceVersion?> ReadAsync(string resourceType, string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// The current version as last committed, read without beginning the session's transaction when it has not begun
    /// (inside a begun one: the same as <see cref="ReadAsync"/>). For optimistic writes: what is decided from it is only
    /// written if the resource is still at that version (pass its version as the expected one), so work done in between
    /// does not hold the store's write lock (on SQLite, every other writer waits for it).
    /// </summary>
    Task<ResourceVersion?> ReadCommittedAsync(string resourceType, string id, CancellationToken cancellationToken = default) =>
        ReadAsync(resourceType, id, cancellationToken);

    Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a new resource under <c>resource.Id</c> (the caller assigns ids) as version 1, setting meta.versionId and
    /// meta.lastUpdated. Throws <see cref="ResourceExistsException"/> when a live resource with that id exists.
    /// </summary>
    Task<ResourceVersion> CreateAsync(Resource resource, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a new version (or the first one: update-as-create). When <paramref name="expectedVersion"/> is given and is
    /// not the current version, throws <see cref="VersionConflictException"/> and writes nothing; the check and the write
    /// are atomic (of 100 concurrent updates expecting the same version exactly one succeeds).
    /// </summary>
    Task<WriteOutcome> UpdateAsync(Resource resource, long? expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>Adds a deleted version; null when there was nothing live to delete. Same <paramref name="expectedVersion"/> rule.</summary>
    Task<ResourceVersion?> DeleteAsync(string resourceType, string id, long? expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs <paramref name="callback"/> when the session commits, inside its transaction and before the commit, so what the
    /// callback writes lands with everything else or not at all (e.g. one Provenance for all the writes of a transaction).
    /// Callbacks run in the order they were added; one that throws fails the commit.
    /// </summary>
    void OnCommitting(Func<CancellationToken, Task> callback);

    Task CommitAsync(CancellationToken cancellationToken = default);
}

/// <summary>A stored version. <see cref="Json"/> is the FHIR JSON with meta.versionId/lastUpdated set; null for a deletion.</summary>
public sealed record ResourceVersion(
    string ResourceType,
    string Id,
    long VersionId,
    DateTimeOffset LastUpdated,
    bool IsDeleted,
    byte[]? Json)
{
    /// <summary>What produced this version (create, update or delete), for history Bundles.</summary>
    public HistoryMethod Method { get; init; }
}

public enum HistoryMethod
{
    Create,
    Update,
    Delete,
}

public sealed record WriteOutcome(ResourceVersion Version, bool Created);

/// <summary>A search, with its parameters exactly as the client sent them (the store parses and validates them).</summary>
public sealed record SearchRequest
{
    /// <summary>The resource type searched, or null for a search across all types (<c>GET [base]?...</c>).</summary>
    public string? ResourceType { get; init; }

    /// <summary>Name/value pairs in request order; names keep their modifiers and chains (<c>subject:Patient.name</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; init; } = [];

    /// <summary>Restricts the search to a compartment (<c>GET Patient/1/Goal</c>; SMART patient context), or null.</summary>
    public CompartmentScope? Compartment { get; init; }

    /// <summary>Strict: unknown or unsupported parameters fail the search; lenient: they are ignored and reported.</summary>
    public SearchHandling Handling { get; init; } = SearchHandling.Lenient;

    /// <summary>Opaque token from a previous page's <see cref="SearchResult.NextPage"/>/<see cref="SearchResult.PreviousPage"/>.</summary>
    public string? PageToken { get; init; }
}

public sealed record CompartmentScope(string CompartmentType, string Id);

public enum SearchHandling
{
    Lenient,
    Strict,
}

public sealed record SearchResult
{
    /// <summary>The page of matches (search mode "match"), in sort order.</summary>
    public required IReadOnlyList<ResourceVersion> Matches { get; init; }

    /// <summary>Resources added by _include/_revinclude (search mode "include").</summary>
    public IReadOnlyList<ResourceVersion> Included { get; init; } = [];

    /// <summary>Total number of matches when counted (_total=accurate, or cheap to know), else null.</summary>
    public int? Total { get; init; }

    /// <summary>The parameters that were applied, normalised, for the self link.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Applied { get; init; } = [];

    /// <summary>Parameters ignored under lenient handling, with why (reported in an OperationOutcome entry).</summary>
    public IReadOnlyList<SearchIssue> Issues { get; init; } = [];

    public string? NextPage { get; init; }

    public string? PreviousPage { get; init; }
}

public sealed record SearchIssue(string Parameter, string Message);

public sealed record HistoryRequest
{
    /// <summary>Null for system history.</summary>
    public string? ResourceType { get; init; }

    /// <summary>Null for type (or system) history.</summary>
    public string? Id { get; init; }

    public DateTimeOffset? Since { get; init; }

    /// <summary>Only versions current at this instant (<c>_at</c>).</summary>
    public DateTimeOffset? At { get; init; }

    public int? Count { get; init; }

    public string? PageToken { get; init; }
}

public sealed record HistoryResult
{
    /// <summary>Newest first.</summary>
    public required IReadOnlyList<ResourceVersion> Entries { get; init; }

    public int? Total { get; init; }

    public string? NextPage { get; init; }

    public string? PreviousPage { get; init; }
}

/// <summary>A live resource with that id already exists (create with a taken id): 409 at the REST level.</summary>
public sealed class ResourceExistsException(string resourceType, string id)
    : Exception($"{resourceType}/{id} already exists");

/// <summary>The current version is not the one expected (If-Match): 412 at the REST level.</summary>
public sealed class VersionConflictException(string resourceType, string id, long? expected, long? actual)
    : Exception($"{resourceType}/{id}: expected version {expected}, current version is {actual?.ToString() ?? "none"}")
{
    public long? ActualVersion { get; } = actual;
}

/// <summary>
/// The search cannot be run as asked (unknown parameter under strict handling, malformed value, unsupported modifier):
/// 400 at the REST level, with the message naming the parameter.
/// </summary>
public sealed class SearchException(string parameter, string message) : Exception(message)
{
    public string Parameter { get; } = parameter;
}
