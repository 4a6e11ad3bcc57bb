namespace FhirRecovery.Storage.Indexing;

// One row per extracted value. Group is 0 for ordinary values; the values of one composite value share a group number
// above 0 (their Param is "<composite>$<component index>").

internal readonly record struct StringIndexRow(string Param, int Group, string Normalized, string Exact);

/// <summary>Code holds the code, the identifier value or the contact value; Text the normalised display/text (for :text).</summary>
internal readonly record struct TokenIndexRow(string Param, int Group, string? System, string? Code, string? Text,
    string? TypeSystem = null, string? TypeCode = null);

/// <summary>The instants a value covers, inclusive, as UTC ticks (a date of 2024 covers 2024-01-01 .. 2024-12-31T23:59:59.9999999).</summary>
internal readonly record struct DateIndexRow(string Param, int Group, long Low, long High);

internal readonly record struct NumberIndexRow(string Param, int Group, double Value);

internal readonly record struct QuantityIndexRow(string Param, int Group, string? System, string? Code, string? Unit, double Value);

/// <summary>
/// A local reference gives TargetType/TargetId (and TargetVersion for a versioned one); an absolute, urn or canonical one
/// gives Url (and, for canonicals, the version after '|' in TargetVersion); Reference.identifier gives the identifier.
/// </summary>
internal readonly record struct ReferenceIndexRow(string Param, int Group, string? TargetType, string? TargetId,
    string? TargetVersion, string? Url, string? IdentifierSystem, string? IdentifierValue);

internal readonly record struct UriIndexRow(string Param, int Group, string Value);

/// <summary>Everything the indexer extracted from one resource version.</summary>
internal sealed class IndexSet
{
    public List<StringIndexRow> Strings { get; } = [];

    public List<TokenIndexRow> Tokens { get; } = [];

    public List<DateIndexRow> Dates { get; } = [];

    public List<NumberIndexRow> Numbers { get; } = [];

    public List<QuantityIndexRow> Quantities { get; } = [];

    public List<ReferenceIndexRow> References { get; } = [];

    public List<UriIndexRow> Uris { get; } = [];

    public int Count => Strings.Count + Tokens.Count + Dates.Count + Numbers.Count + Quantities.Count + References.Count + Uris.Count;
}
