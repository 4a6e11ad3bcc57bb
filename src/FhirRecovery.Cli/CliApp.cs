using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Reflection;
using FhirRecovery.Cli.Verbs;
using FhirRecovery.Conformance.Definitions;

namespace FhirRecovery.Cli;

/// <summary>
/// The <c>fhir-recovery</c> command line: parses the arguments, runs the verb and maps every failure to an exit code
/// and a one-line message. Tests call <see cref="Run"/> in-process with their own writers.
/// </summary>
public static class CliApp
{
    public const string CommandName = "fhir-recovery";

    /// <summary>Set to 1 to see stack traces of unexpected failures (for developers; users get a message only).</summary>
    public const string DebugVariable = "FHIR_RECOVERY_DEBUG";

    public static string Version { get; } =
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static int Run(IReadOnlyList<string> args, CliConsole console)
    {
        try
        {
            var root = CreateRootCommand(console);
            var parsed = root.Parse(args);
            if (parsed.Action is ParseErrorAction)
            {
                // System.CommandLine would exit 1, which here means "invalid content": usage errors are 2.
                foreach (var error in parsed.Errors)
                {
                    console.Error.WriteLine($"{CommandName}: {error.Message}");
                }

                console.Error.WriteLine($"Run '{HelpHint(parsed)} --help' for usage.");
                return ExitCodes.UsageOrIo;
            }

            return parsed.Invoke(new InvocationConfiguration
            {
                Output = console.Out,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            });
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return Fail(console, ex);
        }
    }

    /// <summary>
    /// The root command, named fhir-recovery whatever the host process is (a RootCommand takes the executable's name,
    /// which is FhirRecovery.Cli, or the test host in-process).
    /// </summary>
    public static Command CreateRootCommand(CliConsole console)
    {
        var root = new Command(
            CommandName,
            "fhir-recovery: validate FHIR R4 resources against the FhirRecovery implementation guide (and any FHIR package), "
            + "pack or document the guide, generate sample data and load it into a FHIR server.\n\n"
            + "Exit codes: 0 no error, 1 an error or fatal issue in the content, 2 a usage or I/O problem.");

        // The default version action reads the entry assembly, which is the test host when run in-process.
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption { Action = new PrintVersionAction(console) });

        foreach (var verb in VerbRegistry.Verbs)
        {
            root.Subcommands.Add(verb.CreateCommand(console));
        }

        root.SetAction(parsed =>
        {
            new HelpAction().Invoke(parsed);
            return ExitCodes.UsageOrIo;
        });
        return root;
    }

    /// <summary>Maps a failure to its message and exit code; a stack trace only when <see cref="DebugVariable"/> asks for it.</summary>
    public static int Fail(CliConsole console, Exception ex)
    {
        var message = ex switch
        {
            CliUsageException => ex.Message,
            DefinitionLoadException => $"cannot load definitions: {ex.Message}",
            FileNotFoundException or DirectoryNotFoundException => $"not found: {ex.Message}",
            UnauthorizedAccessException => $"access denied: {ex.Message}",
            IOException => $"I/O error: {ex.Message}",
            _ => $"unexpected failure ({ex.GetType().Name}): {ex.Message}",
        };
        console.Error.WriteLine($"{CommandName}: {message}");
        if (Environment.GetEnvironmentVariable(DebugVariable) == "1")
        {
            console.Error.WriteLine(ex);
        }

        return ExitCodes.UsageOrIo;
    }

    private static string HelpHint(ParseResult parsed)
    {
        var names = new List<string>();
        for (var result = parsed.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Add(result.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    private sealed class PrintVersionAction(CliConsole console) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            console.Out.WriteLine(Version);
            return ExitCodes.Ok;
        }
    }
}
