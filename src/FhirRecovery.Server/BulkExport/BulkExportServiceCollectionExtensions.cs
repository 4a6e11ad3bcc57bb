using FhirRecovery.Server.Endpoints;
using FhirRecovery.Server.Interactions;

namespace FhirRecovery.Server.BulkExport;

public static class BulkExportServiceCollectionExtensions
{
    /// <summary>Bulk Data <c>$export</c>: endpoints, the job service, the background worker and the CapabilityStatement entries.</summary>
    public static IServiceCollection AddBulkExport(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BulkExportOptions>()
            .Bind(configuration.GetSection(BulkExportOptions.Section))
            .Validate(o => o.MaxConcurrentJobs > 0 && o.MaxAttempts > 0 && o.ChunkBytes >= 1024,
                "BulkExport:MaxConcurrentJobs and MaxAttempts must be positive and ChunkBytes at least 1024.")
            .Validate(o => o.Lease > TimeSpan.Zero && o.PollInterval > TimeSpan.Zero && o.FileRetention > TimeSpan.Zero,
                "BulkExport:Lease, PollInterval and FileRetention must be positive.")
            .ValidateOnStart();
        services.AddSingleton<BulkExportJobs>();
        services.AddSingleton<ExportJobRunner>();
        services.AddSingleton<BulkExportWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<BulkExportWorker>());
        services.AddSingleton<IFhirEndpointModule, BulkExportEndpoints>();
        services.AddSingleton<ICapabilityStatementContributor, BulkExportCapabilities>();
        return services;
    }
}
