namespace FhirRecovery.Conformance.Terminology;

/// <summary>
/// <c>urn:ietf:bcp:47</c> language tags (RFC 5646), decided locally: the tag must follow the RFC's syntax; the language
/// subtag must be an ISO 639-1 code, or a three-letter ISO 639-2/-3/-5 code without a 639-1 equivalent (BCP 47 requires the
/// shortest), or private use (qaa-qtz); the script an ISO 15924 code; the region an ISO 3166-1 alpha-2 code (current or
/// withdrawn), a private-use one, or one of the UN M.49 area codes the IANA registry lists. Variants, extensions and private-use
/// subtags are checked by syntax only (the IANA registry itself is not embedded). Tags are case-insensitive.
/// </summary>
internal sealed class Bcp47Grammar : CodeGrammar
{
    public const string Url = "urn:ietf:bcp:47";

    // RFC 5646 section 2.2.8: grandfathered tags that do not follow the syntax, or whose subtags are not otherwise registered.
    private static readonly HashSet<string> Grandfathered = new(StringComparer.OrdinalIgnoreCase)
    {
        "en-GB-oed", "i-ami", "i-bnn", "i-default", "i-enochian", "i-hak", "i-klingon", "i-lux", "i-mingo", "i-navajo", "i-pwn",
        "i-tao", "i-tay", "i-tsu", "sgn-BE-FR", "sgn-BE-NL", "sgn-CH-DE", "art-lojban", "cel-gaulish", "no-bok", "no-nyn",
        "zh-guoyu", "zh-hakka", "zh-min", "zh-min-nan", "zh-xiang",
    };

    // The UN M.49 codes in the IANA language subtag registry (areas; countries use their ISO 3166 alpha-2 code instead).
    private static readonly HashSet<string> M49Areas =
    [
        "001", "002", "003", "005", "009", "011", "013", "014", "015", "017", "018", "019", "021", "029", "030", "034", "035",
        "039", "053", "054", "057", "061", "142", "143", "145", "150", "151", "154", "155", "202", "419",
    ];

    public override string System => Url;

    public override string Name => "Tags for the Identification of Languages (BCP 47)";

    public override bool CaseSensitive => false;

