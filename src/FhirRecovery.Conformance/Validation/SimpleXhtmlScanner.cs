using System.Text;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// Reads the plain XHTML most narratives are — one <c>div</c> root declaring the XHTML namespace, unprefixed elements,
/// quoted attributes, the five predefined entities and character references — and applies the narrative rules to it
/// exactly as <see cref="NarrativeValidator.AnalyzeWithXmlReader"/> does. It declines (returns false) at the first
/// thing outside that shape, well-formed or not, so the full XML reader decides every other case and its messages.
/// </summary>
internal static class SimpleXhtmlScanner
{
    private const int MaxDepth = 64;

    public static bool TryAnalyze(string text, NarrativeValidator.Findings findings, out bool hasText)
    {
        hasText = false;
        Span<int> openNames = stackalloc int[MaxDepth * 2];
        var depth = 0;
        var rootSeen = false;
        var rootClosed = false;
        var i = 0;
        var n = text.Length;
        while (i < n)
        {
            var c = text[i];
            if (c != '<')
            {
                if (depth == 0)
                {
                    // Only whitespace may surround the root element.
                    if (!IsXmlWhitespace(c))
                    {
                        return false;
                    }

                    i++;
                    continue;
                }

                if (c == '&')
                {
                    if (!TryReadReference(text, ref i, out var codePoint))
                    {
                        return false;
                    }

                    hasText |= codePoint > 0xFFFF || !char.IsWhiteSpace((char)codePoint);
                    continue;
                }

                if (!IsPlainChar(text, i, out var width) || (c == ']' && text.AsSpan(i).StartsWith("]]>")))
                {
                    return false;
                }

                hasText |= !char.IsWhiteSpace(c);
                i += width;
                continue;
            }

            if (i + 1 >= n)
            {
                return false;
            }

            if (text[i + 1] == '/')
            {
                // An end tag must close the innermost open element.
                var nameStart = i + 2;
                var nameEnd = ReadName(text, nameStart);
                if (depth == 0 || nameEnd == nameStart)
                {
                    return false;
                }

                var open = text.AsSpan(openNames[(depth - 1) * 2], openNames[(depth - 1) * 2 + 1]);
                if (!text.AsSpan(nameStart, nameEnd - nameStart).SequenceEqual(open))
                {
                    return false;
                }

                i = SkipWhitespace(text, nameEnd);
                if (i >= n || text[i] != '>')
                {
                    return false;
                }

                i++;
                depth--;
                rootClosed = depth == 0;
                continue;
            }

            if (rootClosed || depth >= MaxDepth)
            {
                return false;
            }

            var start = i + 1;
            var end = ReadName(text, start);
            if (end == start || (end < n && text[end] == ':'))
            {
                return false;
            }

            var name = text.AsSpan(start, end - start);
            var isRoot = depth == 0;
            if (isRoot && !name.SequenceEqual("div"))
            {
                return false;
            }

            if (!NarrativeValidator.IsAllowedElement(name, out _))
            {
                findings.Problems.Add(NarrativeValidator.ElementNotAllowed(name.ToString()));
            }

            if (name.SequenceEqual("img"))
            {
                hasText = true;
            }

            i = end;
            if (!TryReadAttributes(text, ref i, isRoot, name.SequenceEqual("a"), findings, out var selfClosing))
            {
                return false;
            }

            rootSeen = true;
            if (selfClosing)
            {
                rootClosed = isRoot;
                continue;
            }

            openNames[depth * 2] = start;
            openNames[depth * 2 + 1] = end - start;
            depth++;
        }

        return rootSeen && rootClosed;
    }

    /// <summary>Reads the attributes of a start tag up to and past its '>' or '/>'.</summary>
    private static bool TryReadAttributes(string text, ref int i, bool isRoot, bool isAnchor, NarrativeValidator.Findings findings, out bool selfClosing)
    {
        selfClosing = false;
        var n = text.Length;
        var sawNamespace = false;
        Span<int> seen = stackalloc int[32];
        var seenCount = 0;
        while (true)
        {
            var afterSpace = SkipWhitespace(text, i);
            if (afterSpace >= n)
            {
                return false;
            }

            if (text[afterSpace] == '>')
            {
                i = afterSpace + 1;
                return !isRoot || sawNamespace;
            }

            if (text[afterSpace] == '/')
            {
                if (afterSpace + 1 >= n || text[afterSpace + 1] != '>')
                {
                    return false;
                }

                i = afterSpace + 2;
                selfClosing = true;
                return !isRoot || sawNamespace;
            }

            // An attribute: whitespace before it, name, '=', quoted value.
            if (afterSpace == i || seenCount == seen.Length / 2)
            {
                return false;
            }

            var nameStart = afterSpace;
            var nameEnd = ReadName(text, nameStart);
            if (nameEnd == nameStart)
            {
                return false;
            }

            if (nameEnd < n && text[nameEnd] == ':')
            {
                // Only xml:lang and xml:space: any other prefix (xmlns:x, xlink:...) needs namespace processing.
                if (!text.AsSpan(nameStart, nameEnd - nameStart).SequenceEqual("xml"))
                {
                    return false;
                }

                nameEnd = ReadName(text, nameEnd + 1);
            }

            var name = text.AsSpan(nameStart, nameEnd - nameStart);
            if (name is not ("xml:lang" or "xml:space") && name.Contains(':'))
            {
                return false;
            }

            for (var k = 0; k < seenCount; k++)
            {
                if (text.AsSpan(seen[k * 2], seen[k * 2 + 1]).SequenceEqual(name))
                {
                    return false;
                }
            }

            seen[seenCount * 2] = nameStart;
            seen[seenCount * 2 + 1] = nameEnd - nameStart;
            seenCount++;

            var eq = SkipWhitespace(text, nameEnd);
            if (eq >= n || text[eq] != '=')
            {
                return false;
            }

            var quoteAt = SkipWhitespace(text, eq + 1);
            if (quoteAt >= n || text[quoteAt] is not ('"' or '\''))
            {
                return false;
            }

            if (!TryReadAttributeValue(text, quoteAt, out var valueEnd, out var needsDecoding))
            {
                return false;
            }

            i = valueEnd + 1;
            var rawValue = text.AsSpan(quoteAt + 1, valueEnd - quoteAt - 1);
            if (name.SequenceEqual("xmlns"))
            {
                // Only the root may (and must) declare the XHTML namespace; anything else changes namespaces.
                if (!isRoot || needsDecoding || !rawValue.SequenceEqual(NarrativeValidator.XhtmlNamespace))
                {
                    return false;
                }

                sawNamespace = true;
                continue;
            }

            var wanted = name is "id" or "name" or "href" or "src";
            var value = wanted ? Decode(rawValue, needsDecoding) : null;
            if (name.SequenceEqual("id") || name.SequenceEqual("name"))
            {
                NarrativeValidator.AddAnchor(findings, value!);
            }

            if (isAnchor && name.SequenceEqual("href") && value!.StartsWith('#'))
            {
                (findings.Links ??= []).Add(value);
            }

            if (!NarrativeValidator.IsAllowedAttribute(name, out var known))
            {
                findings.Problems.Add(NarrativeValidator.AttributeNotAllowed(name.ToString()));
            }
            else if (name is "href" or "src" && NarrativeValidator.IsJavascriptUrl(value!))
            {
                findings.Problems.Add(NarrativeValidator.ActiveContent(known!));
            }
        }
    }

