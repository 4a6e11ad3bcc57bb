using System.Net;
using FhirRecovery.Cli;
using FhirRecovery.Cli.Verbs;
using FhirRecovery.Mapping;
using FhirRecovery.Server.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Mapping;

/// <summary>Two in-process servers: the recovery server and a second instance acting as the EHR.</summary>
public sealed class SyncServers : IAsyncLifetime
{
    public SqliteServerFixture Recovery { get; } = new();

    public SqliteServerFixture Ehr { get; } = new();

    public async Task InitializeAsync()
    {
        await Recovery.InitializeAsync();
        await Ehr.InitializeAsync();

        // The EHR holds Northwind's export as its own data (ids as the EHR has them).
        var export = (Bundle)new FhirJsonDeserializer().DeserializeResource(ReadRepoFile("samples", "ehr", "northwind", "fhir", "everything-marisol-delgado.json"));
        var transaction = new Bundle { Type = Bundle.BundleType.Transaction };
        foreach (var resource in export.Entry.Select(e => e.Resource))
        {
            resource.Meta = null;
            transaction.Entry.Add(new Bundle.EntryComponent
            {
                Resource = resource,
                Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"{resource.TypeName}/{resource.Id}" },
            });
        }

        await (await Ehr.Client.PostAsync("", FhirHttp.Body(transaction))).AssertStatusAsync(HttpStatusCode.OK);
    }

    public async Task DisposeAsync()
    {
        await Recovery.DisposeAsync();
        await Ehr.DisposeAsync();
    }

    /// <summary>Routes ehr.test to the EHR and anything else to the recovery server; optionally fails the first EHR requests with 503.</summary>
    public HttpMessageHandler Handler(int failFirstEhrRequests = 0, TimeSpan? throttleFirst = null) => new Router(this, failFirstEhrRequests, throttleFirst);

    private sealed class Router(SyncServers servers, int failures, TimeSpan? throttleFirst = null) : HttpMessageHandler
    {
        private readonly HttpMessageInvoker _ehr = new(servers.Ehr.Factory.Server.CreateHandler());
        private readonly HttpMessageInvoker _recovery = new(servers.Recovery.Factory.Server.CreateHandler());
        private int _failures = failures;
        private int _throttled;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.Host == "ehr.test" && throttleFirst is { } wait && Interlocked.Exchange(ref _throttled, 1) == 0)
            {
                var throttled = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
                throttled.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(wait);
                return Task.FromResult(throttled);
            }

            if (request.RequestUri!.Host == "ehr.test")
            {
                return Interlocked.Decrement(ref _failures) >= 0
                    ? Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable))
                    : _ehr.SendAsync(request, cancellationToken);
            }

            return _recovery.SendAsync(request, cancellationToken);
        }
    }
}

public sealed class SyncTests(SyncServers servers) : IClassFixture<SyncServers>, IDisposable
{
    private const string EhrBase = "http://ehr.test/fhir";
    private const string RecoveryBase = "http://recovery.test/fhir";
    private readonly string _directory = Directory.CreateTempSubdirectory("fhirrecovery-sync-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private (int Exit, string Out, string Error) Run(HttpMessageHandler handler, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        SyncVerb.HttpHandlerOverride = () => handler;
        SyncVerb.FirstBackoff = TimeSpan.FromMilliseconds(10);
        try
        {
            var exit = CliApp.Run(["sync", .. args, "--state", Path.Combine(_directory, "state.json")], CliConsole.Redirected(output, error, _directory));
            return (exit, output.ToString(), error.ToString());
        }
        finally
        {
            SyncVerb.HttpHandlerOverride = null;
        }
    }

