using System.Net.Http.Headers;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Workflow;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Subscriptions;

/// <summary>
/// Delivers one claimed notification over an R4 rest-hook channel and records the outcome: the outbox row goes on
/// success and is rescheduled with exponential back-off on failure; the Subscription shows it (status
/// <c>error</c>, <c>error</c> text and the <c>subscription-failure-count</c> extension while failing, back to
/// <c>active</c> without them after the next success).
/// <list type="bullet">
/// <item>no <c>channel.payload</c>: <c>POST [endpoint]</c> with no body (R4: "just a notification");</item>
/// <item><c>channel.payload</c> = application/fhir+json or +xml: <c>PUT [endpoint]/[type]/[id]</c> with the version that
/// matched (R4 subscription-channel-type: "the URL is interpreted as the service base, and an update (PUT) is made").</item>
/// </list>
/// Every request also names what changed, for receivers of content-less notifications: <c>X-Subscription-Id</c>
/// (the Subscription's id) and <c>X-Resource-Version</c> (<c>Type/id/_history/version</c>); plus the channel's headers.
/// </summary>
public sealed class SubscriptionDelivery(
    IResourceStore store,
    ISubscriptionOutbox outbox,
    IHttpClientFactory clients,
    IOptionsMonitor<SubscriptionOptions> options,
    TimeProvider clock,
    ILogger<SubscriptionDelivery> logger)
{
    public const string HttpClientName = "FhirRecovery.Subscriptions";
    public const string SubscriptionHeader = "X-Subscription-Id";
    public const string ResourceHeader = "X-Resource-Version";

    /// <summary>Delivers a claimed notification; false when the attempt failed (and was rescheduled).</summary>
    public async Task<bool> DeliverAsync(ClaimedNotification claimed, string owner, CancellationToken cancellationToken)
    {
        var notification = claimed.Notification;
        var stored = await store.ReadAsync("Subscription", notification.SubscriptionId, cancellationToken);
        if (stored is not { IsDeleted: false, Json: { } json } || FhirSerialization.ParseStored(json) is not Subscription subscription
            || !SubscriptionMatcher.IsLive(subscription, clock.GetUtcNow()))
        {
            // Deleted, switched off or ended since: nothing is owed any more.
            logger.LogInformation("Subscription/{Subscription} no longer takes notifications; {Resource}/{Id} is dropped",
                notification.SubscriptionId, notification.ResourceType, notification.ResourceId);
            await outbox.CompleteAsync(claimed.Key, owner, CancellationToken.None);
            return true;
        }

        string? failure;
        try
        {
            failure = await SendAsync(subscription, notification, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or InvalidOperationException)
        {
            failure = ex is OperationCanceledException ? $"no answer within {options.CurrentValue.RequestTimeout.TotalSeconds:0.#} s" : ex.Message;
        }

        if (failure is null)
        {
            if (await outbox.CompleteAsync(claimed.Key, owner, CancellationToken.None))
            {
                await RecordAsync(notification.SubscriptionId, failures: 0, error: null, CancellationToken.None);
            }

            return true;
        }

        var attempts = claimed.FailedAttempts + 1;
        var due = clock.GetUtcNow() + RetryDelay(attempts);
        var error = $"{clock.GetUtcNow():yyyy-MM-ddTHH:mm:ssZ}: notification of {notification.ResourceType}/{notification.ResourceId}/_history/{notification.VersionId} " +
                    $"to {subscription.Channel.Endpoint} failed ({failure}); attempt {attempts}, next at {due:yyyy-MM-ddTHH:mm:ssZ}";
        logger.LogWarning("Subscription/{Subscription}: {Error}", notification.SubscriptionId, error);
        if (await outbox.RescheduleAsync(claimed.Key, owner, due, error, CancellationToken.None))
        {
            await RecordAsync(notification.SubscriptionId, attempts, error, CancellationToken.None);
        }

        return false;
    }

    /// <summary>The back-off after the n-th consecutive failure: initial × 2^(n-1), capped.</summary>
    public TimeSpan RetryDelay(int failedAttempts)
    {
        var o = options.CurrentValue;
        var factor = Math.Pow(2, Math.Min(failedAttempts - 1, 30));
        return TimeSpan.FromTicks((long)Math.Min(o.InitialRetryDelay.Ticks * factor, o.MaxRetryDelay.Ticks));
    }

    /// <summary>Sends the request; null on a 2xx answer, else why not.</summary>
    private async Task<string?> SendAsync(Subscription subscription, SubscriptionNotification notification, CancellationToken cancellationToken)
    {
        var channel = subscription.Channel;
        var endpoint = (channel.Endpoint ?? "").TrimEnd('/');
        HttpRequestMessage request;
        if (channel.Payload is { Length: > 0 } payload)
        {
            var version = await store.ReadVersionAsync(notification.ResourceType, notification.ResourceId, notification.VersionId, cancellationToken);
            if (version?.Json is null)
            {
                return null; // the version is gone (never happens to kept history): nothing to send
            }

            var format = FhirMediaTypes.FromMediaType(MediaTypeHeaderValue.Parse(payload).MediaType!) ?? FhirFormat.Json;
            var body = format == FhirFormat.Json ? version.Json : FhirSerialization.Serialize(FhirSerialization.ParseStored(version.Json), FhirFormat.Xml);
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue(format == FhirFormat.Json ? FhirMediaTypes.Json : FhirMediaTypes.Xml) { CharSet = "utf-8" };
            request = new HttpRequestMessage(HttpMethod.Put, $"{endpoint}/{notification.ResourceType}/{notification.ResourceId}") { Content = content };
        }
        else
        {
            request = new HttpRequestMessage(HttpMethod.Post, channel.Endpoint) { Content = new ByteArrayContent([]) };
        }

        using (request)
        {
            request.Headers.TryAddWithoutValidation(SubscriptionHeader, notification.SubscriptionId);
            request.Headers.TryAddWithoutValidation(ResourceHeader, $"{notification.ResourceType}/{notification.ResourceId}/_history/{notification.VersionId}");
            foreach (var header in channel.Header.Select(ParseHeader).OfType<(string Name, string Value)>())
            {
                if (!request.Headers.TryAddWithoutValidation(header.Name, header.Value))
                {
                    request.Content?.Headers.TryAddWithoutValidation(header.Name, header.Value);
                }
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.CurrentValue.RequestTimeout);
            using var response = await clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
        }
    }

    /// <summary>
    /// Shows the delivery state on the Subscription: a new version only when status, error or count change, written
    /// with the version check (a client's concurrent change wins and is re-read); a Subscription switched off stays off.
    /// </summary>
    private async System.Threading.Tasks.Task RecordAsync(string subscriptionId, int failures, string? error, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            await using var session = await store.BeginAsync(cancellationToken);
            var current = await session.ReadAsync("Subscription", subscriptionId, cancellationToken);
            if (current is not { IsDeleted: false, Json: { } json } || FhirSerialization.ParseStored(json) is not Subscription subscription
                || subscription.Status is not (Subscription.SubscriptionStatus.Active or Subscription.SubscriptionStatus.Error))
            {
                return;
            }

            var status = failures == 0 ? Subscription.SubscriptionStatus.Active : Subscription.SubscriptionStatus.Error;
            var count = subscription.GetIntegerExtension(WorkflowCanonicals.SubscriptionFailureCount) ?? 0;
            if (subscription.Status == status && subscription.Error == error && count == failures)
            {
                return;
            }

            subscription.Status = status;
            subscription.Error = error;
            subscription.RemoveExtension(WorkflowCanonicals.SubscriptionFailureCount);
            if (failures > 0)
            {
                subscription.Extension.Add(new Extension(WorkflowCanonicals.SubscriptionFailureCount, new UnsignedInt(failures)));
            }

            try
            {
                await session.UpdateAsync(subscription, current.VersionId, cancellationToken);
                await session.CommitAsync(cancellationToken);
                return;
            }
            catch (VersionConflictException)
            {
                // Changed meanwhile (by its client, or another instance): read it again.
            }
        }
    }

    /// <summary>An R4 channel header ("Name: value"), or null when it is not one.</summary>
    public static (string Name, string Value)? ParseHeader(string? header)
    {
        var colon = header?.IndexOf(':') ?? -1;
        if (header is null || colon <= 0)
        {
            return null;
        }

        var name = header[..colon].Trim();
        return name.Length > 0 && name.All(c => c > ' ' && c < 127 && c != ':') ? (name, header[(colon + 1)..].Trim()) : null;
    }
}

internal static class ExtensionValues
{
    public static int? GetIntegerExtension(this DomainResource resource, string url) =>
        resource.GetExtension(url)?.Value switch
        {
            UnsignedInt u => u.Value,
            Integer i => i.Value,
            PositiveInt p => p.Value,
            _ => null,
        };
}
