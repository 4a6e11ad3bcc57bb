using System.Collections.Frozen;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Server.Subscriptions;

/// <summary>A Subscription's criteria (<c>Type?search</c>), parsed.</summary>
public sealed record SubscriptionCriteria(string ResourceType, IReadOnlyList<KeyValuePair<string, string>> Parameters)
{
    /// <summary>The resource types whose changes can be subscribed to.</summary>
    public static readonly FrozenSet<string> NotifiedTypes =
        new[] { "Task", "ServiceRequest", "Goal", "QuestionnaireResponse" }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Parameters that shape a result rather than select resources: meaningless in criteria.</summary>
    private static readonly string[] ResultParameters = ["_sort", "_count", "_include", "_revinclude", "_summary", "_elements", "_total", "_page", "_contained", "_format", "_pretty"];

    /// <summary>Parses criteria such as <c>Task?status=completed&amp;owner=Organization/1</c>; null with the reason when not usable.</summary>
    public static SubscriptionCriteria? TryParse(string? criteria, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(criteria))
        {
            problem = "Subscription.criteria is required (a search URL such as Task?status=completed)";
            return null;
        }

        var question = criteria.IndexOf('?');
        var type = (question < 0 ? criteria : criteria[..question]).Trim();
        if (type.Contains('/'))
        {
            type = type[(type.LastIndexOf('/') + 1)..]; // an absolute or base-relative URL: the type is the last segment
        }

        if (!NotifiedTypes.Contains(type))
        {
            problem = $"Subscription.criteria '{criteria}': subscriptions are supported on {string.Join(", ", NotifiedTypes.Order(StringComparer.Ordinal))}, not '{type}'";
            return null;
        }

        var parameters = question < 0 ? [] : SearchCriteria.Parse(criteria[(question + 1)..]);
        if (parameters.FirstOrDefault(p => ResultParameters.Any(r => p.Key == r || p.Key.StartsWith(r + ":", StringComparison.Ordinal))) is { Key: { } bad })
        {
            problem = $"Subscription.criteria '{criteria}': '{bad}' shapes search results; criteria only select resources";
            return null;
        }

        return new SubscriptionCriteria(type, parameters);
    }
}

/// <summary>
/// Finds the Subscriptions a written resource version matches and records a notification for each in the store's
/// outbox, inside the write's own session (so notifications exist exactly for committed changes). Criteria are search
/// URLs evaluated by the search engine itself: <c>criteria + _id=[id]</c> against the session, which sees the write.
/// </summary>
public sealed class SubscriptionMatcher(SubscriptionDeliverySignal signal, TimeProvider clock, ILogger<SubscriptionMatcher> logger)
{
    public async Task<int> EnqueueMatchesAsync(IStoreSession session, ResourceVersion written, CancellationToken cancellationToken)
    {
        if (written.IsDeleted || !SubscriptionCriteria.NotifiedTypes.Contains(written.ResourceType))
        {
            return 0; // R4: criteria apply to the new content, so a deletion matches nothing
        }

        var subscriptions = await ActiveSubscriptionsAsync(session, written.ResourceType, cancellationToken);
        if (subscriptions.Count == 0)
        {
            return 0;
        }

        if (session is not ISubscriptionOutboxSession outbox)
        {
            throw new InvalidOperationException("The resource store has no subscription outbox (ISubscriptionOutboxSession): notifications cannot be recorded.");
        }

        var enqueued = 0;
        foreach (var (id, criteria) in subscriptions)
        {
            if (await MatchesAsync(session, id, criteria, written.Id, cancellationToken))
            {
                await outbox.EnqueueAsync(new SubscriptionNotification(id, written.ResourceType, written.Id, written.VersionId), cancellationToken);
                enqueued++;
            }
        }

        if (enqueued > 0)
        {
            signal.Nudge();
        }

        return enqueued;
    }

