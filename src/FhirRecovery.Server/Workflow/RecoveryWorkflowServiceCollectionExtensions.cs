using FhirRecovery.Server.Endpoints;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Subscriptions;
using FhirRecovery.Server.Summary;
using FhirRecovery.Server.Workflow;

// In the DI namespace (the usual home of AddXxx extensions), so the host needs no extra using.
namespace Microsoft.Extensions.DependencyInjection;

public static class RecoveryWorkflowServiceCollectionExtensions
{
    /// <summary>
    /// The recovery workflow on top of the FHIR server: the Task lifecycles and referral status (a write hook), R4
    /// rest-hook Subscriptions (matching hook, outbox delivery in the background, <c>Subscriptions</c> options), and the
    /// <c>$recovery-summary</c> and <c>$recovery-orientation</c> operations.
    /// </summary>
    public static IServiceCollection AddRecoveryWorkflow(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SubscriptionOptions>()
            .Bind(configuration.GetSection(SubscriptionOptions.Section))
            .Validate(o => o.PollInterval > TimeSpan.Zero && o.InitialRetryDelay > TimeSpan.Zero && o.MaxRetryDelay >= o.InitialRetryDelay,
                "Subscriptions: PollInterval and InitialRetryDelay must be positive, MaxRetryDelay at least InitialRetryDelay.")
            .Validate(o => o.Lease > o.RequestTimeout && o.RequestTimeout > TimeSpan.Zero && o.BatchSize > 0,
                "Subscriptions: Lease must be longer than RequestTimeout (a delivery must end before another instance may take it over), BatchSize positive.")
            .ValidateOnStart();

        services.AddSingleton<RecoveryFramework>();

        // Hooks run in registration order: the workflow first, so the referral it updates is notified in the same session.
        services.AddSingleton<SubscriptionDeliverySignal>();
        services.AddSingleton<SubscriptionMatcher>();
        services.AddSingleton<IResourceWriteHook, TaskWorkflowHook>();
        services.AddSingleton<IResourceWriteHook, SubscriptionWriteHook>();

        services.AddHttpClient(SubscriptionDelivery.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan) // per request: RequestTimeout
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        services.AddSingleton<SubscriptionDelivery>();
        services.AddHostedService<SubscriptionDeliveryService>();

        services.AddSingleton<RecoverySummaryService>();
        services.AddSingleton<RecoveryOrientationService>();
        services.AddSingleton<IFhirEndpointModule, RecoveryEndpoints>();
        services.AddSingleton<ICapabilityStatementContributor, RecoveryCapabilities>();
        return services;
    }
}
