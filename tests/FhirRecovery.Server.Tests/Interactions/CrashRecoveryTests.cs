using System.Collections.Concurrent;
using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Storage;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Xunit.Abstractions;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>
/// Issue 3's "a server killed during a load restarts with a consistent store", end to end: the real server process takes
/// concurrent transactions and updates over HTTP, is killed (SIGKILL) in the middle, and a new server process on the same
/// database must show every transaction either whole or not at all, every acknowledged write, versions that count up
/// without gaps, and search indexes that agree with the current versions.
/// </summary>
public abstract class CrashRecoveryTests(ITestOutputHelper output)
{
    private const string BatchTag = "urn:fhirrecovery:test:crash-batch";
    private const int PatientsPerBatch = 4;
    private const int UpdatedGoals = 6;

    /// <summary>Storage settings for a fresh database, and what removes it.</summary>
    protected abstract Task<(Dictionary<string, string> Settings, Func<Task> Remove)> CreateDatabaseAsync();

    [StoreFact]
    public async Task A_server_killed_during_a_load_restarts_with_a_consistent_store()
    {
        var (settings, remove) = await CreateDatabaseAsync();
        try
        {
            foreach (var (key, value) in new Dictionary<string, string>
                     {
                         ["Samples:LoadWhenEmpty"] = "false",
                         ["Fhir:LoadConformanceResources"] = "false",
                         // The writes here are about atomicity, not profiles; and no tokens, audit or provenance.
                         ["Validation:Mode"] = "Off",
                         ["Auth:Mode"] = "None",
                         ["Audit:Enabled"] = "false",
                         ["Provenance:Enabled"] = "false",
                         ["Logging:LogLevel:Default"] = "Warning",
                     })
            {
                settings[key] = value;
            }

            var acknowledged = await LoadAndKillAsync(settings);
            await using var restarted = await ServerProcess.StartAsync(settings);
            using var client = new HttpClient { BaseAddress = restarted.BaseAddress };
            var complete = await CheckConsistencyAsync(client, acknowledged);
            output.WriteLine($"{acknowledged.BatchesTried} transactions sent, {acknowledged.Batches.Count} acknowledged before the kill, " +
                             $"{complete} in the store after the restart; goal versions acknowledged: {string.Join(", ", acknowledged.GoalVersions.OrderBy(g => g.Key).Select(g => $"{g.Key} v{g.Value}"))}");
        }
        finally
        {
            await remove();
        }
    }

    private sealed record Acknowledged(ConcurrentDictionary<int, bool> Batches, int BatchesTried, ConcurrentDictionary<string, long> GoalVersions);

