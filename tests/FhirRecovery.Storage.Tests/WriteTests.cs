using System.Text;
using FhirRecovery.Storage.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Tests;

public abstract class WriteTests(IStoreProvider provider) : StoreTestBase(provider)
{
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));

    protected override TimeProvider Time => _clock;

    [StoreFact]
    public async Task Create_stores_version_1_with_meta_set_by_the_store()
    {
        var goal = TestData.Goal("g1", "p1");
        var stored = await CreateAsync(goal);

        Assert.Equal(("Goal", "g1", 1L, false, HistoryMethod.Create), (stored.ResourceType, stored.Id, stored.VersionId, stored.IsDeleted, stored.Method));
        Assert.Equal(_clock.Now, stored.LastUpdated);
        Assert.Equal("1", goal.Meta!.VersionId);

        var read = await Store.ReadAsync("Goal", "g1");
        Assert.NotNull(read);
        var parsed = Parse<Goal>(read);
        Assert.Equal("1", parsed.Meta!.VersionId);
        Assert.Equal(_clock.Now, parsed.Meta.LastUpdated);
        Assert.Equal("Patient/p1", parsed.Subject.Reference);
        Assert.StartsWith("{\"resourceType\":\"Goal\"", Encoding.UTF8.GetString(read.Json!));
    }

    [StoreFact]
    public async Task Create_with_an_id_in_use_throws_and_keeps_the_existing_resource()
    {
        await CreateAsync(TestData.Goal("g1", "p1", description: "first"));

        await Assert.ThrowsAsync<ResourceExistsException>(() => CreateAsync(TestData.Goal("g1", "p2", description: "second")));

        var read = await Store.ReadAsync("Goal", "g1");
        Assert.Equal("first", Parse<Goal>(read!).Description.Text);
        Assert.Equal(1, read!.VersionId);
    }

    [StoreFact]
    public async Task Create_of_a_deleted_id_adds_the_next_version()
    {
        await CreateAsync(TestData.Goal("g1", "p1"));
        await DeleteAsync("Goal", "g1");

        var again = await CreateAsync(TestData.Goal("g1", "p1"));

        Assert.Equal(3, again.VersionId);
        Assert.False((await Store.ReadAsync("Goal", "g1"))!.IsDeleted);
    }

    [StoreFact]
    public async Task Create_with_an_invalid_id_is_refused_naming_the_id_and_writes_nothing()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => CreateAsync(TestData.Goal("not valid!", "p1")));
        Assert.Contains("Goal.id 'not valid!'", error.Message);

        await Assert.ThrowsAsync<ArgumentException>(() => CreateAsync(new Patient()));
        Assert.True(await Store.IsEmptyAsync());
    }

    [StoreFact]
    public async Task Update_adds_a_version_and_last_updated_strictly_increases_even_with_a_frozen_clock()
    {
        await CreateAsync(TestData.Goal("g1", "p1"));
        var first = (await Store.ReadAsync("Goal", "g1"))!;

        var second = await UpdateAsync(TestData.Goal("g1", "p1", Goal.GoalLifecycleStatus.Completed));
        var third = await UpdateAsync(TestData.Goal("g1", "p1", Goal.GoalLifecycleStatus.Cancelled));

        Assert.False(second.Created);
        Assert.Equal(2, second.Version.VersionId);
        Assert.Equal(3, third.Version.VersionId);
        Assert.True(second.Version.LastUpdated > first.LastUpdated);
        Assert.True(third.Version.LastUpdated > second.Version.LastUpdated);
        Assert.Equal(Goal.GoalLifecycleStatus.Cancelled, Parse<Goal>((await Store.ReadAsync("Goal", "g1"))!).LifecycleStatus);
    }

    [StoreFact]
    public async Task Last_updated_follows_the_clock_to_the_millisecond()
    {
        _clock.Set(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero).AddTicks(12_345_678));
        var stored = await CreateAsync(TestData.Goal("g1", "p1"));
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 10, 0, 1, 234, TimeSpan.Zero), stored.LastUpdated);
    }

    [StoreFact]
    public async Task Update_of_a_missing_resource_creates_it()
    {
        var outcome = await UpdateAsync(TestData.Goal("new", "p1"));

        Assert.True(outcome.Created);
        Assert.Equal(1, outcome.Version.VersionId);
        Assert.Equal(HistoryMethod.Update, outcome.Version.Method);
        Assert.NotNull(await Store.ReadAsync("Goal", "new"));
    }

    [StoreFact]
    public async Task Update_of_a_deleted_resource_reports_it_as_created()
    {
        await CreateAsync(TestData.Goal("g1", "p1"));
        await DeleteAsync("Goal", "g1");

        var outcome = await UpdateAsync(TestData.Goal("g1", "p1"));

        Assert.True(outcome.Created);
        Assert.Equal(3, outcome.Version.VersionId);
    }

    [StoreFact]
    public async Task Update_expecting_another_version_throws_a_conflict_and_writes_nothing()
    {
        await CreateAsync(TestData.Goal("g1", "p1", description: "original"));
        await UpdateAsync(TestData.Goal("g1", "p1", description: "second"));

        var conflict = await Assert.ThrowsAsync<VersionConflictException>(() => UpdateAsync(TestData.Goal("g1", "p1", description: "stale"), 1));

        Assert.Equal(2, conflict.ActualVersion);
        var read = (await Store.ReadAsync("Goal", "g1"))!;
        Assert.Equal(2, read.VersionId);
        Assert.Equal("second", Parse<Goal>(read).Description.Text);
        Assert.Null(await Store.ReadVersionAsync("Goal", "g1", 3));
    }

    [StoreFact]
    public async Task Update_expecting_the_current_version_succeeds()
    {
        await CreateAsync(TestData.Goal("g1", "p1"));
        var outcome = await UpdateAsync(TestData.Goal("g1", "p1"), 1);
        Assert.Equal(2, outcome.Version.VersionId);
    }

    [StoreFact]
    public async Task Update_expecting_a_version_of_a_missing_resource_throws_a_conflict()
    {
        var conflict = await Assert.ThrowsAsync<VersionConflictException>(() => UpdateAsync(TestData.Goal("g1", "p1"), 1));
        Assert.Null(conflict.ActualVersion);
        Assert.Null(await Store.ReadAsync("Goal", "g1"));
    }

    [StoreFact]
    public async Task Delete_adds_a_deleted_version_that_read_returns_as_deleted()
    {
        await CreateAsync(TestData.Goal("g1", "p1"));

        var deleted = await DeleteAsync("Goal", "g1");

        Assert.NotNull(deleted);
        Assert.True(deleted.IsDeleted);
        Assert.Equal(2, deleted.VersionId);
        Assert.Equal(HistoryMethod.Delete, deleted.Method);
        var read = (await Store.ReadAsync("Goal", "g1"))!;
        Assert.True(read.IsDeleted);
        Assert.Null(read.Json);
        Assert.NotNull((await Store.ReadVersionAsync("Goal", "g1", 1))!.Json);
    }

    [StoreFact]
    public async Task Delete_of_a_missing_or_already_deleted_resource_returns_null()
    {
        Assert.Null(await DeleteAsync("Goal", "nothing"));
        await CreateAsync(TestData.Goal("g1", "p1"));
        await DeleteAsync("Goal", "g1");
        Assert.Null(await DeleteAsync("Goal", "g1"));
        Assert.Equal(2, (await Store.ReadAsync("Goal", "g1"))!.VersionId);
    }

    [StoreFact]
    public async Task Delete_expecting_another_version_throws_a_conflict_and_keeps_the_resource()
    {
        await CreateAsync(TestData.Goal("g1", "p1"));
        await UpdateAsync(TestData.Goal("g1", "p1"));

        await Assert.ThrowsAsync<VersionConflictException>(() => DeleteAsync("Goal", "g1", 1));

        Assert.False((await Store.ReadAsync("Goal", "g1"))!.IsDeleted);
        Assert.NotNull(await DeleteAsync("Goal", "g1", 2));
    }

    [StoreFact]
    public async Task Read_and_vread_of_unknown_resources_return_null()
    {
        await CreateAsync(TestData.Goal("g1", "p1"));
        Assert.Null(await Store.ReadAsync("Goal", "g2"));
        Assert.Null(await Store.ReadAsync("Patient", "g1"));
        Assert.Null(await Store.ReadVersionAsync("Goal", "g1", 2));
        Assert.Null(await Store.ReadVersionAsync("Goal", "g1", 0));
    }

    [StoreFact]
    public async Task Vread_returns_every_version_as_it_was()
    {
        await CreateAsync(TestData.Goal("g1", "p1", description: "v1"));
        await UpdateAsync(TestData.Goal("g1", "p1", description: "v2"));
        await UpdateAsync(TestData.Goal("g1", "p1", description: "v3"));

        for (var v = 1; v <= 3; v++)
        {
            var version = (await Store.ReadVersionAsync("Goal", "g1", v))!;
            Assert.Equal(v, version.VersionId);
            Assert.Equal($"v{v}", Parse<Goal>(version).Description.Text);
            Assert.Equal(v.ToString(), Parse<Goal>(version).Meta!.VersionId);
        }
    }

    [StoreFact]
    public async Task The_store_is_empty_until_the_first_write_and_ready()
    {
        Assert.True(await Store.IsEmptyAsync());
        Assert.True(await Store.IsReadyAsync());
        await CreateAsync(TestData.Patient("p1", "Berg", "Ingrid"));
        Assert.False(await Store.IsEmptyAsync());
    }

    [StoreFact]
    public async Task Initialize_is_idempotent_and_a_second_instance_sees_the_same_data()
    {
        await CreateAsync(TestData.Patient("p1", "Berg", "Ingrid"));
        await Store.InitializeAsync();

        var other = await Provider.OpenSameAsync(Handle);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => other.InitializeAsync()));

        Assert.NotNull(await other.ReadAsync("Patient", "p1"));
        await using var session = await other.BeginAsync();
        await session.CreateAsync(TestData.Patient("p2", "Dahl", "Helle"));
        await session.CommitAsync();
        Assert.NotNull(await Store.ReadAsync("Patient", "p2"));

        // Page tokens of one instance are accepted by the other (the signing key is in the database).
        await CreateAsync(TestData.Patient("p3", "Lind", "Marcus"));
        var page = await Store.SearchAsync(new SearchRequest { ResourceType = "Patient", Parameters = Query("_count=1") });
        var next = await other.SearchAsync(new SearchRequest { ResourceType = "Patient", PageToken = page.NextPage });
        Assert.Single(next.Matches);
        if (other is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    [StoreFact]
    public async Task Several_instances_starting_at_once_on_an_empty_database_migrate_it_once()
    {
        await using var empty = await Provider.CreateAsync(initialize: false);
        var instances = new List<IResourceStore> { empty.Store };
        for (var i = 0; i < 5; i++)
        {
            instances.Add(StoreFactory.Create(empty.Options, null));
        }

        await Task.WhenAll(instances.Select(s => Task.Run(() => s.InitializeAsync())));

        await using (var session = await instances[3].BeginAsync())
        {
            await session.CreateAsync(TestData.Patient("p1", "Berg", "Ingrid"));
            await session.CommitAsync();
        }

        foreach (var instance in instances)
        {
            Assert.NotNull(await instance.ReadAsync("Patient", "p1"));
            Assert.Single((await instance.SearchAsync(new SearchRequest { ResourceType = "Patient", Parameters = Query("family=berg") })).Matches);
        }

        foreach (var instance in instances.Skip(1).OfType<IAsyncDisposable>())
        {
            await instance.DisposeAsync();
        }
    }

    [StoreFact]
    public async Task A_session_write_is_invisible_to_others_until_commit()
    {
        await using var session = await Store.BeginAsync();
        await session.CreateAsync(TestData.Goal("g1", "p1"));

        Assert.Null(await Store.ReadAsync("Goal", "g1"));
        Assert.Empty((await SearchAsync("Goal", "patient=Patient/p1")).Matches);

        await session.CommitAsync();
        Assert.NotNull(await Store.ReadAsync("Goal", "g1"));
        Assert.Single((await SearchAsync("Goal", "patient=Patient/p1")).Matches);
    }

    [StoreFact]
    public async Task A_session_reads_and_searches_its_own_writes()
    {
        await CreateAsync(TestData.Goal("g0", "p1", Goal.GoalLifecycleStatus.Active));
        await using var session = await Store.BeginAsync();
        await session.CreateAsync(TestData.Goal("g1", "p1"));
        await session.UpdateAsync(TestData.Goal("g0", "p1", Goal.GoalLifecycleStatus.Completed), 1);

        Assert.NotNull(await session.ReadAsync("Goal", "g1"));
        Assert.Equal(2, (await session.ReadAsync("Goal", "g0"))!.VersionId);
        var active = await session.SearchAsync(new SearchRequest { ResourceType = "Goal", Parameters = Query("lifecycle-status=active") });
        Assert.Equal(["g1"], Ids(active.Matches));

        // Writes after a read are batched again and still seen.
        await session.DeleteAsync("Goal", "g1", null);
        var afterDelete = await session.SearchAsync(new SearchRequest { ResourceType = "Goal", Parameters = Query("patient=p1") });
        Assert.Equal(["g0"], Ids(afterDelete.Matches));
    }

    [StoreFact]
    public async Task Disposing_a_session_without_commit_rolls_everything_back()
    {
        await CreateAsync(TestData.Goal("g0", "p1"));
        await using (var session = await Store.BeginAsync())
        {
            await session.CreateAsync(TestData.Goal("g1", "p1"));
            await session.UpdateAsync(TestData.Goal("g0", "p1", Goal.GoalLifecycleStatus.Completed), null);
            await session.DeleteAsync("Goal", "g0", null);
            await session.SearchAsync(new SearchRequest { ResourceType = "Goal" }); // forces the batch to the database
        }

        Assert.Null(await Store.ReadAsync("Goal", "g1"));
        var g0 = (await Store.ReadAsync("Goal", "g0"))!;
        Assert.Equal((1L, false), (g0.VersionId, g0.IsDeleted));
        Assert.Equal(["g0"], await IdsAsync("Goal", "lifecycle-status=active"));
        Assert.Single((await Store.HistoryAsync(new HistoryRequest())).Entries);
    }

    [StoreFact]
    public async Task A_transaction_with_one_failing_entry_leaves_nothing_written()
    {
        await CreateAsync(TestData.Goal("existing", "p1"));
        await using (var session = await Store.BeginAsync())
        {
            await session.CreateAsync(TestData.Patient("p1", "Berg", "Ingrid"));
            await session.CreateAsync(TestData.Goal("g1", "p1"));
            await Assert.ThrowsAsync<ResourceExistsException>(() => session.CreateAsync(TestData.Goal("existing", "p1")));
            await Assert.ThrowsAsync<VersionConflictException>(() => session.UpdateAsync(TestData.Goal("existing", "p1"), 7));
            // The caller abandons the transaction: no commit.
        }

        Assert.Null(await Store.ReadAsync("Patient", "p1"));
        Assert.Null(await Store.ReadAsync("Goal", "g1"));
        Assert.Equal(1, (await Store.ReadAsync("Goal", "existing"))!.VersionId);
    }

    [StoreFact]
    public async Task A_session_stays_usable_after_a_refused_write()
    {
        await CreateAsync(TestData.Goal("existing", "p1"));
        await using var session = await Store.BeginAsync();
        await Assert.ThrowsAsync<ResourceExistsException>(() => session.CreateAsync(TestData.Goal("existing", "p1")));
        await session.CreateAsync(TestData.Goal("g1", "p1"));
        await session.CommitAsync();

        Assert.NotNull(await Store.ReadAsync("Goal", "g1"));
    }

    [StoreFact]
    public async Task Writing_a_resource_twice_in_a_session_keeps_both_versions_and_indexes_the_last()
    {
        await using (var session = await Store.BeginAsync())
        {
            await session.CreateAsync(TestData.Goal("g1", "p1", Goal.GoalLifecycleStatus.Proposed));
            await session.UpdateAsync(TestData.Goal("g1", "p2", Goal.GoalLifecycleStatus.Active), 1);
            await session.UpdateAsync(TestData.Goal("g1", "p3", Goal.GoalLifecycleStatus.Active), 2);
            await session.CommitAsync();
        }

        Assert.Equal(3, (await Store.ReadAsync("Goal", "g1"))!.VersionId);
        Assert.Empty(await IdsAsync("Goal", "patient=p1"));
        Assert.Empty(await IdsAsync("Goal", "patient=p2"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "patient=p3"));
        Assert.Empty(await IdsAsync("Goal", "lifecycle-status=proposed"));
    }

    [StoreFact]
    public async Task A_committed_session_refuses_further_use()
    {
        await using var session = await Store.BeginAsync();
        await session.CreateAsync(TestData.Goal("g1", "p1"));
        await session.CommitAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => session.CreateAsync(TestData.Goal("g2", "p1")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => session.CommitAsync());
    }

    [StoreFact]
    public async Task Updates_replace_the_index_and_deletes_remove_it()
    {
        await CreateAsync(TestData.Goal("g1", "p1", Goal.GoalLifecycleStatus.Active, "Find a flat"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "lifecycle-status=active"));

        await UpdateAsync(TestData.Goal("g1", "p1", Goal.GoalLifecycleStatus.Completed, "Find a flat"));
        Assert.Empty(await IdsAsync("Goal", "lifecycle-status=active"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "lifecycle-status=completed"));

        await DeleteAsync("Goal", "g1");
        Assert.Empty(await IdsAsync("Goal", "lifecycle-status=completed"));
        Assert.Empty(await IdsAsync("Goal", ""));
    }
}

public sealed class SqliteWriteTests() : WriteTests(new SqliteStoreProvider());

[Collection(PostgresCollection.Name)]
public sealed class PostgresWriteTests(PostgresServerFixture server) : WriteTests(new PostgresStoreProvider(server)), IPostgresTests;
