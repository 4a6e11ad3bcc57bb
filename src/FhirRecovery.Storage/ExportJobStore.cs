namespace FhirRecovery.Storage;

/// <summary>Where a Bulk Data export job is in its life.</summary>
public enum ExportJobStatus
{
    /// <summary>Accepted, waiting for a worker.</summary>
    Queued,

    /// <summary>Claimed by a worker (or by one that died: its lease runs out and another worker resumes it).</summary>
    Running,

    Completed,

    Failed,
}

/// <summary>
/// A Bulk Data export job as stored. <see cref="Request"/> is the kick-off request as the server understood it (an opaque
/// JSON document to the store); <see cref="Requester"/> is who may poll it and download its files.
/// </summary>
public sealed record ExportJob
{
    public required string Id { get; init; }

    public required string Requester { get; init; }

    public required string Request { get; init; }

    public ExportJobStatus Status { get; init; } = ExportJobStatus.Queued;

    /// <summary>The manifest's transactionTime: nothing changed after it is exported.</summary>
    public required DateTimeOffset TransactionTime { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>What the worker last reported (the status answer's X-Progress).</summary>
    public string? Progress { get; init; }

    /// <summary>Why the job failed.</summary>
    public string? Error { get; init; }

    /// <summary>How many times a worker has claimed the job (more than once: it was resumed after a worker died).</summary>
    public int Attempts { get; init; }
}

/// <summary>What a finished file holds: NDJSON of one resource type (<see cref="ExportFileKind.Output"/>) or OperationOutcomes.</summary>
public enum ExportFileKind
{
    Output,
    Error,
}

/// <summary>A finished file of a job. A file with <see cref="Count"/> 0 marks a type as done (for resuming) and is not listed.</summary>
public sealed record ExportFile(int Number, ExportFileKind Kind, string ResourceType, long Count);

/// <summary>
/// Export jobs and their output (implemented by the relational stores, in their database, so any server instance can
/// answer status polls and serve files). Workers claim jobs under a lease (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>;
/// SQLite: its single writer lock); every write a worker makes for a job checks and renews its lease in the same
/// transaction, so a worker that lost its job (cancelled, or resumed elsewhere after the lease ran out) writes nothing more.
/// </summary>
public interface IExportJobStore
{
    Task CreateJobAsync(ExportJob job, CancellationToken cancellationToken = default);

    /// <summary>The job, or null when there is none (never created, cancelled, or expired).</summary>
    Task<ExportJob?> GetJobAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Removes the job with its files (cancel, or expiry). False when there was none.</summary>
    Task<bool> DeleteJobAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Claims up to <paramref name="max"/> jobs that are queued, or running under a lease that ran out, for <paramref name="lease"/>.</summary>
    Task<IReadOnlyList<ExportJob>> ClaimJobsAsync(string owner, int max, TimeSpan lease, CancellationToken cancellationToken = default);

    /// <summary>Extends the lease and records progress. False when the lease is no longer <paramref name="owner"/>'s.</summary>
    Task<bool> RenewLeaseAsync(string id, string owner, TimeSpan lease, string? progress, CancellationToken cancellationToken = default);

    /// <summary>Drops chunks of files that were never finished (a resumed job starts those again). False when the lease is lost.</summary>
    Task<bool> DiscardUnfinishedAsync(string id, string owner, CancellationToken cancellationToken = default);

    /// <summary>Appends the next chunk of a file and renews the lease. False (nothing written) when the lease is lost.</summary>
    Task<bool> AppendChunkAsync(string id, string owner, int fileNumber, int sequence, byte[] content, TimeSpan lease,
        CancellationToken cancellationToken = default);

    /// <summary>Marks a file finished. False when the lease is lost.</summary>
    Task<bool> FinishFileAsync(string id, string owner, ExportFile file, CancellationToken cancellationToken = default);

    /// <summary>The job's finished files, in number order.</summary>
    Task<IReadOnlyList<ExportFile>> FilesAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Ends the job (completed or failed) and releases it. False when the lease is lost.</summary>
    Task<bool> FinishJobAsync(string id, string owner, ExportJobStatus status, string? error, CancellationToken cancellationToken = default);

    /// <summary>Gives a claimed job back (shutting down), claimable at once by another worker.</summary>
    Task ReleaseJobAsync(string id, string owner, CancellationToken cancellationToken = default);

    /// <summary>Writes a finished file's content to <paramref name="destination"/>, chunk by chunk. False when there is no such file.</summary>
    Task<bool> CopyFileAsync(string id, int fileNumber, Stream destination, CancellationToken cancellationToken = default);

    /// <summary>Removes jobs that finished before <paramref name="finishedBefore"/> (with their files); answers how many.</summary>
    Task<int> DeleteFinishedBeforeAsync(DateTimeOffset finishedBefore, CancellationToken cancellationToken = default);
}
