using System.CommandLine;
using Hl7.Fhir.Rest;
using Spectre.Console;
using ValidationResult = FhirRecovery.Conformance.Validation.ValidationResult;

namespace FhirRecovery.Cli.Verbs;

/// <summary><c>fhir-recovery load</c>: uploads resources to a FHIR server in transactions.</summary>
public sealed class LoadVerb : ICliVerb
{
    public const int DefaultBatchSize = 100;

    /// <summary>The environment variable a bearer token can come from, so it stays out of shell history.</summary>
    public const string TokenVariable = "FHIR_RECOVERY_TOKEN";

    private static readonly AsyncLocal<Func<HttpMessageHandler>?> HandlerOverride = new();

    /// <summary>
    /// Test seam: the HTTP handler the verb uses in this async flow (e.g. an in-process server's, or a fake). Null: the
    /// real network.
    /// </summary>
    public static Func<HttpMessageHandler>? HttpHandlerOverride
    {
        get => HandlerOverride.Value;
        set => HandlerOverride.Value = value;
    }

    /// <summary>Test seam: the loader's retry timing in this async flow (null: the defaults).</summary>
    public static LoaderOptions? OptionsOverride
    {
        get => OptionsOverrideValue.Value;
        set => OptionsOverrideValue.Value = value;
    }

    private static readonly AsyncLocal<LoaderOptions?> OptionsOverrideValue = new();

    public int Order => 40;

    public Command CreateCommand(CliConsole console)
    {
        var inputs = new Argument<string[]>("input")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = "What to upload: a folder (its *.json and *.ndjson files, recursively, in name order), a JSON file (a "
                          + "Bundle or one resource) or an .ndjson file (one resource per line).",
        };
        var server = new Option<string>("--server")
        {
            Description = "The FHIR server's base URL, e.g. http://localhost:5000/fhir. Bundles are POSTed to it.",
            HelpName = "base",
            Required = true,
        };
        var token = new Option<string?>("--token")
        {
            Description = $"Send 'Authorization: Bearer <token>'. Default: the {TokenVariable} environment variable, if set.",
            HelpName = "bearer",
        };
        var batchSize = new Option<int>("--batch-size", "-b")
        {
            Description = $"Most resources per transaction the loader builds (1-10000; default {DefaultBatchSize}). Transaction and batch "
                          + "Bundles in the input are sent unchanged whatever their size: splitting one would break its atomicity "
                          + "and its urn:uuid references.",
            DefaultValueFactory = _ => DefaultBatchSize,
            HelpName = "N",
        };
        var validate = new Option<bool>("--validate")
        {
            Description = "Validate every resource against its profiles with the conformance engine first; on an error, send nothing and exit 1.",
        };
        var retries = new Option<int>("--retries")
        {
            Description = "Retries of a request on 429, 502, 503, 504, a network error or a timeout, with exponential back-off "
                          + "(Retry-After honoured). Default: 6.",
            DefaultValueFactory = _ => new LoaderOptions().MaxRetries,
            HelpName = "N",
        };

        var live = new Option<bool>("--live")
        {
            Description = "Send ordinary writes. By default the transactions carry 'X-FhirRecovery-Import: history': the input is a "
                          + "recorded history (versions replayed in order, a re-run replays them again), so a FhirRecovery server skips "
                          + "its live workflow rules (Task state machine, referral status, notifications) while still validating; it "
                          + "needs Auth off or a token with system-level write scopes. With --live every write must be a valid "
                          + "change now.",
        };

