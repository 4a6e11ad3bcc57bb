using System.Diagnostics;
using System.Globalization;
using FhirRecovery.Server.BulkExport;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Security;
using FhirRecovery.Storage;
using FhirRecovery.Storage.Search;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Benchmarks;

/// <summary>
/// Issue 7: Bulk Data export must write at least 25,000 resources/s to NDJSON on SQLite with 100,000 resources. A timed
/// command: it fills a store with N resources (default 100,000: 5% patients, 80% goals, 15% observations), then runs an
/// export job as the server's worker does (<see cref="ExportJobRunner"/>: search pages in key order, NDJSON chunks into
/// the job tables) and reads the files back, 3 runs each for the three types and for every type (no <c>_type</c>).
/// <code>
/// dotnet run -c Release --project bench/FhirRecovery.Benchmarks -- export [resources] [--provider Sqlite|PostgreSQL] [--connection "..."]
/// </code>
/// The SQLite database is kept next to the build output, one per size; PostgreSQL needs --connection (an empty database).
/// </summary>
internal static class ExportMeasurement
{
    private const int Runs = 3;

    public static int Run(string[] args) =>
        MeasuredStore.Parse(args, "export", 100_000) is { } parsed ? RunAsync(parsed.Count, parsed.Options).GetAwaiter().GetResult() : 2;

    private static async Task<int> RunAsync(int total, StorageOptions options)
    {
        var clock = Stopwatch.StartNew();
        var store = (await MeasuredStore.OpenAsync(options)).Store;

        var (patients, goals, observations) = (total / 20, total * 8 / 10, total - total / 20 - total * 8 / 10);
        var existing = await store.SearchAsync(new SearchRequest { ResourceType = "Goal", Parameters = [new("_summary", "count")] });
        if (existing.Total != goals)
        {
            if (existing.Total > 0)
            {
                Console.Error.WriteLine($"The store holds {existing.Total} goals, not {goals}: use an empty database (SQLite: delete {options.ConnectionString}).");
                return 2;
            }

            clock.Restart();
            await FillAsync(store, patients, goals, observations);
            Console.WriteLine($"filled {patients} patients, {goals} goals, {observations} observations in {clock.Elapsed.TotalSeconds:F0} s");
        }

        var services = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .AddSingleton(Options.Create(options))
            .AddSingleton(TimeProvider.System)
            .AddSingleton(store)
            .AddSingleton((IExportJobStore)store);
        services.AddOptions<BulkExportOptions>();
        await using var provider = services.BuildServiceProvider();
        var runner = ActivatorUtilities.CreateInstance<ExportJobRunner>(provider);
        var jobs = (IExportJobStore)store;

        Console.WriteLine();
        Console.WriteLine($"| export, {total:N0} resources ({options.Provider}) | resources | min | median | resources/s (median) | read back (median) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        var worstRate = double.MaxValue;
        foreach (var (name, types) in new[] { ("_type=Patient,Goal,Observation", (IReadOnlyList<string>)["Patient", "Goal", "Observation"]), ("every type (no _type)", ResourceNames.All) })
        {
            var times = new List<double>();
            var reads = new List<double>();
            long exported = 0;
            for (var i = 0; i < Runs; i++)
            {
                var (export, read, count) = await ExportOnceAsync(jobs, runner, types);
                times.Add(export);
                reads.Add(read);
                exported = count;
            }

            times.Sort();
            reads.Sort();
            var rate = exported / (times[Runs / 2] / 1000);
            worstRate = Math.Min(worstRate, rate);
            Console.WriteLine($"| {name} | {exported:N0} | {times[0]:F0} ms | {times[Runs / 2]:F0} ms | {rate:N0} | {reads[Runs / 2]:F0} ms |");
        }

        Console.WriteLine();
        Console.WriteLine($"target: at least 25,000 resources/s; slowest case {worstRate:N0}/s: {(worstRate >= 25_000 ? "met" : "NOT MET")}");
        if (store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        return worstRate >= 25_000 ? 0 : 1;
    }

    /// <summary>One job from claim to completion, then its files read back; the job is deleted afterwards.</summary>
    private static async Task<(double Export, double Read, long Count)> ExportOnceAsync(IExportJobStore jobs, ExportJobRunner runner, IReadOnlyList<string> types)
    {
        var now = DateTimeOffset.UtcNow;
        var request = new ExportRequest
        {
            Level = ExportLevel.System,
            Types = types,
            RequestUrl = "http://localhost/fhir/$export",
            Access = AccessContext.Anonymous.ToSnapshot(),
        };
        var id = Guid.NewGuid().ToString("N");
        await jobs.CreateJobAsync(new ExportJob { Id = id, Requester = "anonymous", Request = request.ToJson(), TransactionTime = now, CreatedAt = now });
        var clock = Stopwatch.StartNew();
        var job = (await jobs.ClaimJobsAsync("bench", 1, TimeSpan.FromMinutes(5))).Single(j => j.Id == id);
        await runner.RunAsync(job, "bench", CancellationToken.None);
        var export = clock.Elapsed.TotalMilliseconds;
        var finished = await jobs.GetJobAsync(id);
        if (finished?.Status != ExportJobStatus.Completed)
        {
            throw new InvalidOperationException($"The export ended {finished?.Status}: {finished?.Error}");
        }

        var files = await jobs.FilesAsync(id);
        clock.Restart();
        foreach (var file in files.Where(f => f.Count > 0))
        {
            await jobs.CopyFileAsync(id, file.Number, Stream.Null);
        }

        var read = clock.Elapsed.TotalMilliseconds;
        await jobs.DeleteJobAsync(id);
        return (export, read, files.Where(f => f.Kind == ExportFileKind.Output).Sum(f => f.Count));
    }

    private static Task InBatches(IResourceStore store, int count, Func<int, Resource> make) => OrientationMeasurement.InBatchesAsync(store, count, 2000, make);

    private static async Task FillAsync(IResourceStore store, int patients, int goals, int observations)
    {
        var start = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        await InBatches(store, patients, i => new Patient
        {
            Id = $"bench-p{i}",
            Name = [new HumanName { Family = $"Person{i}", Given = ["Bench"] }],
            Gender = AdministrativeGender.Other,
            BirthDate = start.AddYears(-20 - i % 50).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        });
        await InBatches(store, goals, i => new Goal
        {
            Id = $"bench-g{i}",
            LifecycleStatus = Goal.GoalLifecycleStatus.Active,
            Description = new CodeableConcept { Text = $"Goal {i}: walk to the lake with a friend twice a week" },
            Subject = new ResourceReference($"Patient/bench-p{i % patients}"),
            Start = new Date(start.AddDays(i % 730).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        });
        await InBatches(store, observations, i => new Observation
        {
            Id = $"bench-o{i}",
            Status = ObservationStatus.Final,
            Code = new CodeableConcept("http://loinc.org", "72514-3", "Pain severity"),
            Subject = new ResourceReference($"Patient/bench-p{i % patients}"),
            Effective = new FhirDateTime(start.AddHours(i).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
            Value = new Integer(i % 10),
        });
    }
}
