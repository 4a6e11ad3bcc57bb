using System.Text;

namespace FhirRecovery.Cli;

// An explicit entry class rather than top-level statements: test projects reference both this tool and the server,
// and two global `Program` types would collide in them.
internal static class CliEntryPoint
{
    public static int Main(string[] args)
    {
        // Before anything builds a Regex: profiles and invariants bring patterns from outside.
        FhirRecovery.Conformance.RegexTimeout.Apply();

        // stdout is buffered (validating 20,000 resources writes 20,000 lines) and flushed however the command ends.
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        try
        {
            var console = new CliConsole(
                output,
                Console.Error,
                OutIsTerminal: !Console.IsOutputRedirected,
                ErrorIsTerminal: !Console.IsErrorRedirected,
                WorkingDirectory: Environment.CurrentDirectory);
            return CliApp.Run(args, console);
        }
        finally
        {
            output.Flush();
        }
    }
}
