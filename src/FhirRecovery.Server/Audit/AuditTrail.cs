using System.Text;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Security;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Audit;

/// <summary>
/// Where AuditEvents go: appended to a write-ahead journal on disk while the request is answered (a few microseconds,
/// no database round trip), then written to the store in batches by <see cref="AuditWriter"/>. Each batch is one
/// journal segment: it is deleted once its events are committed, so a crash leaves only unwritten events behind, and
/// the next start writes them (events have fixed ids: written twice, stored once). Every instance keeps its own
/// journal and writes to the shared store.
/// </summary>
public sealed class AuditTrail : IDisposable
{
    private readonly object _lock = new();
    private readonly string _folder;
    private readonly string _prefix;
    private readonly ILogger<AuditTrail> _logger;
    private List<AuditEvent> _pending = [];
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

    /// <summary>Journals the event (durable against a crash of the process once this returns) and queues it for the store.</summary>
    public void Record(AuditEvent audit)
    {
        var line = FhirSerialization.SerializeToJson(audit);
        lock (_lock)
        {
            try
            {
                _segment ??= OpenSegment();
                _segment.Write(line);
                _segment.WriteByte((byte)'\n');
                _segment.Flush();
            }
            catch (IOException ex)
            {
                // Without the journal the event still goes to the store with the next batch; only a crash before then loses it.
                _logger.LogError(ex, "Audit journal {Path} cannot be written", _segmentPath);
            }

            _pending.Add(audit);
        }
    }

    /// <summary>Takes the events recorded so far, with the journal segment that holds them (null: none).</summary>
    internal (List<AuditEvent> Events, string? Segment) TakeBatch()
    {
        lock (_lock)
        {
            var events = _pending;
            var segment = _segmentPath;
            _segment?.Dispose();
            _segment = null;
            _segmentPath = null;
            _pending = [];
            return (events, segment);
        }
    }

    /// <summary>Puts back a batch the store refused (it is retried with the next one).</summary>
    internal void Requeue(List<AuditEvent> events)
    {
        lock (_lock)
        {
            _pending.InsertRange(0, events);
        }
    }

    /// <summary>Journal segments left by processes that are gone (locked ones belong to a running process).</summary>
    internal IEnumerable<string> OrphanedSegments() =>
        Directory.EnumerateFiles(_folder, "*.ndjson").Where(p => !Path.GetFileName(p).StartsWith(_prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal);

    private FileStream OpenSegment()
    {
        _segmentPath = Path.Combine(_folder, $"{_prefix}-{++_sequence:D8}.ndjson");
        // Others may read it (diagnostics) but not take it over while this process lives.
        return new FileStream(_segmentPath, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
    }

    public void Dispose()
    {
        lock (_lock)
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
        var (events, segment) = trail.TakeBatch();
        if (events.Count == 0)
        {
            DeleteSegment(segment);
            return;
        }

        try
        {
            foreach (var chunk in events.Chunk(Math.Max(1, options.Value.MaxBatch)))
            {
                await WriteAsync(chunk, cancellationToken);
            }

            DeleteSegment(segment);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The store is unavailable: keep the events (and their journal segment) for the next round.
            logger.LogWarning(ex, "{Count} audit events could not be stored yet; retrying", events.Count);
            trail.Requeue(events);
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
                        if (line.Length > 0 && FhirSerialization.ParseStored(Encoding.UTF8.GetBytes(line)) is AuditEvent audit)
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
