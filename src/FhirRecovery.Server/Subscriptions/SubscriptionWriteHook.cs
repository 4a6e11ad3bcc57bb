using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using Microsoft.Net.Http.Headers;

namespace FhirRecovery.Server.Subscriptions;

/// <summary>
/// Subscriptions as the server accepts them (R4: the server manages the status), and the notifications that follow
/// writes: after every create/update/patch of a Task, ServiceRequest, Goal or QuestionnaireResponse, the matching
/// subscriptions get an outbox row in the same transaction.
/// </summary>
public sealed class SubscriptionWriteHook(SubscriptionMatcher matcher, TimeProvider clock) : IResourceWriteHook
{
    private static readonly string[] PayloadTypes = [FhirMediaTypes.Json, FhirMediaTypes.Xml];

    public async ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken)
    {
        if (context.ResourceType != "Subscription" || context.Kind == WriteKind.Delete || context.Resource is not Subscription subscription)
        {
            return;
        }

        var channel = subscription.Channel;
        if (channel?.Type is not Subscription.SubscriptionChannelType.RestHook)
        {
            throw Unprocessable(OperationOutcome.IssueType.NotSupported,
                $"Subscription.channel.type '{channel?.Type?.GetLiteral() ?? "(none)"}' is not supported: this server delivers rest-hook notifications only",
                "Subscription.channel.type");
        }

        if (!Uri.TryCreate(channel.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            throw Unprocessable(OperationOutcome.IssueType.Required,
                $"Subscription.channel.endpoint '{channel.Endpoint}' must be an absolute http or https URL", "Subscription.channel.endpoint");
        }

        if (channel.Payload is { Length: > 0 } payload
            && !(MediaTypeHeaderValue.TryParse(payload, out var mediaType) && PayloadTypes.Contains(mediaType.MediaType.Value, StringComparer.OrdinalIgnoreCase)))
        {
            throw Unprocessable(OperationOutcome.IssueType.NotSupported,
                $"Subscription.channel.payload '{payload}' is not supported: use {string.Join(" or ", PayloadTypes)}, or leave it out for notifications without content",
                "Subscription.channel.payload");
        }

        foreach (var header in channel.Header)
        {
            if (SubscriptionDelivery.ParseHeader(header) is null)
            {
                throw Unprocessable(OperationOutcome.IssueType.Invalid, $"Subscription.channel.header '{header}' is not 'Name: value'", "Subscription.channel.header");
            }
        }

        var criteria = SubscriptionCriteria.TryParse(subscription.Criteria, out var problem)
                       ?? throw Unprocessable(OperationOutcome.IssueType.Invalid, problem!, "Subscription.criteria");

        // Notifications are matched and sent with the server's rights, not the subscriber's: only a client that may read
        // every resource of that type may ask to be told of them (else a patient's app could follow everyone's goals).
        if (Security.CurrentAccess.Caller is { IsUnrestricted: false } caller
            && caller.GrantFor(criteria.ResourceType, Security.SmartPermission.Read) is not { IsConfined: false, IsConstrained: false })
        {
            throw Security.SecurityErrors.InsufficientScope(
                $"A Subscription on {criteria.ResourceType} notifies of every matching {criteria.ResourceType} on this server: it needs read access to "
                + $"all of them (user or system scope, not confined to one patient or filtered)", $"system/{criteria.ResourceType}.rs");
        }
        try
        {
            // The search engine validates the criteria exactly as it will evaluate them (unknown parameters refused).
            await context.Session.SearchAsync(new SearchRequest
            {
                ResourceType = criteria.ResourceType,
                Parameters = [.. criteria.Parameters, new("_count", "0")],
                Handling = SearchHandling.Strict,
            }, cancellationToken);
        }
        catch (SearchException ex)
        {
            throw Unprocessable(OperationOutcome.IssueType.Invalid, $"Subscription.criteria '{subscription.Criteria}': {ex.Message}", "Subscription.criteria");
        }

        // R4: a client asks (requested); the server decides. Everything checkable is checked, so it is active at once;
        // a subscription past its end is off.
        if (subscription.End is { } end && end <= clock.GetUtcNow())
        {
            subscription.Status = Subscription.SubscriptionStatus.Off;
        }
        else if (subscription.Status is null or Subscription.SubscriptionStatus.Requested)
        {
            subscription.Status = Subscription.SubscriptionStatus.Active;
        }
    }

    public async ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken)
    {
        // A history import is not news: subscribers would be told of changes long past, once per replayed version.
        // (A Subscription imported is still checked and activated above: it is live from now on.)
        if (!context.IsHistoryImport && context.Kind != WriteKind.Delete && SubscriptionCriteria.NotifiedTypes.Contains(context.ResourceType))
        {
            await matcher.EnqueueMatchesAsync(context.Session, written, cancellationToken);
        }
    }

    private static FhirException Unprocessable(OperationOutcome.IssueType code, string message, string expression) =>
        new(StatusCodes.Status422UnprocessableEntity, code, message, expression);
}
