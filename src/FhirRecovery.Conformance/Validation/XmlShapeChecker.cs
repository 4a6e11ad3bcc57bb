using System.Xml;
using Hl7.Fhir.Introspection;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// The XML representation rules that a lenient POCO parse forgets: elements in the order the specification defines,
/// no text content in FHIR elements, only the attributes FHIR defines (<c>value</c> on primitives, <c>id</c> on
/// elements but never on a resource, <c>url</c> on extensions). Unknown element names are left to the profile walk.
/// </summary>
internal sealed class XmlShapeChecker
{
    private const string FhirNamespace = "http://hl7.org/fhir";
    private const string XhtmlNamespace = "http://www.w3.org/1999/xhtml";

    private readonly ModelInspector _inspector = ModelInfo.ModelInspector;
    private readonly List<ValidationIssue> _issues;
    private readonly List<(string Name, int Index)> _path = new(32);

    private XmlShapeChecker(List<ValidationIssue> issues) => _issues = issues;

    /// <summary>Checks a document whose root is a known resource type; reader positioned on the root element.</summary>
    public static void Check(XmlReader reader, List<ValidationIssue> issues)
    {
        var checker = new XmlShapeChecker(issues);
        if (checker._inspector.FindClassMapping(reader.LocalName) is { IsResource: true } mapping)
        {
            checker.CheckResource(reader, mapping);
        }
    }

    private void CheckResource(XmlReader reader, ClassMapping mapping)
    {
        _path.Add((mapping.Name, -1));
        if (reader.MoveToFirstAttribute())
        {
            do
            {
                if (!IsNamespaceDeclaration(reader))
                {
                    Report(reader, $"The attribute '{reader.Name}' is not allowed on a resource element (Resource.id is an element: <id value=\"...\"/>)");
                }
            }
            while (reader.MoveToNextAttribute());
            reader.MoveToElement();
        }

        CheckContent(reader, mapping);
        _path.RemoveAt(_path.Count - 1);
    }

    /// <summary>
    /// Reader on the start of an element of type <paramref name="mapping"/>; consumes the element and leaves the reader
    /// on the node after it (as <see cref="XmlReader.Skip"/> does), so callers never read past a sibling.
    /// </summary>
    private void CheckContent(XmlReader reader, ClassMapping mapping)
    {
        if (reader.IsEmptyElement)
        {
            reader.Read();
            return;
        }

        var depth = reader.Depth;
        var lastOrder = -1;
        string? lastName = null;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        reader.Read();
        while (!reader.EOF && !(reader.NodeType == XmlNodeType.EndElement && reader.Depth == depth))
        {
            if (reader.NodeType is XmlNodeType.Text or XmlNodeType.CDATA && !string.IsNullOrWhiteSpace(reader.Value))
            {
                Report(reader, $"Text content ('{Trim(reader.Value)}') is not allowed in FHIR elements: values go in the value attribute");
                reader.Read();
                continue;
            }

            if (reader.NodeType != XmlNodeType.Element)
            {
                reader.Read();
                continue;
            }

            var name = reader.LocalName;
            if (reader.NamespaceURI != FhirNamespace)
            {
                if (!(name == "div" && reader.NamespaceURI == XhtmlNamespace))
                {
                    Report(reader, $"The element <{reader.Name}> is not in the FHIR namespace");
                }

                reader.Skip();
                continue;
            }

            var property = mapping.FindMappedElementByName(name) ?? mapping.FindMappedElementByChoiceName(name);
            if (property is null)
            {
                // Unknown to FHIR: the profile walk reports it with the element rules.
                reader.Skip();
                continue;
            }

            var index = counts.TryGetValue(name, out var seen) ? seen : 0;
            counts[name] = index + 1;
            _path.Add((name, property.IsCollection ? index : -1));
            var order = property.Order ?? 0;
            if (order < lastOrder && name != lastName)
            {
                Report(reader, $"The element <{name}> is out of order: it must come before <{lastName}>");
            }

            lastOrder = Math.Max(lastOrder, order);
            lastName = name;
            CheckElement(reader, property, name);
            _path.RemoveAt(_path.Count - 1);
        }

        // Past the end tag of this element.
        reader.Read();
    }

