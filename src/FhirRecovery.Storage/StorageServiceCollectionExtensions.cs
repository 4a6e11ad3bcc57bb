using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Terminology;
using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Search;
using FhirRecovery.Storage.Sql;
using FhirRecovery.Storage.Terminology;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers the resource store chosen by <c>Storage:Provider</c> ("Sqlite" or "PostgreSQL") with
    /// <c>Storage:ConnectionString</c> and the other <see cref="StorageOptions"/>, as a singleton <see cref="IResourceStore"/>.
    /// Uses the <see cref="ConformanceEngine"/>, <see cref="TerminologyService"/> and <see cref="TimeProvider"/> registered
    /// by the host, or registers defaults. The host calls <see cref="IResourceStore.InitializeAsync"/> at start.
    /// </summary>
    public static IServiceCollection AddFhirRecoveryStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName))
            .Validate(o => o.Provider is StorageOptions.SqliteProvider or StorageOptions.PostgreSqlProvider,
                $"Storage:Provider must be '{StorageOptions.SqliteProvider}' or '{StorageOptions.PostgreSqlProvider}'.")
            .Validate(o => o.Provider != StorageOptions.PostgreSqlProvider || !string.IsNullOrWhiteSpace(o.ConnectionString),
                "Storage:ConnectionString is required for PostgreSQL.")
            .Validate(o => o.DefaultPageSize > 0 && o.MaxPageSize >= o.DefaultPageSize,
                "Storage:DefaultPageSize must be positive and at most Storage:MaxPageSize.")
            .Validate(o => o.MaxIncludeCount >= 0 && o.MaxIncludeIterations >= 0, "Storage include limits must not be negative.")
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => ConformanceEngine.Create());
        services.TryAddSingleton(sp => new TerminologyService(sp.GetRequiredService<ConformanceEngine>().Definitions));
        services.TryAddSingleton<ICodeExpansion>(sp => new TerminologyCodeExpansion(sp.GetRequiredService<TerminologyService>()));
        services.TryAddSingleton(sp => new SearchParameterRegistry(sp.GetRequiredService<ConformanceEngine>().Definitions));
        services.TryAddSingleton(sp => new CompartmentDefinitions(
            sp.GetRequiredService<ConformanceEngine>().Definitions,
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.CompartmentAdditions?.ToDictionary(
                c => c.Key, c => (IReadOnlyDictionary<string, string[]>)c.Value)));
        services.TryAddSingleton(sp => (RelationalResourceStore)Create(
            sp.GetRequiredService<IOptions<StorageOptions>>().Value,
            sp.GetRequiredService<SearchParameterRegistry>(),
            sp.GetRequiredService<CompartmentDefinitions>(),
            sp.GetService<ICodeExpansion>(),
            sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IResourceStore>(sp => sp.GetRequiredService<RelationalResourceStore>());
        // The outbox and the aggregates are further faces of the same store: resolved through IResourceStore when that is
        // the relational store itself, else (a host decorates IResourceStore) the undecorated instance behind it.
        services.TryAddSingleton<ISubscriptionOutbox>(sp =>
            sp.GetRequiredService<IResourceStore>() as ISubscriptionOutbox ?? sp.GetRequiredService<RelationalResourceStore>());
        services.TryAddSingleton<IExportJobStore>(sp =>
            sp.GetRequiredService<IResourceStore>() as IExportJobStore ?? sp.GetRequiredService<RelationalResourceStore>());
        services.TryAddSingleton<ISearchAggregation>(sp =>
            sp.GetRequiredService<IResourceStore>() as ISearchAggregation ?? sp.GetRequiredService<RelationalResourceStore>());
        return services;
    }

    /// <summary>The store for the options' provider (also for tools that do not use DI).</summary>
    public static IResourceStore Create(StorageOptions options, SearchParameterRegistry searchParameters, CompartmentDefinitions compartments,
        ICodeExpansion? terminology = null, TimeProvider? time = null) => options.Provider switch
    {
        StorageOptions.SqliteProvider => new SqliteResourceStore(options, searchParameters, compartments, terminology, time),
        StorageOptions.PostgreSqlProvider => new PostgresResourceStore(options, searchParameters, compartments, terminology, time),
        _ => throw new ArgumentException($"Unknown storage provider '{options.Provider}': use '{StorageOptions.SqliteProvider}' or '{StorageOptions.PostgreSqlProvider}'.", nameof(options)),
    };
}
