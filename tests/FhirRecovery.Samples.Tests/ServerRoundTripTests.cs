using System.Net;
using System.Text.Json;
using FhirRecovery.Cli.Verbs;
using FhirRecovery.Storage;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Samples.Tests;

/// <summary>The FhirRecovery server (src/FhirRecovery.Server), in-process on a SQLite file of its own.</summary>
public sealed class InProcessServer : IAsyncDisposable
{
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"fhirrecovery-samples-tests-{Guid.NewGuid():N}.db");
    private readonly WebApplicationFactory<Program> _factory;

    private InProcessServer(Dictionary<string, string?> settings)
    {
        settings["Storage:Provider"] = StorageOptions.SqliteProvider;
        settings["Storage:ConnectionString"] = $"Data Source={_database}";
        settings["Logging:LogLevel:Default"] = "Warning";
        settings["Logging:Console:FormatterName"] = "simple";
        // The load verb and sample checks are not about security: anonymous access, no audit trail to slow them.
        settings["Auth:Mode"] = "None";
        settings["Audit:Enabled"] = "false";
        settings["Provenance:Enabled"] = "false";
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            foreach (var (key, value) in settings)
            {
                host.UseSetting(key, value);
            }

            // The engine the CLI builds, shared: indexing the definitions once per test process.
            host.ConfigureTestServices(services => services.AddSingleton(SharedEngine.Engine));
        });
        Client = _factory.CreateClient();
        Client.BaseAddress = new Uri("http://localhost/fhir/");
    }

    public const string BaseUrl = "http://localhost/fhir";

    public HttpClient Client { get; }

    public HttpMessageHandler CreateHandler() => _factory.Server.CreateHandler();

    public static async Task<InProcessServer> StartAsync(Dictionary<string, string?> settings)
    {
        var server = new InProcessServer(settings);
        var ready = await server.Client.GetAsync("/readyz");
        Assert.True(ready.IsSuccessStatusCode, $"the server is not ready: {await ready.Content.ReadAsStringAsync()}");
        return server;
    }

    public async Task<JsonElement> GetAsync(string relative)
    {
        var response = await Client.GetAsync(relative);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {relative}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    public async Task<int> CountAsync(string query) => (await GetAsync($"{query}{(query.Contains('?') ? '&' : '?')}_summary=count")).GetProperty("total").GetInt32();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
                // Still open for a moment: the temp folder is cleaned by the OS.
            }
        }
    }
}

/// <summary>load and the shipped data set against the real server (validation on write as configured by default).</summary>
public class ServerRoundTripTests
{
    [Fact]
    public async Task Load_uploads_a_generated_set_with_its_history_and_re_running_changes_nothing()
    {
        using var temp = new TempDirectory();
        var request = new SampleRequest { Patients = 10, Seed = 314 };
        SampleWriter.Write(request, temp.Path, SampleFormat.Bundle);
        var patients = SampleGenerator.Patients(request).ToList();
        await using var server = await InProcessServer.StartAsync(new() { ["Samples:LoadWhenEmpty"] = "false" });

        var first = RunLoad(server, temp.Path);
        var second = RunLoad(server, temp.Path);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        // Shared services and cohort Groups have one version each.
        var once = SampleGenerator.Shared().Resources.Count + SampleGenerator.Batches(request).Last().Resources.Count;
        var versions = patients.Sum(p => p.Versions.Count()) + once;
        var resources = patients.Sum(p => p.Latest().Count) + once;
        Assert.Contains($"Loaded {versions:N0} resources ({resources:N0} created, {versions - resources:N0} updated)", first.Out, StringComparison.Ordinal);
        Assert.Contains($"({0} created, {versions:N0} updated)", second.Out, StringComparison.Ordinal);

        // Every Task state of the set, searchable on the server.
        var tasks = patients.SelectMany(p => p.Latest()).OfType<FhirTask>().ToList();
        foreach (var status in RequiredTaskStates.Codes)
        {
            var expected = tasks.Count(t => Hl7.Fhir.Utility.EnumUtility.GetLiteral(t.Status) == status);
            Assert.Equal(expected, await server.CountAsync($"Task?status={status}&_id={string.Join(',', tasks.Select(t => t.Id))}"));
        }

        // The goal's version history: one version per generated version, then one more identical version per re-run.
        var goal = patients[0].Versions.OfType<Hl7.Fhir.Model.Goal>().GroupBy(g => g.Id).First().ToList();
        var history = await server.GetAsync($"Goal/{goal[0].Id}/_history");
        var statuses = history.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource").GetProperty("lifecycleStatus").GetString()).Reverse().ToList();
        Assert.Equal(goal.Count * 2, statuses.Count);
        Assert.Equal(goal.Select(g => Hl7.Fhir.Utility.EnumUtility.GetLiteral(g.LifecycleStatus)), statuses.Take(goal.Count));
    }

