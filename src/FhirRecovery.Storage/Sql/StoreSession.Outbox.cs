namespace FhirRecovery.Storage.Sql;

/// <summary>Notifications join the session's transaction: they are committed, or rolled back, with the write that caused them.</summary>
internal sealed partial class StoreSession : ISubscriptionOutboxSession
{
    public async Task EnqueueAsync(SubscriptionNotification notification, CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        await RelationalResourceStore.EnqueueAsync(_context, _write.Connection, _write.Transaction, notification, cancellationToken);
    }

    public async Task<string?> SubscriptionsMarkerAsync(CancellationToken cancellationToken = default)
    {
        if (_heads.Keys.Any(k => k.Type == "Subscription"))
        {
            return null;
        }

        await StartAsync(cancellationToken);
        return await RelationalResourceStore.VersionMarkerAsync(_context, _write.Connection, _write.Transaction, "Subscription", cancellationToken);
    }
}
