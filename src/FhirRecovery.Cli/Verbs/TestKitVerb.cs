using System.CommandLine;
using FhirRecovery.TestKit.Auth;
using FhirRecovery.TestKit.Model;
using FhirRecovery.TestKit.Reports;
using FhirRecovery.TestKit.Running;
using FhirRecovery.TestKit.Suites;
using Spectre.Console;

namespace FhirRecovery.Cli.Verbs;

/// <summary>
/// <c>fhir-recovery testkit</c>: the interoperability test kit of the recovery guide (FhirRecovery.TestKit), run against
/// any FHIR server, with live progress, a summary and JUnit/HTML/JSON reports; <c>testkit list</c> shows its tests.
/// </summary>
public sealed class TestKitVerb : ICliVerb
{
    private static readonly AsyncLocal<Func<HttpMessageHandler>?> HandlerOverride = new();

    /// <summary>Test seam: the HTTP handler in this async flow (null: the network).</summary>
    public static Func<HttpMessageHandler>? HttpHandlerOverride
    {
        get => HandlerOverride.Value;
        set => HandlerOverride.Value = value;
    }

    public int Order => 70;

    public Command CreateCommand(CliConsole console)
    {
        var command = new Command("testkit",
            "The interoperability test kit of the recovery guide, for any FHIR server (like Inferno or Touchstone): suites "
            + $"{string.Join(", ", SuiteCatalog.Names)}. Each test has an id, a description and the requirement it checks.\n"
            + "Example: fhir-recovery testkit run --server http://localhost:5000/fhir --client-id kit --key kit-private.jwk --report artifacts/testkit");
        command.Subcommands.Add(RunCommand(console));
        command.Subcommands.Add(ListCommand(console));
        command.SetAction(parsed =>
        {
            new System.CommandLine.Help.HelpAction().Invoke(parsed);
            return ExitCodes.UsageOrIo;
        });
        return command;
    }

