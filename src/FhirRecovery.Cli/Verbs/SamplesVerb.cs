using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FhirRecovery.Samples;
using Hl7.Fhir.Model;
using Spectre.Console;

namespace FhirRecovery.Cli.Verbs;

/// <summary><c>fhir-recovery samples generate</c>: the reproducible synthetic data set and the benchmark corpus.</summary>
internal sealed class SamplesVerb : ICliVerb
{
    public int Order => 30;

    public Command CreateCommand(CliConsole console)
    {
        var command = new Command("samples", "Generate synthetic FhirRecovery data: a reproducible sample data set or a benchmark corpus.");
        command.Subcommands.Add(CreateGenerate(console));
        command.SetAction(parsed =>
        {
            // "samples" alone is incomplete: show what it offers.
            new System.CommandLine.Help.HelpAction().Invoke(parsed);
            return ExitCodes.UsageOrIo;
        });
        return command;
    }

    private static Command CreateGenerate(CliConsole console)
    {
        var patients = new Option<int?>("--patients", "-n")
        {
            Description = $"Generate a data set of this many patients (1-{SampleGenerator.MaxPatients}): each with a recovery care plan, "
                          + "2-6 goals with follow-up versions, questionnaire responses over time, consent and peer-support referrals "
                          + "(ServiceRequest + Task). Any 10 consecutive patients cover every Task state; any 4 all recovery domains.",
            HelpName = "N",
        };
        var corpus = new Option<int?>("--corpus")
        {
            Description = "Instead of a data set, write N resources of the four core recovery types (Goal, ServiceRequest, Task, "
                          + "QuestionnaireResponse; equal shares) as minified NDJSON to --output, for the validator benchmark.",
            HelpName = "N",
        };
        var seed = new Option<int>("--seed", "-s")
        {
            Description = $"Random seed (0 or more). The same seed and arguments give byte-identical files. Default: {SampleRequest.DefaultSeed}.",
            DefaultValueFactory = _ => SampleRequest.DefaultSeed,
            HelpName = "S",
        };
        var output = new Option<string?>("--output", "-o")
        {
            Description = "With --patients: the samples folder; files go to <output>/data (default: samples, so samples/data). "
                          + "Files an earlier run wrote there (00-shared.json, patient-*.json, zz-cohorts.json, NN-Type.ndjson) are replaced; others are kept. "
                          + "With --corpus: the NDJSON file to write (default: corpus.ndjson).",
            HelpName = "dir|file",
        };
        var start = new Option<string?>("--start")
        {
            Description = $"First enrolment date (yyyy-MM-dd); patients enrol over the next 150 days and are followed for up to about a year. "
                          + $"All dates derive from it, never from the clock. Default: {SampleRequest.DefaultStart:yyyy-MM-dd}.",
            HelpName = "date",
        };
        var format = new Option<string?>("--format", "-f")
        {
            Description = "bundle (default): FHIR transaction Bundles (PUT with ids), 00-shared.json then patient-NNNN-VV.json: VV=00 the "
                          + "enrolment, then one per follow-up visit holding the new versions of what changed, so loading the files in "
                          + "name order builds each resource's version history; zz-cohorts.json last: a Group per clinic listing its patients "
                          + "(for Group/[id]/$export). ndjson: one NN-Type.ndjson per resource type, numbered in "
                          + "reference order, each resource's versions in order.",
            HelpName = "bundle|ndjson",
        };
        format.AcceptOnlyFromAmong("bundle", "ndjson");
        var pretty = new Option<bool>("--pretty")
        {
            Description = "Indent the Bundles (about twice the size). Default: one entry per line.",
        };
        var validate = new Option<bool>("--validate")
        {
            Description = "Also validate every generated resource version against its profile with the conformance engine; exit 1 on an error.",
        };

        var command = new Command("generate",
            "Write a reproducible synthetic data set (fictional people) or a benchmark corpus.\n"
            + "Examples:\n  fhir-recovery samples generate --patients 60 --seed 42\n"
            + "  fhir-recovery samples generate --corpus 20000 --output corpus.ndjson\n"
            + "Exit code 0: written; 1: --validate found an error; 2: usage or I/O problem.")
        {
            patients, corpus, seed, output, start, format, pretty, validate,
        };
        command.SetAction(parsed => new SamplesRun(console, new SamplesRequest
        {
            Patients = parsed.GetValue(patients),
            Corpus = parsed.GetValue(corpus),
            Seed = parsed.GetValue(seed),
            Output = parsed.GetValue(output),
            Start = parsed.GetValue(start),
            Format = parsed.GetValue(format),
            Pretty = parsed.GetValue(pretty),
            Validate = parsed.GetValue(validate),
        }).Execute());
        return command;
    }
}

internal sealed record SamplesRequest
{
    public int? Patients { get; init; }
    public int? Corpus { get; init; }
    public int Seed { get; init; }
    public string? Output { get; init; }
    public string? Start { get; init; }
    public string? Format { get; init; }
    public bool Pretty { get; init; }
    public bool Validate { get; init; }
}

/// <summary>One run of <c>samples generate</c>.</summary>
internal sealed class SamplesRun(CliConsole console, SamplesRequest request)
{
    private const int MaxCorpus = 10_000_000;

