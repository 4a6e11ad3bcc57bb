using System.Collections.Concurrent;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Specification.Snapshot;
using Hl7.Fhir.Specification.Source;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Conformance.Definitions;

/// <summary>
/// Resolves every canonical resource of a set of <see cref="DefinitionSource"/>s (first source wins for a canonical),
/// parsing each one the first time it is asked for and keeping it. StructureDefinitions without a snapshot get one from
/// Firely's <see cref="SnapshotGenerator"/> on first use. Thread-safe; meant to live for the whole process.
/// </summary>
public sealed class DefinitionResolver : IAsyncResourceResolver
{
    public const string CoreStructureDefinitionBase = "http://hl7.org/fhir/StructureDefinition/";

    private readonly List<DefinitionSource> _sources;
    private readonly Dictionary<string, List<CanonicalEntry>> _byUrl = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CanonicalEntry> _byTypeAndId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyList<SearchParameter>> _searchParameters = new(StringComparer.Ordinal);
    // Static: resolvers share sources (and so parsed definitions), and generation mutates those definitions.
    private static readonly Lock SnapshotLock = new();

    public DefinitionResolver(IEnumerable<DefinitionSource> sources)
    {
        _sources = sources.ToList();
        foreach (var entry in _sources.SelectMany(s => s.Entries))
        {
            if (entry.Url is { } url)
            {
                if (!_byUrl.TryGetValue(url, out var list))
                {
                    _byUrl[url] = list = [];
                }

                list.Add(entry);
            }

            if (entry.Id is { } id)
            {
                _byTypeAndId.TryAdd($"{entry.ResourceType}/{id}", entry);
            }
        }
    }

    /// <summary>The core definitions from the default location, plus any further sources (which take precedence).</summary>
    public static DefinitionResolver CreateWithCore(params DefinitionSource[] moreSources) =>
        new(moreSources.Append(DefinitionSource.LoadCore()));

    public IReadOnlyList<DefinitionSource> Sources => _sources;

    /// <summary>Every indexed resource, highest-precedence source first.</summary>
    public IEnumerable<CanonicalEntry> Entries => _sources.SelectMany(s => s.Entries);

    public IEnumerable<CanonicalEntry> EntriesOf(string resourceType) => Entries.Where(e => e.ResourceType == resourceType);

    /// <summary>Finds the entry for <c>url</c> or <c>url|version</c>; without a version the highest-precedence one.</summary>
    public CanonicalEntry? FindEntry(string canonical)
    {
        var (url, version) = SplitCanonical(canonical);
        if (!_byUrl.TryGetValue(url, out var candidates))
        {
            return null;
        }

        if (version is null)
        {
            return candidates[0];
        }

        // FHIR allows partial versions ("1.0" matches "1.0.2"): take an exact match, then the first prefix match.
        return candidates.FirstOrDefault(c => c.Version == version)
               ?? candidates.FirstOrDefault(c => c.Version?.StartsWith(version + ".", StringComparison.Ordinal) == true);
    }

    public bool Contains(string canonical) => FindEntry(canonical) is not null;

    /// <summary>The parsed resource of an entry (parsed once per source, shared by every resolver using that source).</summary>
    public Resource? Resolve(CanonicalEntry entry) => entry.Source.Parse(entry);

    public T? Resolve<T>(string canonical) where T : Resource =>
        FindEntry(canonical) is { } entry ? Resolve(entry) as T : null;

    /// <summary>A StructureDefinition with its snapshot (generated on first use when the source has none).</summary>
    public StructureDefinition? FindStructureDefinition(string canonical)
    {
        var sd = Resolve<StructureDefinition>(canonical);
        if (sd is not null && !HasSnapshot(sd))
        {
            EnsureSnapshot(sd);
        }

        return sd;
    }

    /// <summary>The core definition of a FHIR type or resource (e.g. "Goal", "CodeableConcept", "string").</summary>
    public StructureDefinition? FindTypeDefinition(string typeName) =>
        FindStructureDefinition(typeName.Contains(':') ? typeName : CoreStructureDefinitionBase + typeName);

    public ValueSet? FindValueSet(string canonical) => Resolve<ValueSet>(canonical);

    public CodeSystem? FindCodeSystem(string canonical) => Resolve<CodeSystem>(canonical);

    public ConceptMap? FindConceptMap(string canonical) => Resolve<ConceptMap>(canonical);

