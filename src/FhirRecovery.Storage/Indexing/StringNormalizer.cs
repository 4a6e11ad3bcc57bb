using System.Text;

namespace FhirRecovery.Storage.Indexing;

/// <summary>
/// The normalised form of string search values: lower case, accents removed ("Élodie" → "elodie"), so the default
/// string search is case- and accent-insensitive. Written by hand because the project runs with InvariantGlobalization,
/// where <see cref="string.Normalize()"/> does not decompose characters.
/// </summary>
internal static class StringNormalizer
{
    // Latin-1 Supplement + Latin Extended-A/B (U+00C0..U+024F) and Latin Extended Additional (U+1E00..U+1EFF):
    // the base letter of each precomposed character; \0 = keep the character, \u0001 = see MultiLetter.
    private const string Latin = "aaaaaa\u0001ceeeeiiiidnooooo\0ouuuuy\u0001\u0001aaaaaa\u0001ceeeeiiiidnooooo\0ouuuuy\u0001yaaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii\0\0jjkkkllllll\0\0llnnnnnn\0nnoooooo\u0001\u0001rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0oo\0\0\0\0\0\0\0\0\0\0\0\0\0uu\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0aaiioouuuuuuuuuu\0aaaa\0\0\0\0ggkkoooo\0\0j\0\0\0gg\0\0nnaa\0\0\0\0aaaaeeeeiiiioooorrrruuuusstt\0\0hh\0\0\0\0\0\0aaeeooooooooyy\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    private const string LatinAdditional = "aabbbbbbccddddddddddeeeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllllllllmmmmmmnnnnnnnnoooooooopppprrrrrrrrssssssssssttttttttuuuuuuuuuuvvvvwwwwwwwwwwxxxxyyzzzzzzhtwy\0\0\0\0\0\0aaaaaaaaaaaaaaaaaaaaaaaaeeeeeeeeeeeeeeeeiiiioooooooooooooooooooooooouuuuuuuuuuuuuuyyyyyyyy\0\0\0\0\0\0";

    private static readonly Dictionary<char, string> MultiLetter = new()
    {
        ['\u00C6'] = "ae",
        ['\u00DE'] = "th",
        ['\u00DF'] = "ss",
        ['\u00E6'] = "ae",
        ['\u00FE'] = "th",
        ['\u0152'] = "oe",
        ['\u0153'] = "oe",
    };

    public static string Normalize(string value)
    {
        StringBuilder? builder = null;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            string? replacement = null;
            if (c < 0x80)
            {
                if (c is >= 'A' and <= 'Z')
                {
                    replacement = ((char)(c + 32)).ToString();
                }
            }
            else if (c is >= '\u0300' and <= '\u036F')
            {
                replacement = ""; // combining diacritical mark
            }
            else
            {
                var mapped = Lookup(c);
                replacement = mapped switch
                {
                    '\0' => char.ToLowerInvariant(c) is var lower && lower != c ? lower.ToString() : null,
                    '\u0001' => MultiLetter[c],
                    _ => mapped.ToString(),
                };
            }

            if (replacement is null)
            {
                builder?.Append(c);
                continue;
            }

            builder ??= new StringBuilder(value.Length).Append(value, 0, i);
            builder.Append(replacement);
        }

        return builder?.ToString() ?? value;
    }

    private static char Lookup(char c) => c switch
    {
        >= '\u00C0' and <= '\u024F' => Latin[c - 0xC0],
        >= '\u1E00' and <= '\u1EFF' => LatinAdditional[c - 0x1E00],
        _ => '\0',
    };
}
