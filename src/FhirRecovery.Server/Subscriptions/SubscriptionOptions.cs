namespace FhirRecovery.Server.Subscriptions;

/// <summary>Delivery of R4 rest-hook Subscription notifications (section <c>Subscriptions</c>).</summary>
public sealed class SubscriptionOptions
{
    public const string Section = "Subscriptions";

    /// <summary>Whether this instance delivers notifications (matching and the outbox are always on).</summary>
    public bool DeliveryEnabled { get; set; } = true;

    /// <summary>How often an idle instance looks for due notifications (others' writes, retries).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Wait after the first failed attempt; doubled after each further failure, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a claim holds a notification; after that another instance may deliver it (at-least-once).</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Timeout of one notification request (kept well below <see cref="Lease"/>).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most notifications claimed at once (one per subscription, delivered in parallel).</summary>
    public int BatchSize { get; set; } = 16;
}
