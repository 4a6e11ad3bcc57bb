using FhirRecovery.Storage.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Tests;

public abstract class HistoryTests(IStoreProvider provider) : StoreTestBase(provider)
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly ManualTimeProvider _clock = new(Start);

    protected override TimeProvider Time => _clock;

    /// <summary>
    /// At 08:00 Goal/g1 v1, 09:00 Patient/p1 v1, 10:00 Goal/g1 v2, 11:00 Goal/g2 v1, 12:00 Goal/g1 deleted (v3).
    /// </summary>
    private async Task WriteTimelineAsync()
    {
        await CreateAsync(TestData.Goal("g1", "p1", description: "v1"));
        _clock.Advance(TimeSpan.FromHours(1));
        await CreateAsync(TestData.Patient("p1", "Berg", "Ingrid"));
        _clock.Advance(TimeSpan.FromHours(1));
        await UpdateAsync(TestData.Goal("g1", "p1", description: "v2"));
        _clock.Advance(TimeSpan.FromHours(1));
        await CreateAsync(TestData.Goal("g2", "p1"));
        _clock.Advance(TimeSpan.FromHours(1));
        await DeleteAsync("Goal", "g1");
    }

    private static string[] Describe(HistoryResult result) =>
        result.Entries.Select(e => $"{e.ResourceType}/{e.Id}/{e.VersionId}{(e.IsDeleted ? " deleted" : "")}").ToArray();

    [StoreFact]
    public async Task Instance_history_lists_every_version_newest_first_including_the_deletion()
    {
        await WriteTimelineAsync();

        var history = await Store.HistoryAsync(new HistoryRequest { ResourceType = "Goal", Id = "g1" });

        Assert.Equal(["Goal/g1/3 deleted", "Goal/g1/2", "Goal/g1/1"], Describe(history));
        Assert.Equal([HistoryMethod.Delete, HistoryMethod.Update, HistoryMethod.Create], history.Entries.Select(e => e.Method));
        Assert.Null(history.Entries[0].Json);
        Assert.Equal("v2", Parse<Goal>(history.Entries[1]).Description.Text);
        Assert.Equal(3, history.Total);
    }

    [StoreFact]
    public async Task Instance_history_of_an_unknown_resource_is_empty()
    {
        await WriteTimelineAsync();
        Assert.Empty((await Store.HistoryAsync(new HistoryRequest { ResourceType = "Goal", Id = "nope" })).Entries);
        Assert.Empty((await Store.HistoryAsync(new HistoryRequest { ResourceType = "Patient", Id = "g1" })).Entries);
    }

    [StoreFact]
    public async Task Type_history_lists_the_versions_of_that_type_only()
    {
        await WriteTimelineAsync();
        var history = await Store.HistoryAsync(new HistoryRequest { ResourceType = "Goal" });
        Assert.Equal(["Goal/g1/3 deleted", "Goal/g2/1", "Goal/g1/2", "Goal/g1/1"], Describe(history));
    }

    [StoreFact]
    public async Task System_history_lists_every_version()
    {
        await WriteTimelineAsync();
        var history = await Store.HistoryAsync(new HistoryRequest());
        Assert.Equal(["Goal/g1/3 deleted", "Goal/g2/1", "Goal/g1/2", "Patient/p1/1", "Goal/g1/1"], Describe(history));
    }

    [StoreFact]
    public async Task Since_keeps_the_versions_written_at_or_after_the_instant()
    {
        await WriteTimelineAsync();
        var history = await Store.HistoryAsync(new HistoryRequest { Since = Start.AddHours(2) });
        Assert.Equal(["Goal/g1/3 deleted", "Goal/g2/1", "Goal/g1/2"], Describe(history));
        Assert.Empty((await Store.HistoryAsync(new HistoryRequest { Since = Start.AddHours(5) })).Entries);
    }

    [StoreFact]
    public async Task At_gives_the_versions_current_at_the_instant()
    {
        await WriteTimelineAsync();

        Assert.Equal(["Goal/g1/2", "Patient/p1/1"], Describe(await Store.HistoryAsync(new HistoryRequest { At = Start.AddHours(2.5) })));
        Assert.Equal(["Goal/g1/3 deleted", "Goal/g2/1", "Patient/p1/1"], Describe(await Store.HistoryAsync(new HistoryRequest { At = Start.AddHours(9) })));
        Assert.Equal(["Goal/g1/1"], Describe(await Store.HistoryAsync(new HistoryRequest { ResourceType = "Goal", Id = "g1", At = Start.AddMinutes(30) })));
        Assert.Empty((await Store.HistoryAsync(new HistoryRequest { At = Start.AddMinutes(-1) })).Entries);
    }

    [StoreFact]
    public async Task Count_pages_newest_first_with_next_and_previous_pages()
    {
        await WriteTimelineAsync();

        var first = await Store.HistoryAsync(new HistoryRequest { Count = 2 });
        Assert.Equal(["Goal/g1/3 deleted", "Goal/g2/1"], Describe(first));
        Assert.Null(first.PreviousPage);
        Assert.Null(first.Total);

        var second = await Store.HistoryAsync(new HistoryRequest { Count = 2, PageToken = first.NextPage });
        Assert.Equal(["Goal/g1/2", "Patient/p1/1"], Describe(second));

        // A write between page requests does not shift the pages.
        _clock.Advance(TimeSpan.FromHours(1));
        await CreateAsync(TestData.Goal("g3", "p1"));

        var third = await Store.HistoryAsync(new HistoryRequest { Count = 2, PageToken = second.NextPage });
        Assert.Equal(["Goal/g1/1"], Describe(third));
        Assert.Null(third.NextPage);

        var back = await Store.HistoryAsync(new HistoryRequest { Count = 2, PageToken = third.PreviousPage });
        Assert.Equal(["Goal/g1/2", "Patient/p1/1"], Describe(back));
        var backAgain = await Store.HistoryAsync(new HistoryRequest { Count = 2, PageToken = back.PreviousPage });
        Assert.Equal(["Goal/g1/3 deleted", "Goal/g2/1"], Describe(backAgain));
    }

    [StoreFact]
    public async Task Count_zero_gives_only_the_total()
    {
        await WriteTimelineAsync();
        var history = await Store.HistoryAsync(new HistoryRequest { ResourceType = "Goal", Count = 0 });
        Assert.Empty(history.Entries);
        Assert.Equal(4, history.Total);
    }

    [StoreFact]
    public async Task An_altered_or_foreign_page_token_is_refused()
    {
        await WriteTimelineAsync();
        var first = await Store.HistoryAsync(new HistoryRequest { Count = 1 });
        var token = first.NextPage!;
        var altered = token[..5] + (token[5] == 'A' ? 'B' : 'A') + token[6..];

        var error = await Assert.ThrowsAsync<SearchException>(() => Store.HistoryAsync(new HistoryRequest { Count = 1, PageToken = altered }));
        Assert.Equal("_page", error.Parameter);
        await Assert.ThrowsAsync<SearchException>(() => Store.HistoryAsync(new HistoryRequest { Count = 1, PageToken = "garbage" }));
        await Assert.ThrowsAsync<SearchException>(() => Store.HistoryAsync(new HistoryRequest { ResourceType = "Goal", Count = 1, PageToken = token }));
    }
}

public sealed class SqliteHistoryTests() : HistoryTests(new SqliteStoreProvider());

[Collection(PostgresCollection.Name)]
public sealed class PostgresHistoryTests(PostgresServerFixture server) : HistoryTests(new PostgresStoreProvider(server)), IPostgresTests;
