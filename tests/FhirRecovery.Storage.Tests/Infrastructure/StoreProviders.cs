using Npgsql;

namespace FhirRecovery.Storage.Tests.Infrastructure;

/// <summary>Makes fresh, empty, initialised stores of one kind.</summary>
public interface IStoreProvider
{
    string Name { get; }

    /// <param name="initialize">False: the database exists but is empty (no schema yet).</param>
    Task<StoreHandle> CreateAsync(TimeProvider? time = null, Action<StorageOptions>? configure = null, bool initialize = true);

    /// <summary>Another store over the same database as <paramref name="handle"/> (a second server instance).</summary>
    Task<IResourceStore> OpenSameAsync(StoreHandle handle, TimeProvider? time = null);
}

public sealed class StoreHandle(IResourceStore store, StorageOptions options, Func<ValueTask> cleanup) : IAsyncDisposable
{
    public IResourceStore Store { get; } = store;

    public StorageOptions Options { get; } = options;

    public ValueTask DisposeAsync() => cleanup();
}

public static class StoreFactory
{
    public static IResourceStore Create(StorageOptions options, TimeProvider? time) =>
        StorageServiceCollectionExtensions.Create(options, SharedDefinitions.Registry, SharedDefinitions.Compartments, SharedDefinitions.Terminology, time);
}

public sealed class SqliteStoreProvider : IStoreProvider
{
    public string Name => "SQLite";

    public async Task<StoreHandle> CreateAsync(TimeProvider? time = null, Action<StorageOptions>? configure = null, bool initialize = true)
    {
        var directory = Path.Combine(Path.GetTempPath(), "fhirrecovery-storage-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var options = new StorageOptions
        {
            Provider = StorageOptions.SqliteProvider,
            ConnectionString = $"Data Source={Path.Combine(directory, "store.db")}",
        };
        configure?.Invoke(options);
        var store = StoreFactory.Create(options, time);
        if (initialize)
        {
            await store.InitializeAsync();
        }

        return new StoreHandle(store, options, () =>
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }

            return ValueTask.CompletedTask;
        });
    }

    public async Task<IResourceStore> OpenSameAsync(StoreHandle handle, TimeProvider? time = null)
    {
        var store = StoreFactory.Create(handle.Options, time);
        await store.InitializeAsync();
        return store;
    }
}

/// <summary>Each store gets its own schema in the test database (cheap, and isolates tests running in parallel).</summary>
public sealed class PostgresStoreProvider(PostgresServerFixture server) : IStoreProvider
{
    public string Name => "PostgreSQL";

    public async Task<StoreHandle> CreateAsync(TimeProvider? time = null, Action<StorageOptions>? configure = null, bool initialize = true)
    {
        var baseConnection = await server.GetConnectionStringAsync();
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(baseConnection))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            await command.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(baseConnection) { SearchPath = $"{schema},public" };
        var options = new StorageOptions { Provider = StorageOptions.PostgreSqlProvider, ConnectionString = builder.ConnectionString };
        configure?.Invoke(options);
        var store = StoreFactory.Create(options, time);
        if (initialize)
        {
            await store.InitializeAsync();
        }

        return new StoreHandle(store, options, async () =>
        {
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }

            await using var connection = new NpgsqlConnection(baseConnection);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DROP SCHEMA {schema} CASCADE", connection);
            await command.ExecuteNonQueryAsync();
        });
    }

    public async Task<IResourceStore> OpenSameAsync(StoreHandle handle, TimeProvider? time = null)
    {
        var store = StoreFactory.Create(handle.Options, time);
        await store.InitializeAsync();
        return store;
    }
}
