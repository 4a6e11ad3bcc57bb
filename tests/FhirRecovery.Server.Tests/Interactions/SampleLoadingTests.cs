using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>Start-up on an empty store loads the sample folder: transaction Bundles, single resources and NDJSON.</summary>
public abstract class SampleLoadingTests(FhirServerFixture fixture)
{
    [StoreFact]
    public async Task An_empty_store_is_loaded_with_the_sample_bundles_resources_and_ndjson_and_a_bad_file_is_skipped()
    {
        var client = fixture.Client;
        await (await client.GetAsync("Patient/sample-single")).AssertStatusAsync(HttpStatusCode.OK);
        await (await client.GetAsync("Patient/sample-ndjson-1")).AssertStatusAsync(HttpStatusCode.OK);
        await (await client.GetAsync("Patient/sample-ndjson-2")).AssertStatusAsync(HttpStatusCode.OK);
        var history = await (await client.GetAsync("Patient/sample-ndjson-1/_history")).ReadAsync<Bundle>();
        Assert.Equal(2, history.Entry.Count);
        var current = await (await client.GetAsync("Patient/sample-ndjson-1")).ReadAsync<Patient>();
        Assert.Equal("Second", current.Name[0].Family);
        var goals = await (await client.GetAsync("Goal?subject=Patient/sample-single")).ReadAsync<Bundle>();
        Assert.Single(goals.Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Match);
        var ready = await client.GetAsync("/readyz");
        await ready.AssertStatusAsync(HttpStatusCode.OK);
    }
}

/// <summary>Writes a small sample folder and points Samples:Path at it.</summary>
public static class SampleFolder
{
    public static string Create()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"fhirrecovery-samples-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(folder, "nested"));
        var patient = Patient(family: "Sample");
        patient.Id = "sample-single";
        File.WriteAllText(Path.Combine(folder, "01-patient.json"), FhirHttp.ToJson(patient));
        var goalUrl = $"urn:uuid:{Guid.NewGuid()}";
        var transaction = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent
                {
                    FullUrl = goalUrl,
                    Resource = Goal("Patient/sample-single"),
                    Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Goal" },
                },
            ],
        };
        File.WriteAllText(Path.Combine(folder, "02-transaction.json"), FhirHttp.ToJson(transaction));
        // sample-ndjson-1 twice: an NDJSON export may hold successive versions of one resource, in order.
        var lines = new[] { ("sample-ndjson-1", "First"), ("sample-ndjson-2", "Other"), ("sample-ndjson-1", "Second") }.Select(row =>
        {
            var p = Patient(family: row.Item2);
            p.Id = row.Item1;
            return FhirHttp.ToJson(p);
        });
        File.WriteAllLines(Path.Combine(folder, "nested", "03-patients.ndjson"), lines);
        File.WriteAllText(Path.Combine(folder, "04-broken.json"), "{ this is not json");
        return folder;
    }
}

public sealed class SqliteSampleFixture : SqliteServerFixture
{
    private readonly string _folder = SampleFolder.Create();

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Samples:LoadWhenEmpty"] = "true";
        settings["Samples:Path"] = _folder;
        return settings;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}

public sealed class PostgreSqlSampleFixture : PostgreSqlServerFixture
{
    private readonly string _folder = SampleFolder.Create();

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Samples:LoadWhenEmpty"] = "true";
        settings["Samples:Path"] = _folder;
        return settings;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}

public sealed class SqliteSampleLoadingTests(SqliteSampleFixture fixture) : SampleLoadingTests(fixture), IClassFixture<SqliteSampleFixture>;

public sealed class PostgreSqlSampleLoadingTests(PostgreSqlSampleFixture fixture) : SampleLoadingTests(fixture), IClassFixture<PostgreSqlSampleFixture>;
