using FhirRecovery.Mapping.Fhir;
using System.CommandLine;
using System.Net;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Hl7.Fhir.Serialization;
using Spectre.Console;

namespace FhirRecovery.Cli.Verbs;

/// <summary>
/// <c>fhir-recovery sync</c>: pulls patients' goals, care plans, referrals and questionnaire responses from an EHR's FHIR
/// base with Firely's FhirClient and imports them into a FhirRecovery server (<c>$import-ehr</c>: idempotent), and/or
/// pushes a FhirRecovery server's data to an EHR as US Core (<c>Patient/{id}/$export-ehr</c> → a transaction of
/// conditional updates).
/// </summary>
public sealed class SyncVerb : ICliVerb
{
    public const string TokenVariable = "FHIR_RECOVERY_EHR_TOKEN";

    private static readonly AsyncLocal<Func<HttpMessageHandler>?> HandlerOverride = new();
    private static readonly AsyncLocal<TimeSpan?> BackoffOverride = new();

    /// <summary>Test seam: the HTTP handler for both servers in this async flow (null: the network).</summary>
    public static Func<HttpMessageHandler>? HttpHandlerOverride
    {
        get => HandlerOverride.Value;
        set => HandlerOverride.Value = value;
    }

    /// <summary>Test seam: the first retry delay in this async flow.</summary>
    public static TimeSpan? FirstBackoff
    {
        get => BackoffOverride.Value;
        set => BackoffOverride.Value = value;
    }

    public int Order => 45;

    public Command CreateCommand(CliConsole console)
    {
        var from = new Option<string?>("--from") { Description = "The EHR's FHIR base to pull from (e.g. https://ehr.example/fhir).", HelpName = "ehr-fhir-base" };
        var to = new Option<string?>("--to") { Description = "The EHR's FHIR base to push the recovery data to, as US Core (conditional updates by identifier).", HelpName = "ehr-fhir-base" };
        var server = new Option<string>("--server") { Description = "The FhirRecovery server's base, e.g. http://localhost:5000/fhir.", Required = true, HelpName = "base" };
        var patients = new Option<string[]>("--patient") { Description = "Patient ids to sync (the EHR's ids with --from; the recovery server's with only --to). Default: every patient.", AllowMultipleArgumentsPerToken = true };
        var token = new Option<string?>("--token") { Description = $"Bearer token for the EHR. Default: the {TokenVariable} environment variable." };
        var serverToken = new Option<string?>("--server-token") { Description = $"Bearer token for the FhirRecovery server. Default: the {LoadVerb.TokenVariable} environment variable." };
        var ehr = new Option<string?>("--ehr") { Description = "The EHR profile of the mapping (its ConceptMaps), as configured on the server, e.g. northwind." };
        var state = new Option<string?>("--state") { Description = "Where progress is kept so an interrupted sync resumes (default .fhir-recovery-sync.json in the working directory)." };
        var restart = new Option<bool>("--restart") { Description = "Ignore saved progress and sync every patient again." };
        var retries = new Option<int>("--retries") { Description = "Retries of a request on 429/502/503/504 or a network error, with exponential back-off. Default 5.", DefaultValueFactory = _ => 5 };
        var pageSize = new Option<int>("--page-size") { Description = "Search page size asked of the EHR. Default 100.", DefaultValueFactory = _ => 100 };
        var command = new Command("sync",
            "Synchronise recovery data with an EHR's FHIR API: --from pulls goals, care plans, peer-support referrals, questionnaire responses "
            + "(with the patient, consents, conditions, practitioners and organisations they name) and imports them idempotently; --to pushes the "
            + "recovery data out as US Core. Resumable (progress is saved per patient); a progress bar on stderr; a summary of what changed.\n"
            + "Example: fhir-recovery sync --from https://ehr.example/fhir --server http://localhost:5000/fhir --ehr northwind --patient 448812\n"
            + "Exit code 0: done; 1: the server refused data; 2: usage or I/O problem (unreachable, unauthorized).")
        {
            from, to, server, patients, token, serverToken, ehr, state, restart, retries, pageSize,
        };
        command.SetAction((parsed, cancellationToken) => new SyncRun(console, new SyncRequest
        {
            From = parsed.GetValue(from),
            To = parsed.GetValue(to),
            Server = parsed.GetValue(server)!,
            Patients = parsed.GetValue(patients) ?? [],
            Token = parsed.GetValue(token) ?? Environment.GetEnvironmentVariable(TokenVariable),
            ServerToken = parsed.GetValue(serverToken) ?? Environment.GetEnvironmentVariable(LoadVerb.TokenVariable),
            Ehr = parsed.GetValue(ehr),
            StateFile = console.FullPath(parsed.GetValue(state) ?? ".fhir-recovery-sync.json"),
            Restart = parsed.GetValue(restart),
            Retries = parsed.GetValue(retries),
            PageSize = parsed.GetValue(pageSize),
        }).ExecuteAsync(cancellationToken));
        return command;
    }
}

