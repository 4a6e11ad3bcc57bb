using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Search;
using FhirRecovery.Storage.Terminology;
using FhirRecovery.Storage.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Storage.Tests;

public sealed class ServiceRegistrationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        // The host's shared definitions (as the server registers its own engine); the extension only fills the gaps.
        services.AddSingleton(SharedDefinitions.Engine);
        services.AddFhirRecoveryStorage(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async System.Threading.Tasks.Task Sqlite_is_the_default_and_takes_the_configured_file()
    {
        var directory = Path.Combine(Path.GetTempPath(), "fhirrecovery-storage-tests", Guid.NewGuid().ToString("N"));
        var file = Path.Combine(directory, "sub", "store.db");
        await using var provider = Build(new() { ["Storage:ConnectionString"] = $"Data Source={file}", ["Storage:DefaultPageSize"] = "7" });

        var store = Assert.IsType<SqliteResourceStore>(provider.GetRequiredService<IResourceStore>());
        Assert.Equal(file, store.DatabasePath);
        Assert.True(Directory.Exists(Path.GetDirectoryName(file)));
        Assert.Equal(7, provider.GetRequiredService<IOptions<StorageOptions>>().Value.DefaultPageSize);
        Assert.IsType<TerminologyCodeExpansion>(provider.GetRequiredService<ICodeExpansion>());
        Assert.NotNull(provider.GetRequiredService<SearchParameterRegistry>().Find("Goal", "recovery-domain"));
        Assert.Equal(["patient", "focus"], provider.GetRequiredService<CompartmentDefinitions>().ParametersFor("Patient", "Task"));

        await store.InitializeAsync();
        Assert.True(await store.IsReadyAsync());
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async System.Threading.Tasks.Task PostgreSQL_is_chosen_by_the_provider_setting()
    {
        await using var provider = Build(new()
        {
            ["Storage:Provider"] = "PostgreSQL",
            ["Storage:ConnectionString"] = "Host=127.0.0.1;Port=1;Username=nobody",
            ["Storage:CompartmentAdditions:Patient:Organization:0"] = "partof",
        });

        Assert.IsType<PostgresResourceStore>(provider.GetRequiredService<IResourceStore>());
        var compartments = provider.GetRequiredService<CompartmentDefinitions>();
        Assert.Equal(["partof"], compartments.ParametersFor("Patient", "Organization"));
        Assert.Equal(["patient", "focus"], compartments.ParametersFor("Patient", "Task")); // the defaults stay
        Assert.False(await provider.GetRequiredService<IResourceStore>().IsReadyAsync()); // nothing listens there
    }

    [Fact]
    public void Invalid_settings_are_reported_by_name()
    {
        using var unknown = Build(new() { ["Storage:Provider"] = "Oracle" });
        var error = Assert.Throws<OptionsValidationException>(() => unknown.GetRequiredService<IOptions<StorageOptions>>().Value);
        Assert.Contains("Storage:Provider", error.Message);

        using var noConnection = Build(new() { ["Storage:Provider"] = "PostgreSQL" });
        Assert.Contains("Storage:ConnectionString", Assert.Throws<OptionsValidationException>(() => noConnection.GetRequiredService<IOptions<StorageOptions>>().Value).Message);
    }
}
