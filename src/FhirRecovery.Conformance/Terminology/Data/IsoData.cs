namespace FhirRecovery.Conformance.Terminology;

/// <summary>Parsed views of the generated ISO tables (<c>IsoData.g.cs</c>), built on first use.</summary>
internal static partial class IsoData
{
    public const string CountrySystem = "urn:iso:std:iso:3166";
    public const string CurrencySystem = "urn:iso:std:iso:4217";

    private static readonly Lazy<IReadOnlyList<(string Alpha2, string Alpha3, string Numeric, string Name)>> CountryRows =
        new(() => Lines(Countries).Select(p => (p[0], p[1], p[2], p[3])).ToList());

    private static readonly Lazy<Dictionary<string, string>> CountryNameByAlpha2 =
        new(() => CountryRows.Value.ToDictionary(c => c.Alpha2, c => c.Name, StringComparer.OrdinalIgnoreCase));

    private static readonly Lazy<HashSet<string>> WithdrawnAlpha2 =
        new(() => new HashSet<string>(WithdrawnCountryCodes.Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.OrdinalIgnoreCase));

    private static readonly Lazy<Dictionary<string, (string Alpha3, string Name)>> TwoLetter =
        new(() => Lines(TwoLetterLanguages).ToDictionary(p => p[0], p => (p[1], p[2]), StringComparer.OrdinalIgnoreCase));

    private static readonly Lazy<Dictionary<string, string>> TwoLetterByAlpha3 =
        new(() => TwoLetter.Value.ToDictionary(kv => kv.Value.Alpha3, kv => kv.Key, StringComparer.OrdinalIgnoreCase));

    private static readonly Lazy<HashSet<string>> ThreeLetter =
        new(() => new HashSet<string>(ThreeLetterLanguages.Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.OrdinalIgnoreCase));

    private static readonly Lazy<Dictionary<string, string>> ThreeLetterNames =
        new(() => Lines(ThreeLetterLanguageNames).ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase));

    private static readonly Lazy<Dictionary<string, string>> ScriptNames =
        new(() => Lines(Scripts).ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase));

    /// <summary>ISO 3166-1 as a code system: alpha-2, alpha-3 and numeric codes, as FHIR's <c>urn:iso:std:iso:3166</c> holds all three.</summary>
    public static IEnumerable<(string Code, string Display)> CountryConcepts() =>
        CountryRows.Value.Select(c => (c.Alpha2, c.Name))
            .Concat(CountryRows.Value.Select(c => (c.Alpha3, c.Name)))
            .Concat(CountryRows.Value.Select(c => (c.Numeric, c.Name)));

    public static IEnumerable<(string Code, string Display)> CurrencyConcepts() =>
        Lines(Currencies).Select(p => (p[0], p[2]));

    public static string? CountryName(string alpha2) => CountryNameByAlpha2.Value.GetValueOrDefault(alpha2);

    public static bool IsCountryOrWithdrawn(string alpha2) =>
        CountryNameByAlpha2.Value.ContainsKey(alpha2) || WithdrawnAlpha2.Value.Contains(alpha2);

    public static string? TwoLetterLanguageName(string code) => TwoLetter.Value.TryGetValue(code, out var v) ? v.Name : null;

    /// <summary>The ISO 639-1 code to use instead of a three-letter code (BCP 47 requires the shortest code).</summary>
    public static string? TwoLetterFor(string alpha3) => TwoLetterByAlpha3.Value.GetValueOrDefault(alpha3);

    public static bool IsThreeLetterLanguage(string code) => ThreeLetter.Value.Contains(code);

    public static string? ThreeLetterLanguageName(string code) => ThreeLetterNames.Value.GetValueOrDefault(code);

    public static string? ScriptName(string code) => ScriptNames.Value.GetValueOrDefault(code);

    private static IEnumerable<string[]> Lines(string table) =>
        table.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('|'));
}