    private void CheckElement(XmlReader reader, PropertyMapping property, string name)
    {
        var type = property.Choice == ChoiceType.DatatypeChoice
            ? property.FhirTypeMappings.FirstOrDefault(t => name.Length > property.Name.Length
                                                            && string.Equals(t.Name, name[property.Name.Length..], StringComparison.OrdinalIgnoreCase))
            : property.FhirTypeMappings.Count > 0 ? property.FhirTypeMappings[0] : property.PropertyTypeMapping;
        if (type is null)
        {
            reader.Skip();
            return;
        }


        if (type.IsResource || type.NativeType == typeof(Resource))
        {
            // contained, Bundle.entry.resource: a wrapper around one resource element.
            CheckResourceWrapper(reader);
            return;
        }

        if (reader.MoveToFirstAttribute())
        {
            do
            {
                var allowed = IsNamespaceDeclaration(reader) || reader.LocalName == "id"
                              || (reader.LocalName == "value" && type.IsFhirPrimitive)
                              || (reader.LocalName == "url" && type.NativeType == typeof(Extension));
                if (!allowed)
                {
                    Report(reader, $"The attribute '{reader.Name}' is not allowed on <{name}>");
                }
            }
            while (reader.MoveToNextAttribute());
            reader.MoveToElement();
        }

        if (type.IsFhirPrimitive && type.Name == "xhtml")
        {
            reader.Skip();
            return;
        }

        CheckContent(reader, type);
    }

    /// <summary>contained, Bundle.entry.resource: consumes the wrapper and the one resource element inside it.</summary>
    private void CheckResourceWrapper(XmlReader reader)
    {
        if (reader.IsEmptyElement)
        {
            reader.Read();
            return;
        }

        var depth = reader.Depth;
        reader.Read();
        while (!reader.EOF && !(reader.NodeType == XmlNodeType.EndElement && reader.Depth == depth))
        {
            if (reader.NodeType == XmlNodeType.Element)
            {
                if (reader.NamespaceURI == FhirNamespace && _inspector.FindClassMapping(reader.LocalName) is { IsResource: true } mapping)
                {
                    CheckResource(reader, mapping);
                }
                else
                {
                    reader.Skip();
                }

                continue;
            }

            if (reader.NodeType is XmlNodeType.Text or XmlNodeType.CDATA && !string.IsNullOrWhiteSpace(reader.Value))
            {
                Report(reader, "Text content is not allowed around a resource");
            }

            reader.Read();
        }

        reader.Read();
    }

    private static bool IsNamespaceDeclaration(XmlReader reader) => reader.Prefix == "xmlns" || reader.LocalName == "xmlns";

    private void Report(XmlReader reader, string message)
    {
        var position = reader as IXmlLineInfo;
        _issues.Add(new ValidationIssue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Structure, message, RenderPath(), IssueKind.Structure)
        {
            Position = position?.HasLineInfo() == true ? (position.LineNumber, position.LinePosition) : null,
        });
    }

    private string RenderPath()
    {
        var builder = new System.Text.StringBuilder();
        foreach (var (segment, index) in _path)
        {
            if (builder.Length > 0)
            {
                if (char.IsUpper(segment[0]))
                {
                    continue;
                }

                builder.Append('.');
            }

            builder.Append(segment);
            if (index >= 0)
            {
                builder.Append('[').Append(index).Append(']');
            }
        }

        return builder.ToString();
    }

    private static string Trim(string text)
    {
        text = text.Trim();
        return text.Length <= 40 ? text : text[..37] + "...";
    }
}