    private static Command RunCommand(CliConsole console)
    {
        var server = new Option<string>("--server") { Description = "The FHIR base of the server under test, e.g. http://localhost:5000/fhir.", Required = true, HelpName = "base" };
        var token = new Option<string?>("--token") { Description = $"Bearer token for the tests (it must create and read the guide's resources). Default: the {LoadVerb.TokenVariable} environment variable." };
        var clientId = new Option<string?>("--client-id") { Description = "SMART Backend Services client id: the kit signs a client assertion with --key and asks the token endpoint of .well-known/smart-configuration (client_credentials)." };
        var key = new Option<string?>("--key") { Description = "The Backend Services client's private key: a JWK or JWKS file (RSA for RS384, EC P-384 for ES384).", HelpName = "jwk-file" };
        var scope = new Option<string?>("--scope") { Description = "Scopes asked for with Backend Services. Default: system/*.cruds system/*.rs." };
        var patientToken = new Option<string?>("--patient-token") { Description = "A token confined to one patient (from a SMART patient launch) for the negative compartment tests; without it they are skipped." };
        var patientId = new Option<string?>("--patient-id") { Description = "That patient's id, when the patient token is not a JWT with a 'patient' claim." };
        var suites = new Option<string[]>("--suite") { Description = $"Suites to run (repeatable): {string.Join(", ", SuiteCatalog.Names)}. Default: all.", AllowMultipleArgumentsPerToken = true, HelpName = "name" };
        var report = new Option<string?>("--report") { Description = $"Folder for the reports: {KitReportWriter.JUnitFile} (JUnit XML), {KitReportWriter.HtmlFile} (self-contained HTML with requests and answers), {KitReportWriter.JsonFile}.", HelpName = "dir" };
        var command = new Command("run",
            "Run the test kit's suites against a server; live progress and a summary on stdout.\n"
            + "Without credentials the tests that need them are skipped, with the reason.\n"
            + "Exit code 0: no test failed (skips allowed); 1: a test failed; 2: usage or I/O problem, or no token could be obtained.")
        {
            server, token, clientId, key, scope, patientToken, patientId, suites, report,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var settings = Settings(console, parsed.GetValue(server)!, parsed.GetValue(token) ?? Environment.GetEnvironmentVariable(LoadVerb.TokenVariable),
                parsed.GetValue(clientId), parsed.GetValue(key), parsed.GetValue(suites) ?? []) with
            {
                PatientToken = parsed.GetValue(patientToken),
                PatientId = parsed.GetValue(patientId),
            };
            if (parsed.GetValue(scope) is { } scopes)
            {
                settings = settings with { Scope = scopes };
            }

            return await RunAsync(console, settings, parsed.GetValue(report), cancellationToken);
        });
        return command;
    }

    private static Command ListCommand(CliConsole console)
    {
        var suites = new Option<string[]>("--suite") { Description = "Only these suites (repeatable).", AllowMultipleArgumentsPerToken = true, HelpName = "name" };
        var command = new Command("list", "List the suites and their tests: id, description, and the requirement each checks (with its link).") { suites };
        command.SetAction(parsed =>
        {
            var selected = Select(parsed.GetValue(suites) ?? []);
            foreach (var suite in selected)
            {
                console.Out.WriteLine($"{suite.Name}: {suite.Description}");
                foreach (var test in suite.Tests)
                {
                    console.Out.WriteLine($"  {test.Id,-9} {test.Description}");
                    console.Out.WriteLine($"  {"",-9} requirement: {test.Requirement.Text} <{test.Requirement.Url}>");
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static KitSettings Settings(CliConsole console, string server, string? token, string? clientId, string? keyFile, string[] suites)
    {
        if (!Uri.TryCreate(server.TrimEnd('/'), UriKind.Absolute, out var baseUrl) || baseUrl.Scheme is not ("http" or "https"))
        {
            throw new CliUsageException($"--server must be an http(s) FHIR base URL, not '{server}'.");
        }

        if ((clientId is null) != (keyFile is null))
        {
            throw new CliUsageException("--client-id and --key go together (SMART Backend Services).");
        }

        if (token is not null && clientId is not null)
        {
            throw new CliUsageException("give either --token or --client-id with --key, not both.");
        }

        Select(suites);
        return new KitSettings
        {
            Server = baseUrl,
            Token = token,
            ClientId = clientId,
            PrivateKeyJwk = keyFile is null ? null : File.ReadAllText(console.FullPath(keyFile)),
            Suites = suites,
            Handler = HttpHandlerOverride?.Invoke(),
        };
    }

    private static IReadOnlyList<KitSuite> Select(string[] suites)
    {
        try
        {
            return SuiteCatalog.Select(suites);
        }
        catch (ArgumentException ex)
        {
            throw new CliUsageException(ex.Message);
        }
    }

    private static async Task<int> RunAsync(CliConsole console, KitSettings settings, string? reportDirectory, CancellationToken cancellationToken)
    {
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(console.Out),
            Ansi = console.OutIsTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = console.OutIsTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        ansi.MarkupLine($"Testing [bold]{Markup.Escape(settings.Server.AbsoluteUri)}[/] against the FhirRecovery guide");
        KitReport report;
        try
        {
            report = await new TestKitRunner(settings, new ConsoleProgress(ansi)).RunAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is AuthorizationFailedException or HttpRequestException or ArgumentException or System.Text.Json.JsonException)
        {
            throw new CliUsageException($"cannot start the test run: {ex.Message}");
        }

        var table = new Table().AddColumns("suite", "passed", "failed", "skipped");
        foreach (var suite in report.Results.GroupBy(r => r.Test.Suite))
        {
            table.AddRow(suite.Key, Count(suite, TestOutcome.Passed), Count(suite, TestOutcome.Failed), Count(suite, TestOutcome.Skipped));
        }

        ansi.Write(table);
        ansi.MarkupLine(report.Succeeded
            ? $"[green]{report.Passed} passed[/], {report.Skipped} skipped, no failures ({report.Duration.TotalSeconds:0.0} s)."
            : $"[red]{report.Failed} failed[/], {report.Passed} passed, {report.Skipped} skipped ({report.Duration.TotalSeconds:0.0} s).");
        if (reportDirectory is not null)
        {
            var files = KitReportWriter.WriteAll(report, console.FullPath(reportDirectory));
            ansi.MarkupLine("Reports: " + Markup.Escape(string.Join(", ", files)));
        }

        return report.Succeeded ? ExitCodes.Ok : ExitCodes.Invalid;
    }

    private static string Count(IEnumerable<TestResult> results, TestOutcome outcome) =>
        results.Count(r => r.Outcome == outcome).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>One line per test as it finishes: the outcome, id, description, and why it failed or was skipped.</summary>
    private sealed class ConsoleProgress(IAnsiConsole ansi) : ITestKitObserver
    {
        public void SuiteStarting(KitSuite suite) => ansi.MarkupLine($"[bold]{Markup.Escape(suite.Name)}[/]: {Markup.Escape(suite.Description)}");

        public void TestFinished(TestResult result)
        {
            var (mark, color) = result.Outcome switch
            {
                TestOutcome.Passed => ("PASS", "green"),
                TestOutcome.Failed => ("FAIL", "red"),
                _ => ("SKIP", "yellow"),
            };
            ansi.MarkupLine($"  [{color}]{mark}[/] {Markup.Escape(result.Test.Id)} {Markup.Escape(result.Test.Description)} [grey]({result.Duration.TotalMilliseconds:0} ms)[/]");
            if (result.Message is { } message)
            {
                ansi.MarkupLine($"       [{color}]{Markup.Escape(message)}[/]");
            }
        }
    }
}
