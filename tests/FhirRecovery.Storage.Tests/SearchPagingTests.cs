using FhirRecovery.Storage.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Tests;

/// <summary>_sort, _count, page tokens, _total, _summary=count and the Applied list.</summary>
public abstract class SearchPagingTests(IStoreProvider provider) : SearchTestBase(provider)
{
    private async Task<string[]> OrderedIdsAsync(string type, string query) =>
        (await SearchAsync(type, query)).Matches.Select(m => m.Id).ToArray();

    [StoreFact]
    public async Task Sort_by_string_date_number_token_and_reference_both_ways_with_missing_values_last()
    {
        Assert.Equal(["p1", "p2", "p3"], await OrderedIdsAsync("Patient", "_sort=family"));
        Assert.Equal(["p3", "p2", "p1"], await OrderedIdsAsync("Patient", "_sort=-family"));
        Assert.Equal(["p2", "p1", "p3"], await OrderedIdsAsync("Patient", "_sort=birthdate"));
        Assert.Equal(["p1", "p2", "p3"], await OrderedIdsAsync("Patient", "_sort=-birthdate"));
        Assert.Equal(["g2", "g1", "g3", "g4"], await OrderedIdsAsync("Goal", "_sort=start-date"));
        Assert.Equal(["g3", "g1", "g2", "g4"], await OrderedIdsAsync("Goal", "_sort=-start-date"));
        Assert.Equal(["g1", "g2", "g3", "g4"], await OrderedIdsAsync("Goal", "_sort=attainment-level"));
        Assert.Equal(["g2", "g1", "g3", "g4"], await OrderedIdsAsync("Goal", "_sort=-attainment-level"));
        Assert.Equal(["ow1", "ow2", "oh1", "obp"], await OrderedIdsAsync("Observation", "_sort=value-quantity"));
        Assert.Equal(["g1", "g3", "g2", "g4"], await OrderedIdsAsync("Goal", "_sort=lifecycle-status,_id"));
        Assert.Equal(["g1", "g2", "g3", "g4"], await OrderedIdsAsync("Goal", "_sort=patient,_id"));
        Assert.Equal(["q2", "q1"], await OrderedIdsAsync("Questionnaire", "_sort=url"));
    }

    [StoreFact]
    public async Task Sort_by_several_keys_and_by_id_and_last_updated()
    {
        Assert.Equal(["g3", "g1", "g2", "g4"], await OrderedIdsAsync("Goal", "_sort=lifecycle-status,-_id"));
        Assert.Equal(["g4", "g2", "g1", "g3"], await OrderedIdsAsync("Goal", "_sort=-lifecycle-status,_id"));
        Assert.Equal(["g4", "g3", "g2", "g1"], await OrderedIdsAsync("Goal", "_sort=-_id"));
        Clock.Advance(TimeSpan.FromMinutes(1));
        await UpdateAsync(TestData.Goal("g2", "p1", Goal.GoalLifecycleStatus.Completed, "Join a choir"));
        Assert.Equal("g2", (await OrderedIdsAsync("Goal", "_sort=-_lastUpdated"))[0]);
        Assert.Equal("g2", (await OrderedIdsAsync("Goal", "_sort=_lastUpdated"))[^1]);
    }

    [StoreFact]
    public async Task Pages_follow_the_sort_and_link_both_ways()
    {
        var first = await SearchAsync("Goal", "_sort=start-date&_count=2");
        Assert.Equal(["g2", "g1"], first.Matches.Select(m => m.Id));
        Assert.Null(first.PreviousPage);
        Assert.NotNull(first.NextPage);

        var second = await Store.SearchAsync(new SearchRequest { ResourceType = "Goal", Parameters = Query("_sort=start-date&_count=2"), PageToken = first.NextPage, Handling = SearchHandling.Strict });
        Assert.Equal(["g3", "g4"], second.Matches.Select(m => m.Id));
        Assert.Null(second.NextPage);
        Assert.NotNull(second.PreviousPage);

        // A link with only the token works too (the parameters travel in it).
        var back = await Store.SearchAsync(new SearchRequest { ResourceType = "Goal", PageToken = second.PreviousPage });
        Assert.Equal(["g2", "g1"], back.Matches.Select(m => m.Id));
        Assert.Null(back.PreviousPage);
        Assert.Equal(first.NextPage is null, back.NextPage is null);

        // As does _page among the parameters.
        var viaParameter = await Store.SearchAsync(new SearchRequest { ResourceType = "Goal", Parameters = [.. Query("_sort=start-date&_count=2"), new("_page", first.NextPage!)] });
        Assert.Equal(["g3", "g4"], viaParameter.Matches.Select(m => m.Id));
    }

