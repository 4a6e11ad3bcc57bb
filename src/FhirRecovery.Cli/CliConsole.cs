namespace FhirRecovery.Cli;

/// <summary>
/// Where a command writes and which directory relative paths start from. The real console in <c>Program</c>; string
/// writers and a temporary directory in tests, so commands run in-process exactly as from a shell.
/// </summary>
public sealed record CliConsole(
    TextWriter Out,
    TextWriter Error,
    bool OutIsTerminal,
    bool ErrorIsTerminal,
    string WorkingDirectory)
{
    /// <summary>A console writing to the given writers, as when both streams are redirected (no progress bar).</summary>
    public static CliConsole Redirected(TextWriter output, TextWriter error, string? workingDirectory = null) =>
        new(output, error, false, false, workingDirectory ?? Environment.CurrentDirectory);

    /// <summary>A path from the command line, made absolute against <see cref="WorkingDirectory"/>.</summary>
    public string FullPath(string path) => Path.GetFullPath(path, WorkingDirectory);
}