    private async Task<bool> MatchesAsync(IStoreSession session, string subscriptionId, SubscriptionCriteria criteria, string id, CancellationToken cancellationToken)
    {
        try
        {
            var result = await session.SearchAsync(new SearchRequest
            {
                ResourceType = criteria.ResourceType,
                Parameters = [.. criteria.Parameters, new("_id", id), new("_count", "1")],
                Handling = SearchHandling.Strict,
            }, cancellationToken);
            return result.Matches.Count > 0;
        }
        catch (SearchException ex)
        {
            // Checked when the Subscription was written; the definitions may have changed since. It matches nothing.
            logger.LogWarning("Subscription/{Subscription}: criteria cannot be evaluated ({Reason}); no notification", subscriptionId, ex.Message);
            return false;
        }
    }

    /// <summary>
    /// The subscriptions that take notifications (status active or error, not past their end) on a type. Every write of a
    /// notified type asks, inside its write transaction: the list is kept per process and re-read only when the store's
    /// Subscription marker moves (one index-only query instead of a search and a parse per write).
    /// </summary>
    private async Task<List<(string Id, SubscriptionCriteria Criteria)>> ActiveSubscriptionsAsync(IStoreSession session, string type, CancellationToken cancellationToken)
    {
        var marker = session is ISubscriptionOutboxSession outbox ? await outbox.SubscriptionsMarkerAsync(cancellationToken) : null;
        var known = _known;
        if (marker is null || known?.Marker != marker)
        {
            known = new KnownSubscriptions(marker, await ReadSubscriptionsAsync(session, cancellationToken));
            if (marker is not null)
            {
                _known = known;
            }
        }

        var now = clock.GetUtcNow();
        return known.Subscriptions.Where(s => s.Criteria.ResourceType == type && IsLive(s.Subscription, now)).Select(s => (s.Id, s.Criteria)).ToList();
    }

    private volatile KnownSubscriptions? _known;

    private sealed record KnownSubscriptions(string? Marker, List<(string Id, Subscription Subscription, SubscriptionCriteria Criteria)> Subscriptions);

    private static async Task<List<(string Id, Subscription Subscription, SubscriptionCriteria Criteria)>> ReadSubscriptionsAsync(IStoreSession session, CancellationToken cancellationToken)
    {
        var found = new List<(string, Subscription, SubscriptionCriteria)>();
        string? page = null;
        do
        {
            var result = await session.SearchAsync(new SearchRequest
            {
                ResourceType = "Subscription",
                Parameters = page is null ? [new("status", "active,error"), new("type", "rest-hook"), new("_count", "200")] : [],
                PageToken = page,
                Handling = SearchHandling.Strict,
            }, cancellationToken);
            foreach (var match in result.Matches)
            {
                if (match.Json is { } json && FhirSerialization.ParseStored(json) is Subscription subscription
                    && SubscriptionCriteria.TryParse(subscription.Criteria, out _) is { } criteria)
                {
                    found.Add((match.Id, subscription, criteria));
                }
            }

            page = result.NextPage;
        }
        while (page is not null);

        return found;
    }

    /// <summary>Whether a subscription takes notifications now: active or in error (still retried), and not past its end.</summary>
    public static bool IsLive(Subscription subscription, DateTimeOffset now) =>
        subscription.Status is Subscription.SubscriptionStatus.Active or Subscription.SubscriptionStatus.Error
        && !(subscription.End is { } end && end <= now);
}

/// <summary>Wakes this instance's delivery loop when a notification was recorded here (others find it by polling).</summary>
public sealed class SubscriptionDeliverySignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Nudge()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    /// <summary>Returns after <paramref name="timeout"/> (measured by <paramref name="clock"/>) or as soon as nudged.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider clock, CancellationToken cancellationToken)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, clock, either.Token);
        var nudge = _signal.WaitAsync(either.Token);
        await Task.WhenAny(delay, nudge);
        await either.CancelAsync();
        try
        {
            await Task.WhenAll(delay, nudge);
        }
        catch (OperationCanceledException)
        {
            // The one that did not finish first.
        }

        cancellationToken.ThrowIfCancellationRequested();
    }
}
