using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Indexing;
using FhirRecovery.Storage.Search;
using FhirRecovery.Storage.Terminology;

namespace FhirRecovery.Storage.Sql;

/// <summary>What a relational store and its sessions share: definitions-derived services, options, clock, dialect.</summary>
internal sealed class StoreContext
{
    private PageTokenCodec? _pageTokens;

    public StoreContext(SqlDialect dialect, StorageOptions options, SearchParameterRegistry registry, CompartmentDefinitions compartments,
        ICodeExpansion? terminology, TimeProvider time)
    {
        Dialect = dialect;
        Options = options;
        Registry = registry;
        Compartments = compartments;
        Time = time;
        Indexer = new SearchIndexer(registry);
        Parser = new SearchQueryParser(registry, terminology, options);
    }

    public SqlDialect Dialect { get; }

    public StorageOptions Options { get; }

    public SearchParameterRegistry Registry { get; }

    public CompartmentDefinitions Compartments { get; }

    public TimeProvider Time { get; }

    public SearchIndexer Indexer { get; }

    public SearchQueryParser Parser { get; }

    public int CommandTimeout => Options.CommandTimeoutSeconds;

    /// <summary>Set when the store is initialised (the key may come from the database, shared by all instances).</summary>
    public PageTokenCodec PageTokens
    {
        get => _pageTokens ?? throw new InvalidOperationException("The store is not initialised: call InitializeAsync first.");
        set => _pageTokens = value;
    }
}