    [StoreFact]
    public async Task Paging_neither_skips_nor_repeats_while_others_write()
    {
        await using (var session = await Store.BeginAsync())
        {
            for (var i = 0; i < 30; i++)
            {
                await session.CreateAsync(new Basic { Id = $"b{i:00}", Code = new CodeableConcept("urn:test", "page"), Created = $"2026-01-{i % 28 + 1:00}" });
            }

            await session.CommitAsync();
        }

        foreach (var sort in new[] { "", "&_sort=created", "&_sort=-created,_id" })
        {
            var seen = new List<string>();
            var request = new SearchRequest { ResourceType = "Basic", Parameters = Query("code=urn:test|page&_count=7" + sort) };
            var extra = 0;
            while (true)
            {
                var page = await Store.SearchAsync(request);
                seen.AddRange(page.Matches.Select(m => m.Id).Where(id => id.StartsWith('b')));
                // Others insert (sorting anywhere), update and delete between page requests.
                await using (var session = await Store.BeginAsync())
                {
                    await session.CreateAsync(new Basic { Id = $"new{extra++}-{sort.Length}", Code = new CodeableConcept("urn:test", "page"), Created = "2026-01-15" });
                    await session.CommitAsync();
                }

                if (page.NextPage is null)
                {
                    break;
                }

                request = request with { PageToken = page.NextPage };
            }

            Assert.Equal(30, seen.Count);
            Assert.Equal(30, seen.Distinct().Count());
        }
    }

    [StoreFact]
    public async Task Page_tokens_are_refused_when_altered_or_used_for_another_search()
    {
        var first = await SearchAsync("Goal", "_count=1");
        var token = first.NextPage!;
        var altered = token[..3] + (token[3] == 'x' ? 'y' : 'x') + token[4..];

        var error = await Assert.ThrowsAsync<SearchException>(() => Store.SearchAsync(new SearchRequest { ResourceType = "Goal", PageToken = altered }));
        Assert.Equal("_page", error.Parameter);
        await Assert.ThrowsAsync<SearchException>(() => Store.SearchAsync(new SearchRequest { ResourceType = "Goal", Parameters = Query("_count=2"), PageToken = token }));
        await Assert.ThrowsAsync<SearchException>(() => Store.SearchAsync(new SearchRequest { ResourceType = "Patient", Parameters = Query("_count=1"), PageToken = token }));
        await Assert.ThrowsAsync<SearchException>(() => Store.SearchAsync(new SearchRequest
        {
            ResourceType = "Goal", Parameters = Query("_count=1"), PageToken = token, Compartment = new CompartmentScope("Patient", "p2"),
        }));
    }

    [StoreFact]
    public async Task Total_is_counted_when_asked_or_when_everything_fits_on_the_page()
    {
        Assert.Equal(4, (await SearchAsync("Goal", "")).Total);
        Assert.Null((await SearchAsync("Goal", "_count=2")).Total);
        Assert.Equal(4, (await SearchAsync("Goal", "_count=2&_total=accurate")).Total);
        Assert.Equal(4, (await SearchAsync("Goal", "_count=2&_total=estimate")).Total);
        Assert.Null((await SearchAsync("Goal", "_total=none")).Total);
        Assert.Equal(2, (await SearchAsync("Goal", "lifecycle-status=active&_count=1&_total=accurate")).Total);
    }

    [StoreFact]
    public async Task Summary_count_and_count_zero_return_only_the_total()
    {
        var summary = await SearchAsync("Goal", "patient=p1&_summary=count");
        Assert.Empty(summary.Matches);
        Assert.Equal(2, summary.Total);
        var zero = await SearchAsync("Goal", "_count=0");
        Assert.Empty(zero.Matches);
        Assert.Equal(4, zero.Total);
    }

    [StoreFact]
    public async Task Count_is_capped_by_the_maximum_page_size()
    {
        await using var small = await Provider.CreateAsync(configure: o => { o.MaxPageSize = 2; o.DefaultPageSize = 1; });
        await using (var session = await small.Store.BeginAsync())
        {
            for (var i = 0; i < 3; i++)
            {
                await session.CreateAsync(TestData.Patient($"p{i}", "X", "Y"));
            }

            await session.CommitAsync();
        }

        Assert.Single((await small.Store.SearchAsync(new SearchRequest { ResourceType = "Patient" })).Matches);
        var capped = await small.Store.SearchAsync(new SearchRequest { ResourceType = "Patient", Parameters = Query("_count=500") });
        Assert.Equal(2, capped.Matches.Count);
        Assert.Contains(new KeyValuePair<string, string>("_count", "2"), capped.Applied);
    }

    [StoreFact]
    public async Task Applied_lists_the_parameters_used_including_summary_and_elements()
    {
        var result = await SearchAsync("Goal", "patient=p1&_sort=-start-date&_count=5&_summary=true&_elements=id,subject&_include=Goal:patient&_format=json");
        Assert.Equal(
            [new("patient", "p1"), new("_sort", "-start-date"), new("_count", "5"), new("_summary", "true"), new("_elements", "id,subject"), new("_include", "Goal:patient")],
            result.Applied);
        Assert.Equal(2, result.Matches.Count); // _summary/_elements are the REST layer's to apply
    }
}

public sealed class SqliteSearchPagingTests() : SearchPagingTests(new SqliteStoreProvider());

[Collection(PostgresCollection.Name)]
public sealed class PostgresSearchPagingTests(PostgresServerFixture server) : SearchPagingTests(new PostgresStoreProvider(server)), IPostgresTests;
