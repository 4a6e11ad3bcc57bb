using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using FhirRecovery.Conformance;

namespace FhirRecovery.LoadTests;

/// <summary>One invocation of <c>load</c>: the chosen scenarios on one store, a report on stdout (and Markdown on request).</summary>
internal sealed class LoadRun(LoadOptions options)
{
    private const string FhirJson = "application/fhir+json";

    private readonly Report _report = new();
    private string _folder = "";

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        _folder = Directory.CreateTempSubdirectory($"fhirrecovery-load-{options.Store.ToString().ToLowerInvariant()}-").FullName;
        _report.Heading(options, Machine.Describe());
        _report.Flush(Console.Out);
        try
        {
            if (options.Scenarios.Contains("crud"))
            {
                await CrudAsync(cancellationToken);
            }

            if (options.Scenarios.Contains("read"))
            {
                await ReadAsync(cancellationToken);
            }

            if (options.Scenarios.Contains("search"))
            {
                await SearchAsync(cancellationToken);
            }

            if (options.Scenarios.Contains("ingest"))
            {
                await IngestAsync(cancellationToken);
            }
        }
        finally
        {
            _report.Line($"\nLoad average at the end: {Machine.LoadAverage()}");
            _report.Flush(Console.Out);
            if (options.ReportPath is { } path)
            {
                await File.AppendAllTextAsync(path, _report.Text, cancellationToken);
            }

            if (options.Keep)
            {
                Console.WriteLine($"run folder kept: {_folder}");
            }
            else
            {
                TryDelete(_folder);
            }
        }