        var command = new Command("load",
            "Upload FHIR resources to a server in transaction Bundles, with a progress bar on stderr and a summary at the end.\n"
            + "Resources with an id are sent as PUT Type/id, so re-running a load (e.g. after a failure) is safe: the server ends "
            + "in the same state (servers that version every update add an identical version). Successive versions of one "
            + "resource go in successive transactions, in input order, so the server builds their history.\n"
            + "A rejected transaction stops the load with the server's OperationOutcome message.\n"
            + "Example: fhir-recovery load samples/data --server http://localhost:5000/fhir\n"
            + "Exit code 0: everything loaded; 1: the server rejected a transaction, a batch entry or (--validate) a resource is "
            + "invalid; 2: usage or I/O problem (bad arguments, missing input, server unreachable, unauthorized).")
        {
            inputs, server, token, batchSize, validate, retries, live,
        };
        command.SetAction((parsed, cancellationToken) => new LoadRun(console, new LoadRequest
        {
            Inputs = parsed.GetValue(inputs) ?? [],
            Server = parsed.GetValue(server)!,
            Token = parsed.GetValue(token) ?? Environment.GetEnvironmentVariable(TokenVariable),
            BatchSize = parsed.GetValue(batchSize),
            Validate = parsed.GetValue(validate),
            Retries = parsed.GetValue(retries),
            Live = parsed.GetValue(live),
        }).ExecuteAsync(cancellationToken));
        return command;
    }
}

public sealed record LoadRequest
{
    public required IReadOnlyList<string> Inputs { get; init; }
    public required string Server { get; init; }
    public string? Token { get; init; }
    public int BatchSize { get; init; } = LoadVerb.DefaultBatchSize;
    public bool Validate { get; init; }
    public int Retries { get; init; } = 6;

    /// <summary>Ordinary writes instead of a history import.</summary>
    public bool Live { get; init; }
}

