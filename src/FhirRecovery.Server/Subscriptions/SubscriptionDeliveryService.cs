using FhirRecovery.Server.Startup;
using FhirRecovery.Storage;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Subscriptions;

/// <summary>
/// The background loop that empties the outbox: claims due notifications (one per subscription at a time, leased so
/// other instances leave them alone), delivers them in parallel, and waits for the next due one, a local write (nudge)
/// or the poll interval. Nothing it needs lives only in this process: a restarted or second instance carries on from
/// the outbox table; what a stopped instance held is given back (or its lease runs out).
/// </summary>
public sealed class SubscriptionDeliveryService(
    ISubscriptionOutbox outbox,
    SubscriptionDelivery delivery,
    SubscriptionDeliverySignal signal,
    StartupState startup,
    IOptionsMonitor<SubscriptionOptions> options,
    TimeProvider clock,
    ILogger<SubscriptionDeliveryService> logger) : BackgroundService
{
    /// <summary>This instance's name on the leases it takes.</summary>
    private readonly string _owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    protected override async System.Threading.Tasks.Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.CurrentValue.DeliveryEnabled)
        {
            logger.LogInformation("Subscription delivery is switched off on this instance (Subscriptions:DeliveryEnabled)");
            return;
        }

        while (!startup.IsReady)
        {
            await System.Threading.Tasks.Task.Delay(TimeSpan.FromMilliseconds(50), clock, stoppingToken);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await DeliverDueAsync(stoppingToken) > 0)
                {
                    continue; // more may be due right behind them
                }

                await signal.WaitAsync(await WaitTimeAsync(stoppingToken), clock, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database may be briefly away: try again after the poll interval, never give up.
                logger.LogError(ex, "Subscription delivery failed; retrying in {Interval}", options.CurrentValue.PollInterval);
                await System.Threading.Tasks.Task.Delay(options.CurrentValue.PollInterval, clock, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>One round: claim what is due and deliver it; answers how many were claimed.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken cancellationToken)
    {
        if (!await outbox.HasDueAsync(cancellationToken))
        {
            return 0;
        }

        var o = options.CurrentValue;
        var claimed = await outbox.ClaimAsync(_owner, o.BatchSize, o.Lease, cancellationToken);
        await System.Threading.Tasks.Task.WhenAll(claimed.Select(c => DeliverAsync(c, cancellationToken)));
        return claimed.Count;
    }

    private async System.Threading.Tasks.Task DeliverAsync(ClaimedNotification claimed, CancellationToken cancellationToken)
    {
        try
        {
            await delivery.DeliverAsync(claimed, _owner, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down mid-delivery: give it back for the next instance (it may arrive twice: at-least-once).
            await outbox.ReleaseAsync(claimed.Key, _owner, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The lease runs out and the notification is claimed again.
            logger.LogError(ex, "Subscription/{Subscription}: delivering {Resource}/{Id} failed unexpectedly",
                claimed.Notification.SubscriptionId, claimed.Notification.ResourceType, claimed.Notification.ResourceId);
        }
    }

    /// <summary>Until the next notification is due, at most the poll interval (other instances' writes show up by polling).</summary>
    private async Task<TimeSpan> WaitTimeAsync(CancellationToken cancellationToken)
    {
        var poll = options.CurrentValue.PollInterval;
        if (await outbox.NextDueAsync(cancellationToken) is not { } next)
        {
            return poll;
        }

        var wait = next - clock.GetUtcNow();
        return wait < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : wait < poll ? wait : poll;
    }
}