    /// <summary>Three clients send transactions, two update goals; the server is killed once 25 transactions have committed.</summary>
    private static async Task<Acknowledged> LoadAndKillAsync(Dictionary<string, string> settings)
    {
        var batches = new ConcurrentDictionary<int, bool>();
        var goalVersions = new ConcurrentDictionary<string, long>();
        var nextBatch = -1;
        await using var server = await ServerProcess.StartAsync(settings);
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

        await (await client.PutAsync("Basic/counter", Counter())).AssertStatusAsync(HttpStatusCode.Created);
        for (var i = 0; i < UpdatedGoals; i++)
        {
            var goal = TestResources.Goal("Patient/updated");
            goal.Id = $"u{i}";
            await (await client.PutAsync($"Goal/u{i}", goal)).AssertStatusAsync(HttpStatusCode.Created);
        }

        using var stop = new CancellationTokenSource();
        async Task Transactions()
        {
            while (!stop.IsCancellationRequested)
            {
                var batch = Interlocked.Increment(ref nextBatch);
                try
                {
                    using var response = await client.PostAsync("", Transaction(batch), stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        batches[batch] = true;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
                {
                    return; // the server is gone
                }
            }
        }

        async Task Updates(int worker)
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var id = $"u{(worker + (2 * n)) % UpdatedGoals}";
                var goal = TestResources.Goal("Patient/updated", $"revision {n}",
                    n % 2 == 0 ? Goal.GoalLifecycleStatus.OnHold : Goal.GoalLifecycleStatus.Active);
                goal.Id = id;
                try
                {
                    using var response = await client.PutAsync(id.Insert(0, "Goal/"), goal);
                    if (response.StatusCode == HttpStatusCode.OK && response.Headers.ETag?.Tag is { } tag)
                    {
                        var version = long.Parse(tag.Trim('"'), System.Globalization.CultureInfo.InvariantCulture);
                        goalVersions.AddOrUpdate(id, version, (_, known) => Math.Max(known, version));
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
                {
                    return;
                }
            }
        }

        var load = new[] { Transactions(), Transactions(), Transactions(), Updates(0), Updates(1) };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (batches.Count < 25)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {batches.Count} transactions committed in 2 minutes:\n{server.Output}");
            Assert.DoesNotContain(load, t => t.IsFaulted);
            await Task.Delay(20);
        }

        // Kill it while requests are in flight (each client always has one outstanding).
        await Task.Delay(Random.Shared.Next(0, 25));
        await server.KillAsync();
        await stop.CancelAsync();
        await Task.WhenAll(load);
        return new Acknowledged(batches, nextBatch + 1, goalVersions);
    }

    /// <summary>Checks the restarted store; answers how many transactions it holds.</summary>
    private static async Task<int> CheckConsistencyAsync(HttpClient client, Acknowledged acknowledged)
    {
        // Every transaction is whole or absent, and every acknowledged one is whole.
        var complete = 0;
        for (var batch = 0; batch < acknowledged.BatchesTried; batch++)
        {
            var found = await SearchAsync(client, $"Patient?_tag={BatchTag}|{batch}&_revinclude=Goal:subject&_count=50");
            var patients = found.Entry.Count(e => e.Search?.Mode == Bundle.SearchEntryMode.Match);
            var goals = found.Entry.Count(e => e.Search?.Mode == Bundle.SearchEntryMode.Include);
            Assert.True(patients is 0 or PatientsPerBatch && goals == patients,
                $"transaction {batch} is half there: {patients} patients, {goals} goals");
            if (acknowledged.Batches.ContainsKey(batch))
            {
                Assert.True(patients == PatientsPerBatch, $"transaction {batch} was acknowledged but is not in the store");
            }

            if (patients > 0)
            {
                complete++;
                // The reference index agrees with the stored goals.
                var byPatient = await SearchAsync(client, $"Goal?patient=Patient/b{batch}-0");
                Assert.Equal($"bg{batch}-0", Assert.Single(byPatient.Entry).Resource.Id);
            }
        }

        Assert.True(complete >= 25);
        Assert.Equal(complete * PatientsPerBatch, (await SearchAsync(client, "Patient?_summary=count")).Total);
        Assert.Equal(complete * PatientsPerBatch + UpdatedGoals, (await SearchAsync(client, "Goal?_summary=count")).Total);

        // Every committed transaction added exactly one version to the counter, on top of its creation.
        using (var counter = await client.GetAsync("Basic/counter"))
        {
            await counter.AssertStatusAsync(HttpStatusCode.OK);
            Assert.Equal($"W/\"{complete + 1}\"", counter.ETag());
        }

        // Updated goals: acknowledged versions survived, history counts up without gaps, the index has the current status.
        for (var i = 0; i < UpdatedGoals; i++)
        {
            var id = $"u{i}";
            using var read = await client.GetAsync($"Goal/{id}");
            await read.AssertStatusAsync(HttpStatusCode.OK);
            var goal = await read.ReadAsync<Goal>();
            var version = long.Parse(goal.Meta.VersionId, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(version >= acknowledged.GoalVersions.GetValueOrDefault(id, 1), $"Goal/{id} lost an acknowledged update");

            var history = await SearchAsync(client, $"Goal/{id}/_history?_count=500");
            var versions = history.Entry.Select(e => long.Parse(e.Resource.Meta.VersionId, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(version, versions[0]);
            Assert.All(versions.Zip(versions.Skip(1)), pair => Assert.Equal(pair.First - 1, pair.Second));
            Assert.True(versions[^1] == 1 || history.NextLink is not null, $"Goal/{id}: history ends at version {versions[^1]}");

            var status = goal.LifecycleStatus == Goal.GoalLifecycleStatus.Active ? "active" : "on-hold";
            var other = status == "active" ? "on-hold" : "active";
            Assert.Single((await SearchAsync(client, $"Goal?_id={id}&lifecycle-status={status}")).Entry);
            Assert.Empty((await SearchAsync(client, $"Goal?_id={id}&lifecycle-status={other}")).Entry);
        }

        // And it takes writes again.
        using var again = await client.PutAsync("Basic/counter", Counter());
        await again.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal($"W/\"{complete + 2}\"", again.ETag());
        return complete;
    }

    private static async Task<Bundle> SearchAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        await response.AssertStatusAsync(HttpStatusCode.OK);
        return await response.ReadAsync<Bundle>();
    }

    private static Basic Counter() => new() { Id = "counter", Code = new CodeableConcept("urn:test", "counter") };

    /// <summary>A transaction of four patients with a goal each, tagged with its number, and an update of the counter.</summary>
    private static HttpContent Transaction(int batch)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        for (var i = 0; i < PatientsPerBatch; i++)
        {
            var patient = TestResources.Patient($"b{batch}-{i}", $"Crash{batch}");
            patient.Id = $"b{batch}-{i}";
            patient.Meta = new Meta { Tag = [new Coding(BatchTag, batch.ToString(System.Globalization.CultureInfo.InvariantCulture))] };
            var goal = TestResources.Goal($"Patient/b{batch}-{i}");
            goal.Id = $"bg{batch}-{i}";
            bundle.Entry.Add(Put(patient));
            bundle.Entry.Add(Put(goal));
        }

        bundle.Entry.Add(Put(Counter()));
        return FhirHttp.Body(bundle);
    }

    private static Bundle.EntryComponent Put(Resource resource) => new()
    {
        FullUrl = $"urn:uuid:{Guid.NewGuid()}",
        Resource = resource,
        Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"{resource.TypeName}/{resource.Id}" },
    };
}

public sealed class SqliteCrashRecoveryTests(ITestOutputHelper output) : CrashRecoveryTests(output)
{
    protected override Task<(Dictionary<string, string> Settings, Func<Task> Remove)> CreateDatabaseAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"fhirrecovery-crash-{Guid.NewGuid():N}.db");
        return Task.FromResult((new Dictionary<string, string>
        {
            ["Storage:Provider"] = StorageOptions.SqliteProvider,
            ["Storage:ConnectionString"] = $"Data Source={file}",
        }, (Func<Task>)(() =>
        {
            foreach (var path in new[] { file, file + "-wal", file + "-shm" })
            {
                File.Delete(path);
            }

            return Task.CompletedTask;
        })));
    }
}

public sealed class PostgreSqlCrashRecoveryTests(ITestOutputHelper output) : CrashRecoveryTests(output), IRequiresPostgreSql
{
    protected override async Task<(Dictionary<string, string> Settings, Func<Task> Remove)> CreateDatabaseAsync()
    {
        var database = await (await PostgreSqlServer.GetAsync()).CreateDatabaseAsync("fhirrecovery_crash");
        return (new Dictionary<string, string>
        {
            ["Storage:Provider"] = StorageOptions.PostgreSqlProvider,
            ["Storage:ConnectionString"] = database.ConnectionString,
        }, async () => await database.DisposeAsync());
    }
}