    [Fact]
    public async Task Load_builds_history_from_ndjson_too()
    {
        using var temp = new TempDirectory();
        var request = new SampleRequest { Patients = 3, Seed = 315 };
        SampleWriter.Write(request, temp.Path, SampleFormat.Ndjson);
        await using var server = await InProcessServer.StartAsync(new() { ["Samples:LoadWhenEmpty"] = "false" });

        var result = RunLoad(server, temp.Path, "--batch-size", "500");

        Assert.True(result.ExitCode == 0, result.ToString());
        var task = SampleGenerator.Patients(request).SelectMany(p => p.Versions).OfType<FhirTask>().GroupBy(t => t.Id).MaxBy(g => g.Count())!.ToList();
        var history = await server.GetAsync($"Task/{task[0].Id}/_history");
        Assert.Equal(task.Count, history.GetProperty("entry").GetArrayLength());
    }

    [Fact]
    public async Task Load_with_live_is_held_to_the_workflow_rules()
    {
        // NDJSON by type: the referral's final 'revoked' state comes before its Tasks, which live writes may not add.
        using var temp = new TempDirectory();
        SampleWriter.Write(new SampleRequest { Patients = 3, Seed = 315 }, temp.Path, SampleFormat.Ndjson);
        await using var server = await InProcessServer.StartAsync(new() { ["Samples:LoadWhenEmpty"] = "false" });

        var result = RunLoad(server, temp.Path, "--batch-size", "500", "--live");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("so its tasks may only end", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_loads_the_shipped_set_on_start()
    {
        var shipped = SampleFiles.Read(TestPaths.SamplesData);
        await using var server = await InProcessServer.StartAsync(new()
        {
            ["Samples:LoadWhenEmpty"] = "true",
            ["Samples:Path"] = TestPaths.SamplesData,
        });

        var latest = shipped.Latest;
        foreach (var type in new[] { "Patient", "Goal", "CarePlan", "ServiceRequest", "Task", "QuestionnaireResponse", "Consent", "Group" })
        {
            Assert.Equal(latest.Count(r => r.TypeName == type), await server.CountAsync(type));
        }

        Assert.Equal(latest.OfType<FhirTask>().Count(t => t.Status == FhirTask.TaskStatus.OnHold), await server.CountAsync("Task?status=on-hold"));
        var goal = shipped.Versions.OfType<Hl7.Fhir.Model.Goal>().GroupBy(g => g.Id).MaxBy(g => g.Count())!;
        var history = await server.GetAsync($"Goal/{goal.Key}/_history");
        Assert.Equal(goal.Count(), history.GetProperty("entry").GetArrayLength());
    }

    private static CliResult RunLoad(InProcessServer server, string directory, params string[] extra)
    {
        LoadVerb.HttpHandlerOverride = server.CreateHandler;
        try
        {
            return CliRunner.Run(directory, ["load", ".", "--server", InProcessServer.BaseUrl, .. extra]);
        }
        finally
        {
            LoadVerb.HttpHandlerOverride = null;
        }
    }
}
