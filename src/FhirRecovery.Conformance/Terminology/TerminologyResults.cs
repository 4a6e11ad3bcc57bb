using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>Outcome of validate-code: decided either way, or not decidable with what is available locally.</summary>
public enum CodeValidity
{
    Valid,
    Invalid,

    /// <summary>
    /// Cannot be decided locally: the code system's content is not here (SNOMED CT, LOINC, content = not-present/example/
    /// fragment without the code), or the value set draws on such a system or on a value set that is not known.
    /// </summary>
    Unknown,
}

/// <summary>One finding of a terminology check, in OperationOutcome terms.</summary>
public sealed record TerminologyIssue(OperationOutcome.IssueSeverity Severity, OperationOutcome.IssueType Type, string Message)
{
    public static TerminologyIssue Error(OperationOutcome.IssueType type, string message) => new(OperationOutcome.IssueSeverity.Error, type, message);

    public static TerminologyIssue Warning(OperationOutcome.IssueType type, string message) => new(OperationOutcome.IssueSeverity.Warning, type, message);

    public static TerminologyIssue Information(OperationOutcome.IssueType type, string message) => new(OperationOutcome.IssueSeverity.Information, type, message);
}

/// <summary>Result of ValueSet or CodeSystem validate-code.</summary>
public sealed record ValidateCodeResult
{
    public required CodeValidity Outcome { get; init; }

    public bool IsValid => Outcome == CodeValidity.Valid;

    /// <summary>System of the code that decided the result (for a CodeableConcept, the coding that matched).</summary>
    public string? System { get; init; }

    /// <summary>The code as the code system spells it (differs from the input in case for case-insensitive systems).</summary>
    public string? Code { get; init; }

    public string? Version { get; init; }

    /// <summary>The display the code system (or value set) gives the code: the correct one when the input's was wrong.</summary>
    public string? Display { get; init; }

    public bool Abstract { get; init; }

    public bool Inactive { get; init; }

    /// <summary>The code system whose content is missing, when that made the result Unknown (R5 x-caused-by-unknown-system).</summary>
    public string? UnknownSystem { get; init; }

    /// <summary>For a CodeableConcept: which coding (index) decided the result.</summary>
    public int? CodingIndex { get; init; }

    public IReadOnlyList<TerminologyIssue> Issues { get; init; } = [];

    /// <summary>All issue messages in one line, as the $validate-code <c>message</c> output.</summary>
    public string? Message => Issues.Count == 0 ? null : string.Join(" ", Issues.Select(i => i.Message));

    public OperationOutcome ToOperationOutcome() => new()
    {
        Issue = Issues.Select(i => new OperationOutcome.IssueComponent { Severity = i.Severity, Code = i.Type, Diagnostics = i.Message }).ToList(),
    };
}

/// <summary>A designation returned by $lookup.</summary>
public sealed record LookupDesignation(string? Language, Coding? Use, string Value);

/// <summary>A property returned by $lookup (code and value; parent/child/inactive are derived when the system has them).</summary>
public sealed record LookupProperty(string Code, DataType Value, string? Description = null);

/// <summary>Result of CodeSystem $lookup.</summary>
public sealed record LookupResult
{
    /// <summary>Name of the code system.</summary>
    public required string Name { get; init; }

    public required string System { get; init; }

    public string? Version { get; init; }

    public required string Code { get; init; }

    public string? Display { get; init; }

    public string? Definition { get; init; }

    public bool Abstract { get; init; }

    public bool Inactive { get; init; }

    public IReadOnlyList<LookupDesignation> Designations { get; init; } = [];

    public IReadOnlyList<LookupProperty> Properties { get; init; } = [];
}

/// <summary>Result of CodeSystem $subsumes: how code A relates to code B.</summary>
public enum SubsumptionOutcome
{
    Equivalent,

    /// <summary>A subsumes B: B is A or below it.</summary>
    Subsumes,

    /// <summary>A is subsumed by B: A is below B.</summary>
    SubsumedBy,

    NotSubsumed,
}

/// <summary>Inputs of ConceptMap $translate (R4 names). Give the code as System+Code, a Coding or a CodeableConcept.</summary>
public sealed record TranslateRequest
{
    /// <summary>Canonical of the ConceptMap to use (<c>url</c>); or give <see cref="ConceptMap"/>, or neither to search all maps.</summary>
    public string? ConceptMapUrl { get; init; }

    public string? ConceptMapVersion { get; init; }

    public ConceptMap? ConceptMap { get; init; }

    /// <summary>Source value set: maps whose source is another value set are not used.</summary>
    public string? Source { get; init; }

    /// <summary>Target value set: maps whose target is another value set are not used.</summary>
    public string? Target { get; init; }

    /// <summary>Only groups mapping to this code system.</summary>
    public string? TargetSystem { get; init; }

    public string? System { get; init; }

    public string? Code { get; init; }

    public string? Version { get; init; }

    public Coding? Coding { get; init; }

    public CodeableConcept? CodeableConcept { get; init; }

    /// <summary>Map from target to source: returns the source codes that map to the given code.</summary>
    public bool Reverse { get; init; }
}

/// <summary>A product of a match (another element filled in by the mapping).</summary>
public sealed record TranslateProduct(string? Element, Coding Concept);

/// <summary>One mapping found by $translate.</summary>
public sealed record TranslateMatch
{
    public required ConceptMapEquivalence Equivalence { get; init; }

    public required Coding Concept { get; init; }

    public IReadOnlyList<TranslateProduct> Products { get; init; } = [];

    /// <summary>Canonical of the ConceptMap the match came from.</summary>
    public string? Source { get; init; }

    public string? Comment { get; init; }
}

/// <summary>Result of ConceptMap $translate: <see cref="Result"/> is true when a match with a positive equivalence was found.</summary>
public sealed record TranslateResult(bool Result, string? Message, IReadOnlyList<TranslateMatch> Matches);