/// <summary>One run of <c>load</c>: check the arguments, optionally validate everything, then send in input order.</summary>
public sealed class LoadRun(CliConsole console, LoadRequest request)
{
    public async Task<int> ExecuteAsync(CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(request.Server.TrimEnd('/'), UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
        {
            throw new CliUsageException($"--server must be an http(s) base URL such as http://localhost:5000/fhir, not '{request.Server}'.");
        }

        if (request.BatchSize is < 1 or > 10_000)
        {
            throw new CliUsageException($"--batch-size must be 1-10000, not {request.BatchSize}.");
        }

        if (request.Retries is < 0 or > 100)
        {
            throw new CliUsageException($"--retries must be 0-100, not {request.Retries}.");
        }

        var files = LoadInputs.Collect(request.Inputs, console.FullPath);
        var inputs = new LoadInputs(files, request.BatchSize);
        if (request.Validate && !ValidateAll(inputs))
        {
            return ExitCodes.Invalid;
        }

        var handler = LoadVerb.HttpHandlerOverride?.Invoke() ?? new SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.All };
        using var http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        var options = (LoadVerb.OptionsOverride ?? new LoaderOptions()) with { MaxRetries = request.Retries, BearerToken = request.Token, HistoryImport = !request.Live };
        var loader = new FhirLoader(http, baseUrl, options, TimeProvider.System);
        var tally = new LoadTally(TimeProvider.System);

        if (!console.ErrorIsTerminal)
        {
            return await SendAllAsync(loader, inputs, tally, null, cancellationToken);
        }

        var ansi = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(console.Error) });
        var exit = ExitCodes.Ok;
        await ansi.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("Loading", maxValue: Math.Max(1, inputs.TotalBytes));
                exit = await SendAllAsync(loader, inputs, tally, bytes =>
                {
                    task.Increment(bytes);
                    task.Description = $"Loading: {tally.Resources:N0} resources ({tally.Rate:N0}/s)";
                }, cancellationToken);
            });
        return exit;
    }

    private async Task<int> SendAllAsync(FhirLoader loader, LoadInputs inputs, LoadTally tally, Action<long>? progress, CancellationToken cancellationToken)
    {
        var exit = ExitCodes.Ok;
        foreach (var unit in inputs.Units())
        {
            var outcome = await loader.SendAsync(unit, cancellationToken);
            tally.Add(unit, outcome);
            progress?.Invoke(unit.InputBytes);
            if (outcome.Succeeded)
            {
                continue;
            }

            if (unit.IsBatch && outcome.Problem is not null && !outcome.IsUsageProblem && outcome.Failed > 0)
            {
                // Batch entries stand alone: report the failed ones and go on.
                console.Error.WriteLine($"{CliApp.CommandName}: {unit.Description}: {outcome.Failed} of {unit.Entries} batch entries failed: {outcome.Problem}");
                exit = ExitCodes.Invalid;
                continue;
            }

            console.Error.WriteLine($"{CliApp.CommandName}: {unit.Description}: {(outcome.IsUsageProblem ? "" : "the server rejected the transaction: ")}{outcome.Problem}");
            console.Error.WriteLine($"{CliApp.CommandName}: stopped after {tally.Requests - 1} committed requests ({tally.Resources - unit.Entries} resources); "
                                    + "re-running the same command is safe (resources are PUT with their ids).");
            Summary(tally);
            return outcome.IsUsageProblem ? ExitCodes.UsageOrIo : ExitCodes.Invalid;
        }

        Summary(tally);
        return exit;
    }

    private void Summary(LoadTally tally)
    {
        console.Out.WriteLine(
            $"Loaded {tally.Loaded:N0} resources ({tally.Created:N0} created, {tally.Updated:N0} updated) in {tally.Succeeded:N0} requests "
            + $"to {request.Server} in {tally.Elapsed.TotalSeconds:0.0} s ({tally.Rate:N0} resources/s)"
            + (tally.Retries > 0 ? $"; {tally.Retries} retries" : "")
            + (tally.FailedEntries > 0 ? $"; {tally.FailedEntries} batch entries failed" : "") + ".");
    }

    private bool ValidateAll(LoadInputs inputs)
    {
        var engine = EngineFactory.Create(new EngineRequest());
        var errors = 0;
        var resources = 0;
        foreach (var unit in inputs.Units())
        {
            var results = new ValidationResult[unit.Resources.Count];
            Parallel.For(0, unit.Resources.Count, i => results[i] = engine.Validator.Validate(unit.Resources[i].Json, ResourceFormat.Json));
            for (var i = 0; i < results.Length; i++)
            {
                resources++;
                foreach (var issue in results[i].Issues.Where(issue => issue.IsError))
                {
                    errors++;
                    var resource = unit.Resources[i];
                    console.Error.WriteLine($"{CliApp.CommandName}: {resource.Location} {resource.ResourceType}/{resource.Id}: {issue.Expression}: {issue.Message}");
                }
            }
        }

        if (errors > 0)
        {
            console.Error.WriteLine($"{CliApp.CommandName}: {errors} validation errors in {resources} resources; nothing was sent.");
            return false;
        }

        console.Error.WriteLine($"Validated {resources:N0} resources: no errors.");
        return true;
    }

    private sealed class LoadTally(TimeProvider time)
    {
        private readonly long _started = time.GetTimestamp();

        public int Requests { get; private set; }
        public int Succeeded { get; private set; }
        public int Resources { get; private set; }
        public int Loaded { get; private set; }
        public int Created { get; private set; }
        public int Updated { get; private set; }
        public int FailedEntries { get; private set; }
        public int Retries { get; private set; }

        public TimeSpan Elapsed => time.GetElapsedTime(_started);

        public double Rate => Elapsed.TotalSeconds > 0 ? Loaded / Elapsed.TotalSeconds : 0;

        public void Add(LoadUnit unit, LoadOutcome outcome)
        {
            Requests++;
            Resources += unit.Entries;
            Retries += outcome.Retries;
            Created += outcome.Created;
            Updated += outcome.Updated;
            FailedEntries += outcome.Failed;
            if (outcome.Succeeded || (unit.IsBatch && outcome.Failed > 0))
            {
                Succeeded++;
                // A server answering without entry statuses (an empty 200) accepted all of a successful transaction.
                var counted = outcome.Created + outcome.Updated;
                Loaded += counted > 0 || !outcome.Succeeded ? counted : unit.Entries;
            }
        }
    }
}
