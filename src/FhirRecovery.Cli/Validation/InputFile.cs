namespace FhirRecovery.Cli.Validation;

internal enum InputKind
{
    /// <summary>One JSON or XML resource (a Bundle counts as one).</summary>
    Resource,

    /// <summary>Newline-delimited JSON: one resource per line.</summary>
    Ndjson,

    /// <summary>A FHIR NPM package (.tgz): the resources in <c>package/</c> and <c>package/example/</c>.</summary>
    Package,
}

/// <summary>A file named on the command line or found in a directory named there.</summary>
/// <param name="DisplayPath">The path as the user wrote it (joined with the file's place under a directory argument).</param>
internal sealed record InputFile(string DisplayPath, string FullPath, InputKind Kind, long Size)
{
    public static InputKind KindOf(string path) =>
        path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase) ? InputKind.Ndjson
        : path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) ? InputKind.Package
        : InputKind.Resource;
}

/// <summary>Turns the <c>validate</c> arguments into the list of files to read, refusing what does not exist up front.</summary>
internal static class InputCollector
{
    private static readonly string[] ResourceExtensions = [".json", ".xml", ".ndjson"];

    // Hidden folders (.git, .vs) and unreadable ones are not descended into.
    private static readonly EnumerationOptions Enumeration = new()
    {
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        RecurseSubdirectories = false,
    };

    /// <summary>Only the names and sizes are kept: the contents are read one file (one line) at a time.</summary>
    public static List<InputFile> Collect(IEnumerable<string> arguments, bool recursive, CliConsole console)
    {
        var files = new List<InputFile>();
        var problems = new List<string>();
        foreach (var argument in arguments)
        {
            var full = console.FullPath(argument);
            if (File.Exists(full))
            {
                files.Add(new InputFile(argument, full, InputFile.KindOf(full), new FileInfo(full).Length));
            }
            else if (Directory.Exists(full))
            {
                var before = files.Count;
                AddDirectory(argument, full, recursive, files);
                if (files.Count == before)
                {
                    problems.Add(recursive
                        ? $"'{argument}' holds no resource files (*.json, *.xml, *.ndjson), not even in sub-folders."
                        : $"'{argument}' holds no resource files (*.json, *.xml, *.ndjson); use --recursive to look in sub-folders.");
                }
            }
            else
            {
                problems.Add($"'{argument}' does not exist.");
            }
        }

        return problems.Count > 0 ? throw new CliUsageException(string.Join(Environment.NewLine, problems)) : files;
    }

    private static void AddDirectory(string display, string directory, bool recursive, List<InputFile> files)
    {
        foreach (var file in Directory.EnumerateFiles(directory, "*", Enumeration)
                     .Where(f => ResourceExtensions.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
                     .Order(StringComparer.Ordinal))
        {
            files.Add(new InputFile(Path.Combine(display, Path.GetFileName(file)), file, InputFile.KindOf(file), new FileInfo(file).Length));
        }

        if (!recursive)
        {
            return;
        }

        // Linked folders are not followed: a link to an ancestor would never end.
        foreach (var sub in Directory.EnumerateDirectories(directory, "*", Enumeration).Order(StringComparer.Ordinal)
                     .Where(d => new DirectoryInfo(d).LinkTarget is null))
        {
            AddDirectory(Path.Combine(display, Path.GetFileName(sub)), sub, recursive, files);
        }
    }
}
