using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>history, Firely's FhirClient as a third-party client, and concurrency.</summary>
public abstract class HistoryAndClientTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    [StoreFact]
    public async Task Instance_history_lists_every_version_newest_first()
    {
        var patient = await (await Client.PostAsync("Patient", Patient(family: "V1"))).ReadAsync<Patient>();
        patient.Name[0].Family = "V2";
        (await Client.PutAsync($"Patient/{patient.Id}", patient)).EnsureSuccessStatusCode();

        var history = await (await Client.GetAsync($"Patient/{patient.Id}/_history")).ReadAsync<Bundle>();

        Assert.Equal(Bundle.BundleType.History, history.Type);
        Assert.Equal(["2", "1"], history.Entry.Select(e => e.Resource.Meta.VersionId));
        Assert.Equal(Bundle.HTTPVerb.PUT, history.Entry[0].Request.Method);
        Assert.Equal(Bundle.HTTPVerb.POST, history.Entry[1].Request.Method);
        Assert.Equal("W/\"2\"", history.Entry[0].Response.Etag);
    }

    [StoreFact]
    public async Task Type_history_with_since_lists_only_later_changes()
    {
        var before = await (await Client.PostAsync("Observation", Observation("Patient/x"))).ReadAsync<Observation>();
        await Task.Delay(1100);
        var since = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
        await Task.Delay(100);
        var after = await (await Client.PostAsync("Observation", Observation("Patient/x"))).ReadAsync<Observation>();

        var history = await (await Client.GetAsync($"Observation/_history?_since={since}")).ReadAsync<Bundle>();

        Assert.Contains(history.Entry, e => e.Resource?.Id == after.Id);
        Assert.DoesNotContain(history.Entry, e => e.Resource?.Id == before.Id);
    }

    [StoreFact]
    public async Task History_at_a_moment_answers_the_versions_current_then()
    {
        var patient = await (await Client.PostAsync("Patient", Patient(family: "Then"))).ReadAsync<Patient>();
        await Task.Delay(1100);
        var at = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
        await Task.Delay(100);
        patient.Name[0].Family = "Now";
        (await Client.PutAsync($"Patient/{patient.Id}", patient)).EnsureSuccessStatusCode();

        var history = await (await Client.GetAsync($"Patient/{patient.Id}/_history?_at={at}")).ReadAsync<Bundle>();

        Assert.Equal("Then", ((Patient)Assert.Single(history.Entry).Resource).Name[0].Family);
    }

    [StoreFact]
    public async Task System_history_with_count_pages_with_a_next_link()
    {
        await Client.PostAsync("Patient", Patient());
        await Client.PostAsync("Patient", Patient());
        var history = await (await Client.GetAsync("_history?_count=1")).ReadAsync<Bundle>();
        Assert.Single(history.Entry);
        var next = history.Link.Single(l => l.Relation == "next");
        var second = await (await Client.GetAsync(next.Url)).ReadAsync<Bundle>();
        Assert.Single(second.Entry);
        Assert.NotEqual(history.Entry[0].Response.Etag + history.Entry[0].FullUrl, second.Entry[0].Response.Etag + second.Entry[0].FullUrl);
    }

    [StoreFact]
    public async Task History_with_a_bad_since_answers_400_naming_it()
    {
        var response = await Client.GetAsync("Patient/_history?_since=last-tuesday");
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "_since");
    }

    [StoreFact]
    public async Task History_of_an_unknown_resource_answers_404()
    {
        var response = await Client.GetAsync($"Patient/{Unique("none")}/_history");
        await response.AssertOutcomeAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async Task FhirClient_drives_create_read_update_delete()
    {
        var client = fixture.CreateFhirClient();

        var created = await client.CreateAsync(Patient(family: "Firely"));
        var read = await client.ReadAsync<Patient>($"Patient/{created!.Id}");
        read!.Name[0].Family = "Firely-updated";
        var updated = await client.UpdateAsync(read, versionAware: true);
        await client.DeleteAsync(updated!);
        var gone = await Assert.ThrowsAsync<FhirOperationException>(() => client.ReadAsync<Patient>($"Patient/{created.Id}"));

        Assert.Equal("1", created.Meta.VersionId);
        Assert.Equal("2", updated.Meta.VersionId);
        Assert.Equal("Firely-updated", updated.Name[0].Family);
        Assert.Equal(HttpStatusCode.Gone, gone.Status);
    }

    [StoreFact]
    public async Task FhirClient_searches_and_pages_through_the_results()
    {
        var client = fixture.CreateFhirClient();
        var family = Unique("Pages");
        for (var i = 0; i < 5; i++)
        {
            await client.CreateAsync(Patient(family: family));
        }

        var page = await client.SearchAsync<Patient>([$"family={family}"], pageSize: 2);
        var ids = new List<string>();
        while (page is not null)
        {
            ids.AddRange(page.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Select(e => e.Resource.Id));
            page = await client.ContinueAsync(page);
        }

        Assert.Equal(5, ids.Distinct().Count());
    }

    [StoreFact]
    public async Task FhirClient_posts_a_transaction()
    {
        var client = fixture.CreateFhirClient();
        var family = Unique("Tx");
        var transaction = new TransactionBuilder("http://localhost/fhir", Bundle.BundleType.Transaction)
            .Create(Patient(family: family))
            .Create(Patient(family: family))
            .ToBundle();

        var response = await client.TransactionAsync(transaction);

        Assert.Equal(Bundle.BundleType.TransactionResponse, response!.Type);
        Assert.All(response.Entry, e => Assert.StartsWith("201", e.Response.Status));
        var found = await client.SearchAsync<Patient>([$"family={family}"]);
        Assert.Equal(2, found!.Entry.Count(e => e.Search?.Mode == Bundle.SearchEntryMode.Match));
    }

    [StoreFact]
    public async Task Of_100_parallel_If_Match_updates_exactly_one_succeeds_and_99_answer_412()
    {
        var patient = await (await Client.PostAsync("Patient", Patient(family: "Contended"))).ReadAsync<Patient>();
        var body = FhirHttp.ToJson(patient);

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, $"Patient/{patient.Id}") { Content = FhirHttp.Body(body) };
            request.Headers.TryAddWithoutValidation("If-Match", "W/\"1\"");
            return (await Client.SendAsync(request)).StatusCode;
        }));

        Assert.Equal(1, responses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(99, responses.Count(s => s == HttpStatusCode.PreconditionFailed));
        var current = await (await Client.GetAsync($"Patient/{patient.Id}")).ReadAsync<Patient>();
        Assert.Equal("2", current.Meta.VersionId);
    }
}

public sealed class SqliteHistoryAndClientTests(SqliteServerFixture fixture) : HistoryAndClientTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlHistoryAndClientTests(PostgreSqlServerFixture fixture) : HistoryAndClientTests(fixture), IClassFixture<PostgreSqlServerFixture>;
