using Npgsql;

namespace FhirRecovery.Storage.Tests.Infrastructure;

/// <summary>Marks the test classes that run against PostgreSQL (their tests are skipped when no server is available).</summary>
public interface IPostgresTests : IRequiresPostgreSql;

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServerFixture>
{
    public const string Name = "PostgreSQL";
}

/// <summary>
/// One database of the shared PostgreSQL test server (<see cref="PostgreSqlServer"/>: the FHIRRECOVERY_TEST_POSTGRES
/// connection string or a private cluster) for the store suite; each test then works in its own schema.
/// </summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private PostgreSqlDatabase? _database;

    public Task InitializeAsync() => Task.CompletedTask; // started on first use: skipped tests never start a server

    public async Task<string> GetConnectionStringAsync()
    {
        await _startLock.WaitAsync();
        try
        {
            if (_database is null)
            {
                var server = await PostgreSqlServer.GetAsync();
                _database = await server.CreateDatabaseAsync("fhirrecovery_storage");
                await TryCreateTrigramExtensionAsync(_database.ConnectionString);
            }

            return _database.ConnectionString;
        }
        finally
        {
            _startLock.Release();
        }
    }

    /// <summary>In public, so that every test schema (search path "t_x,public") sees it.</summary>
    private static async Task TryCreateTrigramExtensionAsync(string connectionString)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (PostgresException)
        {
            // Not allowed or not installed: the stores work without it.
        }
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
