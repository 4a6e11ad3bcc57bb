namespace FhirRecovery.Storage.Sql;

/// <summary>Notifications join the session's transaction: they are committed, or rolled back, with the write that caused them.</summary>
internal sealed partial class StoreSession : ISubscriptionOutboxSession
{
    public async Task EnqueueAsync(SubscriptionNotification notification, CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        await RelationalResourceStore.EnqueueAsync(_context, _write.Connection, _write.Transaction, notification, cancellationToken);
    }
}
