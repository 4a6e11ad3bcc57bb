namespace FhirRecovery.Conformance.Terminology;

/// <summary>Process-wide settings of a <see cref="TerminologyService"/>.</summary>
public sealed record TerminologyOptions
{
    /// <summary>Most concepts one $expand may return; larger expansions fail with too-costly unless paged (count) or filtered.</summary>
    public int MaxExpansionSize { get; init; } = 10_000;

    /// <summary>
    /// Most codes the engine enumerates for one value set (for validation and as the base of an expansion). Value sets
    /// above it fail with too-costly rather than exhaust memory.
    /// </summary>
    public int MaxValueSetMembers { get; init; } = 1_000_000;

    /// <summary>
    /// Whether abstract (notSelectable) codes pass ValueSet validate-code when the caller does not say (the <c>abstract</c>
    /// parameter). Off by default: abstract codes group concepts and are not meant to appear in records.
    /// CodeSystem validate-code always accepts them unless asked not to: they are codes of the system.
    /// </summary>
    public bool AbstractCodesValid { get; init; }

    /// <summary>Time limit for one regex filter evaluation (a guard against pathological patterns in loaded packages).</summary>
    public TimeSpan RegexTimeout { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>Inputs of ValueSet $expand besides the value set itself (names follow the R4 operation parameters).</summary>
public sealed record ExpansionOptions
{
    /// <summary>Text filter: every word must start a word of the display (or a designation), or the text starts the code; case-insensitive.</summary>
    public string? Filter { get; init; }

    public int Offset { get; init; }

    /// <summary>Page size; null returns everything (up to <see cref="TerminologyOptions.MaxExpansionSize"/>).</summary>
    public int? Count { get; init; }

    /// <summary>Leave inactive codes out.</summary>
    public bool ActiveOnly { get; init; }

    /// <summary>Leave abstract (notSelectable) codes out, as for a picking list (R4 excludeNotForUI).</summary>
    public bool ExcludeNotForUI { get; init; }

    public bool IncludeDesignations { get; init; }

    /// <summary>Language for the displays (a designation in that language is used when there is one).</summary>
    public string? DisplayLanguage { get; init; }

    /// <summary>
    /// True (the default) returns a flat list. False nests codes under their parent when the code system has a hierarchy;
    /// nesting is only done for unpaged, unfiltered expansions, where total still counts every code.
    /// </summary>
    public bool ExcludeNested { get; init; } = true;

    public static ExpansionOptions Default { get; } = new();
}