    /// <summary>Finds the closing quote; declines '&lt;', invalid characters and references it cannot decode.</summary>
    private static bool TryReadAttributeValue(string text, int quoteAt, out int end, out bool needsDecoding)
    {
        var quote = text[quoteAt];
        needsDecoding = false;
        var i = quoteAt + 1;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == quote)
            {
                end = i;
                return true;
            }

            if (c == '<')
            {
                break;
            }

            if (c == '&')
            {
                if (!TryReadReference(text, ref i, out _))
                {
                    break;
                }

                needsDecoding = true;
                continue;
            }

            if (!IsPlainChar(text, i, out var width))
            {
                break;
            }

            // Attribute-value normalization turns literal tabs and line breaks into spaces.
            needsDecoding |= c is '\t' or '\r' or '\n';
            i += width;
        }

        end = -1;
        return false;
    }

    private static string Decode(ReadOnlySpan<char> raw, bool needsDecoding)
    {
        if (!needsDecoding)
        {
            return raw.ToString();
        }

        var text = raw.ToString();
        var builder = new StringBuilder(raw.Length);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '&' && TryReadReference(text, ref i, out var codePoint))
            {
                builder.Append(char.ConvertFromUtf32(codePoint));
                continue;
            }

            if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                // A line break is one character after end-of-line handling.
                i++;
            }

            builder.Append(c is '\t' or '\r' or '\n' ? ' ' : c);
            i++;
        }

        return builder.ToString();
    }

    /// <summary>Reads "&amp;amp;" and the like, and "&amp;#160;" / "&amp;#xA0;", moving past it.</summary>
    private static bool TryReadReference(string text, ref int i, out int codePoint)
    {
        codePoint = 0;
        var semicolon = text.IndexOf(';', i + 1);
        if (semicolon < 0 || semicolon - i > 12)
        {
            return false;
        }

        var body = text.AsSpan(i + 1, semicolon - i - 1);
        switch (body)
        {
            case "amp": codePoint = '&'; break;
            case "lt": codePoint = '<'; break;
            case "gt": codePoint = '>'; break;
            case "quot": codePoint = '"'; break;
            case "apos": codePoint = '\''; break;
            default:
                if (body.Length < 2 || body[0] != '#')
                {
                    return false;
                }

                var hex = body[1] == 'x';
                var digits = hex ? body[2..] : body[1..];
                if (digits.Length == 0 || !int.TryParse(digits, hex ? System.Globalization.NumberStyles.AllowHexSpecifier : System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out codePoint) || !IsXmlChar(codePoint))
                {
                    return false;
                }

                break;
        }

        i = semicolon + 1;
        return true;
    }

    /// <summary>A literal character XML allows (a whole surrogate pair counts as one, of width 2).</summary>
    private static bool IsPlainChar(string text, int i, out int width)
    {
        var c = text[i];
        width = 1;
        if (char.IsHighSurrogate(c))
        {
            width = 2;
            return i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
        }

        return !char.IsLowSurrogate(c) && IsXmlChar(c);
    }

    private static bool IsXmlChar(int c) =>
        c is 0x9 or 0xA or 0xD or >= 0x20 and <= 0xD7FF or >= 0xE000 and <= 0xFFFD or >= 0x10000 and <= 0x10FFFF;

    private static bool IsXmlWhitespace(char c) => c is ' ' or '\t' or '\r' or '\n';

    private static int SkipWhitespace(string text, int i)
    {
        while (i < text.Length && IsXmlWhitespace(text[i]))
        {
            i++;
        }

        return i;
    }

    /// <summary>The end of an ASCII name ([A-Za-z_][A-Za-z0-9_.-]*) starting at <paramref name="i"/> (i itself when none).</summary>
    private static int ReadName(string text, int i)
    {
        if (i >= text.Length || !(char.IsAsciiLetter(text[i]) || text[i] == '_'))
        {
            return i;
        }

        i++;
        while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '.' or '-'))
        {
            i++;
        }

        return i;
    }
}
