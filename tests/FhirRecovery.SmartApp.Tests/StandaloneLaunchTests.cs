using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace FhirRecovery.SmartApp.Tests;

/// <summary>
/// The sample SMART app (samples/smart-app) against the embedded authorization server, end to end in real headless
/// Chromium: standalone launch → login page → patient picker and consent → redirect with the code → token (PKCE) →
/// the page shows the patient's recovery goals grouped by recovery domain with their progress. The FHIR server runs on
/// Kestrel with sample patients 1 and 2 loaded; the app is served from another origin, as in real life.
/// </summary>
public sealed class StandaloneLaunchTests(ITestOutputHelper output) : IAsyncLifetime
{
    // Eero (sample patient 2) has goals in three recovery domains; Aaron (patient 1) is the other person on the server.
    private const string Patient = "s42-p0002";
    private const string OtherPatient = "s42-p0001";
    private const string Framework = "https://fhirrecovery.org/fhir/CodeSystem/recovery-framework";

    private static readonly string RepositoryRoot = FindRoot();
    private readonly string _work = Path.Combine(Path.GetTempPath(), $"fhirrecovery-e2e-{Guid.NewGuid():N}");
    private readonly int _fhirPort = FreePort();
    private readonly int _appPort = FreePort();
    private WebApplicationFactory<Program>? _fhir;
    private WebApplication? _app;

    private string FhirBase => $"http://localhost:{_fhirPort}/fhir";

    private string AppBase => $"http://localhost:{_appPort}";

