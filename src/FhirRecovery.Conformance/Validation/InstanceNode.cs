using System.Text;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// An element of the instance being validated: its POCO value and where it sits. The FHIRPath location and the Firely
/// <see cref="PocoNode"/> (needed only to evaluate invariants) are built on demand, so the walk allocates little.
/// </summary>
internal sealed class InstanceNode
{
    private PocoNode? _poco;
    private string? _path;

    private InstanceNode(Base value, InstanceNode? parent, string jsonName, string elementName, int index, ResourceScope scope)
    {
        Value = value;
        Parent = parent;
        JsonName = jsonName;
        ElementName = elementName;
        Index = index;
        Scope = scope;
    }

    public Base Value { get; }

    public InstanceNode? Parent { get; }

    /// <summary>The name as written in JSON ("valueString" for a choice), used in locations.</summary>
    public string JsonName { get; }

    /// <summary>The FHIR element name ("value" for a choice).</summary>
    public string ElementName { get; }

    /// <summary>Position in a repeating element, or -1.</summary>
    public int Index { get; }

    /// <summary>The resource this element belongs to (for %resource, contained and Bundle references).</summary>
    public ResourceScope Scope { get; private set; }

    /// <summary>The path of the ElementDefinition the node was validated against (e.g. "Goal.target"), for extension contexts.</summary>
    public string? DefinitionPath { get; set; }

    public static InstanceNode ForRoot(Resource resource, string? location, ValidationSession session)
    {
        var scope = new ResourceScope(resource, null, session);
        var node = new InstanceNode(resource, null, location ?? resource.TypeName, resource.TypeName, -1, scope);
        scope.Node = node;
        return node;
    }

    /// <param name="poco">The Firely node of the value when the caller already has it (FHIRPath results).</param>
    public InstanceNode Child(Base value, string elementName, string jsonName, int index, PocoNode? poco = null) =>
        new(value, this, jsonName, elementName, index, Scope) { _poco = poco };

    /// <summary>A resource nested in this one (contained, Bundle entry, Parameters): it gets its own scope.</summary>
    public InstanceNode NestedResource(Resource resource, string elementName, int index, bool isContained, string? fullUrl = null)
    {
        var node = new InstanceNode(resource, this, elementName, elementName, index, Scope);
        node.Scope = new ResourceScope(resource, isContained ? Scope : null, Scope.Session) { Node = node, ContainerScope = Scope, FullUrl = fullUrl };
        return node;
    }

    public PocoNode Poco => _poco ??= Parent is null ? Value.ToPocoNode() : ChildPoco(Parent.Poco);

    /// <summary>
    /// The Firely node of this element, obtained from its parent's node: Firely builds primitives as special nodes
    /// that expose their value to FHIRPath (a PocoNode constructed directly would not).
    /// </summary>
    private PocoNode ChildPoco(PocoNode parent)
    {
        switch (parent.Child(ElementName))
        {
            case PocoListNode list when Index >= 0 && Index < list.Pocos.Count && ReferenceEquals(list.Pocos[Index], Value):
                return list[Index];
            case PocoListNode list:
                for (var i = 0; i < list.Pocos.Count; i++)
                {
                    if (ReferenceEquals(list.Pocos[i], Value))
                    {
                        return list[i];
                    }
                }

                break;
            case PocoNode single when ReferenceEquals(single.Poco, Value):
                return single;
        }

        return new PocoNode(Value, parent, Index >= 0 ? Index : null, ElementName);
    }

    /// <summary>FHIRPath location such as <c>Goal.category[0].coding[0].system</c>.</summary>
    public string Path => _path ??= BuildPath();

    private string BuildPath()
    {
        if (Parent is null)
        {
            return JsonName;
        }

        var builder = new StringBuilder(Parent.Path.Length + JsonName.Length + 6);
        builder.Append(Parent.Path).Append('.').Append(JsonName);
        if (Index >= 0)
        {
            builder.Append('[').Append(Index).Append(']');
        }

        return builder.ToString();
    }

    public override string ToString() => Path;
}

/// <summary>
/// A resource being validated: what FHIRPath's %resource/%rootResource and resolve() need, built once per resource.
/// </summary>
internal sealed class ResourceScope
{
    private FhirEvaluationContext? _context;

    public ResourceScope(Resource resource, ResourceScope? containerOfContained, ValidationSession session)
    {
        Resource = resource;
        ContainerOfContained = containerOfContained;
        Session = session;
    }

    public Resource Resource { get; }

    public InstanceNode Node { get; set; } = null!;

    /// <summary>For a contained resource: the scope of the resource that contains it (%rootResource).</summary>
    public ResourceScope? ContainerOfContained { get; }

    /// <summary>The scope this resource sits in (a Bundle's, a container's), for reference resolution.</summary>
    public ResourceScope? ContainerScope { get; init; }

    public ValidationSession Session { get; }

    /// <summary>Element ids seen in this resource (they must be unique within it), with the element carrying each.</summary>
    public Dictionary<string, Base> ElementIds { get; } = new(StringComparer.Ordinal);

    public ResourceScope RootResourceScope => ContainerOfContained?.RootResourceScope ?? this;

    public FhirEvaluationContext EvaluationContext => _context ??= new FhirEvaluationContext
    {
        Resource = Node.Poco,
        RootResource = RootResourceScope.Node.Poco,
        ElementResolver = reference => ResolveReference(reference)?.Poco,
        TerminologyService = Session.FhirPathTerminology,
    };

    /// <summary>
    /// Resolves a literal reference made from this resource to a resource in the same document: "#id" to a contained
    /// resource, anything else to an entry of the enclosing Bundle(s) by fullUrl (absolute, urn:uuid, or Type/id relative
    /// to the entry's base). Null when the target is not in the document.
    /// </summary>
    public InstanceNode? ResolveReference(string? reference)
    {
        if (string.IsNullOrEmpty(reference))
        {
            return null;
        }

        if (reference[0] == '#')
        {
            var root = RootResourceScope;
            if (reference.Length == 1)
            {
                return root.Node;
            }

            var id = reference[1..];
            return root.Session.ContainedOf(root).FirstOrDefault(c => c.Value is Resource r && r.Id == id);
        }

        for (var scope = ContainerScope; scope is not null; scope = scope.ContainerScope)
        {
            if (scope.Resource is Bundle && Session.BundleEntryFor(scope, reference, this) is { } target)
            {
                return target;
            }
        }

        return null;
    }

    /// <summary>The fullUrl of the Bundle entry holding this resource, if it is one.</summary>
    public string? FullUrl { get; init; }
}
