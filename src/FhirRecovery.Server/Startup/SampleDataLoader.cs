using System.Text;
using FhirRecovery.Server.Configuration;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Startup;

/// <summary>
/// Loads the sample data set (<see cref="SampleOptions.Path"/>): transaction/batch Bundles as they are, other Bundles
/// and single resources as transactions of PUTs (ids kept, so references between files hold), NDJSON in transactions of
/// up to <see cref="ChunkSize"/> resources. Everything goes through the same transaction machinery as the API, as a
/// <see cref="WriteMode.HistoryImport"/> (<c>X-FhirRecovery-Import: history</c>), like <c>fhir-recovery load</c>.
/// </summary>
public sealed class SampleDataLoader(
    BundleProcessor processor,
    IOptions<SampleOptions> options,
    IHostEnvironment environment,
    ILogger<SampleDataLoader> logger)
{
    public const int ChunkSize = 500;

    public async Task<int> LoadAsync(CancellationToken cancellationToken)
    {
        var folder = FindFolder(options.Value.Path, environment.ContentRootPath);
        if (folder is null)
        {
            logger.LogWarning("Sample data folder '{Path}' not found (Samples:Path); starting with an empty store", options.Value.Path);
            return 0;
        }

        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            logger.LogWarning("Sample data folder '{Folder}' has no .json or .ndjson files; starting with an empty store", folder);
            return 0;
        }

        // The sample set is a recorded history (versions in order, files by type): loaded as `fhir-recovery load` sends it.
        var context = new BundleContext("urn:fhirrecovery:samples", PreferReturn.Minimal, SearchHandling.Strict, WriteMode.HistoryImport);
        var loaded = 0;
        foreach (var file in files)
        {
            try
            {
                foreach (var bundle in Read(file))
                {
                    await processor.ProcessAsync(bundle, context, cancellationToken);
                    loaded += bundle.Entry.Count;
                }
            }
            catch (FhirException ex)
            {
                // One bad file does not keep the server from starting; the log says which and why.
                logger.LogWarning("Sample file {File} was not loaded: {Reason}", file, string.Join(" | ", ex.Outcome.Issue.Select(i => i.Diagnostics)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("Sample file {File} could not be read: {Reason}", file, ex.Message);
            }
        }

        logger.LogInformation("Sample data: {Count} entries from {Files} files in {Folder}", loaded, files.Count, folder);
        return loaded;
    }

    /// <summary>A relative path is looked for under the content root, then under its parent folders.</summary>
    public static string? FindFolder(string path, string contentRoot)
    {
        if (Path.IsPathRooted(path))
        {
            return Directory.Exists(path) ? path : null;
        }

        for (var directory = new DirectoryInfo(contentRoot); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, path);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static IEnumerable<Bundle> Read(string file)
    {
        if (file.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase))
        {
            var resources = File.ReadLines(file, Encoding.UTF8)
                .Where(line => !string.IsNullOrWhiteSpace(line))
                .Select(line => FhirSerialization.Parse(Encoding.UTF8.GetBytes(line), FhirFormat.Json));
            foreach (var chunk in VersionSafeChunks(resources))
            {
                yield return AsTransaction(chunk);
            }

            yield break;
        }

        var resource = FhirSerialization.Parse(File.ReadAllBytes(file), FhirFormat.Json);
        yield return resource switch
        {
            Bundle { Type: Bundle.BundleType.Transaction or Bundle.BundleType.Batch } bundle => bundle,
            Bundle other => AsTransaction(other.Entry.Select(e => e.Resource).OfType<Resource>()),
            _ => AsTransaction([resource]),
        };
    }

    /// <summary>
    /// Chunks of at most <see cref="ChunkSize"/> resources, cut early where a resource repeats: an NDJSON file may hold
    /// several versions of one resource in order, and a transaction may change a resource only once.
    /// </summary>
    private static IEnumerable<List<Resource>> VersionSafeChunks(IEnumerable<Resource> resources)
    {
        var chunk = new List<Resource>(ChunkSize);
        var inChunk = new HashSet<string>(StringComparer.Ordinal);
        foreach (var resource in resources)
        {
            var key = resource.Id is null ? null : $"{resource.TypeName}/{resource.Id}";
            if (chunk.Count == ChunkSize || (key is not null && inChunk.Contains(key)))
            {
                yield return chunk;
                chunk = new List<Resource>(ChunkSize);
                inChunk.Clear();
            }

            chunk.Add(resource);
            if (key is not null)
            {
                inChunk.Add(key);
            }
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }

    private static Bundle AsTransaction(IEnumerable<Resource> resources)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        foreach (var resource in resources)
        {
            var withId = ResourceNames.IsValidId(resource.Id);
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = withId ? $"urn:fhirrecovery:samples/{resource.TypeName}/{resource.Id}" : $"urn:uuid:{Guid.NewGuid()}",
                Resource = resource,
                Request = new Bundle.RequestComponent
                {
                    Method = withId ? Bundle.HTTPVerb.PUT : Bundle.HTTPVerb.POST,
                    Url = withId ? $"{resource.TypeName}/{resource.Id}" : resource.TypeName,
                },
            });
        }

        return bundle;
    }
}
