using System.Xml;
using System.Xml.Linq;

namespace FhirRecovery.Mapping.Ccda;

/// <summary>CDA namespaces, template ids and code system OIDs used by the C-CDA goal mappers.</summary>
public static class CdaNames
{
    public static readonly XNamespace V3 = "urn:hl7-org:v3";
    public static readonly XNamespace Xsi = "http://www.w3.org/2001/XMLSchema-instance";
    public static readonly XNamespace Sdtc = "urn:hl7-org:sdtc";

    public const string GoalsSection = "2.16.840.1.113883.10.20.22.2.60";
    public const string PlanOfTreatmentSection = "2.16.840.1.113883.10.20.22.2.10";
    public const string GoalObservation = "2.16.840.1.113883.10.20.22.4.121";
    public const string HealthConcernAct = "2.16.840.1.113883.10.20.22.4.132";
    public const string ProblemObservation = "2.16.840.1.113883.10.20.22.4.4";
    public const string PriorityPreference = "2.16.840.1.113883.10.20.22.4.143";
    public const string UsRealmHeader = "2.16.840.1.113883.10.20.22.1.1";

    private static readonly Dictionary<string, string> OidToSystem = new(StringComparer.Ordinal)
    {
        ["2.16.840.1.113883.6.1"] = "http://loinc.org",
        ["2.16.840.1.113883.6.96"] = "http://snomed.info/sct",
        ["2.16.840.1.113883.6.90"] = "http://hl7.org/fhir/sid/icd-10-cm",
        ["2.16.840.1.113883.6.3"] = "http://hl7.org/fhir/sid/icd-10",
        ["2.16.840.1.113883.6.88"] = "http://www.nlm.nih.gov/research/umls/rxnorm",
        ["2.16.840.1.113883.5.1"] = "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender",
        ["2.16.840.1.113883.4.6"] = "http://hl7.org/fhir/sid/us-npi",
    };

    private static readonly Dictionary<string, string> SystemToOid = OidToSystem.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    public static string SystemFor(string oid) => OidToSystem.TryGetValue(oid, out var system) ? system : $"urn:oid:{oid}";

    public static string? OidFor(string? system) =>
        system is null ? null
        : SystemToOid.TryGetValue(system, out var oid) ? oid
        : system.StartsWith("urn:oid:", StringComparison.Ordinal) ? system[8..]
        : null;

    /// <summary>Safe XML reading: no DTDs (refused, not just ignored), no external resolution, no entity expansion.</summary>
    public static readonly XmlReaderSettings SafeReader = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersFromEntities = 0,
        MaxCharactersInDocument = 64L * 1024 * 1024,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
    };

    public static XElement? Child(this XElement? element, string name) => element?.Element(V3 + name);

    public static IEnumerable<XElement> Children(this XElement? element, string name) => element?.Elements(V3 + name) ?? [];

    public static bool HasTemplate(this XElement element, string root) =>
        element.Elements(V3 + "templateId").Any(t => (string?)t.Attribute("root") == root);

    public static string? Attr(this XElement? element, string name) => element?.Attribute(name)?.Value is { Length: > 0 } value ? value : null;

    /// <summary>An XPath-like location for messages (e.g. <c>/ClinicalDocument/component/structuredBody/component[2]/section/entry[1]/observation</c>).</summary>
    public static string PathOf(XElement element)
    {
        var parts = new List<string>();
        for (var e = element; e is not null; e = e.Parent)
        {
            var same = e.Parent?.Elements(e.Name).ToList();
            var index = same is { Count: > 1 } ? $"[{same.IndexOf(e) + 1}]" : "";
            parts.Add(e.Name.LocalName + index);
        }

        parts.Reverse();
        return "/" + string.Join("/", parts);
    }
}
