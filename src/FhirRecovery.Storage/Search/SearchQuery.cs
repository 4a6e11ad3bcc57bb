using FhirRecovery.Storage.Indexing;

namespace FhirRecovery.Storage.Search;

/// <summary>A parsed search: what the SQL translators of both stores work from.</summary>
internal sealed class SearchQuery
{
    /// <summary>The type searched, or null for a system search.</summary>
    public string? ResourceType { get; init; }

    /// <summary>The types a system search is limited to (<c>_type</c>); empty: all types.</summary>
    public IReadOnlyList<string> Types { get; init; } = [];

    /// <summary>Criteria that must all hold (AND); each one ORs its values.</summary>
    public List<Criterion> Criteria { get; } = [];

    public List<SortKey> Sort { get; } = [];

    public int Count { get; set; }

    /// <summary><c>_summary=count</c> or <c>_count=0</c>: only the total is wanted.</summary>
    public bool CountOnly { get; set; }

    public TotalMode Total { get; set; } = TotalMode.Default;

    public List<IncludeSpec> Includes { get; } = [];

    public List<IncludeSpec> RevIncludes { get; } = [];

    public CompartmentScope? Compartment { get; init; }

    public List<KeyValuePair<string, string>> Applied { get; } = [];

    public List<SearchIssue> Issues { get; } = [];

    /// <summary>The types the matches can have (for a system search without _type: null, any).</summary>
    public IReadOnlyList<string>? MatchTypes => ResourceType is not null ? [ResourceType] : Types.Count > 0 ? Types : null;
}

internal enum TotalMode
{
    Default,
    None,
    Estimate,
    Accurate,
}

internal enum SearchPrefix
{
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

internal enum SearchModifier
{
    None,
    Exact,
    Contains,
    Not,
    Text,
    OfType,
    Identifier,
    Below,
    Above,
    In,
    NotIn,

    /// <summary>A resource type on a reference parameter (<c>subject:Patient</c>).</summary>
    Type,
}

internal abstract record Criterion;

/// <summary>The parameter matches any of <see cref="Values"/> (negated as a whole for :not and :not-in).</summary>
internal sealed record ParameterCriterion(SearchParameterInfo Parameter, SearchModifier Modifier, string? TargetType,
    IReadOnlyList<SearchValue> Values) : Criterion
{
    public bool IsNegated => Modifier is SearchModifier.Not or SearchModifier.NotIn;
}

internal sealed record MissingCriterion(SearchParameterInfo Parameter, bool Missing) : Criterion;

/// <summary>
/// <c>reference.param=value</c>: some resource the reference points to (of one of the target types) matches the inner
/// criterion; each target type has its own inner criterion because the chained parameter is defined per type.
/// </summary>
internal sealed record ChainCriterion(SearchParameterInfo Reference, IReadOnlyList<ChainTarget> Targets) : Criterion;

internal sealed record ChainTarget(string ResourceType, Criterion Inner);

/// <summary><c>_has:Source:reference:param=value</c>: some resource of SourceType that points here through Reference matches Inner.</summary>
internal sealed record HasCriterion(string SourceType, SearchParameterInfo Reference, Criterion Inner) : Criterion;

internal abstract record SearchValue;

/// <summary>code, |code (no system), system|code, system| .</summary>
internal sealed record TokenValue(string? System, bool SystemGiven, string? Code) : SearchValue;

internal sealed record TokenTextValue(string Normalized) : SearchValue;

internal sealed record TokenOfTypeValue(string TypeSystem, string TypeCode, string Value) : SearchValue;

/// <summary>Codes from a value set expansion or a hierarchy (:in, :not-in, :below, :above).</summary>
internal sealed record TokenSetValue(IReadOnlyCollection<(string? System, string Code)> Codes) : SearchValue;

internal sealed record StringValue(string Raw, string Normalized) : SearchValue;

internal sealed record DateValue(SearchPrefix Prefix, FhirDateRange Range) : SearchValue;

/// <summary>A number with the range its precision implies (100 → [99.5, 100.5)).</summary>
internal sealed record NumberValue(SearchPrefix Prefix, decimal Value, decimal Low, decimal High) : SearchValue;

internal sealed record QuantityValue(SearchPrefix Prefix, NumberValue Number, string? System, string? Code) : SearchValue;

/// <summary>A local reference (Type/id, id) or an absolute/canonical URL (with an optional canonical version).</summary>
internal sealed record ReferenceValue(string? Type, string? Id, string? Version, string? Url) : SearchValue;

internal sealed record IdentifierValue(string? System, string? Value) : SearchValue;

internal sealed record UriValue(string Value) : SearchValue;

internal sealed record CompositeValue(IReadOnlyList<SearchValue> Components) : SearchValue;

internal enum SortKind
{
    Id,
    LastUpdated,
    Indexed,
}

internal sealed record SortKey(string Name, SortKind Kind, SearchParameterInfo? Parameter, bool Descending);

/// <summary><c>_include=Source:param[:Target]</c>; null Source or Param stands for '*'.</summary>
internal sealed record IncludeSpec(string? SourceType, string? Param, string? TargetType, bool Iterate, string Text);
