namespace FhirRecovery.Storage;

/// <summary>
/// A notification a Subscription is owed: this version of this resource matched its criteria. Written to the store's
/// outbox in the transaction of the write itself, so a notification exists exactly when the change it reports does.
/// </summary>
public sealed record SubscriptionNotification(string SubscriptionId, string ResourceType, string ResourceId, long VersionId);

/// <summary>A notification claimed for delivery, with what earlier attempts left behind.</summary>
public sealed record ClaimedNotification(
    long Key,
    SubscriptionNotification Notification,
    DateTimeOffset EnqueuedAt,
    int FailedAttempts,
    string? LastError);

/// <summary>
/// Implemented by the sessions of the relational stores (cast <see cref="IStoreSession"/> to it): adds a notification to
/// the outbox inside the session's transaction, so it commits or rolls back with the write that caused it.
/// </summary>
public interface ISubscriptionOutboxSession
{
    Task EnqueueAsync(SubscriptionNotification notification, CancellationToken cancellationToken = default);

    /// <summary>
    /// A marker that changes whenever a Subscription is created, updated or deleted in the database (every such write
    /// adds a version row), so a process may keep its list of active subscriptions and re-read it only when the marker
    /// moves: every instance sees every other's changes. Null when this session has written a Subscription itself
    /// (its view is not yet everyone's, and a rollback could bring an old marker back with other content).
    /// </summary>
    Task<string?> SubscriptionsMarkerAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// The delivery side of the subscription outbox (implemented by the relational stores). Any number of server instances
/// may deliver from one database: a claim takes due rows under a lease (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>, so
/// concurrent claimers neither wait for nor take each other's rows; SQLite: the single writer lock), and a row whose
/// claimer died is claimable again when its lease runs out, which makes delivery at-least-once across restarts.
/// Per subscription only the oldest undelivered notification is claimable, so a failing endpoint gets its
/// notifications in order once it recovers instead of a burst of out-of-order retries.
/// </summary>
public interface ISubscriptionOutbox
{
    /// <summary>Whether some notification is due now (a cheap read, without the write lock).</summary>
    Task<bool> HasDueAsync(CancellationToken cancellationToken = default);

    /// <summary>When the next undelivered notification becomes due (null: none is waiting).</summary>
    Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken = default);

    /// <summary>Claims up to <paramref name="max"/> due notifications (at most one per subscription) for <paramref name="lease"/>.</summary>
    Task<IReadOnlyList<ClaimedNotification>> ClaimAsync(string owner, int max, TimeSpan lease, CancellationToken cancellationToken = default);

    /// <summary>Delivered (or no longer owed): removes it. False when the lease was lost to another claimer meanwhile.</summary>
    Task<bool> CompleteAsync(long key, string owner, CancellationToken cancellationToken = default);

    /// <summary>A failed attempt: counts it, records the error and makes the row due again at <paramref name="dueAt"/>.</summary>
    Task<bool> RescheduleAsync(long key, string owner, DateTimeOffset dueAt, string error, CancellationToken cancellationToken = default);

    /// <summary>Gives a claimed row back unattempted (shutting down), due at once for the next claimer.</summary>
    Task ReleaseAsync(long key, string owner, CancellationToken cancellationToken = default);

    /// <summary>Notifications not yet delivered, for one subscription or all.</summary>
    Task<int> CountAsync(string? subscriptionId = null, CancellationToken cancellationToken = default);
}