    /// <summary>ConceptMaps whose source (and, when given, target) matches.</summary>
    public IEnumerable<ConceptMap> FindConceptMaps(string? sourceValueSet = null, string? targetValueSet = null)
    {
        foreach (var entry in EntriesOf("ConceptMap"))
        {
            if (Resolve(entry) is not ConceptMap map)
            {
                continue;
            }

            var source = (map.Source as Canonical)?.Value ?? (map.Source as FhirUri)?.Value;
            var target = (map.Target as Canonical)?.Value ?? (map.Target as FhirUri)?.Value;
            if ((sourceValueSet is null || source == sourceValueSet) && (targetValueSet is null || target == targetValueSet))
            {
                yield return map;
            }
        }
    }

    /// <summary>Search parameters whose base includes <paramref name="resourceType"/> (or Resource/DomainResource), core and IG.</summary>
    public IReadOnlyList<SearchParameter> SearchParametersFor(string resourceType) =>
        _searchParameters.GetOrAdd(resourceType, type =>
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var result = new List<SearchParameter>();
            foreach (var entry in EntriesOf("SearchParameter"))
            {
                if (!entry.Base.Any(b => b == type || b == "Resource" || (b == "DomainResource" && !IsInfrastructureResource(type))))
                {
                    continue;
                }

                if (Resolve(entry) is SearchParameter sp && sp.Code is { } code && seen.Add(code))
                {
                    result.Add(sp);
                }
            }

            return result;
        });

    private static bool IsInfrastructureResource(string type) => type is "Bundle" or "Parameters" or "Binary";

    public static (string Url, string? Version) SplitCanonical(string canonical)
    {
        var hash = canonical.IndexOf('#');
        if (hash >= 0)
        {
            canonical = canonical[..hash];
        }

        var bar = canonical.IndexOf('|');
        return bar < 0 ? (canonical, null) : (canonical[..bar], canonical[(bar + 1)..]);
    }

    private static bool HasSnapshot(StructureDefinition sd) => sd.Snapshot?.Element is { Count: > 0 };

    private void EnsureSnapshot(StructureDefinition sd)
    {
        // Firely's generator mutates the definitions it resolves (it adds snapshots to bases that lack one),
        // so generation is serialized; it runs once per profile per process.
        lock (SnapshotLock)
        {
            if (HasSnapshot(sd))
            {
                return;
            }

            if (sd.BaseDefinition is { } baseUrl)
            {
                DifferentialOrder.Sort(sd, FindStructureDefinition(baseUrl));
            }

            var generator = new SnapshotGenerator(this, new SnapshotGeneratorSettings
            {
                GenerateSnapshotForExternalProfiles = true,
                GenerateElementIds = true,
                ForceRegenerateSnapshots = false,
            });
            generator.UpdateAsync(sd).GetAwaiter().GetResult();
            if (generator.Outcome is { } outcome)
            {
                sd.AddAnnotation(new SnapshotOutcome(outcome));
            }
        }
    }

    // IAsyncResourceResolver: what Firely's snapshot generator and terminology services call.
    public Task<Resource?> ResolveByUriAsync(string uri) => Task.FromResult(ResolveByUri(uri));

    public Task<Resource?> ResolveByCanonicalUriAsync(string uri) => Task.FromResult(ResolveCanonicalForFirely(uri));

    public Task<ResolverResult> TryResolveByUriAsync(string uri) => Task.FromResult(ToResult(ResolveByUri(uri), uri));

    public Task<ResolverResult> TryResolveByCanonicalUriAsync(string uri) =>
        Task.FromResult(ToResult(ResolveCanonicalForFirely(uri), uri));

    private Resource? ResolveCanonicalForFirely(string uri)
    {
        var entry = FindEntry(uri);
        return entry is null ? null : Resolve(entry);
    }

    private Resource? ResolveByUri(string uri)
    {
        if (ResolveCanonicalForFirely(uri) is { } byCanonical)
        {
            return byCanonical;
        }

        // A location such as "http://example.org/fhir/ValueSet/x" or "ValueSet/x": match type and id.
        var parts = uri.Split('/');
        return parts.Length >= 2 && _byTypeAndId.TryGetValue($"{parts[^2]}/{parts[^1]}", out var entry) ? Resolve(entry) : null;
    }

    private static ResolverResult ToResult(Resource? resource, string uri) =>
        resource is not null ? new ResolverResult(resource) : new ResolverResult(new ResolverException(ResolverException.NOT_FOUND, $"'{uri}' is not known."));
}

/// <summary>Issues Firely's snapshot generator reported for a profile; kept so tooling can show them.</summary>
public sealed record SnapshotOutcome(OperationOutcome Outcome);
