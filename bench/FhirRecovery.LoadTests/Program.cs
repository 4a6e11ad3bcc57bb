using System.CommandLine;
using System.Globalization;

namespace FhirRecovery.LoadTests;

/// <summary>
/// The load benchmark of issue 3: starts the real server (the server's own Program, on Kestrel, on a loopback port, in a
/// child process) on a fresh SQLite or PostgreSQL store, prepares data, drives it with N concurrent HTTP clients and
/// reports throughput and latency percentiles computed from every request's recorded time.
/// </summary>
public static class Entry
{
    public static async Task<int> Main(string[] args)
    {
        // The child process that hosts the server: not a user command (see ServerProcess).
        if (args is [ServeCommand.Verb, ..])
        {
            return await ServeCommand.RunAsync(args[1..]);
        }

        var root = new RootCommand(
            "Load benchmark of the FhirRecovery REST server (issue 3). Starts the server's own Program on Kestrel on a loopback "
            + "port in a child process, on a fresh store, and drives it with concurrent HttpClient workers on the same machine.\n"
            + "Example: dotnet run -c Release --project bench/FhirRecovery.LoadTests -- load --store sqlite --scenario all");
        root.Subcommands.Add(LoadCommand());
        return await root.Parse(args).InvokeAsync();
    }

    private static Command LoadCommand()
    {
        var store = new Option<string>("--store")
        {
            Description = "sqlite or postgresql (PostgreSQL: the private test cluster of FhirRecovery.Testing, or FHIRRECOVERY_TEST_POSTGRES).",
            DefaultValueFactory = _ => "sqlite",
        };
        store.AcceptOnlyFromAmong("sqlite", "postgresql");
        var scenario = new Option<string[]>("--scenario")
        {
            Description = "crud, read (read by id against a minimal-API hello-world in the same run), search (Goal?patient=&lifecycle-status= "
                          + "at each --goals size), ingest (transactions without and with profile validation), or all. Repeatable.",
            DefaultValueFactory = _ => ["all"],
            AllowMultipleArgumentsPerToken = true,
        };
        var clients = new Option<int>("--clients") { Description = "Concurrent clients for crud and read.", DefaultValueFactory = _ => 50 };
        var duration = new Option<double>("--duration") { Description = "Measured seconds per run.", DefaultValueFactory = _ => 20 };
        var warmup = new Option<double>("--warmup")
        {
            // Tiered compilation keeps re-JITting hot server code for the first 20-30 s under load (seen with perf).
            Description = "Unmeasured seconds before each run (JIT tiering, pools, caches).",
            DefaultValueFactory = _ => 20,
        };
        var patients = new Option<int>("--patients")
        {
            Description = "Generated patients loaded (through transactions) before crud and read; their goals, referrals and tasks are the templates.",
            DefaultValueFactory = _ => 40,
        };
        var goals = new Option<string>("--goals")
        {
            Description = "Goal counts for the search scenario, comma-separated (loaded straight into the store, 5 goals per patient).",
            DefaultValueFactory = _ => "1000,100000",
        };
        var searchClients = new Option<string>("--search-clients")
        {
            Description = "Concurrency levels of the search scenario, comma-separated.",
            DefaultValueFactory = _ => "1,10,50",
        };
        var ingestClients = new Option<int>("--ingest-clients") { Description = "Concurrent clients sending transactions.", DefaultValueFactory = _ => 4 };
        var bundleSize = new Option<int>("--bundle-size") { Description = "Resources per ingest transaction (whole patients, about this many).", DefaultValueFactory = _ => 100 };
        var validation = new Option<string>("--validation")
        {
            Description = "Validation:Mode values of the ingest scenario, comma-separated (Off is the first target, the others the second).",
            DefaultValueFactory = _ => "Off,DeclaredProfiles,Always",
        };
        var set = new Option<string[]>("--set")
        {
            Description = "Extra server configuration, key=value (e.g. --set Logging:LogLevel:Default=Warning); repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var rounds = new Option<int>("--rounds") { Description = "Alternating hello/read rounds in the read scenario.", DefaultValueFactory = _ => 2 };
        var report = new Option<string?>("--report") { Description = "Also append the results as Markdown to this file." };
        var keep = new Option<bool>("--keep") { Description = "Keep the run folder (server logs, SQLite files) for inspection." };

        var command = new Command("load", "Run load scenarios against the real server and report throughput and p50/p90/p99 latency.")
        {
            store, scenario, clients, duration, warmup, patients, goals, searchClients, ingestClients, bundleSize, validation, set, rounds, report, keep,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var scenarios = (parsed.GetValue(scenario) ?? ["all"]).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.OrdinalIgnoreCase);
            if (scenarios.Contains("all"))
            {
                scenarios = ["crud", "read", "search", "ingest"];
            }

            var unknown = scenarios.Except(["crud", "read", "search", "ingest"], StringComparer.OrdinalIgnoreCase).ToList();
            if (unknown.Count > 0)
            {
                Console.Error.WriteLine($"unknown scenario(s): {string.Join(", ", unknown)}");
                return 2;
            }

            var options = new LoadOptions
            {
                Store = parsed.GetValue(store) == "postgresql" ? StoreKind.PostgreSql : StoreKind.Sqlite,
                Scenarios = scenarios,
                Clients = parsed.GetValue(clients),
                Duration = TimeSpan.FromSeconds(parsed.GetValue(duration)),
                Warmup = TimeSpan.FromSeconds(parsed.GetValue(warmup)),
                Patients = parsed.GetValue(patients),
                GoalCounts = Ints(parsed.GetValue(goals)!),
                SearchClients = Ints(parsed.GetValue(searchClients)!),
                IngestClients = parsed.GetValue(ingestClients),
                BundleSize = parsed.GetValue(bundleSize),
                ValidationModes = parsed.GetValue(validation)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                ServerSettings = (parsed.GetValue(set) ?? []).Select(kv => kv.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : ""),
                Rounds = parsed.GetValue(rounds),
                ReportPath = parsed.GetValue(report),
                Keep = parsed.GetValue(keep),
            };
            return await new LoadRun(options).RunAsync(cancellationToken);
        });
        return command;
    }

    private static int[] Ints(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s.Replace("_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture)).ToArray();
}

public enum StoreKind
{
    Sqlite,
    PostgreSql,
}

public sealed record LoadOptions
{
    public StoreKind Store { get; init; }
    public required IReadOnlySet<string> Scenarios { get; init; }
    public int Clients { get; init; } = 50;
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(5);
    public int Patients { get; init; } = 40;
    public IReadOnlyList<int> GoalCounts { get; init; } = [1000, 100_000];
    public IReadOnlyList<int> SearchClients { get; init; } = [1, 10, 50];
    public int IngestClients { get; init; } = 4;
    public int BundleSize { get; init; } = 100;
    public IReadOnlyList<string> ValidationModes { get; init; } = ["Off", "DeclaredProfiles", "Always"];
    public IReadOnlyDictionary<string, string> ServerSettings { get; init; } = new Dictionary<string, string>();
    public int Rounds { get; init; } = 2;
    public string? ReportPath { get; init; }
    public bool Keep { get; init; }
}
