using FhirRecovery.Conformance;
using FhirRecovery.Storage;
using FhirRecovery.Testing;
using Hl7.Fhir.Rest;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace FhirRecovery.Server.Tests.Infrastructure;

/// <summary>
/// One server (WebApplicationFactory over the real Program) on one store, shared by the tests of a class. Subclasses
/// choose the store; <see cref="Settings"/> can change configuration (e.g. validation mode, limits, samples).
/// </summary>
public abstract class FhirServerFixture : IAsyncLifetime
{
    /// <summary>The engine indexes thousands of definitions: one per test process, shared by every server.</summary>
    private static readonly Lazy<ConformanceEngine> SharedEngine = new(() => ConformanceEngine.Create(), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Reads of this id make the store throw, to test the 500 answer.</summary>
    public const string ExplodingId = "explode-with-internal-error";

    private WebApplicationFactory<Program>? _factory;

    public WebApplicationFactory<Program> Factory => _factory ?? throw new InvalidOperationException("The fixture has not started");

    public HttpClient Client { get; private set; } = null!;

    public abstract string StoreName { get; }

    /// <summary>Storage:Provider and Storage:ConnectionString, plus anything a subclass adds.</summary>
    protected abstract Task<Dictionary<string, string?>> StoreSettingsAsync();

    /// <summary>Extra services for a fixture's server (e.g. test hooks); nothing by default.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    protected virtual Dictionary<string, string?> Settings() => new()
    {
        ["Samples:LoadWhenEmpty"] = "false",
        ["Limits:MaxRequestBodyBytes"] = "2000000",
        ["Limits:MaxPageSize"] = "50",
        ["Limits:MaxIncludeParameters"] = "3",
        ["Logging:Console:FormatterName"] = "simple",
        ["Logging:LogLevel:Default"] = "Warning",
        // Tests that are not about security call the API without tokens; the security tests opt in (Security/SmartServerFixture).
        ["Auth:Mode"] = "None",
        ["Audit:Enabled"] = "false",
        ["Provenance:Enabled"] = "false",
    };

    public async Task InitializeAsync()
    {
        var settings = Settings();
        foreach (var (key, value) in await StoreSettingsAsync())
        {
            settings[key] = value;
        }

        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            foreach (var (key, value) in settings)
            {
                host.UseSetting(key, value);
            }

            host.ConfigureTestServices(services =>
            {
                services.AddSingleton(SharedEngine.Value);
                DecorateStore(services);
                ConfigureServices(services);
            });
        });
        Client = _factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        Client.BaseAddress = new Uri("http://localhost/fhir/");
        var ready = await Client.GetAsync("/readyz");
        if (!ready.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"The {StoreName} server is not ready: {await ready.Content.ReadAsStringAsync()}");
        }
    }

    public virtual async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    /// <summary>Firely's FhirClient on the in-memory server.</summary>
    public FhirClient CreateFhirClient() =>
        new("http://localhost/fhir", Factory.CreateClient(), new FhirClientSettings { PreferredFormat = ResourceFormat.Json, VerifyFhirVersion = false });

    /// <summary>Wraps the store so that one id throws an unexpected exception (the 500 path); everything else passes through.</summary>
    private static void DecorateStore(IServiceCollection services)
    {
        var descriptor = services.LastOrDefault(d => d.ServiceType == typeof(IResourceStore));
        if (descriptor is null)
        {
            return;
        }

        services.Remove(descriptor);
        services.AddSingleton<IResourceStore>(sp =>
        {
            var inner = descriptor.ImplementationInstance as IResourceStore
                        ?? (IResourceStore?)descriptor.ImplementationFactory?.Invoke(sp)
                        ?? (IResourceStore)ActivatorUtilities.CreateInstance(sp, descriptor.ImplementationType!);
            return new ExplodingStore(inner);
        });
    }
}

/// <summary>A server on SQLite, in a temporary database file of its own.</summary>
public class SqliteServerFixture : FhirServerFixture
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"fhirrecovery-server-tests-{Guid.NewGuid():N}.db");

    public override string StoreName => "SQLite";

    protected override Task<Dictionary<string, string?>> StoreSettingsAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Storage:Provider"] = StorageOptions.SqliteProvider,
        ["Storage:ConnectionString"] = $"Data Source={_file}",
    });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _file, _file + "-wal", _file + "-shm" })
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>A server on PostgreSQL, in a database of its own on the shared test server.</summary>
public class PostgreSqlServerFixture : FhirServerFixture, IRequiresPostgreSql
{
    private PostgreSqlDatabase? _database;

    public override string StoreName => "PostgreSQL";

    protected override async Task<Dictionary<string, string?>> StoreSettingsAsync()
    {
        var server = await PostgreSqlServer.GetAsync();
        _database = await server.CreateDatabaseAsync("fhirrecovery_server");
        return new Dictionary<string, string?>
        {
            ["Storage:Provider"] = StorageOptions.PostgreSqlProvider,
            ["Storage:ConnectionString"] = _database.ConnectionString,
        };
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
