using System.Xml;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// The narrative rules of R4 (txt-1, txt-2; FHIRPath <c>htmlChecks()</c>): well-formed XHTML, a root <c>div</c> in the
/// XHTML namespace, only the basic HTML formatting elements and attributes, no active content, some non-whitespace text.
/// </summary>
internal static class NarrativeValidator
{
    internal const string XhtmlNamespace = "http://www.w3.org/1999/xhtml";

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

    /// <summary>What one reading of a narrative found: broken rules, and its anchors and "#..." links.</summary>
    public sealed class Findings
    {
        public List<string> Problems { get; } = [];

        /// <summary>id and name attributes (created on first use: most narratives have none).</summary>
        public HashSet<string>? Anchors { get; set; }

        public List<string>? Links { get; set; }
    }

    /// <summary>Returns a message for each rule the narrative breaks (empty when it is fine).</summary>
    public static IEnumerable<string> Check(string xhtml) => Analyze(xhtml).Problems;

    /// <summary>Reads the narrative once: txt-1/txt-2 problems, anchors and local links.</summary>
    public static Findings Analyze(string xhtml)
    {
        // Most narratives are plain XHTML that the simple scanner reads without an XmlReader (which costs kilobytes of
        // buffers per use); anything beyond it (comments, CDATA, other namespaces, entities, errors) goes the full way.
        var simple = new Findings();
        if (SimpleXhtmlScanner.TryAnalyze(xhtml, simple, out var hasSimpleText))
        {
            if (!hasSimpleText)
            {
                simple.Problems.Add(NoTextProblem);
            }

            return simple;
        }

        return AnalyzeWithXmlReader(xhtml);
    }

    private const string NoTextProblem = "txt-2: the narrative must have some non-whitespace content";

    internal static bool IsAllowedElement(ReadOnlySpan<char> name, out string? known) => AllowedElementNames.TryGetValue(name, out known);

    internal static bool IsAllowedAttribute(ReadOnlySpan<char> name, out string? known) => AllowedAttributeNames.TryGetValue(name, out known);

    internal static string ElementNotAllowed(string name) => $"txt-1: the narrative element <{name}> is not allowed (only basic HTML formatting)";

    internal static string AttributeNotAllowed(string name) => $"txt-1: the attribute '{name}' is not allowed in the narrative";

    internal static string ActiveContent(string name) => $"txt-1: active content (javascript: URL in '{name}') is not allowed in the narrative";

    internal static bool IsJavascriptUrl(string value) => value.TrimStart().StartsWith("javascript:", StringComparison.OrdinalIgnoreCase);

    internal static void AddAnchor(Findings findings, string anchor) => (findings.Anchors ??= new HashSet<string>(StringComparer.Ordinal)).Add(anchor);

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> AllowedElementNames = AllowedElements.GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> AllowedAttributeNames = AllowedAttributes.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The full reading, with System.Xml (also the reference the simple scanner is tested against).</summary>
    internal static Findings AnalyzeWithXmlReader(string xhtml)
    {
        var findings = new Findings();
        var problems = findings.Problems;
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
                            problems.Add(ElementNotAllowed(reader.LocalName));
                        }

                        if (reader.LocalName == "img")
                        {
                            hasText = true;
                        }

                        if (reader.HasAttributes)
                        {
                            RecordAnchorsAndLinks(reader, findings);
                            CheckAttributes(reader, problems);
                        }

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
            return findings;
        }

        if (!hasText)
        {
            problems.Add(NoTextProblem);
        }

        return findings;
    }

    private static void RecordAnchorsAndLinks(XmlReader reader, Findings findings)
    {
        if (reader.GetAttribute("id") is { } id)
        {
            AddAnchor(findings, id);
        }

        if (reader.GetAttribute("name") is { } name)
        {
            AddAnchor(findings, name);
        }

        if (reader.LocalName == "a" && reader.GetAttribute("href") is { } href && href.StartsWith('#'))
        {
            (findings.Links ??= []).Add(href);
        }
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
                problems.Add(AttributeNotAllowed(name));
            }
            else if ((name is "href" or "src") && IsJavascriptUrl(reader.Value))
            {
                problems.Add(ActiveContent(name));
            }
        }
        while (reader.MoveToNextAttribute());

        reader.MoveToElement();
    }
}
