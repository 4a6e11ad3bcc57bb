using FhirRecovery.Conformance.Definitions;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Mapping;

/// <summary>
/// One EHR as the mappers see it: its ConceptMaps (the shipped defaults plus its own), and how its v2 identifier
/// authorities and coding-system names translate to FHIR URIs. Immutable once built; shared by all requests.
/// </summary>
public sealed class EhrProfile
{
    public const string GenericName = "generic";

    private static readonly FhirJsonDeserializer Json = new(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));

    private readonly Dictionary<string, string> _systemsToNames;
    private readonly Dictionary<string, string> _authoritiesBySystem;

    public EhrProfile(string name, EhrProfileOptions options, IReadOnlyList<ConceptMap> conceptMaps)
    {
        Name = name;
        Display = options.Display ?? name;
        SourceUri = options.SourceUri ?? $"urn:fhirrecovery:ehr:{name}";
        ConceptMaps = conceptMaps;
        TimeZone = options.TimeZone is "UTC" or "" ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(options.TimeZone);
        AssigningAuthorities = new Dictionary<string, string>(options.AssigningAuthorities, StringComparer.OrdinalIgnoreCase);
        var codingSystems = new Dictionary<string, string>(V2CodingSystems.Standard, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in options.CodingSystems)
        {
            codingSystems[key] = value;
        }

        CodingSystems = codingSystems;

        _systemsToNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in CodingSystems)
        {
            _systemsToNames.TryAdd(value, key);
        }

        _authoritiesBySystem = AssigningAuthorities.GroupBy(p => p.Value, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Key, StringComparer.Ordinal);
    }

    public string Name { get; }

    public string Display { get; }

    public string SourceUri { get; }

    /// <summary>Where local times without an offset are read.</summary>
    public TimeZoneInfo TimeZone { get; }

    /// <summary>The shipped default maps followed by the EHR's own (all are consulted).</summary>
    public IReadOnlyList<ConceptMap> ConceptMaps { get; }

    public IReadOnlyDictionary<string, string> AssigningAuthorities { get; }

    public IReadOnlyDictionary<string, string> CodingSystems { get; }

    /// <summary>The FHIR system of a v2 coding system name; unknown names get a stable URI of their own, so the name comes back on writing.</summary>
    public string SystemForV2Name(string name) =>
        CodingSystems.TryGetValue(name, out var uri) ? uri : $"{RecoveryCanonicals.SidBase}/v2-coding-system/{Uri.EscapeDataString(name)}";

    /// <summary>The v2 coding system name for a FHIR system (inverse of <see cref="SystemForV2Name"/>).</summary>
    public string? V2NameForSystem(string? system)
    {
        if (system is null)
        {
            return null;
        }

        if (_systemsToNames.TryGetValue(system, out var name))
        {
            return name;
        }

        const string prefix = RecoveryCanonicals.SidBase + "/v2-coding-system/";
        return system.StartsWith(prefix, StringComparison.Ordinal) ? Uri.UnescapeDataString(system[prefix.Length..]) : null;
    }

    /// <summary>The identifier system of a v2 assigning authority (namespace id, universal id, universal id type).</summary>
    public string SystemForAuthority(string? namespaceId, string? universalId, string? universalIdType)
    {
        if (!string.IsNullOrEmpty(namespaceId) && AssigningAuthorities.TryGetValue(namespaceId, out var configured))
        {
            return configured;
        }

        if (!string.IsNullOrEmpty(universalId))
        {
            return universalIdType?.ToUpperInvariant() switch
            {
                "ISO" => $"urn:oid:{universalId}",
                "UUID" => $"urn:uuid:{universalId}",
                "URI" => universalId,
                _ => $"{RecoveryCanonicals.SidBase}/v2-authority/{Uri.EscapeDataString(universalId)}",
            };
        }

        return $"{RecoveryCanonicals.SidBase}/v2-authority/{Uri.EscapeDataString(string.IsNullOrEmpty(namespaceId) ? "unknown" : namespaceId)}";
    }

    /// <summary>The v2 assigning authority (HD: namespace, universal id, type) of an identifier system.</summary>
    public (string? NamespaceId, string? UniversalId, string? UniversalIdType) AuthorityForSystem(string? system)
    {
        if (system is null)
        {
            return (null, null, null);
        }

        if (_authoritiesBySystem.TryGetValue(system, out var ns))
        {
            return (ns, null, null);
        }

        if (system.StartsWith("urn:oid:", StringComparison.Ordinal))
        {
            return (null, system[8..], "ISO");
        }

        const string prefix = RecoveryCanonicals.SidBase + "/v2-authority/";
        if (system.StartsWith(prefix, StringComparison.Ordinal))
        {
            return (Uri.UnescapeDataString(system[prefix.Length..]), null, null);
        }

        return system.StartsWith("urn:uuid:", StringComparison.Ordinal) ? (null, system[9..], "UUID") : (null, system, "URI");
    }

    /// <summary>Builds a profile, loading its ConceptMaps (files, Bundles or folders) after the shipped defaults.</summary>
    public static EhrProfile Load(string name, EhrProfileOptions options, string? baseDirectory, IReadOnlyList<ConceptMap> defaults)
    {
        var maps = new List<ConceptMap>(defaults);
        foreach (var path in options.ConceptMaps)
        {
            var full = ResolvePath(path, baseDirectory)
                       ?? throw new DefinitionLoadException($"EHR '{name}': ConceptMap path '{path}' was not found (relative to {baseDirectory ?? Environment.CurrentDirectory} or its parents).");
            maps.AddRange(ReadConceptMaps(full));
        }

        return new EhrProfile(name, options, maps);
    }

    /// <summary>Every ConceptMap in a file (a resource or a Bundle) or a folder of JSON files.</summary>
    public static IEnumerable<ConceptMap> ReadConceptMaps(string path)
    {
        var files = Directory.Exists(path) ? Directory.EnumerateFiles(path, "*.json").Order(StringComparer.Ordinal) : (IEnumerable<string>)[path];
        foreach (var file in files)
        {
            Resource resource;
            try
            {
                resource = Json.DeserializeResource(File.ReadAllText(file));
            }
            catch (Exception ex) when (ex is DeserializationFailedException or System.Text.Json.JsonException or InvalidOperationException)
            {
                throw new DefinitionLoadException($"'{file}' is not a readable FHIR JSON resource: {ex.Message}", ex);
            }

            if (resource is ConceptMap map)
            {
                yield return map;
            }
            else if (resource is Bundle bundle)
            {
                foreach (var inner in bundle.Entry.Select(e => e.Resource).OfType<ConceptMap>())
                {
                    yield return inner;
                }
            }
        }
    }

    /// <summary>An absolute path, or a relative one found under the base directory, the assembly folder or the parents of either.</summary>
    public static string? ResolvePath(string path, string? baseDirectory)
    {
        if (Path.IsPathRooted(path))
        {
            return File.Exists(path) || Directory.Exists(path) ? path : null;
        }

        foreach (var start in new[] { baseDirectory, Environment.CurrentDirectory, AppContext.BaseDirectory }.OfType<string>())
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, path);
                if (File.Exists(candidate) || Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}

