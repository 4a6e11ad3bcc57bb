using FhirRecovery.Server.Configuration;
using FhirRecovery.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Startup;

/// <summary>Whether start-up (schema, conformance resources, samples) has finished; for /readyz.</summary>
public sealed class StartupState
{
    private volatile bool _ready;

    public bool IsReady => _ready;

    public void MarkReady() => _ready = true;
}

/// <summary>
/// Runs before the server takes requests: creates or migrates the schema, writes the IG's conformance resources, and
/// loads the sample data set when the store has never held anything.
/// </summary>
public sealed class StoreInitializer(
    IResourceStore store,
    ConformanceResourceLoader conformance,
    SampleDataLoader samples,
    IOptions<FhirServerOptions> fhirOptions,
    IOptions<SampleOptions> sampleOptions,
    StartupState state,
    ILogger<StoreInitializer> logger) : IHostedService
{
    public async System.Threading.Tasks.Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        var wasEmpty = await store.IsEmptyAsync(cancellationToken);
        if (fhirOptions.Value.LoadConformanceResources)
        {
            await conformance.LoadAsync(cancellationToken);
        }

        if (wasEmpty && sampleOptions.Value.LoadWhenEmpty)
        {
            await samples.LoadAsync(cancellationToken);
        }

        state.MarkReady();
        logger.LogInformation("FHIR server ready");
    }

    public System.Threading.Tasks.Task StopAsync(CancellationToken cancellationToken) => System.Threading.Tasks.Task.CompletedTask;
}

/// <summary>/readyz: start-up has finished and the database answers.</summary>
public sealed class StoreReadinessCheck(IResourceStore store, StartupState state) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!state.IsReady)
        {
            return HealthCheckResult.Unhealthy("start-up (schema, conformance resources, sample data) has not finished");
        }

        try
        {
            return await store.IsReadyAsync(cancellationToken)
                ? HealthCheckResult.Healthy("the store answers")
                : HealthCheckResult.Unhealthy("the store does not answer");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("the store does not answer", ex);
        }
    }
}
