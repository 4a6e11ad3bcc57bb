using System.Diagnostics;
using System.Reflection;

namespace FhirRecovery.Cli.Tests;

/// <summary>What a command printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error, TimeSpan Elapsed)
{
    public string All => Out + Error;

    /// <summary>.NET stack frames look like "   at Namespace.Type.Method(...)"; users must never see one.</summary>
    public bool HasStackTrace =>
        System.Text.RegularExpressions.Regex.IsMatch(All, @"^\s+at [\w.`<>+]+\.[\w<>`]+\(", System.Text.RegularExpressions.RegexOptions.Multiline)
        || All.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase)
        || All.Contains("Stack overflow", StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Trim(Out)}\n--- stderr ---\n{Trim(Error)}";

    private static string Trim(string text) => text.Length > 4000 ? text[..4000] + "…" : text;
}

/// <summary>Runs <c>fhir-recovery</c> in-process (fast) or as the built executable (what users run).</summary>
public static class CliRunner
{
    public static CliResult Run(string workingDirectory, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var watch = Stopwatch.StartNew();
        var code = CliApp.Run(args, CliConsole.Redirected(output, error, workingDirectory));
        return new CliResult(code, output.ToString(), error.ToString(), watch.Elapsed);
    }

    /// <summary>In-process, from the repository root.</summary>
    public static CliResult RunInRepository(params string[] args) => Run(TestPaths.RepositoryRoot, args);

    public static string CliDirectory { get; } = typeof(CliRunner).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "CliOutputDirectory").Value!;

    /// <summary>Runs the built tool (dotnet FhirRecovery.Cli.dll) and kills it if it outlives <paramref name="timeout"/>.</summary>
    public static CliResult RunProcess(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(CliDirectory, "FhirRecovery.Cli.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"fhir-recovery {string.Join(' ', args)} did not finish within {timeout}.");
        }

        process.WaitForExit();
        return new CliResult(process.ExitCode, output.Result, error.Result, watch.Elapsed);
    }
}
