namespace FhirRecovery.Conformance.Terminology;

/// <summary>
/// <c>urn:ietf:bcp:13</c> media types, decided locally by syntax: <c>type/subtype</c> with an IANA top-level type and
/// RFC 6838 restricted names, followed by any number of <c>; attribute=value</c> parameters (RFC 2045 tokens or quoted
/// strings). Whether a subtype is registered with IANA is not checked. Case-insensitive.
/// </summary>
internal sealed class MimeTypeGrammar : CodeGrammar
{
    public const string Url = "urn:ietf:bcp:13";

    private static readonly HashSet<string> TopLevelTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "application", "audio", "example", "font", "haptics", "image", "message", "model", "multipart", "text", "video",
    };

    public override string System => Url;

    public override string Name => "Media Types (BCP 13)";

    public override bool CaseSensitive => false;

    protected override GrammarResult Parse(string code)
    {
        var semicolon = code.IndexOf(';');
        var mediaType = semicolon < 0 ? code : code[..semicolon];
        var slash = mediaType.IndexOf('/');
        if (slash < 0)
        {
            return GrammarResult.Invalid($"'{code}' is not a media type: it needs the form type/subtype.");
        }

        var type = mediaType[..slash];
        var subtype = mediaType[(slash + 1)..].TrimEnd(' ', '\t');
        if (!TopLevelTypes.Contains(type))
        {
            return GrammarResult.Invalid($"'{code}': '{type}' is not a registered top-level media type.");
        }

        if (!IsRestrictedName(subtype))
        {
            return GrammarResult.Invalid($"'{code}': '{subtype}' is not a valid media subtype name.");
        }

        var i = semicolon;
        while (i >= 0 && i < code.Length)
        {
            // At a ';': skip it and optional whitespace, then attribute=value.
            i++;
            while (i < code.Length && code[i] is ' ' or '\t')
            {
                i++;
            }

            var attrStart = i;
            while (i < code.Length && IsTokenChar(code[i]))
            {
                i++;
            }

            if (i == attrStart || i >= code.Length || code[i] != '=')
            {
                return GrammarResult.Invalid($"'{code}': a parameter must have the form attribute=value.");
            }

            i++;
            if (i < code.Length && code[i] == '"')
            {
                i++;
                while (i < code.Length && code[i] != '"')
                {
                    i += code[i] == '\\' ? 2 : 1;
                }

                if (i >= code.Length)
                {
                    return GrammarResult.Invalid($"'{code}': a quoted parameter value is not closed.");
                }

                i++;
            }
            else
            {
                var valueStart = i;
                while (i < code.Length && IsTokenChar(code[i]))
                {
                    i++;
                }

                if (i == valueStart)
                {
                    return GrammarResult.Invalid($"'{code}': a parameter has no value.");
                }
            }

            while (i < code.Length && code[i] is ' ' or '\t')
            {
                i++;
            }

            if (i < code.Length && code[i] != ';')
            {
                return GrammarResult.Invalid($"'{code}': unexpected '{code[i]}' in the parameters.");
            }
        }

        return GrammarResult.Valid();
    }

    // RFC 6838 section 4.2: restricted-name-first ALPHA/DIGIT, then up to 126 of ALPHA DIGIT ! # $ & - ^ _ . +
    private static bool IsRestrictedName(string name) =>
        name.Length is > 0 and <= 127
        && IsAsciiAlphanumeric(name[0])
        && name.All(c => IsAsciiAlphanumeric(c) || c is '!' or '#' or '$' or '&' or '-' or '^' or '_' or '.' or '+');

    // RFC 2045 token: any printable ASCII except space and tspecials.
    private static bool IsTokenChar(char c) => c is > ' ' and < (char)127 && "()<>@,;:\\\"/[]?=".IndexOf(c) < 0;
}
