namespace FhirRecovery.Server.BulkExport;

/// <summary>Bulk Data <c>$export</c> (section <c>BulkExport</c>).</summary>
public sealed class BulkExportOptions
{
    public const string Section = "BulkExport";

    /// <summary>Whether this instance runs export jobs (kick-off, status and downloads work on every instance).</summary>
    public bool WorkerEnabled { get; set; } = true;

    /// <summary>How often an idle worker looks for jobs (kicked off on other instances, or left by a dead one).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a claim holds a job without renewal; after that another instance resumes it.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Most jobs this instance runs at once.</summary>
    public int MaxConcurrentJobs { get; set; } = 2;

    /// <summary>Most claims of one job (the first run and resumptions after a worker died) before it is failed.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>How long a finished job's status and files stay available.</summary>
    public TimeSpan FileRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Size of the NDJSON chunks stored in the database (a file is their concatenation).</summary>
    public int ChunkBytes { get; set; } = 1 << 20;

    /// <summary>The Retry-After a status poll of a running job is answered with.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(2);
}