        return 0;
    }

    /// <summary>Scenario 1: create/read/update/search/delete of goals, referrals and tasks, <c>--clients</c> at once.</summary>
    private async Task CrudAsync(CancellationToken cancellationToken)
    {
        await using var database = await BenchDatabase.CreateAsync(options.Store, _folder, "crud");
        await using var server = await StartAsync("crud", database, null, cancellationToken);
        await LoadSampleSetAsync(server, cancellationToken);
        var templates = BenchData.Templates(options.Patients);
        var patients = templates.Select(t => t.PatientId).Distinct().ToArray();
        var owned = Enumerable.Range(0, options.Clients).Select(_ => new List<(Template Template, string Id, int Revision)>()).ToArray();

        async Task Step(Worker worker)
        {
            var mine = owned[worker.Index];
            var roll = worker.Random.Next(100);
            var operation = roll < CrudMix.Read ? "read"
                : roll < CrudMix.Read + CrudMix.Search ? "search"
                : roll < CrudMix.Read + CrudMix.Search + CrudMix.Create ? "create"
                : roll < 100 - CrudMix.Delete ? "update"
                : "delete";
            if (operation is "read" or "update" or "delete" && mine.Count == 0)
            {
                operation = "create";
            }

            switch (operation)
            {
                case "create":
                {
                    var template = templates[worker.Random.Next(templates.Count)];
                    var answer = await worker.SendAsync("create", Post(server.FhirBase, template.ResourceType, template.CreateBody), HttpStatusCode.Created);
                    if (answer is { Location: { } location })
                    {
                        mine.Add((template, IdFromLocation(location, template.ResourceType), 1));
                    }

                    break;
                }

                case "read":
                {
                    var (template, id, _) = mine[worker.Random.Next(mine.Count)];
                    await worker.SendAsync("read", Get(server.FhirBase, $"{template.ResourceType}/{id}"), HttpStatusCode.OK);
                    break;
                }

                case "update":
                {
                    var index = worker.Random.Next(mine.Count);
                    var (template, id, revision) = mine[index];
                    var request = new HttpRequestMessage(HttpMethod.Put, new Uri(server.FhirBase, $"{template.ResourceType}/{id}"))
                    {
                        Content = Body(BenchData.UpdateBody(template, id, revision + 1)),
                    };
                    if (await worker.SendAsync("update", request, HttpStatusCode.OK) is not null)
                    {
                        mine[index] = (template, id, revision + 1);
                    }

                    break;
                }

                case "delete":
                {
                    var index = worker.Random.Next(mine.Count);
                    var (template, id, _) = mine[index];
                    mine.RemoveAt(index);
                    await worker.SendAsync("delete", new HttpRequestMessage(HttpMethod.Delete, new Uri(server.FhirBase, $"{template.ResourceType}/{id}")), HttpStatusCode.NoContent);
                    break;
                }

                default:
                {
                    var patient = patients[worker.Random.Next(patients.Length)];
                    var query = BenchData.CrudTypes[worker.Random.Next(BenchData.CrudTypes.Length)] switch
                    {
                        "Goal" => $"Goal?patient={patient}&lifecycle-status=active",
                        "ServiceRequest" => $"ServiceRequest?patient={patient}&status=active",
                        _ => $"Task?patient={patient}",
                    };
                    await worker.SendAsync("search", Get(server.FhirBase, query), HttpStatusCode.OK);
                    break;
                }
            }
        }

        var result = await LoadDriver.RunAsync("CRUD mix", server, options.Clients, options.Warmup, options.Duration, Step, cancellationToken);
        _report.Section($"CRUD mix ({CrudMix.Describe}; goals, referrals, tasks; validation on write as shipped)");
        _report.Runs([result], perOperation: true);
        _report.Target("CRUD mix ≥ 1,000 req/s at p99 ≤ 100 ms", result.RequestsPerSecond >= 1000 && result.All.P99 <= 100,
            $"{result.RequestsPerSecond:N0} req/s, p99 {result.All.P99:N1} ms");
        _report.Flush(Console.Out);
    }

    /// <summary>Scenario 2: read by id against a minimal-API JSON hello-world of the same process, same clients.</summary>
    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        await using var database = await BenchDatabase.CreateAsync(options.Store, _folder, "read");
        await using var server = await StartAsync("read", database, null, cancellationToken);
        await LoadSampleSetAsync(server, cancellationToken);
        var goals = BenchData.Templates(options.Patients).Where(t => t.ResourceType == "Goal").Select(t => "Goal/" + t.Json["id"]!.GetValue<string>()).ToArray();

        Task HelloStep(Worker worker) => worker.SendAsync("hello", new HttpRequestMessage(HttpMethod.Get, server.Hello), HttpStatusCode.OK);
        Task ReadStep(Worker worker) => worker.SendAsync("read", Get(server.FhirBase, goals[worker.Random.Next(goals.Length)]), HttpStatusCode.OK);

        var hellos = new List<RunResult>();
        var reads = new List<RunResult>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            hellos.Add(await LoadDriver.RunAsync($"hello-world, round {round}", server, options.Clients, options.Warmup, options.Duration, HelloStep, cancellationToken));
            reads.Add(await LoadDriver.RunAsync($"read Goal by id, round {round}", server, options.Clients, options.Warmup, options.Duration, ReadStep, cancellationToken));
        }

        var ratio = reads.Average(r => r.RequestsPerSecond) / hellos.Average(r => r.RequestsPerSecond);
        _report.Section($"Read by id vs. minimal-API hello-world ({goals.Length} goals, {options.Clients} clients, alternating rounds)");
        _report.Runs(hellos.Zip(reads).SelectMany(p => new[] { p.First, p.Second }).ToList(), perOperation: false);
        _report.Target("read by id ≥ 40% of hello-world", ratio >= 0.4,
            $"{reads.Average(r => r.RequestsPerSecond):N0} / {hellos.Average(r => r.RequestsPerSecond):N0} req/s = {ratio:P0}");
        _report.Flush(Console.Out);
    }

    /// <summary>Scenario 3: Goal?patient=X&amp;lifecycle-status=active at each goal count, at each concurrency.</summary>
    private async Task SearchAsync(CancellationToken cancellationToken)
    {
        var engine = ConformanceEngine.Create();
        var results = new Dictionary<int, List<RunResult>>();
        foreach (var goals in options.GoalCounts)
        {
            await using var database = await BenchDatabase.CreateAsync(options.Store, _folder, $"search-{goals}");
            var store = database.OpenStore(engine);
            await store.InitializeAsync(cancellationToken);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await BenchData.LoadGoalsAsync(store, goals, p => Console.Error.Write($"\r  loading: {p}   "), cancellationToken);
            Console.Error.WriteLine($"\r  loaded {goals} goals in {clock.Elapsed.TotalSeconds:N0} s   ");
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }

            await using var server = await StartAsync($"search-{goals}", database, null, cancellationToken);
            var patients = Math.Max(1, goals / BenchData.GoalsPerPatient);
            Task Step(Worker worker) => worker.SendAsync("search", Get(server.FhirBase,
                $"Goal?patient={BenchData.GoalPatientId(1 + worker.Random.Next(patients))}&lifecycle-status=active"), HttpStatusCode.OK);

            results[goals] = [];
            foreach (var clients in options.SearchClients)
            {
                results[goals].Add(await LoadDriver.RunAsync($"{goals:N0} goals, {clients} clients", server, clients, options.Warmup, options.Duration, Step, cancellationToken));
            }
        }

        _report.Section($"Goal?patient=X&lifecycle-status=active ({BenchData.GoalsPerPatient} goals per patient, goals loaded straight into the store)");
        _report.Runs(results.Values.SelectMany(r => r).ToList(), perOperation: false);
        if (results.Count >= 2)
        {
            var smallest = results[results.Keys.Min()];
            var largest = results[results.Keys.Max()];
            foreach (var (small, large) in smallest.Zip(largest))
            {
                _report.Target($"p50 ≤ 20 ms at {results.Keys.Max():N0} goals, {large.Clients} clients", large.All.P50 <= 20, $"p50 {large.All.P50:N1} ms");
                _report.Target($"p50 growth ≤ 1.5× from {results.Keys.Min():N0} to {results.Keys.Max():N0} goals, {large.Clients} clients",
                    large.All.P50 <= 1.5 * small.All.P50, $"{small.All.P50:N2} → {large.All.P50:N2} ms = {large.All.P50 / small.All.P50:N2}×");
            }
        }

        _report.Flush(Console.Out);
    }

    /// <summary>Scenario 4: transaction ingest, without validation, with the shipped validation, and with every resource validated.</summary>
    private async Task IngestAsync(CancellationToken cancellationToken)
    {
        var bundles = BenchData.IngestBundles(Math.Max(20, options.Patients * 2), options.BundleSize);
        var results = new List<(string Mode, RunResult Result)>();
        foreach (var mode in options.ValidationModes)
        {
            await using var database = await BenchDatabase.CreateAsync(options.Store, _folder, $"ingest-{mode}");
            await using var server = await StartAsync($"ingest-{mode}", database, new Dictionary<string, string> { ["Validation:Mode"] = mode }, cancellationToken);
            await LoadSampleSetAsync(server, cancellationToken, sharedOnly: true);
            var next = -1;
            async Task Step(Worker worker)
            {
                var index = Interlocked.Increment(ref next);
                var (body, entries) = bundles[index % bundles.Count];
                // Each pass over the bundles makes new patients: new ids, so every entry creates a resource.
                body = body.Replace(BenchData.IngestPrefix, $"r{index / bundles.Count}-p", StringComparison.Ordinal);
                var request = new HttpRequestMessage(HttpMethod.Post, server.FhirBase) { Content = Body(Encoding.UTF8.GetBytes(body)) };
                request.Headers.Add("Prefer", "return=minimal");
                // Ingest is loading records made elsewhere (Tasks already accepted or completed): the server's documented
                // way is a history import, which keeps validation, provenance and audit but not the live Task workflow.
                request.Headers.Add("X-FhirRecovery-Import", "history");
                await worker.SendAsync("transaction", request, HttpStatusCode.OK, entries);
            }

            var result = await LoadDriver.RunAsync($"Validation:Mode={mode}", server, options.IngestClients, options.Warmup, options.Duration, Step, cancellationToken);
            results.Add((mode, result));
        }

        _report.Section($"Transaction ingest (transactions of about {options.BundleSize} resources — whole generated patients — PUT with ids, "
                        + $"Prefer: return=minimal, X-FhirRecovery-Import: history, {options.IngestClients} clients; the unit is resources/s)");
        _report.Runs(results.Select(r => r.Result).ToList(), perOperation: false, units: "resources/s");
        if (results.FirstOrDefault(r => r.Mode == "Off").Result is { } off)
        {
            _report.Target("ingest ≥ 2,000 resources/s without validation", off.UnitsPerSecond >= 2000, $"{off.UnitsPerSecond:N0} resources/s");
        }

        foreach (var (mode, result) in results.Where(r => r.Mode != "Off"))
        {
            _report.Target($"ingest ≥ 1,000 resources/s with validation (Validation:Mode={mode})", result.UnitsPerSecond >= 1000, $"{result.UnitsPerSecond:N0} resources/s");
        }

        _report.Flush(Console.Out);
    }

    private async Task<ServerProcess> StartAsync(string name, BenchDatabase database, IReadOnlyDictionary<string, string>? extra, CancellationToken cancellationToken)
    {
        var settings = new Dictionary<string, string>(database.Settings)
        {
            // The runs bring their own data; the sample set would only make the first start slower.
            ["Samples:LoadWhenEmpty"] = "false",
            // These are the REST server's figures; what token validation and scope checks cost is measured on its own
            // (bench/FhirRecovery.SecurityBench). Audit and provenance stay as configured by default.
            ["Auth:Mode"] = "None",
        };
        foreach (var (key, value) in (extra ?? new Dictionary<string, string>()).Concat(options.ServerSettings))
        {
            settings[key] = value;
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var server = await ServerProcess.StartAsync(_folder, name, settings, cancellationToken);
        Console.Error.WriteLine($"  server for {name} ready in {clock.Elapsed.TotalSeconds:N1} s (pid {server.ProcessId}, {server.FhirBase})");
        return server;
    }

    /// <summary>The generated set (or only its shared services) through the API, one transaction per batch.</summary>
    private async Task LoadSampleSetAsync(ServerProcess server, CancellationToken cancellationToken, bool sharedOnly = false)
    {
        using var client = LoadDriver.CreateClient(1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var resources = 0;
        foreach (var (body, entries) in BenchData.Transactions(options.Patients).Take(sharedOnly ? 1 : int.MaxValue))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, server.FhirBase) { Content = Body(body) };
            request.Headers.Add("Prefer", "return=minimal");
            using var response = await client.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"loading the sample set failed ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }

            resources += entries;
        }

        Console.Error.WriteLine($"  loaded {resources} resources through transactions in {clock.Elapsed.TotalSeconds:N1} s");
    }

    private static HttpRequestMessage Get(Uri fhirBase, string relative) => new(HttpMethod.Get, new Uri(fhirBase, relative));

    private static HttpRequestMessage Post(Uri fhirBase, string type, byte[] body) => new(HttpMethod.Post, new Uri(fhirBase, type)) { Content = Body(body) };

    private static ByteArrayContent Body(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(FhirJson) { CharSet = "utf-8" };
        return content;
    }

    /// <summary>The id in a Location such as http://host/fhir/Goal/abc/_history/1.</summary>
    private static string IdFromLocation(string location, string type)
    {
        var segments = new Uri(location, UriKind.RelativeOrAbsolute).IsAbsoluteUri ? new Uri(location).AbsolutePath.Split('/') : location.Split('/');
        var at = Array.LastIndexOf(segments, type);
        return at >= 0 && at + 1 < segments.Length ? segments[at + 1] : throw new InvalidOperationException($"no {type} id in Location {location}");
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The CRUD mix, in percent of requests.</summary>
internal static class CrudMix
{
    public const int Read = 40;
    public const int Search = 20;
    public const int Create = 15;
    public const int Update = 15;
    public const int Delete = 10;

    public static string Describe => string.Create(CultureInfo.InvariantCulture,
        $"read {Read}%, search {Search}%, create {Create}%, update {Update}%, delete {Delete}%");
}
