using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Tests.Infrastructure;

/// <summary>
/// Base of the shared suite: every test gets a fresh, initialised store of the provider's kind (SQLite file or
/// PostgreSQL schema), so tests are independent and can run in parallel.
/// </summary>
public abstract class StoreTestBase(IStoreProvider provider) : IAsyncLifetime
{
    private static readonly JsonSerializerOptions FhirJson = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    private StoreHandle? _handle;

    protected IStoreProvider Provider { get; } = provider;

    protected StoreHandle Handle => _handle ?? throw new InvalidOperationException("not initialised");

    protected IResourceStore Store => Handle.Store;

    /// <summary>The clock the store uses (null: the system clock).</summary>
    protected virtual TimeProvider? Time => null;

    protected virtual void Configure(StorageOptions options)
    {
    }

    public virtual async Task InitializeAsync() => _handle = await Provider.CreateAsync(Time, Configure);

    public async Task DisposeAsync()
    {
        if (_handle is not null)
        {
            await _handle.DisposeAsync();
        }
    }

    protected async Task<ResourceVersion> CreateAsync(Resource resource)
    {
        await using var session = await Store.BeginAsync();
        var version = await session.CreateAsync(resource);
        await session.CommitAsync();
        return version;
    }

    protected async Task CreateAllAsync(params Resource[] resources)
    {
        await using var session = await Store.BeginAsync();
        foreach (var resource in resources)
        {
            await session.CreateAsync(resource);
        }

        await session.CommitAsync();
    }

    protected async Task<WriteOutcome> UpdateAsync(Resource resource, long? expectedVersion = null)
    {
        await using var session = await Store.BeginAsync();
        var outcome = await session.UpdateAsync(resource, expectedVersion);
        await session.CommitAsync();
        return outcome;
    }

    protected async Task<ResourceVersion?> DeleteAsync(string type, string id, long? expectedVersion = null)
    {
        await using var session = await Store.BeginAsync();
        var deleted = await session.DeleteAsync(type, id, expectedVersion);
        await session.CommitAsync();
        return deleted;
    }

    /// <summary>Parameters as in a query string ("a=1&amp;b=x%2Cy"): names and values URL-decoded.</summary>
    protected static IReadOnlyList<KeyValuePair<string, string>> Query(string query) =>
        query.Length == 0
            ? []
            : query.Split('&').Select(pair =>
            {
                var eq = pair.IndexOf('=');
                return new KeyValuePair<string, string>(Uri.UnescapeDataString(pair[..eq]), Uri.UnescapeDataString(pair[(eq + 1)..]));
            }).ToList();

    protected Task<SearchResult> SearchAsync(string? type, string query, SearchHandling handling = SearchHandling.Strict,
        CompartmentScope? compartment = null) =>
        Store.SearchAsync(new SearchRequest { ResourceType = type, Parameters = Query(query), Handling = handling, Compartment = compartment });

    /// <summary>The ids of the matches, sorted (for assertions that do not care about order). Strict: a misspelt parameter fails.</summary>
    protected async Task<string[]> IdsAsync(string? type, string query, CompartmentScope? compartment = null) =>
        (await SearchAsync(type, query, compartment: compartment)).Matches.Select(m => m.Id).Order(StringComparer.Ordinal).ToArray();

    protected static string[] Ids(IEnumerable<ResourceVersion> versions) => versions.Select(v => v.Id).Order(StringComparer.Ordinal).ToArray();

    protected static T Parse<T>(ResourceVersion version) where T : Resource =>
        JsonSerializer.Deserialize<T>(version.Json ?? throw new InvalidOperationException("no content"), FhirJson)!;
}
