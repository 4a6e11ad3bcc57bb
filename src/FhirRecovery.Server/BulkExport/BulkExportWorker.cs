using System.Collections.Concurrent;
using FhirRecovery.Server.Startup;
using FhirRecovery.Storage;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.BulkExport;

/// <summary>
/// The background loop that runs export jobs: claims queued jobs (and jobs whose worker died: their lease ran out) up to
/// <see cref="BulkExportOptions.MaxConcurrentJobs"/>, runs them, and removes finished jobs past their retention. Every
/// instance sharing the database runs one; the claim makes sure a job runs on one of them at a time.
/// </summary>
public sealed class BulkExportWorker(
    IExportJobStore jobs,
    ExportJobRunner runner,
    StartupState startup,
    IOptionsMonitor<BulkExportOptions> options,
    TimeProvider clock,
    ILogger<BulkExportWorker> logger) : BackgroundService
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, Task> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    /// <summary>This instance's name on the leases it takes.</summary>
    public string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>Jobs this instance is running now.</summary>
    public int Running => _running.Count;

    /// <summary>A job was kicked off here, or one finished: look for work now rather than at the next poll.</summary>
    public void Nudge()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.CurrentValue.WorkerEnabled)
        {
            logger.LogInformation("Bulk export jobs are not run on this instance (BulkExport:WorkerEnabled)");
            return;
        }

        while (!startup.IsReady)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), clock, stoppingToken);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                StartClaimed(await ClaimAsync(stoppingToken), stoppingToken);
                await SweepAsync(stoppingToken);
                await _wake.WaitAsync(options.CurrentValue.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database may be briefly away: try again after the poll interval.
                logger.LogError(ex, "Looking for export jobs failed; retrying in {Interval}", options.CurrentValue.PollInterval);
                await Task.Delay(options.CurrentValue.PollInterval, clock, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        // Running jobs see the stopping token and give their jobs back.
        await Task.WhenAll(_running.Values);
    }

    /// <summary>Claims as many jobs as there are free slots (none when all are busy).</summary>
    public async Task<IReadOnlyList<ExportJob>> ClaimAsync(CancellationToken cancellationToken)
    {
        var o = options.CurrentValue;
        var free = o.MaxConcurrentJobs - _running.Count;
        return free <= 0 ? [] : await jobs.ClaimJobsAsync(Owner, free, o.Lease, cancellationToken);
    }

    /// <summary>Claims and runs jobs until none is left to claim (tests, and tools without the background loop).</summary>
    public async Task RunUntilIdleAsync(CancellationToken cancellationToken)
    {
        while (await ClaimAsync(cancellationToken) is { Count: > 0 } claimed)
        {
            await Task.WhenAll(claimed.Select(job => runner.RunAsync(job, Owner, cancellationToken)));
        }
    }

    private void StartClaimed(IReadOnlyList<ExportJob> claimed, CancellationToken stoppingToken)
    {
        foreach (var job in claimed)
        {
            _running[job.Id] = Task.Run(async () =>
            {
                try
                {
                    await runner.RunAsync(job, Owner, stoppingToken);
                }
                finally
                {
                    _running.TryRemove(job.Id, out _);
                    Nudge();
                }
            }, CancellationToken.None);
        }
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (now - _lastSweep < SweepInterval)
        {
            return;
        }

        _lastSweep = now;
        var removed = await jobs.DeleteFinishedBeforeAsync(now - options.CurrentValue.FileRetention, cancellationToken);
        if (removed > 0)
        {
            logger.LogInformation("Removed {Count} export jobs past their retention", removed);
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}
