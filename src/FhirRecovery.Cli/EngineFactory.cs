using System.Collections.Concurrent;
using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Definitions;

namespace FhirRecovery.Cli;

/// <summary>What definitions a command needs.</summary>
public sealed record EngineRequest
{
    /// <summary>FHIR packages (.tgz or folder) or loose resource files given with <c>--load</c>; they win over the IG and core.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary>Load the FhirRecovery IG (false for <c>--no-ig</c>).</summary>
    public bool IncludeIg { get; init; } = true;

    /// <summary>The IG's source folder; null: the copy beside the assembly.</summary>
    public string? IgDirectory { get; init; }
}

/// <summary>
/// The one place the CLI builds a <see cref="ConformanceEngine"/>: every verb comes here, so wiring a new engine
/// feature (e.g. terminology options) is one change.
/// </summary>
public static class EngineFactory
{
    // One engine per distinct request and process: a command uses one, and in-process hosts (the tests) running many
    // commands would otherwise re-index the core for each.
    private static readonly ConcurrentDictionary<string, Lazy<ConformanceEngine>> Engines = new(StringComparer.Ordinal);

    public static ConformanceEngine Create(EngineRequest request)
    {
        var packages = request.Packages.Select(Path.GetFullPath).ToList();
        foreach (var package in packages.Where(p => !File.Exists(p) && !Directory.Exists(p)))
        {
            throw new CliUsageException($"--load: '{package}' does not exist.");
        }

        var options = new ConformanceOptions
        {
            Packages = packages,
            IgDirectory = request.IncludeIg ? request.IgDirectory : "",
        };

        var key = string.Join('\n', packages.Select(Fingerprint).Prepend(options.IgDirectory ?? "<default>"));
        var lazy = Engines.GetOrAdd(key, _ => new Lazy<ConformanceEngine>(() => ConformanceEngine.Create(options)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // A failed load (bad package) must not stay cached: the file may be fixed and the command run again.
            Engines.TryRemove(key, out _);
            throw;
        }
    }

    private static string Fingerprint(string path) =>
        File.Exists(path) ? $"{path}|{new FileInfo(path).Length}|{File.GetLastWriteTimeUtc(path).Ticks}" : path;
}
