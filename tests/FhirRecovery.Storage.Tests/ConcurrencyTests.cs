using System.Diagnostics;
using FhirRecovery.Storage.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Tests;

public abstract class ConcurrencyTests(IStoreProvider provider) : StoreTestBase(provider)
{
    [StoreFact]
    public async Task Of_100_parallel_updates_expecting_the_same_version_exactly_one_succeeds()
    {
        await CreateAsync(TestData.Goal("g1", "p1"));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            try
            {
                await UpdateAsync(TestData.Goal("g1", "p1", description: $"writer {i}"), expectedVersion: 1);
                return "ok";
            }
            catch (VersionConflictException e)
            {
                Assert.Equal(2, e.ActualVersion);
                return "conflict";
            }
        })));

        Assert.Equal(1, outcomes.Count(o => o == "ok"));
        Assert.Equal(99, outcomes.Count(o => o == "conflict"));
        Assert.Equal(2, (await Store.ReadAsync("Goal", "g1"))!.VersionId);
        Assert.Equal(2, (await Store.HistoryAsync(new HistoryRequest { ResourceType = "Goal", Id = "g1" })).Entries.Count);
    }

    [StoreFact]
    public async Task Of_parallel_creates_of_one_id_exactly_one_succeeds()
    {
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
        {
            try
            {
                await CreateAsync(TestData.Patient("p1", "Berg", "Ingrid"));
                return true;
            }
            catch (ResourceExistsException)
            {
                return false;
            }
        })));

        Assert.Single(outcomes, o => o);
        Assert.Equal(1, (await Store.ReadAsync("Patient", "p1"))!.VersionId);
    }

    [StoreFact]
    public async Task A_session_takes_the_write_lock_at_its_first_read_or_write_not_when_it_begins()
    {
        // SQLite has one writer at a time: a session that holds the lock before it needs it makes every other writer wait
        // for the work it does first (index extraction), or for a session that never writes at all.
        await using var idle = await Store.BeginAsync();
        await using var late = await Store.BeginAsync();
        await CreateAsync(TestData.Patient("p1", "Berg", "Ingrid")).WaitAsync(TimeSpan.FromSeconds(5));

        await late.CreateAsync(TestData.Goal("g1", "p1"));
        await late.CommitAsync();
        await idle.CommitAsync(); // nothing to commit
        Assert.Equal(1, (await Store.ReadAsync("Goal", "g1"))!.VersionId);
        await Assert.ThrowsAsync<InvalidOperationException>(() => idle.ReadAsync("Goal", "g1"));
    }

    [StoreFact]
    public async Task Parallel_updates_without_a_version_check_all_land_as_consecutive_versions()
    {
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => UpdateAsync(TestData.Goal("g1", "p1", description: $"w{i}")))));

        var history = await Store.HistoryAsync(new HistoryRequest { ResourceType = "Goal", Id = "g1", Count = 100 });
        Assert.Equal(Enumerable.Range(1, 20).Reverse().Select(v => (long)v), history.Entries.Select(e => e.VersionId));
        Assert.Equal(20, (await Store.ReadAsync("Goal", "g1"))!.VersionId);
        // lastUpdated strictly decreases going back in history.
        Assert.True(history.Entries.Zip(history.Entries.Skip(1)).All(p => p.First.LastUpdated > p.Second.LastUpdated));
    }

    [StoreFact]
    public async Task A_writer_process_killed_mid_load_leaves_a_consistent_store()
    {
        using var child = Process.Start(new ProcessStartInfo
        {
            FileName = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            ArgumentList = { typeof(Program).Assembly.Location, "crash-load", Handle.Options.Provider, Handle.Options.ConnectionString! },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var stderr = child.StandardError.ReadToEndAsync();
        try
        {
            // Let it commit a few batches, then kill it while it is inside the next one.
            var committed = -1;
            var deadline = Stopwatch.StartNew();
            while (committed < 5)
            {
                var line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60))
                           ?? throw new InvalidOperationException($"the writer stopped: {await stderr}");
                committed = int.Parse(line.Split(' ')[1]);
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "the writer is too slow");
            }

            await Task.Delay(Random.Shared.Next(0, 15));
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }

        // A new instance (a restarted server) over the same database.
        var reopened = await Provider.OpenSameAsync(Handle);
        try
        {
            var counter = await reopened.ReadAsync("Basic", "counter");
            Assert.NotNull(counter);
            var batches = (int)counter.VersionId;
            Assert.True(batches >= 6);

            var patients = await reopened.SearchAsync(new SearchRequest { ResourceType = "Patient", Parameters = Query("_summary=count") });
            Assert.Equal(batches * CrashLoad.BatchSize, patients.Total);
            var goals = await reopened.SearchAsync(new SearchRequest { ResourceType = "Goal", Parameters = Query("_summary=count") });
            Assert.Equal(batches * CrashLoad.BatchSize, goals.Total);
            for (var batch = 0; batch <= batches; batch++)
            {
                var tagged = await reopened.SearchAsync(new SearchRequest
                {
                    ResourceType = "Patient",
                    Parameters = [new("_tag", $"{CrashLoad.TagSystem}|{batch}"), new("_revinclude", "Goal:patient"), new("_count", "100")],
                });
                Assert.Equal(batch < batches ? CrashLoad.BatchSize : 0, tagged.Matches.Count);
                Assert.Equal(tagged.Matches.Count, tagged.Included.Count);
            }

            var history = await reopened.HistoryAsync(new HistoryRequest { Count = 1 });
            Assert.NotEmpty(history.Entries);

            // And it takes writes again.
            await using var session = await reopened.BeginAsync();
            await session.UpdateAsync(new Basic { Id = "counter", Code = new CodeableConcept("urn:test", "counter") }, batches);
            await session.CommitAsync();
        }
        finally
        {
            if (reopened is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
    }
}

public sealed class SqliteConcurrencyTests() : ConcurrencyTests(new SqliteStoreProvider());

[Collection(PostgresCollection.Name)]
public sealed class PostgresConcurrencyTests(PostgresServerFixture server) : ConcurrencyTests(new PostgresStoreProvider(server)), IPostgresTests;