    [Fact]
    public async Task A_throttled_pull_waits_as_long_as_the_EHR_asks_in_Retry_After()
    {
        // Servers of its own: the shared ones start empty for the import-counting tests.
        var own = new SyncServers();
        await own.InitializeAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (exit, output, error) = Run(own.Handler(throttleFirst: TimeSpan.FromSeconds(2)), "--from", EhrBase, "--server", RecoveryBase, "--ehr", "northwind", "--patient", "448812");

        Assert.True(exit == ExitCodes.Ok, error + output);
        Assert.Contains("1 retries", output);
        // Our own first back-off is 10 ms here: only the EHR's Retry-After explains a wait of two seconds.
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2), $"the sync went on after {clock.Elapsed.TotalMilliseconds:N0} ms");
        await own.DisposeAsync();
    }

    [Fact]
    public async Task Pull_imports_the_patients_data_once_then_changes_nothing_and_push_writes_us_core_back()
    {
        var (exit, output, error) = Run(servers.Handler(failFirstEhrRequests: 2), "--from", EhrBase, "--server", RecoveryBase, "--ehr", "northwind", "--patient", "448812");
        Assert.True(exit == ExitCodes.Ok, error + output);
        Assert.Contains("Goal 3 created, 0 updated, 0 unchanged", output);
        Assert.Contains("ServiceRequest 1 created", output);
        Assert.Contains("2 retries", output);

        var goals = await (await servers.Recovery.Client.GetAsync("Goal?identifier=https://ehr.northwind.example/fhir/sid/goal|G-448812-1")).ReadAsync<Bundle>();
        var goal = Assert.IsType<Goal>(Assert.Single(goals.Entry).Resource);
        Assert.Contains(RecoveryCanonicals.RecoveryGoal, goal.Meta.Profile);
        Assert.Equal(EhrBase, goal.Meta.Source);

        (exit, output, error) = Run(servers.Handler(), "--from", EhrBase, "--server", RecoveryBase, "--ehr", "northwind", "--patient", "448812");
        Assert.True(exit == ExitCodes.Ok, error + output);
        Assert.Contains("Goal 0 created, 0 updated, 3 unchanged", output);
        Assert.Equal("1", (await (await servers.Recovery.Client.GetAsync($"Goal/{goal.Id}")).ReadAsync<Goal>()).Meta.VersionId);

        var patient = Assert.Single((await (await servers.Recovery.Client.GetAsync("Patient?identifier=https://ehr.northwind.example/fhir/sid/mrn|NW-448812")).ReadAsync<Bundle>()).Entry).Resource;
        (exit, output, error) = Run(servers.Handler(), "--to", EhrBase, "--server", RecoveryBase, "--patient", patient.Id);
        Assert.True(exit == ExitCodes.Ok, error + output);
        var pushed = await (await servers.Ehr.Client.GetAsync("Goal?identifier=https://ehr.northwind.example/fhir/sid/goal|G-448812-1")).ReadAsync<Bundle>();
        var ehrGoal = Assert.IsType<Goal>(Assert.Single(pushed.Entry).Resource);
        Assert.Contains(RecoveryCanonicals.UsCoreGoal, ehrGoal.Meta.Profile);
        Assert.Contains(ehrGoal.Category.SelectMany(c => c.Coding), c => c.Code == "connectedness");
        Assert.Equal("g-1001", ehrGoal.Id);
    }

    [Fact]
    public void An_interrupted_sync_resumes_after_the_patients_already_done()
    {
        File.WriteAllText(Path.Combine(_directory, "state.json"), $$"""{"Key":"{{EhrBase}}||{{RecoveryBase}}","Pulled":["448812"],"Pushed":[]}""");
        var (exit, output, error) = Run(servers.Handler(), "--from", EhrBase, "--server", RecoveryBase, "--patient", "448812");
        Assert.Equal(ExitCodes.Ok, exit);
        Assert.Contains("resuming, 1 of 1 patients already done", error);
        Assert.Contains("nothing to do", output);
        Assert.False(File.Exists(Path.Combine(_directory, "state.json")));
    }

    [Fact]
    public void An_unknown_patient_stops_with_the_servers_message_and_keeps_progress()
    {
        var (exit, _, error) = Run(servers.Handler(), "--from", EhrBase, "--server", RecoveryBase, "--patient", "no-such-patient");
        Assert.Equal(ExitCodes.UsageOrIo, exit);
        Assert.Contains("no-such-patient", error);
        Assert.Contains("run the same command again to resume", error);
    }

    [Fact]
    public void Without_from_or_to_it_is_a_usage_error()
    {
        var (exit, _, error) = Run(servers.Handler(), "--server", RecoveryBase);
        Assert.Equal(ExitCodes.UsageOrIo, exit);
        Assert.Contains("--from", error);
    }
}