/// <summary>HL7 v2 coding system names (table 0396) the mappers know without configuration.</summary>
public static class V2CodingSystems
{
    public static readonly IReadOnlyDictionary<string, string> Standard = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["SCT"] = "http://snomed.info/sct",
        ["SNM"] = "http://snomed.info/sct",
        ["LN"] = "http://loinc.org",
        ["I10"] = "http://hl7.org/fhir/sid/icd-10",
        ["I10C"] = "http://hl7.org/fhir/sid/icd-10-cm",
        ["I9C"] = "http://hl7.org/fhir/sid/icd-9-cm",
        ["UCUM"] = "http://unitsofmeasure.org",
        ["ISO639"] = "urn:ietf:bcp:47",
        ["HL70283"] = "http://terminology.hl7.org/CodeSystem/v2-0283",
        ["HL70280"] = "http://terminology.hl7.org/CodeSystem/v2-0280",
        ["HL70281"] = "http://terminology.hl7.org/CodeSystem/v2-0281",
        ["HL70282"] = "http://terminology.hl7.org/CodeSystem/v2-0282",
        ["HL70284"] = "http://terminology.hl7.org/CodeSystem/v2-0284",
        ["HL70286"] = "http://terminology.hl7.org/CodeSystem/v2-0286",
        ["HL70336"] = "http://terminology.hl7.org/CodeSystem/v2-0336",
        ["HL70203"] = "http://terminology.hl7.org/CodeSystem/v2-0203",
        // The recovery IG's own code systems under local (99zzz) names, so recovery codes survive a trip through v2.
        ["99FRR"] = RecoveryCanonicals.ReferralReason,
        ["99FRS"] = RecoveryCanonicals.ReferralStatusReason,
        ["99FRP"] = RecoveryCanonicals.PeerSupportService,
        ["99FRO"] = RecoveryCanonicals.PeerSupportOutcome,
        ["99FRB"] = RecoveryCanonicals.PeerSupportReferralStatus,
    };
}
