using Hl7.Fhir.Model;

namespace FhirRecovery.Storage.Sql;

/// <summary>Names of the index tables (one per search parameter type) and their columns, shared by both dialects.</summary>
internal static class IndexTables
{
    public const string String = "idx_string";
    public const string Token = "idx_token";
    public const string Date = "idx_date";
    public const string Number = "idx_number";
    public const string Quantity = "idx_quantity";
    public const string Reference = "idx_reference";
    public const string Uri = "idx_uri";

    public static readonly string[] All = [String, Token, Date, Number, Quantity, Reference, Uri];

    public static string For(SearchParamType type) => type switch
    {
        SearchParamType.String => String,
        SearchParamType.Token => Token,
        SearchParamType.Date => Date,
        SearchParamType.Number => Number,
        SearchParamType.Quantity => Quantity,
        SearchParamType.Reference => Reference,
        SearchParamType.Uri => Uri,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no index table for this parameter type"),
    };

    /// <summary>The columns after the common (res_key, res_type, param, grp).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> ValueColumns = new Dictionary<string, string[]>
    {
        [String] = ["value_norm", "value_exact"],
        [Token] = ["system", "code", "text_norm", "type_system", "type_code"],
        [Date] = ["low", "high"],
        [Number] = ["value"],
        [Quantity] = ["system", "code", "unit", "value"],
        [Reference] = ["target_type", "target_id", "target_version", "url", "ident_system", "ident_value"],
        [Uri] = ["value"],
    };
}
