using FhirRecovery.Conformance;
using FhirRecovery.Storage;
using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Search;
using FhirRecovery.Testing;
using Npgsql;

namespace FhirRecovery.LoadTests;

/// <summary>
/// A fresh, empty database for one scenario: an SQLite file in the run folder, or a database on the PostgreSQL server of
/// FhirRecovery.Testing (a private cluster started from the installed binaries, or FHIRRECOVERY_TEST_POSTGRES).
/// </summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly PostgreSqlDatabase? _postgres;

    private BenchDatabase(StorageOptions options, PostgreSqlDatabase? postgres)
    {
        Options = options;
        _postgres = postgres;
    }

    public StorageOptions Options { get; }

    /// <summary>The configuration the server gets for this database.</summary>
    public IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Storage:Provider"] = Options.Provider,
        ["Storage:ConnectionString"] = Options.ConnectionString!,
    };

    public static async Task<BenchDatabase> CreateAsync(StoreKind kind, string folder, string name)
    {
        if (kind == StoreKind.Sqlite)
        {
            return new BenchDatabase(new StorageOptions
            {
                Provider = StorageOptions.SqliteProvider,
                ConnectionString = $"Data Source={Path.Combine(folder, name + ".db")}",
            }, null);
        }

        var server = await PostgreSqlServer.GetAsync();
        var database = await server.CreateDatabaseAsync("fhirrecovery_load");
        // The test servers' pool is sized for tests; the server gets Npgsql's default, as an operator's connection string would.
        var connection = new NpgsqlConnectionStringBuilder(database.ConnectionString) { MaxPoolSize = 100 };
        return new BenchDatabase(new StorageOptions
        {
            Provider = StorageOptions.PostgreSqlProvider,
            ConnectionString = connection.ConnectionString,
        }, database);
    }

    /// <summary>The store itself, in this process (for bulk loading before the server starts).</summary>
    public IResourceStore OpenStore(ConformanceEngine engine) =>
        StorageServiceCollectionExtensions.Create(Options, new SearchParameterRegistry(engine.Definitions), new CompartmentDefinitions(engine.Definitions));

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