    protected override GrammarResult Parse(string code)
    {
        if (code.Length == 0)
        {
            return GrammarResult.Invalid("An empty string is not a language tag.");
        }

        if (Grandfathered.Contains(code))
        {
            return GrammarResult.Valid();
        }

        var parts = code.Split('-');
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 8 || !part.All(IsAsciiAlphanumeric))
            {
                return GrammarResult.Invalid($"'{code}' is not a language tag: subtags are 1 to 8 letters or digits separated by '-'.");
            }
        }

        if (parts[0].Equals("x", StringComparison.OrdinalIgnoreCase))
        {
            return parts.Length > 1 ? GrammarResult.Valid() : GrammarResult.Invalid($"'{code}': private use needs a subtag after 'x'.");
        }

        var i = 0;
        var language = parts[i++];
        if (!language.All(IsAsciiAlpha) || language.Length is 1 or 4 or > 8)
        {
            return GrammarResult.Invalid($"'{code}': '{language}' is not a language subtag.");
        }

        string? languageName;
        if (language.Length == 2)
        {
            languageName = IsoData.TwoLetterLanguageName(language);
            if (languageName is null)
            {
                return GrammarResult.Invalid($"'{code}': '{language}' is not an ISO 639-1 language code.");
            }
        }
        else if (language.Length == 3)
        {
            if (IsoData.TwoLetterFor(language) is { } shorter)
            {
                return GrammarResult.Invalid($"'{code}': BCP 47 uses the ISO 639-1 code '{shorter}' instead of '{language}'.");
            }

            var lower = language.ToLowerInvariant();
            var privateUse = string.CompareOrdinal(lower, "qaa") >= 0 && string.CompareOrdinal(lower, "qtz") <= 0;
            if (!privateUse && !IsoData.IsThreeLetterLanguage(language))
            {
                return GrammarResult.Invalid($"'{code}': '{language}' is not an ISO 639 language code.");
            }

            languageName = privateUse ? "Private use" : IsoData.ThreeLetterLanguageName(language) ?? language.ToLowerInvariant();
        }
        else
        {
            // 5-8 letters are reserved for languages registered with IANA; none are.
            return GrammarResult.Invalid($"'{code}': '{language}' is not a registered language subtag.");
        }

        // extlang: up to three three-letter subtags after a short language subtag.
        for (var n = 0; n < 3 && i < parts.Length && parts[i].Length == 3 && parts[i].All(IsAsciiAlpha); n++, i++)
        {
            if (!IsoData.IsThreeLetterLanguage(parts[i]))
            {
                return GrammarResult.Invalid($"'{code}': '{parts[i]}' is not a known extended language subtag.");
            }
        }

        string? scriptName = null;
        if (i < parts.Length && parts[i].Length == 4 && parts[i].All(IsAsciiAlpha))
        {
            scriptName = IsoData.ScriptName(parts[i]);
            if (scriptName is null && !IsPrivateUseScript(parts[i]))
            {
                return GrammarResult.Invalid($"'{code}': '{parts[i]}' is not an ISO 15924 script code.");
            }

            scriptName ??= parts[i];
            i++;
        }

        string? regionName = null;
        if (i < parts.Length && IsRegionShape(parts[i]))
        {
            var region = parts[i];
            if (region.Length == 2)
            {
                if (!IsoData.IsCountryOrWithdrawn(region) && !IsPrivateUseRegion(region))
                {
                    return GrammarResult.Invalid($"'{code}': '{region}' is not an ISO 3166-1 region code.");
                }

                regionName = IsoData.CountryName(region) ?? region.ToUpperInvariant();
            }
            else
            {
                if (!M49Areas.Contains(region))
                {
                    return GrammarResult.Invalid($"'{code}': '{region}' is not a UN M.49 area code registered for language tags.");
                }

                regionName = region;
            }

            i++;
        }

        var variants = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (i < parts.Length && IsVariantShape(parts[i]))
        {
            if (!variants.Add(parts[i]))
            {
                return GrammarResult.Invalid($"'{code}': the variant '{parts[i]}' is repeated.");
            }

            i++;
        }

        var singletons = new HashSet<char>();
        while (i < parts.Length && parts[i].Length == 1)
        {
            var singleton = char.ToLowerInvariant(parts[i][0]);
            if (singleton == 'x')
            {
                return i + 1 < parts.Length ? Valid(languageName, scriptName, regionName) : GrammarResult.Invalid($"'{code}': private use needs a subtag after 'x'.");
            }

            if (!singletons.Add(singleton))
            {
                return GrammarResult.Invalid($"'{code}': the extension '{singleton}' is repeated.");
            }

            i++;
            var start = i;
            while (i < parts.Length && parts[i].Length >= 2)
            {
                i++;
            }

            if (i == start)
            {
                return GrammarResult.Invalid($"'{code}': the extension '{singleton}' has no subtags.");
            }
        }

        return i == parts.Length
            ? Valid(languageName, scriptName, regionName)
            : GrammarResult.Invalid($"'{code}': the subtag '{parts[i]}' is out of place or malformed.");
    }

    private static GrammarResult Valid(string languageName, string? scriptName, string? regionName)
    {
        var qualifiers = new[] { scriptName, regionName }.Where(q => q is not null).ToList();
        return GrammarResult.Valid(qualifiers.Count == 0 ? languageName : $"{languageName} ({string.Join(", ", qualifiers)})");
    }

    private static bool IsRegionShape(string s) => s.Length == 2 && s.All(IsAsciiAlpha) || s.Length == 3 && s.All(IsAsciiDigit);

    private static bool IsVariantShape(string s) => s.Length >= 5 || s.Length == 4 && IsAsciiDigit(s[0]);

    private static bool IsPrivateUseScript(string s)
    {
        var lower = s.ToLowerInvariant();
        return string.CompareOrdinal(lower, "qaaa") >= 0 && string.CompareOrdinal(lower, "qabx") <= 0;
    }

    private static bool IsPrivateUseRegion(string s)
    {
        var upper = s.ToUpperInvariant();
        return upper is "AA" or "ZZ" || upper[0] == 'Q' && upper[1] >= 'M' || upper[0] == 'X';
    }
}