    public int Execute()
    {
        if (request.Patients is null == request.Corpus is null)
        {
            throw new CliUsageException("give either --patients N (a data set) or --corpus N (a benchmark corpus).");
        }

        if (request.Seed < 0)
        {
            throw new CliUsageException($"--seed must be 0 or more, not {request.Seed}.");
        }

        var start = SampleRequest.DefaultStart;
        if (request.Start is { } text && !DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out start))
        {
            throw new CliUsageException($"--start must be a date like 2025-01-06, not '{text}'.");
        }

        return request.Corpus is { } count ? WriteCorpus(count, start) : WriteDataSet(request.Patients!.Value, start);
    }

    private int WriteDataSet(int patients, DateOnly start)
    {
        if (patients is < 1 or > SampleGenerator.MaxPatients)
        {
            throw new CliUsageException($"--patients must be 1-{SampleGenerator.MaxPatients}, not {patients}.");
        }

        var sampleRequest = new SampleRequest { Patients = patients, Seed = request.Seed, Start = start };
        var directory = Path.Combine(console.FullPath(request.Output ?? "samples"), "data");
        var format = request.Format == "ndjson" ? SampleFormat.Ndjson : SampleFormat.Bundle;
        if (format == SampleFormat.Ndjson && request.Pretty)
        {
            throw new CliUsageException("--pretty applies to --format bundle only (NDJSON is one resource per line).");
        }

        var watch = Stopwatch.StartNew();
        var summary = WithProgress("Generating patients", patients,
            progress => Write(() => SampleWriter.Write(sampleRequest, directory, format, request.Pretty, progress), directory));
        console.Out.WriteLine($"Wrote {patients} patients (seed {request.Seed}, start {start:yyyy-MM-dd}) to {directory} in {watch.Elapsed.TotalSeconds:0.0} s.");
        console.Out.WriteLine();
        console.Out.Write(summary.ToMarkdown());

        return request.Validate ? ValidateAll(SampleGenerator.Batches(sampleRequest).SelectMany(b => b.Resources), summary.Versions) : ExitCodes.Ok;
    }

    private int WriteCorpus(int count, DateOnly start)
    {
        if (count is < 1 or > MaxCorpus)
        {
            throw new CliUsageException($"--corpus must be 1-{MaxCorpus}, not {count}.");
        }

        if (request.Format is not null || request.Pretty)
        {
            throw new CliUsageException("--format and --pretty apply to --patients only: the corpus is always minified NDJSON.");
        }

        var path = console.FullPath(request.Output ?? "corpus.ndjson");
        if (Directory.Exists(path))
        {
            throw new CliUsageException($"--output: '{request.Output}' is a folder; with --corpus it names the NDJSON file to write.");
        }

        var watch = Stopwatch.StartNew();
        WithProgress("Generating corpus", count, progress => Write(() =>
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
            var written = 0;
            foreach (var line in BenchmarkCorpus.Lines(count, request.Seed, start))
            {
                writer.WriteLine(line);
                if (++written % 1000 == 0)
                {
                    progress?.Invoke(written);
                }
            }

            return written;
        }, path));
        console.Out.WriteLine($"Wrote {count} resources ({string.Join(", ", BenchmarkCorpus.ResourceTypes)}; seed {request.Seed}) "
                              + $"to {path}: {new FileInfo(path).Length / 1024.0 / 1024.0:0.0} MB in {watch.Elapsed.TotalSeconds:0.0} s.");
        return request.Validate ? ValidateAll(BenchmarkCorpus.Resources(count, request.Seed, start), count) : ExitCodes.Ok;
    }

    /// <summary>File-system failures are usage/I-O problems (exit 2) with the path in the message.</summary>
    private static T Write<T>(Func<T> write, string path)
    {
        try
        {
            return write();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"cannot write {path}: {ex.Message}", ex);
        }
    }

    private T WithProgress<T>(string title, int total, Func<Action<int>?, T> work)
    {
        if (!console.ErrorIsTerminal)
        {
            return work(null);
        }

        var ansi = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(console.Error) });
        T result = default!;
        ansi.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(title, maxValue: total);
                result = work(done => task.Value = done);
            });
        return result;
    }

    private int ValidateAll(IEnumerable<Resource> resources, int total)
    {
        var engine = EngineFactory.Create(new EngineRequest());
        var failures = new ConcurrentBag<(string Resource, string Issue)>();
        var checkedCount = 0;
        WithProgress("Validating", total, progress =>
        {
            foreach (var chunk in resources.Chunk(256))
            {
                Parallel.ForEach(chunk, resource =>
                {
                    foreach (var issue in engine.Validator.Validate(resource).Issues.Where(i => i.IsError))
                    {
                        failures.Add(($"{resource.TypeName}/{resource.Id}", $"{issue.Expression}: {issue.Message}"));
                    }
                });
                checkedCount += chunk.Length;
                progress?.Invoke(checkedCount);
            }

            return checkedCount;
        });

        foreach (var (resource, issue) in failures.OrderBy(f => f.Resource, StringComparer.Ordinal).ThenBy(f => f.Issue, StringComparer.Ordinal))
        {
            console.Error.WriteLine($"{CliApp.CommandName}: {resource}: {issue}");
        }

        console.Out.WriteLine($"\nValidated {checkedCount} resource versions: {(failures.IsEmpty ? "no errors" : $"{failures.Count} errors")}.");
        return failures.IsEmpty ? ExitCodes.Ok : ExitCodes.Invalid;
    }
}