public sealed record SyncRequest
{
    public string? From { get; init; }
    public string? To { get; init; }
    public required string Server { get; init; }
    public IReadOnlyList<string> Patients { get; init; } = [];
    public string? Token { get; init; }
    public string? ServerToken { get; init; }
    public string? Ehr { get; init; }
    public required string StateFile { get; init; }
    public bool Restart { get; init; }
    public int Retries { get; init; } = 5;
    public int PageSize { get; init; } = 100;
}

/// <summary>What a sync keeps on disk to resume: which patients are done, per direction and pair of servers.</summary>
public sealed class SyncState
{
    public string Key { get; set; } = "";
    public List<string> Pulled { get; set; } = [];
    public List<string> Pushed { get; set; } = [];
}

/// <summary>One run of <c>sync</c>.</summary>
public sealed class SyncRun(CliConsole console, SyncRequest request)
{
    private static readonly (string Type, string Parameter)[] PatientData =
    [
        ("Goal", "subject"), ("CarePlan", "subject"), ("ServiceRequest", "subject"), ("QuestionnaireResponse", "subject"), ("Consent", "patient"), ("Condition", "subject"),
    ];

    private readonly Dictionary<string, int[]> _counts = new(StringComparer.Ordinal);
    private int _retries;

    public async Task<int> ExecuteAsync(CancellationToken cancellationToken)
    {
        if (request.From is null && request.To is null)
        {
            throw new CliUsageException("sync needs --from <ehr-fhir-base> (pull), --to <ehr-fhir-base> (push), or both.");
        }

        var server = BaseUri(request.Server, "--server");
        var handler = SyncVerb.HttpHandlerOverride?.Invoke() ?? new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.All };
        using var recovery = Client(server, handler, request.ServerToken);
        var state = LoadState();
        var exit = ExitCodes.Ok;
        var recoveryPatients = new List<string>();
        if (request.From is not null)
        {
            using var ehr = Client(BaseUri(request.From, "--from"), handler, request.Token);
            var ids = request.Patients.Count > 0 ? request.Patients.ToList() : await AllPatientIdsAsync(ehr, cancellationToken);
            exit = await ForEachAsync("Pulling", ids, state.Pulled, async id =>
            {
                var bundle = await PullAsync(ehr, request.From, id, cancellationToken);
                var response = await RetryAsync(() => recovery.WholeSystemOperationAsync("import-ehr", new Parameters
                {
                    { "inputData", new FhirString(new FhirJsonSerializer().SerializeToString(bundle)) },
                    { "inputDataType", new FhirString("Fhir") },
                    { "source", new FhirString(request.From.TrimEnd('/')) },
                    { "ehr", new FhirString(request.Ehr ?? "") },
                }), cancellationToken) as Bundle;
                Tally(response, "imported");
                if (response?.Entry.Select(e => e.Response?.Location).FirstOrDefault(l => l?.StartsWith("Patient/", StringComparison.Ordinal) == true) is { } location)
                {
                    recoveryPatients.Add(location.Split('/')[1]);
                }
            }, cancellationToken);
        }

        if (request.To is not null && exit == ExitCodes.Ok)
        {
            using var target = Client(BaseUri(request.To, "--to"), handler, request.Token);
            var ids = request.From is not null ? recoveryPatients.Distinct().ToList()
                : request.Patients.Count > 0 ? request.Patients.ToList()
                : await AllPatientIdsAsync(recovery, cancellationToken);
            exit = await ForEachAsync("Pushing", ids, state.Pushed, async id =>
            {
                var export = await RetryAsync(() => recovery.InstanceOperationAsync(new Uri($"{server}/Patient/{id}"), "export-ehr",
                    new Parameters { { "format", new FhirString("us-core") } }, useGet: true), cancellationToken) as Bundle
                    ?? throw new InvalidOperationException($"Patient/{id}/$export-ehr answered no Bundle");
                var response = await RetryAsync(() => target.TransactionAsync(export), cancellationToken);
                Tally(response, "pushed");
            }, cancellationToken);
        }

        if (exit == ExitCodes.Ok && File.Exists(request.StateFile))
        {
            // Done: the next sync starts afresh (and is idempotent anyway).
            File.Delete(request.StateFile);
        }

