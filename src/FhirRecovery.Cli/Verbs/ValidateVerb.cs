using System.CommandLine;
using System.Diagnostics;
using FhirRecovery.Cli.Validation;
using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Rest;
using Spectre.Console;
using ValidationResult = FhirRecovery.Conformance.Validation.ValidationResult;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Cli.Verbs;

/// <summary><c>fhir-recovery validate</c>: validates resource files, folders, NDJSON and FHIR packages.</summary>
internal sealed class ValidateVerb : ICliVerb
{
    public int Order => 10;

    public Command CreateCommand(CliConsole console)
    {
        var inputs = new Argument<string[]>("input")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = "Files or folders to validate: a JSON or XML resource (a Bundle is one resource), an .ndjson file "
                          + "(one resource per line), a FHIR package .tgz (every resource in package/ and package/example/), "
                          + "or a folder (its *.json, *.xml and *.ndjson files).",
        };
        var profiles = new Option<string[]>("--profile", "-p")
        {
            Description = "Also validate against this profile (a StructureDefinition canonical), besides meta.profile. Repeatable.",
            HelpName = "canonical",
        };
        var loads = new Option<string[]>("--load", "-l")
        {
            Description = "Load definitions first: a FHIR package (.tgz or folder) or loose resource files (JSON/XML). Repeatable.",
            HelpName = "file|dir|package.tgz",
        };
        var format = new Option<string>("--format", "-f")
        {
            Description = "text: a verdict per resource and a summary. json: one OperationOutcome for a single resource file, "
                          + "else one OperationOutcome per line (NDJSON); each names its source in the extension "
                          + JsonValidationReport.FileExtension + " (and the NDJSON line in operationoutcome-issue-line).",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "json");
        var recursive = new Option<bool>("--recursive", "-r") { Description = "Descend into sub-folders of folder inputs." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Show information issues too (text format)." };
        var noIg = new Option<bool>("--no-ig")
        {
            Description = "Do not load the built-in FhirRecovery IG: only the FHIR core and what --load adds.",
        };

        var command = new Command("validate", "Validate FHIR R4 resources against the core specification, their meta.profile and --profile.\n"
                                              + "Exit code 0: no error; 1: an error or fatal issue; 2: usage or I/O problem.")
        {
            inputs, profiles, loads, format, recursive, verbose, noIg,
        };
        command.SetAction(parsed => new ValidateRun(console, new ValidateRequest
        {
            Inputs = parsed.GetValue(inputs) ?? [],
            Profiles = parsed.GetValue(profiles) ?? [],
            Loads = parsed.GetValue(loads) ?? [],
            Json = parsed.GetValue(format) == "json",
            Recursive = parsed.GetValue(recursive),
            Verbose = parsed.GetValue(verbose),
            IncludeIg = !parsed.GetValue(noIg),
        }).Execute());
        return command;
    }
}

internal sealed record ValidateRequest
{
    public required IReadOnlyList<string> Inputs { get; init; }
    public IReadOnlyList<string> Profiles { get; init; } = [];
    public IReadOnlyList<string> Loads { get; init; } = [];
    public bool Json { get; init; }
    public bool Recursive { get; init; }
    public bool Verbose { get; init; }
    public bool IncludeIg { get; init; } = true;
}

/// <summary>One run of <c>validate</c>: inputs checked, engine built once, resources streamed through the validator.</summary>
internal sealed class ValidateRun(CliConsole console, ValidateRequest request)
{
    /// <summary>Inputs above either size get a progress bar (when stderr is a terminal).</summary>
    private const long ProgressBytes = 5L * 1024 * 1024;
    private const int ProgressFiles = 200;

    /// <summary>Bigger resources are refused unread: the validator holds a resource in memory several times over.</summary>
    private const long MaxResourceBytes = 256L * 1024 * 1024;

    public int Execute()
    {
        var files = InputCollector.Collect(request.Inputs, request.Recursive, console);
        var loads = request.Loads.Select(console.FullPath).ToList();
        foreach (var (load, given) in loads.Zip(request.Loads))
        {
            if (!File.Exists(load) && !Directory.Exists(load))
            {
                throw new CliUsageException($"--load: '{given}' does not exist.");
            }
        }

        var engine = EngineFactory.Create(new EngineRequest { Packages = loads, IncludeIg = request.IncludeIg });
        CheckProfiles(engine);

        var single = files is [{ Kind: InputKind.Resource }];
        var totalBytes = files.Sum(f => f.Size);
        var showProgress = console.ErrorIsTerminal && (totalBytes > ProgressBytes || files.Count > ProgressFiles);
        var tally = new ValidationTally();
        if (!showProgress)
        {
            ValidateAll(engine, files, CreateReport(console.Out, single), tally, null);
        }
        else
        {
            RunWithProgress(engine, files, single, totalBytes, tally);
        }

        return tally.UnreadableInputs > 0 ? ExitCodes.UsageOrIo
            : tally.Failed > 0 ? ExitCodes.Invalid
            : ExitCodes.Ok;
    }

    private IValidationReport CreateReport(TextWriter output, bool single) =>
        request.Json ? new JsonValidationReport(output, console.Error, single) : new TextValidationReport(output, request.Verbose);

