using System.Text.Json;
using FhirRecovery.Conformance.Definitions;

namespace FhirRecovery.Cli.Packaging;

/// <summary>The implementation guide's source folder (profiles/) and its package.json.</summary>
internal sealed record IgSource(string Directory, string PackageId, string Version, byte[] Manifest)
{
    public const string ExamplesFolder = "examples";
    public const string InvalidExamplesFolder = "invalid";

    public string ExamplesDirectory => Path.Combine(Directory, ExamplesFolder);

    public string InvalidExamplesDirectory => Path.Combine(ExamplesDirectory, InvalidExamplesFolder);

    /// <summary>
    /// <paramref name="source"/> when given; else the nearest <c>profiles/</c> above the working directory (a checkout),
    /// else the copy of the IG shipped beside the tool.
    /// </summary>
    public static IgSource Locate(string? source, CliConsole console)
    {
        string directory;
        if (source is not null)
        {
            directory = console.FullPath(source);
            if (!System.IO.Directory.Exists(directory))
            {
                throw new CliUsageException($"--source: '{source}' is not a folder.");
            }
        }
        else
        {
            directory = FindProfilesAbove(console.WorkingDirectory)
                        ?? (File.Exists(Path.Combine(DefinitionSource.DefaultIgDirectory, "package.json"))
                            ? DefinitionSource.DefaultIgDirectory
                            : throw new CliUsageException("No profiles/ folder found above the current directory; name the IG source with --source."));
        }

        var manifestPath = Path.Combine(directory, "package.json");
        if (!File.Exists(manifestPath))
        {
            throw new CliUsageException($"'{directory}' has no package.json: it is not an IG source folder.");
        }

        var manifest = File.ReadAllBytes(manifestPath);
        try
        {
            using var document = JsonDocument.Parse(manifest);
            var root = document.RootElement;
            var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            var version = root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            if (string.IsNullOrWhiteSpace(name) || string.IsNullOrWhiteSpace(version))
            {
                throw new CliUsageException($"'{manifestPath}' must give the package's name and version.");
            }

            return new IgSource(directory, name, version, manifest);
        }
        catch (JsonException ex)
        {
            throw new CliUsageException($"'{manifestPath}' is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>The definition files: the folder itself and its definition sub-folders (as the engine loads them).</summary>
    public IEnumerable<string> DefinitionFiles() =>
        new[] { Directory }
            .Concat(DefinitionSource.IgDefinitionFolders.Select(f => Path.Combine(Directory, f)))
            .Where(System.IO.Directory.Exists)
            .SelectMany(d => System.IO.Directory.EnumerateFiles(d, "*.json"))
            .Where(f => Path.GetFileName(f) is not ("package.json" or ".index.json" or "package-lock.json"))
            .Order(StringComparer.Ordinal);

    /// <summary>The valid examples (never those in examples/invalid/).</summary>
    public IEnumerable<string> ExampleFiles() =>
        System.IO.Directory.Exists(ExamplesDirectory)
            ? System.IO.Directory.EnumerateFiles(ExamplesDirectory, "*.json").Order(StringComparer.Ordinal)
            : [];

    /// <summary>The invalid examples, without their <c>.outcome.json</c> files.</summary>
    public IEnumerable<string> InvalidExampleFiles() =>
        System.IO.Directory.Exists(InvalidExamplesDirectory)
            ? System.IO.Directory.EnumerateFiles(InvalidExamplesDirectory, "*.json")
                .Where(f => !f.EndsWith(".outcome.json", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)
            : [];

    private static string? FindProfilesAbove(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "profiles");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }

        return null;
    }
}
