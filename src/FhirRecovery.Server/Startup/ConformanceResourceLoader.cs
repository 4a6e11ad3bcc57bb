using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Startup;

/// <summary>
/// Writes the IG's conformance resources into the store so the ordinary read and search serve them. Idempotent: each is
/// a conditional update on url|version, and an unchanged one is not written again (no new version on every start).
/// </summary>
public sealed class ConformanceResourceLoader(ConformanceEngine engine, IResourceStore store, ILogger<ConformanceResourceLoader> logger)
{
    public static readonly IReadOnlySet<string> ResourceTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "StructureDefinition", "ValueSet", "CodeSystem", "ConceptMap", "SearchParameter", "ImplementationGuide", "Questionnaire",
    };

    public async Task<int> LoadAsync(CancellationToken cancellationToken)
    {
        var entries = engine.Definitions.Entries
            .Where(e => e.PackageId != DefinitionSource.CorePackageId && ResourceTypes.Contains(e.ResourceType))
            .ToList();
        var written = 0;
        await using var session = await store.BeginAsync(cancellationToken);
        foreach (var entry in entries)
        {
            if (engine.Definitions.Resolve(entry) is not { } definition)
            {
                continue;
            }

            var resource = Prepare(definition);
            var existing = await FindAsync(session, entry, cancellationToken);
            resource.Id = existing?.Id ?? (ResourceNames.IsValidId(entry.Id) ? entry.Id : ResourceNames.NewId());
            if (existing?.Json is { } json && !existing.IsDeleted && SameContent(json, resource))
            {
                continue;
            }

            await session.UpdateAsync(resource, null, cancellationToken);
            written++;
        }

        await session.CommitAsync(cancellationToken);
        logger.LogInformation("Conformance resources: {Count} in the IG, {Written} written to the store", entries.Count, written);
        return written;
    }

    /// <summary>
    /// A copy to store. A snapshot the engine generated in memory is left out: the IG's source is its differential, and
    /// whether a snapshot had been generated yet must not make a new version.
    /// </summary>
    private static Resource Prepare(Resource definition)
    {
        var copy = (Resource)definition.DeepCopy();
        if (copy is StructureDefinition { Differential.Element.Count: > 0 } sd)
        {
            sd.Snapshot = null;
        }

        copy.Meta = null;
        return copy;
    }

    private static async Task<ResourceVersion?> FindAsync(IStoreSession session, CanonicalEntry entry, CancellationToken cancellationToken)
    {
        if (entry.Url is null)
        {
            return entry.Id is { } id && ResourceNames.IsValidId(id) ? await session.ReadAsync(entry.ResourceType, id, cancellationToken) : null;
        }

        List<KeyValuePair<string, string>> parameters = [new("url", entry.Url)];
        if (entry.Version is not null)
        {
            parameters.Add(new("version", entry.Version));
        }

        var result = await session.SearchAsync(new SearchRequest
        {
            ResourceType = entry.ResourceType,
            Parameters = parameters,
            Handling = SearchHandling.Strict,
        }, cancellationToken);
        return result.Matches.FirstOrDefault();
    }

    private static bool SameContent(byte[] storedJson, Resource candidate)
    {
        var stored = FhirSerialization.ParseStored(storedJson);
        stored.Meta = null;
        return FhirSerialization.SerializeToJson(stored).AsSpan().SequenceEqual(FhirSerialization.SerializeToJson(candidate));
    }
}
