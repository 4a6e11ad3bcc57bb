using System.Text;
using System.Text.Json;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Security;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Audit;

/// <summary>
/// Where audit records go: appended to a write-ahead journal on disk while the request is answered (no database round
/// trip), then turned into AuditEvents and written to the store in batches by <see cref="AuditWriter"/>. Each batch is
/// one journal segment: it is deleted once its events are committed, so a crash leaves only unwritten events behind, and
/// the next start writes them (events have fixed ids: written twice, stored once). Every instance keeps its own journal
/// and writes to the shared store.
/// <para>
/// Appends are group-committed: a request's record is durable (handed to the operating system, so it survives the
/// process) when <see cref="RecordAsync"/> completes, but concurrent requests share one write: the first one writes what
/// has queued up, the others wait for that write instead of making a system call each.
/// </para>
/// </summary>
public sealed class AuditTrail : IDisposable
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    // _lock guards the queue (records and their journal lines); _fileLock the open segment. Order: _fileLock, then _lock.
    private readonly object _lock = new();
    private readonly object _fileLock = new();
    private readonly string _folder;
    private readonly string _prefix;
    private readonly ILogger<AuditTrail> _logger;
    private List<AuditRecord> _pending = [];
    private MemoryStream _unwritten = new();
    private TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _writing;
    private FileStream? _segment;
    private string? _segmentPath;
    private int _sequence;

    public AuditTrail(IOptions<AuditOptions> options, IHostEnvironment environment, ILogger<AuditTrail> logger)
    {
        _logger = logger;
        var path = options.Value.JournalPath;
        _folder = Path.IsPathRooted(path) ? path : Path.Combine(environment.ContentRootPath, path);
        Directory.CreateDirectory(_folder);
        _prefix = $"{Environment.MachineName}-{Environment.ProcessId}-{DateTime.UtcNow:yyyyMMddHHmmss}";
    }

    public string Folder => _folder;

    /// <summary>Journals the record and queues it for the store; completes when the journal line is written.</summary>
    public System.Threading.Tasks.Task RecordAsync(AuditRecord record)
    {
        var line = JsonSerializer.SerializeToUtf8Bytes(record, AuditJournalJson.Default.AuditRecord);
        System.Threading.Tasks.Task written;
        bool writer;
        lock (_lock)
        {
            _unwritten.Write(line);
            _unwritten.Write(NewLine);
            _pending.Add(record);
            written = _written.Task;
            writer = !_writing;
            _writing = true;
        }

        if (writer)
        {
            WriteQueued();
        }

        return written;
    }

    /// <summary>
    /// Writes the journal lines queued so far in one write. When more have queued meanwhile, a thread-pool item writes
    /// them next, so a request never goes on writing other requests' lines after its own.
    /// </summary>
    private void WriteQueued()
    {
        byte[] lines;
        TaskCompletionSource done;
        lock (_lock)
        {
            lines = _unwritten.ToArray();
            _unwritten.SetLength(0);
            done = _written;
            _written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        lock (_fileLock)
        {
            try
            {
                _segment ??= OpenSegment();
                _segment.Write(lines);
                _segment.Flush();
            }
            catch (IOException ex)
            {
                // Without the journal the events still go to the store with the next batch; only a crash before then loses them.
                _logger.LogError(ex, "Audit journal {Path} cannot be written", _segmentPath);
            }
        }

        done.SetResult();
        lock (_lock)
        {
            if (_unwritten.Length == 0)
            {
                _writing = false;
                return;
            }
        }

        ThreadPool.UnsafeQueueUserWorkItem(static trail => trail.WriteQueued(), this, preferLocal: false);
    }

    /// <summary>Takes the records queued so far, with the journal segment that holds them (null: none).</summary>
    internal (List<AuditRecord> Records, string? Segment) TakeBatch()
    {
        // A line written after this goes to the next segment; its record may be in this batch (then the next segment
        // holds it once more, harmlessly), but a record of a later batch never has its only line in this segment.
        lock (_fileLock)
        {
            lock (_lock)
            {
                var records = _pending;
                var segment = _segmentPath;
                _segment?.Dispose();
                _segment = null;
                _segmentPath = null;
                _pending = [];
                return (records, segment);
            }
        }
    }

    /// <summary>Puts back a batch the store refused (it is retried with the next one).</summary>
    internal void Requeue(List<AuditRecord> records)
    {
        lock (_lock)
        {
            _pending.InsertRange(0, records);
        }
    }

    /// <summary>Journal segments left by processes that are gone (locked ones belong to a running process).</summary>
    internal IEnumerable<string> OrphanedSegments() =>
        Directory.EnumerateFiles(_folder, "*.ndjson").Where(p => !Path.GetFileName(p).StartsWith(_prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal);

    /// <summary>
    /// The AuditEvent of one journal line: a record (this version), or an AuditEvent itself (journals of earlier versions).
    /// </summary>
    internal static AuditEvent? FromJournalLine(string line)
    {
        if (line.Length == 0)
        {
            return null;
        }

        try
        {
            if (line.Contains("\"resourceType\"", StringComparison.Ordinal))
            {
                return FhirSerialization.ParseStored(Encoding.UTF8.GetBytes(line)) as AuditEvent;
            }

            return JsonSerializer.Deserialize(line, AuditJournalJson.Default.AuditRecord) is { } record ? AuditEventFactory.Create(record) : null;
        }
        catch (Exception ex) when (ex is JsonException or FhirException or FormatException or Hl7.Fhir.Serialization.DeserializationFailedException)
        {
            return null; // the last line of a journal torn by a crash mid-write: its request never completed
        }
    }

    private FileStream OpenSegment()
    {
        _segmentPath = Path.Combine(_folder, $"{_prefix}-{++_sequence:D8}.ndjson");
        // Others may read it (diagnostics) but not take it over while this process lives.
        return new FileStream(_segmentPath, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
    }

    public void Dispose()
    {
        lock (_fileLock)
        {
            _segment?.Dispose();
            _segment = null;
        }
    }
}

/// <summary>Writes the audit trail's batches to the store, and at start the events a previous process left in its journal.</summary>
public sealed class AuditWriter(AuditTrail trail, IResourceStore store, IOptions<AuditOptions> options, ILogger<AuditWriter> logger) : BackgroundService
{
    // One flush at a time: a caller waiting for the trail must not return while the timer's batch is still being written.
    private readonly SemaphoreSlim _flushing = new(1, 1);

    protected override async System.Threading.Tasks.Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await ReplayJournalAsync(stoppingToken);
        var interval = TimeSpan.FromMilliseconds(Math.Max(10, options.Value.FlushIntervalMilliseconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await System.Threading.Tasks.Task.Delay(interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            await FlushAsync(CancellationToken.None);
        }

        // Shutting down: what is left goes now.
        await FlushAsync(CancellationToken.None);
    }

    /// <summary>Writes everything recorded so far (also used by tests to wait for the trail).</summary>
    public async System.Threading.Tasks.Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken);
        try
        {
            await FlushBatchAsync(cancellationToken);
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async System.Threading.Tasks.Task FlushBatchAsync(CancellationToken cancellationToken)
    {
        var (records, segment) = trail.TakeBatch();
        if (records.Count == 0)
        {
            DeleteSegment(segment);
            return;
        }

        try
        {
            foreach (var chunk in records.Chunk(Math.Max(1, options.Value.MaxBatch)))
            {
                await WriteAsync(chunk.Select(AuditEventFactory.Create).ToList(), cancellationToken);
            }

            DeleteSegment(segment);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store is unavailable: keep the events (and their journal segment) for the next round.
            logger.LogWarning(ex, "{Count} audit events could not be stored yet; retrying", records.Count);
            trail.Requeue(records);
        }
    }

    private async System.Threading.Tasks.Task WriteAsync(IReadOnlyCollection<AuditEvent> events, CancellationToken cancellationToken)
    {
        using var system = CurrentAccess.AsSystem();
        await using var session = await store.BeginAsync(cancellationToken);
        foreach (var audit in events)
        {
            try
            {
                await session.CreateAsync(audit, cancellationToken);
            }
            catch (ResourceExistsException)
            {
                // Written before a crash that kept its journal segment: once is enough.
            }
        }

        await session.CommitAsync(cancellationToken);
    }

    /// <summary>Writes the events that processes now gone left in the journal folder (run at start).</summary>
    public async System.Threading.Tasks.Task ReplayJournalAsync(CancellationToken cancellationToken)
    {
        foreach (var path in trail.OrphanedSegments())
        {
            try
            {
                List<AuditEvent> events = [];
                // Exclusive: a segment another live process still writes cannot be opened, and is left to it.
                await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None))
                using (var reader = new StreamReader(stream, Encoding.UTF8))
                {
                    while (await reader.ReadLineAsync(cancellationToken) is { } line)
                    {
                        if (AuditTrail.FromJournalLine(line) is { } audit)
                        {
                            events.Add(audit);
                        }
                    }
                }

                foreach (var chunk in events.Chunk(Math.Max(1, options.Value.MaxBatch)))
                {
                    await WriteAsync(chunk, cancellationToken);
                }

                File.Delete(path);
                logger.LogInformation("{Count} audit events from journal {Path} written to the store", events.Count, path);
            }
            catch (IOException)
            {
                // In use by another instance.
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Audit journal {Path} could not be replayed", path);
            }
        }
    }

    private void DeleteSegment(string? segment)
    {
        if (segment is null)
        {
            return;
        }

        try
        {
            File.Delete(segment);
        }
        catch (IOException ex)
        {
            logger.LogWarning(ex, "Audit journal segment {Path} could not be deleted", segment);
        }
    }
}