    public async Task InitializeAsync()
    {
        var samples = Directory.CreateDirectory(Path.Combine(_work, "samples")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot, "samples", "data"))
                     .Where(f => Path.GetFileName(f) is var name && (name == "00-shared.json" || name.StartsWith("patient-0001-") || name.StartsWith("patient-0002-"))))
        {
            File.Copy(file, Path.Combine(samples, Path.GetFileName(file)));
        }

        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "Sqlite",
            ["Storage:ConnectionString"] = $"Data Source={Path.Combine(_work, "fhir.db")}",
            ["Samples:Path"] = samples,
            ["Samples:LoadWhenEmpty"] = "true",
            ["Auth:Mode"] = "Smart",
            // The sample app's registration, with this test's origin as a redirect URI.
            ["Auth:Embedded:Clients:0:RedirectUris:2"] = $"{AppBase}/index.html",
            ["Audit:JournalPath"] = Path.Combine(_work, "audit"),
            ["Logging:Console:FormatterName"] = "simple",
            ["Logging:LogLevel:Default"] = "Warning",
            ["urls"] = $"http://localhost:{_fhirPort}",
        };
        _fhir = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            foreach (var (key, value) in settings)
            {
                host.UseSetting(key, value);
            }
        });
        _fhir.UseKestrel();
        _fhir.StartServer();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow.AddMinutes(3);
        string last = "";
        while (true)
        {
            try
            {
                var ready = await http.GetAsync($"http://localhost:{_fhirPort}/readyz");
                if (ready.IsSuccessStatusCode)
                {
                    break;
                }

                last = $"{(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                last = ex.Message;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The FHIR server did not become ready (sample loading): {last}");
            }

            await Task.Delay(250);
        }

        // The app, served as static files from its own origin.
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls(AppBase);
        builder.Logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Warning);
        _app = builder.Build();
        _app.UseFileServer(new FileServerOptions { FileProvider = new PhysicalFileProvider(Path.Combine(RepositoryRoot, "samples", "smart-app")) });
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_fhir is not null)
        {
            await _fhir.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Standalone_launch_shows_the_patients_goals_grouped_by_recovery_domain_with_progress()
    {
        var screenshot = Path.Combine(_work, "smart-app.png");
        var result = await RunBrowserAsync("--app", AppBase, "--iss", FhirBase, "--user", "eero", "--password", "eero-demo",
            "--patient", Patient, "--screenshot", screenshot, "--app-dir", Path.Combine(RepositoryRoot, "samples", "smart-app"));
        Assert.True(result["ok"]!.GetValue<bool>(), result.ToJsonString());

        // The flow went through the embedded server's pages.
        var steps = result["steps"]!.AsArray();
        Assert.StartsWith($"http://localhost:{_fhirPort}/smart/login", steps[0]!["url"]!.GetValue<string>());
        Assert.Equal([Patient], steps[1]!["patients"]!.AsArray().Select(p => p!.GetValue<string>()));
        Assert.Contains("patient/Goal.rs", steps[1]!["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal($"{AppBase}/index.html", steps[2]!["url"]!.GetValue<string>());

        var shown = result["shown"]!;
        Assert.Equal("ready", shown["state"]!.GetValue<string>());
        Assert.Contains("Eero Patel", shown["patient"]!.GetValue<string>());

        // What the page shows is the patient's goals (current versions), each under its domain, with its latest GAS rating.
        var expected = ExpectedGoals(Patient);
        var domains = shown["domains"]!.AsArray();
        var shownGoals = domains.SelectMany(d => d!["goals"]!.AsArray().Select(g => (Domain: d["code"]!.GetValue<string>(), Goal: g!))).ToList();
        Assert.Equal(expected.Keys.Order(), shownGoals.Select(g => g.Goal["id"]!.GetValue<string>()).Order());
        foreach (var (domain, goal) in shownGoals)
        {
            var want = expected[goal["id"]!.GetValue<string>()];
            Assert.Equal(want.Domain, domain);
            Assert.Equal(want.Text, goal["text"]!.GetValue<string>());
            Assert.Equal(want.Gas, goal["gas"]?.GetValue<int?>());
            if (want.Gas is { } gas)
            {
                Assert.Equal(gas + 2, goal["progress"]!.GetValue<double>());
            }
        }

        Assert.True(domains.Count >= 2, "the sample patient's goals span several recovery domains");
        Assert.All(domains, d => Assert.False(string.IsNullOrEmpty(d!["title"]!.GetValue<string>())));
        var others = ExpectedGoals(OtherPatient).Keys;
        Assert.DoesNotContain(shownGoals, g => others.Contains(g.Goal["id"]!.GetValue<string>()));
        output.WriteLine($"{shownGoals.Count} goals in {domains.Count} domains; screenshot {screenshot}");
        if (Environment.GetEnvironmentVariable("FHIRRECOVERY_E2E_SCREENSHOT") is { Length: > 0 } keep)
        {
            File.Copy(screenshot, keep, overwrite: true);
        }
    }

    /// <summary>The current version of each of the patient's goals in the sample files (loaded in name order), with domain and latest GAS.</summary>
    private static Dictionary<string, (string Domain, string Text, int? Gas)> ExpectedGoals(string patient)
    {
        var domains = new Dictionary<string, string>
        {
            ["promoting-citizenship"] = "promoting-citizenship", ["seeing-beyond-service-user"] = "promoting-citizenship", ["service-user-rights"] = "promoting-citizenship",
            ["social-inclusion"] = "promoting-citizenship", ["meaningful-occupation"] = "promoting-citizenship",
            ["organisational-commitment"] = "organisational-commitment", ["recovery-vision"] = "organisational-commitment",
            ["workplace-support-structures"] = "organisational-commitment", ["quality-improvement"] = "organisational-commitment",
            ["care-pathway"] = "organisational-commitment", ["workforce-planning"] = "organisational-commitment",
            ["supporting-personally-defined-recovery"] = "supporting-personally-defined-recovery", ["individuality"] = "supporting-personally-defined-recovery",
            ["informed-choice"] = "supporting-personally-defined-recovery", ["peer-support"] = "supporting-personally-defined-recovery",
            ["strengths-focus"] = "supporting-personally-defined-recovery", ["holistic-approach"] = "supporting-personally-defined-recovery",
            ["working-relationship"] = "working-relationship", ["partnership"] = "working-relationship", ["inspiring-hope"] = "working-relationship",
        };
        var parser = new FhirJsonDeserializer(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));
        var goals = new Dictionary<string, Goal>();
        var number = patient[^4..];
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot, "samples", "data"), $"patient-{number}-*.json").Order(StringComparer.Ordinal))
        {
            var bundle = (Bundle)parser.DeserializeResource(File.ReadAllText(file));
            foreach (var goal in bundle.Entry.Select(e => e.Resource).OfType<Goal>())
            {
                goals[goal.Id] = goal;
            }
        }

        return goals.Values.Where(g => g.LifecycleStatus != Goal.GoalLifecycleStatus.EnteredInError).ToDictionary(g => g.Id, g =>
        {
            var domain = g.Category.SelectMany(c => c.Coding).Where(c => c.System == Framework).Select(c => domains.GetValueOrDefault(c.Code)).FirstOrDefault(d => d is not null) ?? "other";
            var ratings = g.Extension.Where(e => e.Url == "https://fhirrecovery.org/fhir/StructureDefinition/goal-attainment-level")
                .Select(e => (Level: (e.GetExtensionValue<Integer>("level"))?.Value, Date: e.GetExtensionValue<FhirDateTime>("date")?.Value ?? ""))
                .Where(r => r.Level is not null)
                .OrderBy(r => r.Date, StringComparer.Ordinal)
                .ToList();
            return (domain, g.Description.Text, ratings.Count == 0 ? null : ratings[^1].Level);
        });
    }

    private async Task<JsonNode> RunBrowserAsync(params string[] arguments)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "e2e", "standalone-launch.mjs");
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The browser run did not finish: {await stderr}");
        }

        var text = (await stdout).Trim();
        output.WriteLine(await stderr);
        var lastLine = text.Split('\n').LastOrDefault(l => l.StartsWith('{')) ?? throw new InvalidOperationException($"No result from the browser run: {text} {await stderr}");
        return JsonNode.Parse(lastLine)!;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "FhirRecovery.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (FhirRecovery.sln) was not found");
    }
}