    private void CheckProfiles(ConformanceEngine engine)
    {
        foreach (var profile in request.Profiles)
        {
            if (engine.Definitions.FindEntry(profile) is not { ResourceType: "StructureDefinition" })
            {
                throw new CliUsageException(
                    $"--profile: '{profile}' is not a known StructureDefinition. Check the canonical, or add its package with --load.");
            }

            if (engine.Definitions.FindStructureDefinition(profile)?.Snapshot?.Element is not { Count: > 0 })
            {
                throw new CliUsageException($"--profile: the snapshot of '{profile}' could not be generated.");
            }
        }
    }

    private void RunWithProgress(ConformanceEngine engine, List<InputFile> files, bool single, long totalBytes, ValidationTally tally)
    {
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(console.Error) });

        // When stdout is the same terminal, report lines are drawn above the bar (through Spectre) in batches;
        // written directly they would tear the bar apart.
        var buffer = console.OutIsTerminal ? new StringWriter() : null;
        var report = CreateReport(buffer ?? console.Out, single);
        ansi.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("Validating", maxValue: Math.Max(totalBytes, 1));
                ValidateAll(engine, files, report, tally, bytes =>
                {
                    task.Value = Math.Min(bytes, totalBytes);
                    if (buffer is not null && buffer.GetStringBuilder().Length > 0)
                    {
                        ansi.Write(new Text(buffer.ToString()));
                        buffer.GetStringBuilder().Clear();
                    }
                });
            });
        if (buffer is not null)
        {
            console.Out.Write(buffer.ToString());
        }
    }

    private void ValidateAll(ConformanceEngine engine, List<InputFile> files, IValidationReport report, ValidationTally tally, Action<long>? progress)
    {
        var reader = new InputReader(MaxResourceBytes);
        var watch = Stopwatch.StartNew();
        var batch = new Batch();
        var doneBytes = 0L;
        foreach (var file in files)
        {
            using var resources = reader.Read(file).GetEnumerator();
            while (true)
            {
                try
                {
                    if (!resources.MoveNext())
                    {
                        break;
                    }
                }
                catch (Exception ex) when (IsUnreadable(ex))
                {
                    var message = file.Kind == InputKind.Package
                        ? $"not a readable FHIR package (.tgz): {ex.Message}"
                        : $"cannot read: {ex.Message}";
                    batch.Items.Add(new BatchItem(null, file.DisplayPath, message));
                    break;
                }

                batch.Add(resources.Current);
                if (batch.IsFull)
                {
                    Flush(engine, batch, report, tally);
                    progress?.Invoke(doneBytes + reader.Position);
                }
            }

            doneBytes += file.Size;
        }

        Flush(engine, batch, report, tally);
        progress?.Invoke(doneBytes);
        tally.Elapsed = watch.Elapsed;
        report.Summary(tally);
    }

    /// <summary>
    /// Validates a batch on every core and reports it in input order. Batches are small (in count and bytes), so memory
    /// stays bounded whatever the input's size.
    /// </summary>
    private void Flush(ConformanceEngine engine, Batch batch, IValidationReport report, ValidationTally tally)
    {
        Parallel.ForEach(
            batch.Items.Where(i => i.Input is not null),
            new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            item => item.Result = Validate(engine, item.Input!));
        foreach (var item in batch.Items)
        {
            if (item.Input is { } input)
            {
                tally.Add(item.Result!);
                report.Verdict(input, item.Result!);
            }
            else
            {
                tally.UnreadableInputs++;
                report.Unreadable(item.Location, item.Problem!);
                console.Error.WriteLine($"{CliApp.CommandName}: {item.Location}: {item.Problem}");
            }
        }

        batch.Clear();
    }

    private sealed class BatchItem(InputResource? input, string location, string? problem)
    {
        public InputResource? Input { get; } = input;
        public string Location { get; } = location;
        public string? Problem { get; } = problem;
        public ValidationResult? Result { get; set; }
    }

    private sealed class Batch
    {
        private const int MaxCount = 256;
        private const long MaxBytes = 32L * 1024 * 1024;
        private long _bytes;

        public List<BatchItem> Items { get; } = [];

        public bool IsFull => Items.Count >= MaxCount || _bytes >= MaxBytes;

        public void Add(InputResource input)
        {
            Items.Add(new BatchItem(input, input.Location, null));
            _bytes += input.Content.Length;
        }

        public void Clear()
        {
            Items.Clear();
            _bytes = 0;
        }
    }

    private ValidationResult Validate(ConformanceEngine engine, InputResource input)
    {
        if (input.Refusal is { } refusal)
        {
            return new ValidationResult([new ValidationIssue(IssueSeverity.Fatal, IssueType.TooCostly, refusal, null, IssueKind.Structure)], null);
        }

        try
        {
            return engine.Validator.Validate(input.Content, input.IsNdjson ? ResourceFormat.Json : ResourceFormat.Unknown, request.Profiles);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // One resource the validator cannot handle must not stop the others.
            return new ValidationResult(
                [new ValidationIssue(IssueSeverity.Fatal, IssueType.Exception, $"The validator failed on this resource: {ex.Message}", null)],
                null);
        }
    }

    private static bool IsUnreadable(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or InvalidDataException or FormatException or ArgumentException
            or NotSupportedException or InvalidOperationException;
}
