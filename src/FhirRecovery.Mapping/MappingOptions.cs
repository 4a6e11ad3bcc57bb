namespace FhirRecovery.Mapping;

/// <summary>
/// The mapping configuration (section <c>Mapping</c>): the EHRs data comes from, each with its own ConceptMaps and
/// identifier and coding-system names, and whether the text classifier may suggest categories.
/// </summary>
public sealed class MappingOptions
{
    public const string Section = "Mapping";

    /// <summary>The EHR profile used when a request names none.</summary>
    public string DefaultEhr { get; set; } = EhrProfile.GenericName;

    /// <summary>
    /// Folders of EHR profiles: each sub-folder (or the folder itself) holding an <c>ehr.json</c> (an
    /// <see cref="EhrProfileOptions"/>, ConceptMap paths relative to that folder) is an EHR named after its folder.
    /// </summary>
    public List<string> EhrDirectories { get; set; } = [];

    /// <summary>EHR profiles by name (e.g. <c>northwind</c>); <see cref="EhrProfile.GenericName"/> always exists.</summary>
    public Dictionary<string, EhrProfileOptions> Ehrs { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether the rule-based text classifier may suggest a category where no source code maps. Its suggestions are always
    /// marked (meta.tag <c>classifier-suggested</c>, Coding.userSelected = false, a note naming the rule).
    /// </summary>
    public bool TextClassifier { get; set; } = true;

    /// <summary>Folder that relative ConceptMap paths start from; default: the content root or working directory, then its parents.</summary>
    public string? BaseDirectory { get; set; }
}

/// <summary>One EHR's mapping configuration.</summary>
public sealed class EhrProfileOptions
{
    /// <summary>Human name of the EHR, for Provenance and messages.</summary>
    public string? Display { get; set; }

    /// <summary>URI recorded in meta.source of what is imported from it (e.g. its FHIR base); default <c>urn:fhirrecovery:ehr:{name}</c>.</summary>
    public string? SourceUri { get; set; }

    /// <summary>ConceptMap files (JSON resources, Bundles of them) or folders of them; relative to <see cref="MappingOptions.BaseDirectory"/>.</summary>
    public List<string> ConceptMaps { get; set; } = [];

    /// <summary>HL7 v2 assigning authorities / namespace ids (CX.4, EI.2, HD.1) to identifier systems, and back on writing.</summary>
    public Dictionary<string, string> AssigningAuthorities { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>IANA/Windows time zone id in which v2 and C-CDA times without an offset are read (FHIR needs one); default UTC.</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>HL7 v2 coding system names (CE.3, CWE.3; e.g. local <c>99NWR</c>) to FHIR code system URIs, and back on writing.</summary>
    public Dictionary<string, string> CodingSystems { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
