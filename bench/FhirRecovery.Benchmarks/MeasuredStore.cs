using System.Diagnostics;
using System.Globalization;
using FhirRecovery.Conformance;
using FhirRecovery.Storage;
using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Search;

namespace FhirRecovery.Benchmarks;

/// <summary>
/// The store a timed command fills once and measures (orientation, export): <c>[count] [--provider Sqlite|PostgreSQL]
/// [--connection "..."]</c>. SQLite files are kept next to the build output, one per command and count, because
/// filling takes a while; PostgreSQL needs an empty database, which the command fills.
/// </summary>
internal sealed record MeasuredStore(ConformanceEngine Engine, IResourceStore Store)
{
    /// <summary>The count and store options of the arguments, or null (with the reason written) when they are wrong.</summary>
    public static (int Count, StorageOptions Options)? Parse(string[] args, string command, int defaultCount)
    {
        var count = Count(args) ?? defaultCount;
        var provider = Option(args, "--provider") ?? StorageOptions.SqliteProvider;
        var connection = Option(args, "--connection");
        if (provider == StorageOptions.PostgreSqlProvider && connection is null)
        {
            Console.Error.WriteLine("--provider PostgreSQL needs --connection \"Host=...;Database=...;Username=...\" (an empty database)");
            return null;
        }

        // Next to the build output: not part of the repository, and kept between runs.
        var folder = Path.Combine(AppContext.BaseDirectory, $"{command}-data");
        Directory.CreateDirectory(folder);
        connection ??= $"Data Source={Path.Combine(folder, $"{command}-{count}.db")}";
        return (count, new StorageOptions { Provider = provider, ConnectionString = connection, CommandTimeoutSeconds = 600 });
    }

    /// <summary>The conformance engine and the initialised store, as a server starts them.</summary>
    public static async Task<MeasuredStore> OpenAsync(StorageOptions options)
    {
        var clock = Stopwatch.StartNew();
        var engine = ConformanceEngine.Create();
        var registry = new SearchParameterRegistry(engine.Definitions);
        var store = StorageServiceCollectionExtensions.Create(options, registry, new CompartmentDefinitions(engine.Definitions));
        await store.InitializeAsync();
        Console.WriteLine($"engine and store ready in {clock.Elapsed.TotalSeconds:F1} s ({options.Provider})");
        return new MeasuredStore(engine, store);
    }

    /// <summary>The count given as the first argument that is neither an option nor an option's value.</summary>
    private static int? Count(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                i++; // its value
                continue;
            }

            return int.Parse(args[i], CultureInfo.InvariantCulture);
        }

        return null;
    }

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}
