using System.Xml;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// The narrative rules of R4 (txt-1, txt-2; FHIRPath <c>htmlChecks()</c>): well-formed XHTML, a root <c>div</c> in the
/// XHTML namespace, only the basic HTML formatting elements and attributes, no active content, some non-whitespace text.
/// </summary>
internal static class NarrativeValidator
{
    private const string XhtmlNamespace = "http://www.w3.org/1999/xhtml";

    private static readonly HashSet<string> AllowedElements = new(StringComparer.Ordinal)
    {
        "a", "abbr", "acronym", "b", "big", "blockquote", "br", "caption", "cite", "code", "col", "colgroup", "dd", "dfn",
        "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "q", "samp",
        "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "ul", "var",
    };

    private static readonly HashSet<string> AllowedAttributes = new(StringComparer.Ordinal)
    {
        "abbr", "accesskey", "align", "alt", "axis", "bgcolor", "border", "cellhalign", "cellpadding", "cellspacing",
        "cellvalign", "char", "charoff", "charset", "cite", "class", "colspan", "compact", "coords", "dir", "frame",
        "headers", "height", "href", "hreflang", "hspace", "id", "lang", "longdesc", "name", "nowrap", "rel", "rev",
        "rowspan", "rules", "scope", "shape", "span", "src", "start", "style", "summary", "tabindex", "title", "type",
        "valign", "value", "vspace", "width", "xml:lang", "xmlns", "xml:space",
    };

    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersFromEntities = 0,
        IgnoreComments = false,
        ConformanceLevel = ConformanceLevel.Document,
    };

    /// <summary>Returns a message for each rule the narrative breaks (empty when it is fine).</summary>
    public static IEnumerable<string> Check(string xhtml)
    {
        var problems = new List<string>();
        var hasText = false;
        try
        {
            using var reader = XmlReader.Create(new StringReader(xhtml), ReaderSettings);
            var first = true;
            while (reader.Read())
            {
                switch (reader.NodeType)
                {
                    case XmlNodeType.Element:
                        if (first)
                        {
                            first = false;
                            if (reader.LocalName != "div" || reader.NamespaceURI != XhtmlNamespace)
                            {
                                problems.Add($"txt-1: the narrative must be a <div> in the XHTML namespace ({XhtmlNamespace}), found <{reader.Name}>");
                            }
                        }

                        if (reader.NamespaceURI != XhtmlNamespace)
                        {
                            problems.Add($"txt-1: the narrative element <{reader.Name}> is not in the XHTML namespace");
                        }
                        else if (!AllowedElements.Contains(reader.LocalName))
                        {
                            problems.Add($"txt-1: the narrative element <{reader.LocalName}> is not allowed (only basic HTML formatting)");
                        }

                        if (reader.LocalName == "img")
                        {
                            hasText = true;
                        }

                        CheckAttributes(reader, problems);
                        break;
                    case XmlNodeType.Text:
                    case XmlNodeType.CDATA:
                    case XmlNodeType.SignificantWhitespace:
                        if (!string.IsNullOrWhiteSpace(reader.Value))
                        {
                            hasText = true;
                        }

                        break;
                    case XmlNodeType.ProcessingInstruction:
                        problems.Add("txt-1: processing instructions are not allowed in the narrative");
                        break;
                }
            }
        }
        catch (XmlException ex)
        {
            problems.Add($"txt-1: the narrative is not well-formed XHTML: {ex.Message}");
            return problems;
        }

        if (!hasText)
        {
            problems.Add("txt-2: the narrative must have some non-whitespace content");
        }

        return problems;
    }

    /// <summary>The anchors a narrative defines (id and name attributes) and its "#..." links.</summary>
    public static (HashSet<string> Anchors, List<string> Links) AnchorsAndLocalLinks(string xhtml)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var links = new List<string>();
        try
        {
            using var reader = XmlReader.Create(new StringReader(xhtml), ReaderSettings);
            while (reader.Read())
            {
                if (reader.NodeType != XmlNodeType.Element)
                {
                    continue;
                }

                if (reader.GetAttribute("id") is { } id)
                {
                    anchors.Add(id);
                }

                if (reader.GetAttribute("name") is { } name)
                {
                    anchors.Add(name);
                }

                if (reader.LocalName == "a" && reader.GetAttribute("href") is { } href && href.StartsWith('#'))
                {
                    links.Add(href);
                }
            }
        }
        catch (XmlException)
        {
            // Malformed narratives are txt-1's finding; they define no anchors.
        }

        return (anchors, links);
    }

    /// <summary>Adds the "#id" targets of links and images in a narrative (references to contained resources).</summary>
    public static void CollectLocalLinks(string xhtml, HashSet<string> found)
    {
        try
        {
            using var reader = XmlReader.Create(new StringReader(xhtml), ReaderSettings);
            while (reader.Read())
            {
                if (reader.NodeType != XmlNodeType.Element)
                {
                    continue;
                }

                foreach (var attribute in (string[])["href", "src"])
                {
                    if (reader.GetAttribute(attribute) is { } target && target.StartsWith('#'))
                    {
                        found.Add(target);
                    }
                }
            }
        }
        catch (XmlException)
        {
            // A malformed narrative is reported by txt-1; it links to nothing.
        }
    }

    private static void CheckAttributes(XmlReader reader, List<string> problems)
    {
        if (!reader.MoveToFirstAttribute())
        {
            return;
        }

        do
        {
            var name = reader.Name;
            if (name.StartsWith("xmlns", StringComparison.Ordinal))
            {
                continue;
            }

            if (!AllowedAttributes.Contains(name))
            {
                problems.Add($"txt-1: the attribute '{name}' is not allowed in the narrative");
            }
            else if ((name is "href" or "src") && reader.Value.TrimStart().StartsWith("javascript:", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"txt-1: active content (javascript: URL in '{name}') is not allowed in the narrative");
            }
        }
        while (reader.MoveToNextAttribute());

        reader.MoveToElement();
    }
}
