using FhirRecovery.Storage.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Tests;

/// <summary>Strict and lenient handling of unknown parameters, and malformed input named in the error.</summary>
public abstract class SearchHandlingTests(IStoreProvider provider) : SearchTestBase(provider)
{
    private async Task<SearchException> RefusedAsync(string? type, string query, SearchHandling handling = SearchHandling.Lenient) =>
        await Assert.ThrowsAsync<SearchException>(() => SearchAsync(type, query, handling));

    [StoreFact]
    public async Task Strict_handling_refuses_unknown_parameters_naming_them()
    {
        var error = await RefusedAsync("Goal", "lifecycle-status=active&colour=blue", SearchHandling.Strict);
        Assert.Equal("colour", error.Parameter);
        Assert.Contains("colour", error.Message);

        Assert.Equal("patient.hair", (await RefusedAsync("Goal", "patient.hair=red", SearchHandling.Strict)).Parameter);
        Assert.Equal("_has:Observation:patient:hue", (await RefusedAsync("Patient", "_has:Observation:patient:hue=x", SearchHandling.Strict)).Parameter);
        Assert.Equal("_sort", (await RefusedAsync("Goal", "_sort=colour", SearchHandling.Strict)).Parameter);
    }

    [StoreFact]
    public async Task Lenient_handling_ignores_unknown_parameters_and_reports_them()
    {
        var result = await SearchAsync("Goal", "lifecycle-status=active&colour=blue&_sort=colour", SearchHandling.Lenient);

        Assert.Equal(["g1", "g3"], Ids(result.Matches));
        Assert.Equal(["colour", "_sort"], result.Issues.Select(i => i.Parameter));
        Assert.DoesNotContain(result.Applied, a => a.Key == "colour");
        Assert.Contains(new KeyValuePair<string, string>("lifecycle-status", "active"), result.Applied);
    }

    [StoreFact]
    public async Task Unsupported_parameters_follow_the_handling()
    {
        Assert.Equal("_text", (await RefusedAsync("Goal", "_text=work", SearchHandling.Strict)).Parameter);
        Assert.Equal("_content", (await RefusedAsync("Goal", "_content=work", SearchHandling.Strict)).Parameter);
        Assert.Equal("_contained", (await RefusedAsync("Goal", "_contained=true", SearchHandling.Strict)).Parameter);
        Assert.Equal("near", (await RefusedAsync("Location", "near=1|2|3|km", SearchHandling.Strict)).Parameter);

        var lenient = await SearchAsync("Goal", "_text=work&_filter=x", SearchHandling.Lenient);
        Assert.Equal(4, lenient.Matches.Count);
        Assert.Contains(lenient.Issues, i => i.Parameter == "_text" && i.Message.Contains("not supported"));
        Assert.Contains(lenient.Issues, i => i.Parameter == "_filter");
    }

    [StoreFact]
    public async Task Unknown_and_misplaced_modifiers_are_refused_even_when_lenient()
    {
        Assert.Contains("':fuzzy'", (await RefusedAsync("Goal", "lifecycle-status:fuzzy=active")).Message);
        Assert.Equal("family:not", (await RefusedAsync("Patient", "family:not=berg")).Parameter);
        Assert.Equal("birthdate:exact", (await RefusedAsync("Patient", "birthdate:exact=1980")).Parameter);
        Assert.Equal("patient:Practitioner", (await RefusedAsync("Goal", "patient:Practitioner=pr1")).Parameter);
        Assert.Equal("_include:deep", (await RefusedAsync("Goal", "_include:deep=Goal:patient")).Parameter);
    }

    [StoreFact]
    public async Task Malformed_values_are_refused_with_the_parameter_and_the_reason()
    {
        var badDate = await RefusedAsync("Goal", "start-date=2026-13-01");
        Assert.Equal("start-date", badDate.Parameter);
        Assert.Contains("month", badDate.Message);

        var badPrefix = await RefusedAsync("Goal", "start-date=xx2026");
        Assert.Contains("prefix 'xx'", badPrefix.Message);

        Assert.Contains("not a number", (await RefusedAsync("Goal", "attainment-level=three")).Message);
        Assert.Contains("prefix", (await RefusedAsync("Goal", "attainment-level=zz3")).Message);
        Assert.Equal("value-quantity", (await RefusedAsync("Observation", "value-quantity=5|kg")).Parameter);
        Assert.Equal("_count", (await RefusedAsync("Goal", "_count=-1")).Parameter);
        Assert.Equal("_count", (await RefusedAsync("Goal", "_count=lots")).Parameter);
        Assert.Equal("_total", (await RefusedAsync("Goal", "_total=exact")).Parameter);
        Assert.Equal("_summary", (await RefusedAsync("Goal", "_summary=short")).Parameter);
        Assert.Equal("_type", (await RefusedAsync(null, "_type=Goal,Nonsense")).Parameter);
        Assert.Equal("birthdate", (await RefusedAsync("Patient", "birthdate=1980-02-30")).Parameter);
        Assert.Equal("_lastUpdated", (await RefusedAsync("Goal", "_lastUpdated=yesterday")).Parameter);
        Assert.Equal("lifecycle-status", (await RefusedAsync("Goal", "lifecycle-status=a|b|c")).Parameter);
        Assert.Equal("patient", (await RefusedAsync("Goal", "patient=Nonsense/1")).Parameter);
        Assert.Equal("patient", (await RefusedAsync("Goal", "patient=Organization/o1")).Parameter);
        Assert.Equal("birthdate:missing", (await RefusedAsync("Patient", "birthdate:missing=maybe")).Parameter);
        Assert.Equal("code-value-quantity", (await RefusedAsync("Observation", "code-value-quantity=29463-7")).Parameter);
        Assert.Equal("identifier:of-type", (await RefusedAsync("Patient", "identifier:of-type=NI|123")).Parameter);
        Assert.Equal("_sort", (await RefusedAsync("Observation", "_sort=code-value-quantity")).Parameter);
        Assert.Equal("_include", (await RefusedAsync("Goal", "_include=Goal")).Parameter);
        Assert.Equal("_include", (await RefusedAsync("Goal", "_include=Goal:lifecycle-status")).Parameter);
        Assert.Equal("_revinclude", (await RefusedAsync("Goal", "_revinclude=Nope:patient")).Parameter);
        Assert.Equal("_has:Observation:patient", (await RefusedAsync("Patient", "_has:Observation:patient=x")).Parameter);
        Assert.Equal("family.name", (await RefusedAsync("Patient", "family.name=x")).Parameter);
        Assert.Equal("patient", (await RefusedAsync("Goal", "patient=")).Parameter);
    }

    [StoreFact]
    public async Task Value_sets_and_hierarchies_that_cannot_be_expanded_are_refused()
    {
        Assert.Contains("cannot be expanded", (await RefusedAsync("Goal", "category:in=https://example.org/ValueSet/unknown")).Message);
        Assert.Contains("system|code", (await RefusedAsync("Goal", "category:below=work")).Message);
        Assert.Contains("not known", (await RefusedAsync("Goal", "category:below=urn:unknown|x")).Message);
    }

    [StoreFact]
    public async Task Unknown_resource_types_are_refused()
    {
        var error = await RefusedAsync("Nonsense", "");
        Assert.Equal("type", error.Parameter);
    }
}

public sealed class SqliteSearchHandlingTests() : SearchHandlingTests(new SqliteStoreProvider());

[Collection(PostgresCollection.Name)]
public sealed class PostgresSearchHandlingTests(PostgresServerFixture server) : SearchHandlingTests(new PostgresStoreProvider(server)), IPostgresTests;
