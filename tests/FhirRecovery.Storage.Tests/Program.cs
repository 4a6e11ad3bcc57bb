using FhirRecovery.Storage.Tests.Infrastructure;
using Hl7.Fhir.Model;

namespace FhirRecovery.Storage.Tests;

/// <summary>
/// Not used by the test runner: <c>dotnet FhirRecovery.Storage.Tests.dll crash-load &lt;provider&gt; &lt;connection string&gt;</c>
/// is the writer process the crash-recovery tests kill in the middle of its work.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is not ["crash-load", var provider, var connectionString])
        {
            Console.Error.WriteLine("usage: crash-load <Sqlite|PostgreSQL> <connection string>");
            return 2;
        }

        var store = StoreFactory.Create(new StorageOptions { Provider = provider, ConnectionString = connectionString }, null);
        await store.InitializeAsync();
        await CrashLoad.RunAsync(store, Console.Out);
        return 0;
    }
}

/// <summary>
/// Batches of 10 patients with a goal each, tagged with the batch number, plus an update of a counter resource whose
/// version is the number of committed batches: after a crash every batch is either all there or not there at all.
/// </summary>
public static class CrashLoad
{
    public const string TagSystem = "urn:fhirrecovery:test:batch";
    public const int BatchSize = 10;

    public static async System.Threading.Tasks.Task RunAsync(IResourceStore store, TextWriter progress)
    {
        for (var batch = 0; ; batch++)
        {
            await using var session = await store.BeginAsync();
            for (var i = 0; i < BatchSize; i++)
            {
                var patient = TestData.Patient($"b{batch}-{i}", "Crash", $"Batch{batch}");
                patient.Meta = new Meta { Tag = [new Coding(TagSystem, batch.ToString(System.Globalization.CultureInfo.InvariantCulture))] };
                await session.CreateAsync(patient);
                await session.CreateAsync(TestData.Goal($"g{batch}-{i}", $"b{batch}-{i}"));
            }

            await session.UpdateAsync(new Basic { Id = "counter", Code = new CodeableConcept("urn:test", "counter") }, batch == 0 ? null : batch);
            await session.CommitAsync();
            await progress.WriteLineAsync($"committed {batch}");
            await progress.FlushAsync();
        }
    }
}