        console.Out.WriteLine(Summary());
        return exit;

        async Task<int> ForEachAsync(string what, List<string> ids, List<string> done, Func<string, System.Threading.Tasks.Task> action, CancellationToken ct)
        {
            var pending = ids.Where(id => !done.Contains(id)).ToList();
            if (pending.Count < ids.Count)
            {
                console.Error.WriteLine($"{what}: resuming, {ids.Count - pending.Count} of {ids.Count} patients already done (--restart to redo them).");
            }

            async Task<int> RunAll(Action? step)
            {
                foreach (var id in pending)
                {
                    try
                    {
                        await action(id);
                    }
                    catch (FhirOperationException ex)
                    {
                        var message = ex.Outcome?.Issue.FirstOrDefault()?.Diagnostics ?? ex.Message;
                        console.Error.WriteLine($"{CliApp.CommandName}: {what.ToLowerInvariant()} patient {id}: HTTP {(int)ex.Status} {message}");
                        console.Error.WriteLine($"{CliApp.CommandName}: stopped; progress is saved in {request.StateFile}: run the same command again to resume.");
                        return ex.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound ? ExitCodes.UsageOrIo : ExitCodes.Invalid;
                    }
                    catch (HttpRequestException ex)
                    {
                        console.Error.WriteLine($"{CliApp.CommandName}: {what.ToLowerInvariant()} patient {id}: {ex.Message}; progress is saved in {request.StateFile}.");
                        return ExitCodes.UsageOrIo;
                    }

                    done.Add(id);
                    SaveState(state);
                    step?.Invoke();
                }

                return ExitCodes.Ok;
            }

            if (!console.ErrorIsTerminal || pending.Count == 0)
            {
                return await RunAll(null);
            }

            var result = ExitCodes.Ok;
            await AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(console.Error) }).Progress().AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask($"{what} {pending.Count} patients", maxValue: pending.Count);
                    result = await RunAll(() => task.Increment(1));
                });
            return result;
        }
    }

    private async Task<Bundle> PullAsync(FhirClient ehr, string baseUrl, string patientId, CancellationToken cancellationToken)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Collection };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(Resource resource)
        {
            if (seen.Add($"{resource.TypeName}/{resource.Id}"))
            {
                bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = $"{baseUrl.TrimEnd('/')}/{resource.TypeName}/{resource.Id}", Resource = resource });
            }
        }

        Add(await RetryAsync(() => ehr.ReadAsync<Patient>($"Patient/{patientId}"), cancellationToken) ?? throw new CliUsageException($"Patient/{patientId} is not on the EHR"));
        foreach (var (type, parameter) in PatientData)
        {
            var page = await RetryAsync(() => ehr.SearchAsync(type, [$"{parameter}=Patient/{patientId}"], pageSize: request.PageSize), cancellationToken);
            while (page is not null)
            {
                foreach (var resource in page.Entry.Where(e => e.Search?.Mode != Bundle.SearchEntryMode.Outcome).Select(e => e.Resource).OfType<Resource>())
                {
                    Add(resource);
                }

                var current = page;
                page = current.NextLink is null ? null : await RetryAsync(() => ehr.ContinueAsync(current), cancellationToken);
            }
        }

        // The people and organisations the data names, two hops (a role's practitioner and organisation).
        for (var hop = 0; hop < 2; hop++)
        {
            var wanted = bundle.Entry.SelectMany(e => ReferenceCollector.ReferencesIn(e.Resource!))
                .Where(r => r.Split('/') is [var t, _] && t is "Practitioner" or "PractitionerRole" or "Organization" && !seen.Contains(r)).Distinct().ToList();
            foreach (var reference in wanted)
            {
                try
                {
                    if (await RetryAsync(() => ehr.ReadAsync<Resource>(reference), cancellationToken) is { } found)
                    {
                        Add(found);
                    }
                }
                catch (FhirOperationException ex) when (ex.Status is HttpStatusCode.NotFound or HttpStatusCode.Gone)
                {
                    seen.Add(reference);
                }
            }
        }

        return bundle;
    }

    private async Task<List<string>> AllPatientIdsAsync(FhirClient client, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        var page = await RetryAsync(() => client.SearchAsync("Patient", ["_elements=id"], pageSize: request.PageSize), cancellationToken);
        while (page is not null)
        {
            ids.AddRange(page.Entry.Select(e => e.Resource).OfType<Patient>().Select(p => p.Id).OfType<string>());
            var current = page;
            page = current.NextLink is null ? null : await RetryAsync(() => client.ContinueAsync(current), cancellationToken);
        }

        return ids;
    }

    /// <summary>Retries what a retry can fix (429, 502-504, network errors), backing off exponentially.</summary>
    private async Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var first = SyncVerb.FirstBackoff ?? TimeSpan.FromSeconds(1);
        for (var attempt = 0; ; attempt++)
        {
            var asked = new RetryAfterReader.Answer();
            RetryAfterReader.Current.Value = asked;
            try
            {
                return await call();
            }
            catch (Exception ex) when (attempt < request.Retries && IsTransient(ex))
            {
                _retries++;
                // The server's Retry-After (429/503) wins over our own back-off: it knows when it will take more.
                var delay = asked.RetryAfter ?? TimeSpan.FromMilliseconds(first.TotalMilliseconds * Math.Pow(2, attempt));
                await System.Threading.Tasks.Task.Delay(delay < TimeSpan.FromSeconds(60) ? delay : TimeSpan.FromSeconds(60), TimeProvider.System, cancellationToken);
            }
        }
    }

    private static bool IsTransient(Exception ex)
    {
        switch (ex)
        {
            case FhirOperationException fhir when fhir.Status is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout:
                return true;
            case HttpRequestException or TaskCanceledException or IOException:
                return true;
            default:
                return false;
        }
    }

    private void Tally(Bundle? response, string direction)
    {
        foreach (var entry in response?.Entry ?? [])
        {
            var location = entry.Response?.Location ?? entry.FullUrl ?? "";
            var type = location.Split('/').FirstOrDefault(s => s.Length > 0 && char.IsUpper(s[0])) ?? "?";
            if (type == "Provenance")
            {
                continue;
            }

            var counts = _counts.TryGetValue(type, out var c) ? c : _counts[type] = new int[3];
            var status = entry.Response?.Status ?? "";
            if (status.StartsWith("201", StringComparison.Ordinal))
            {
                counts[0]++;
            }
            else if (entry.Response?.Outcome is OperationOutcome outcome && outcome.Issue.Any(i => i.Diagnostics?.Contains("unchanged", StringComparison.Ordinal) == true))
            {
                counts[2]++;
            }
            else
            {
                counts[1]++;
            }
        }

        _ = direction;
    }

    private string Summary()
    {
        var parts = _counts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value[0]} created, {p.Value[1]} updated, {p.Value[2]} unchanged");
        return $"Sync finished: {(_counts.Count == 0 ? "nothing to do" : string.Join("; ", parts))}{(_retries > 0 ? $"; {_retries} retries" : "")}.";
    }

    private static FhirClient Client(Uri baseUrl, HttpMessageHandler handler, string? token)
    {
        var http = new HttpClient(new RetryAfterReader { InnerHandler = handler }, disposeHandler: false) { Timeout = TimeSpan.FromMinutes(5) };
        if (token is { Length: > 0 })
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return new FhirClient(baseUrl, http, new FhirClientSettings { PreferredFormat = ResourceFormat.Json, VerifyFhirVersion = false, ReturnPreference = ReturnPreference.Minimal });
    }

    private static Uri BaseUri(string value, string option) =>
        Uri.TryCreate(value.TrimEnd('/'), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new CliUsageException($"{option} must be an http(s) FHIR base URL, not '{value}'.");

    private SyncState LoadState()
    {
        var key = $"{request.From}|{request.To}|{request.Server}";
        if (!request.Restart && File.Exists(request.StateFile))
        {
            try
            {
                var saved = JsonSerializer.Deserialize<SyncState>(File.ReadAllText(request.StateFile));
                if (saved?.Key == key)
                {
                    return saved;
                }
            }
            catch (JsonException)
            {
                // An unreadable state file is ignored: a full, idempotent sync is always safe.
            }
        }

        return new SyncState { Key = key };
    }

    private void SaveState(SyncState state) => File.WriteAllText(request.StateFile, JsonSerializer.Serialize(state));
}
/// <summary>
/// Reads Retry-After from throttled answers: FhirClient's exceptions keep no response headers, so the retry loop hands
/// each call a box (flowing down with the call) for this handler to fill.
/// </summary>
internal sealed class RetryAfterReader : DelegatingHandler
{
    public static readonly AsyncLocal<Answer?> Current = new();

    public sealed class Answer
    {
        public TimeSpan? RetryAfter { get; set; }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (Current.Value is { } answer && response.Headers.RetryAfter is { } retryAfter)
        {
            answer.RetryAfter = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - DateTimeOffset.UtcNow : null);
            if (answer.RetryAfter < TimeSpan.Zero)
            {
                answer.RetryAfter = TimeSpan.Zero;
            }
        }

        return response;
    }
}
