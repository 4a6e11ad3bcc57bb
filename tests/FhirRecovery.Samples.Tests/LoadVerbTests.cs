using System.Net;
using FhirRecovery.Cli.Verbs;

namespace FhirRecovery.Samples.Tests;

/// <summary>The load verb against a fake server: retries, failures, grouping into transactions, headers.</summary>
public class LoadVerbTests
{
    private const string Base = "http://fhir.example.org/fhir";

    private static CliResult Load(FakeFhirServer server, string workingDirectory, params string[] args)
    {
        // The seams are async-local: set here, they apply to this test's run only.
        LoadVerb.HttpHandlerOverride = () => server;
        LoadVerb.OptionsOverride = new LoaderOptions { BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(20) };
        try
        {
            return CliRunner.Run(workingDirectory, ["load", .. args, "--server", Base]);
        }
        finally
        {
            LoadVerb.HttpHandlerOverride = null;
            LoadVerb.OptionsOverride = null;
        }
    }

    private static string Resource(string type, string id, string extra = "") => $$"""{"resourceType":"{{type}}","id":"{{id}}"{{extra}}}""";

    [Fact]
    public void A_503_is_retried_and_the_load_goes_on()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("p.json"), Resource("Patient", "a"));
        var server = new FakeFhirServer().Then(HttpStatusCode.ServiceUnavailable, FakeFhirServer.Outcome("starting up"));

        var result = Load(server, temp.Path, "p.json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, server.Requests.Count);
        Assert.Equal(server.Requests[0].Body, server.Requests[1].Body);
        Assert.Contains("Loaded 1 resources (1 created, 0 updated) in 1 requests", result.Out, StringComparison.Ordinal);
        Assert.Contains("1 retries", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_429_with_retry_after_and_network_errors_are_retried()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("p.json"), Resource("Patient", "a"));
        var server = new FakeFhirServer()
            .Then(HttpStatusCode.TooManyRequests, retryAfter: TimeSpan.FromMilliseconds(1))
            .ThenNetworkError()
            .Then(HttpStatusCode.BadGateway);

        var result = Load(server, temp.Path, "p.json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(4, server.Requests.Count);
        Assert.Contains("3 retries", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_that_stays_unreachable_is_an_io_problem()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("p.json"), Resource("Patient", "a"));
        var server = new FakeFhirServer().ThenNetworkError().ThenNetworkError().ThenNetworkError();

        var result = Load(server, temp.Path, "p.json", "--retries", "2");

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal(3, server.Requests.Count);
        Assert.Contains("cannot reach", result.Error, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace);
    }

    [Fact]
    public void A_rejected_transaction_stops_the_load_with_the_servers_message()
    {
        using var temp = new TempDirectory();
        var lines = Enumerable.Range(1, 5).Select(i => Resource("Goal", $"g{i}"));
        File.WriteAllLines(temp.Combine("goals.ndjson"), lines);
        var server = new FakeFhirServer()
            .Then(r => FakeFhirServer.Success(r, []))
            .Then(HttpStatusCode.UnprocessableEntity, FakeFhirServer.Outcome("Goal.expressedBy: minimum required = 1"));

        var result = Load(server, temp.Path, "goals.ndjson", "--batch-size", "2");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal(2, server.Requests.Count); // the third transaction is never sent
        Assert.Contains("HTTP 422", result.Error, StringComparison.Ordinal);
        Assert.Contains("Goal.expressedBy: minimum required = 1", result.Error, StringComparison.Ordinal);
        Assert.Contains("goals.ndjson:3 .. goals.ndjson:4", result.Error, StringComparison.Ordinal);
        Assert.Contains("re-running the same command is safe", result.Error, StringComparison.Ordinal);
        Assert.Contains("Loaded 2 resources", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_400_with_an_operation_outcome_exits_1_and_unauthorized_exits_2()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("p.json"), Resource("Patient", "a"));

        var rejected = Load(new FakeFhirServer().Then(HttpStatusCode.BadRequest, FakeFhirServer.Outcome("Bundle.entry[0]: bad id")), temp.Path, "p.json");
        var unauthorized = Load(new FakeFhirServer().Then(HttpStatusCode.Unauthorized, FakeFhirServer.Outcome("token expired")), temp.Path, "p.json");

        Assert.Equal(1, rejected.ExitCode);
        Assert.Contains("HTTP 400 Bad Request: Bundle.entry[0]: bad id", rejected.Error, StringComparison.Ordinal);
        Assert.Equal(2, unauthorized.ExitCode);
        Assert.Contains("token expired", unauthorized.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Resources_are_put_in_transactions_of_batch_size_cut_where_a_resource_repeats()
    {
        using var temp = new TempDirectory();
        // Two versions of Goal/a: they must go in different transactions, in order.
        File.WriteAllLines(temp.Combine("01-x.ndjson"),
        [
            Resource("Goal", "a", ""","lifecycleStatus":"active" """.Trim()), Resource("Goal", "b"), "",
            Resource("Goal", "a", ""","lifecycleStatus":"completed" """.Trim()), Resource("Goal", "c"),
        ]);
        File.WriteAllText(temp.Combine("02-y.json"), Resource("Patient", "p"));
        File.WriteAllText(temp.Combine("03-z.json"), """{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Goal","id":"d"}},{"resource":{"resourceType":"Goal","id":"e"}},{"resource":{"resourceType":"Goal","id":"f"}}]}""");

        var server = new FakeFhirServer();

        var result = Load(server, temp.Path, ".", "--batch-size", "3");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            [["PUT Goal/a", "PUT Goal/b"], ["PUT Goal/a", "PUT Goal/c", "PUT Patient/p"], ["PUT Goal/d", "PUT Goal/e", "PUT Goal/f"]],
            server.Requests.Select(r => r.Entries));
        Assert.Contains("completed", server.Requests[1].Body, StringComparison.Ordinal);
        Assert.All(server.Requests, r => Assert.Equal("transaction", r.Json.GetProperty("type").GetString()));
        Assert.Contains("Loaded 8 resources", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Transaction_bundles_are_sent_unchanged_whatever_their_size()
    {
        using var temp = new TempDirectory();
        SampleWriter.Write(new SampleRequest { Patients = 1, Seed = 3 }, temp.Path, SampleFormat.Bundle);
        var files = Directory.EnumerateFiles(temp.Path).Order(StringComparer.Ordinal).ToList();
        var server = new FakeFhirServer();

        var result = Load(server, temp.Path, ".", "--batch-size", "2");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(files.Select(File.ReadAllText), server.Requests.Select(r => r.Body));
        Assert.True(server.Requests[0].Entries.Count > 2);
    }

    [Fact]
    public void Requests_are_fhir_json_posts_to_the_base_with_minimal_return_and_the_token()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("p.json"), Resource("Patient", "a"));
        var server = new FakeFhirServer();

        var result = Load(server, temp.Path, "p.json", "--token", "secret-123");

        Assert.True(result.ExitCode == 0, result.ToString());
        var request = Assert.Single(server.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal(new Uri(Base), request.Uri);
        Assert.Equal("application/fhir+json", request.ContentType);
        Assert.Equal("application/fhir+json", request.Accept);
        Assert.Equal("return=minimal", request.Prefer);
        Assert.Equal("Bearer secret-123", request.Authorization);
        Assert.Equal("history", request.Import);
        Assert.Equal(DeterministicUuid.FullUrl("Patient", "a"), request.Json.GetProperty("entry")[0].GetProperty("fullUrl").GetString());
    }

    [Fact]
    public void Live_sends_ordinary_writes_without_the_history_import_header()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("p.json"), Resource("Patient", "a"));
        var server = new FakeFhirServer();

        var result = Load(server, temp.Path, "p.json", "--live");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Null(Assert.Single(server.Requests).Import);
    }

    [Fact]
    public void Failed_batch_entries_are_reported_and_the_load_goes_on()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("01-batch.json"), """{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a"}},{"resource":{"resourceType":"Patient","id":"b"},"request":{"method":"PUT","url":"Patient/b"}}]}""");
        File.WriteAllText(temp.Combine("02-p.json"), Resource("Patient", "c"));
        var batchResponse = """{"resourceType":"Bundle","type":"batch-response","entry":[{"response":{"status":"201 Created"}},{"response":{"status":"422 Unprocessable Entity","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"Patient.gender: unknown code"}]}}}]}""";
        var server = new FakeFhirServer().Then(HttpStatusCode.OK, batchResponse);

        var result = Load(server, temp.Path, ".");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(2, server.Requests.Count);
        Assert.Contains("1 of 2 batch entries failed: entry[1]: 422 Unprocessable Entity: Patient.gender: unknown code", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_sends_nothing_when_a_resource_is_invalid()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("g.json"), """{"resourceType":"Goal","id":"g","meta":{"profile":["https://fhirrecovery.org/fhir/StructureDefinition/recovery-goal"]},"lifecycleStatus":"active","description":{"text":"x"},"subject":{"reference":"Patient/p"}}""");
        var server = new FakeFhirServer();

        var result = Load(server, temp.Path, "g.json", "--validate");

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(server.Requests);
        Assert.Contains("Goal.expressedBy", result.Error, StringComparison.Ordinal);
        Assert.Contains("nothing was sent", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Unreadable_input_is_a_usage_problem()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("broken.json"), "{ not json");

        var result = Load(new FakeFhirServer(), temp.Path, "broken.json");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("broken.json: not valid JSON", result.Error, StringComparison.Ordinal);
    }
}
