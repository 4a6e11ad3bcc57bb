using FhirRecovery.Cli;

namespace FhirRecovery.Samples.Tests;

/// <summary>What a command printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    public bool HasStackTrace => System.Text.RegularExpressions.Regex.IsMatch(Out + Error, @"^\s+at [\w.`<>+]+\.[\w<>`]+\(", System.Text.RegularExpressions.RegexOptions.Multiline);

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}

/// <summary>Runs fhir-recovery in-process, as from a shell in <paramref name="workingDirectory"/>.</summary>
public static class CliRunner
{
    public static CliResult Run(string workingDirectory, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = CliApp.Run(args, CliConsole.Redirected(output, error, workingDirectory));
        return new CliResult(code, output.ToString(), error.ToString());
    }
}
