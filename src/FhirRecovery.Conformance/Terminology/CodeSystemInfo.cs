using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>How much of a code system is available locally, which decides whether "not found" means invalid.</summary>
internal enum CodeSystemKind
{
    /// <summary>CodeSystem.content = complete: a code that is not listed does not exist.</summary>
    Complete,

    /// <summary>content = fragment or example: listed codes exist, others cannot be decided.</summary>
    Partial,

    /// <summary>Defined by a grammar (BCP 47, BCP 13, UCUM...): every code is decided by its syntax.</summary>
    Grammar,

    /// <summary>Known by name only (content = not-present, or no definition at all: SNOMED CT, LOINC, RxNorm...).</summary>
    Unavailable,
}

/// <summary>One concept of an indexed code system, with its hierarchy links resolved.</summary>
internal sealed class ConceptInfo
{
    public required string Code { get; init; }
    public string? Display { get; init; }
    public string? Definition { get; init; }
    public IReadOnlyList<CodeSystem.DesignationComponent> Designations { get; init; } = [];
    public IReadOnlyList<CodeSystem.ConceptPropertyComponent> Properties { get; init; } = [];
    public List<ConceptInfo> Parents { get; } = [];
    public List<ConceptInfo> Children { get; } = [];
    public bool Abstract { get; set; }
    public bool Inactive { get; set; }
    public bool Deprecated { get; set; }
    public string? Status { get; set; }
    public int Order { get; init; }

    public override string ToString() => Code;
}

/// <summary>
/// What the engine knows about one code system (a CodeSystem resource indexed by code, a grammar, or just its name).
/// Immutable once built, so it is shared by all threads.
/// </summary>
internal sealed class CodeSystemInfo
{
    private static readonly string[] StandardParentProperties = ["parent", "subsumedBy"];
    private const string ConceptPropertiesBase = "http://hl7.org/fhir/concept-properties#";

    private readonly Dictionary<string, ConceptInfo> _byCode;
    private readonly List<ConceptInfo> _concepts;

    private CodeSystemInfo(string url, CodeSystemKind kind, bool caseSensitive)
    {
        Url = url;
        Kind = kind;
        CaseSensitive = caseSensitive;
        _byCode = new Dictionary<string, ConceptInfo>(caseSensitive ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);
        _concepts = [];
    }

    public string Url { get; }
    public string? Version { get; private init; }
    public string? Name { get; private init; }
    public CodeSystemKind Kind { get; }
    public bool CaseSensitive { get; }
    public CodeSystem? Resource { get; private init; }
    public CodeSystemContentMode? Content { get; private init; }
    public ICodeGrammar? Grammar { get; private init; }

    /// <summary>Why codes of this system cannot (all) be decided locally; null for complete and grammar systems.</summary>
    public string? UnavailableReason { get; private init; }

    public IReadOnlyDictionary<string, CodeSystem.PropertyComponent> PropertyDefinitions { get; private init; } =
        new Dictionary<string, CodeSystem.PropertyComponent>();

    public IReadOnlyList<ConceptInfo> Concepts => _concepts;

    public StringComparer CodeComparer => CaseSensitive ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;

    public string Canonical => Version is null ? Url : $"{Url}|{Version}";

    public bool HasConcepts => Kind is CodeSystemKind.Complete or CodeSystemKind.Partial;

    public ConceptInfo? Find(string code) => _byCode.GetValueOrDefault(code);

    private Member?[]? _members;

    /// <summary>
    /// The member for a concept as a value set that takes the code system's display shows it; shared by every value set
    /// that includes the concept unchanged, so its cached validation result is shared too.
    /// </summary>
    public Member MemberFor(ConceptInfo concept)
    {
        var members = _members;
        if (members is null)
        {
            Interlocked.CompareExchange(ref _members, new Member?[_concepts.Count], null);
            members = _members;
        }

        return members[concept.Order] ??= new Member
        {
            System = Url,
            Version = Version,
            Code = concept.Code,
            Display = concept.Display,
            Abstract = concept.Abstract,
            Inactive = concept.Inactive,
            Concept = concept,
        };
    }

    public static CodeSystemInfo ForGrammar(ICodeGrammar grammar) =>
        new(grammar.System, CodeSystemKind.Grammar, grammar.CaseSensitive) { Grammar = grammar, Name = grammar.Name };

    public static CodeSystemInfo ForUnavailable(string url, string reason, CodeSystem? resource = null) =>
        new(url, CodeSystemKind.Unavailable, resource?.CaseSensitive ?? true)
        {
            Resource = resource,
            Version = resource?.Version,
            Name = resource?.Name ?? url,
            Content = resource?.Content,
            UnavailableReason = reason,
        };

    public static CodeSystemInfo FromResource(CodeSystem cs)
    {
        var url = cs.Url ?? throw TerminologyException.Invalid($"CodeSystem '{cs.Id}' has no url.");
        var kind = cs.Content switch
        {
            CodeSystemContentMode.Complete => CodeSystemKind.Complete,
            CodeSystemContentMode.Fragment or CodeSystemContentMode.Example => CodeSystemKind.Partial,
            null => cs.Concept.Count > 0 ? CodeSystemKind.Complete : CodeSystemKind.Unavailable,
            _ => CodeSystemKind.Unavailable,
        };

        if (kind == CodeSystemKind.Unavailable)
        {
            return ForUnavailable(url, $"The content of code system '{url}' is not available locally (content = {ContentCode(cs) ?? "none"}).", cs);
        }

        var propertyDefs = new Dictionary<string, CodeSystem.PropertyComponent>(StringComparer.Ordinal);
        foreach (var p in cs.Property)
        {
            if (p.Code is { } code)
            {
                propertyDefs.TryAdd(code, p);
            }
        }

        // Without caseSensitive FHIR leaves it unspecified; exact matching is the safe reading (it never accepts a wrong code).
        var info = new CodeSystemInfo(url, kind, cs.CaseSensitive ?? true)
        {
            Resource = cs,
            Version = cs.Version,
            Name = cs.Name ?? cs.Title ?? url,
            Content = cs.Content,
            PropertyDefinitions = propertyDefs,
            UnavailableReason = kind == CodeSystemKind.Partial
                ? $"Code system '{url}' is only a {ContentCode(cs)} here: codes it does not list cannot be decided locally."
                : null,
        };
        info.Index(cs);
        return info;
    }

    private static string? ContentCode(CodeSystem cs) => cs.ContentElement?.JsonValue as string;

    /// <summary>A complete code system built in memory (the ISO tables).</summary>
    public static CodeSystemInfo FromConcepts(string url, string name, string? version, bool caseSensitive, IEnumerable<(string Code, string Display)> concepts)
    {
        var cs = new CodeSystem
        {
            Url = url,
            Name = name,
            Version = version,
            Status = PublicationStatus.Active,
            Content = CodeSystemContentMode.Complete,
            CaseSensitive = caseSensitive,
        };
        foreach (var (code, display) in concepts)
        {
            cs.Concept.Add(new CodeSystem.ConceptDefinitionComponent { Code = code, Display = display });
        }

        return FromResource(cs);
    }

    private void Index(CodeSystem cs)
    {
        var parentProperties = new HashSet<string>(StandardParentProperties, StringComparer.Ordinal);
        var childProperties = new HashSet<string>(["child"], StringComparer.Ordinal);
        foreach (var p in cs.Property)
        {
            if (p.Code is null)
            {
                continue;
            }

            if (p.Uri == ConceptPropertiesBase + "parent")
            {
                parentProperties.Add(p.Code);
            }
            else if (p.Uri == ConceptPropertiesBase + "child")
            {
                childProperties.Add(p.Code);
            }
        }

        var statusCode = PropertyCodeFor("status", cs);
        var notSelectableCode = PropertyCodeFor("notSelectable", cs);
        var inactiveCode = PropertyCodeFor("inactive", cs);
        var deprecationCode = PropertyCodeFor("deprecationDate", cs);

        var stack = new Stack<(CodeSystem.ConceptDefinitionComponent Definition, ConceptInfo? Parent)>();
        for (var i = cs.Concept.Count - 1; i >= 0; i--)
        {
            stack.Push((cs.Concept[i], null));
        }

        // Iterative walk: some code systems nest deeply and a recursion would bound the depth by the stack.
        var pendingLinks = new List<(ConceptInfo Concept, CodeSystem.ConceptPropertyComponent Property)>();
        while (stack.Count > 0)
        {
            var (def, parent) = stack.Pop();
            if (string.IsNullOrEmpty(def.Code))
            {
                continue;
            }

            if (!_byCode.TryGetValue(def.Code, out var concept))
            {
                concept = new ConceptInfo
                {
                    Code = def.Code,
                    Display = def.Display,
                    Definition = def.Definition,
                    Designations = def.Designation,
                    Properties = def.Property,
                    Order = _concepts.Count,
                };
                ApplyStatus(concept, def.Property, statusCode, notSelectableCode, inactiveCode, deprecationCode);
                _byCode[def.Code] = concept;
                _concepts.Add(concept);
                foreach (var property in def.Property)
                {
                    if (property.Code is { } pc && (parentProperties.Contains(pc) || childProperties.Contains(pc)))
                    {
                        pendingLinks.Add((concept, property));
                    }
                }
            }

            if (parent is not null)
            {
                Link(parent, concept);
            }

            for (var i = def.Concept.Count - 1; i >= 0; i--)
            {
                stack.Push((def.Concept[i], concept));
            }
        }

        foreach (var (concept, property) in pendingLinks)
        {
            var target = property.Value switch
            {
                Code c => c.Value,
                Coding coding => coding.Code,
                FhirString s => s.Value,
                _ => null,
            };
            if (target is null || Find(target) is not { } other || ReferenceEquals(other, concept))
            {
                continue;
            }

            if (property.Code is { } propertyCode && parentProperties.Contains(propertyCode))
            {
                Link(other, concept);
            }
            else
            {
                Link(concept, other);
            }
        }
    }

    private static string PropertyCodeFor(string standard, CodeSystem cs) =>
        cs.Property.FirstOrDefault(p => p.Uri == ConceptPropertiesBase + standard)?.Code ?? standard;

    private static void ApplyStatus(ConceptInfo concept, List<CodeSystem.ConceptPropertyComponent> properties,
        string statusCode, string notSelectableCode, string inactiveCode, string deprecationCode)
    {
        foreach (var p in properties)
        {
            if (p.Code == statusCode && ValueText(p.Value) is { } status)
            {
                concept.Status = status;
                if (status is "retired" or "inactive")
                {
                    concept.Inactive = true;
                }
                else if (status == "deprecated")
                {
                    concept.Deprecated = true;
                }
            }
            else if ((p.Code == notSelectableCode || p.Code == "abstract") && p.Value is FhirBoolean { Value: true })
            {
                concept.Abstract = true;
            }
            else if (p.Code == inactiveCode && p.Value is FhirBoolean { Value: true })
            {
                concept.Inactive = true;
            }
            else if (p.Code == deprecationCode && p.Value is not null)
            {
                concept.Deprecated = true;
            }
        }
    }

    private static void Link(ConceptInfo parent, ConceptInfo child)
    {
        if (!parent.Children.Contains(child))
        {
            parent.Children.Add(child);
        }

        if (!child.Parents.Contains(parent))
        {
            child.Parents.Add(parent);
        }
    }

    /// <summary>The text form of a property value, as filters compare it.</summary>
    internal static string? ValueText(DataType? value) => value switch
    {
        null => null,
        Coding coding => coding.Code,
        FhirBoolean b => b.Value is { } v ? (v ? "true" : "false") : null,
        PrimitiveType p => p.ToString(),
        _ => null,
    };

    public bool IsParentProperty(string property) =>
        property is "parent" or "subsumedBy" || PropertyDefinitions.TryGetValue(property, out var def) && def.Uri == ConceptPropertiesBase + "parent";

    public bool IsChildProperty(string property) =>
        property == "child" || PropertyDefinitions.TryGetValue(property, out var def) && def.Uri == ConceptPropertiesBase + "child";

    /// <summary>All concepts below <paramref name="concept"/> (not itself), following every parent/child link; cycle-safe.</summary>
    public static List<ConceptInfo> Descendants(ConceptInfo concept) => Closure(concept, c => c.Children);

    /// <summary>All concepts above <paramref name="concept"/> (not itself); cycle-safe.</summary>
    public static List<ConceptInfo> Ancestors(ConceptInfo concept) => Closure(concept, c => c.Parents);

    private static List<ConceptInfo> Closure(ConceptInfo start, Func<ConceptInfo, List<ConceptInfo>> next)
    {
        var seen = new HashSet<ConceptInfo>(ReferenceEqualityComparer.Instance) { start };
        var result = new List<ConceptInfo>();
        var stack = new Stack<ConceptInfo>();
        stack.Push(start);
        while (stack.Count > 0)
        {
            foreach (var n in next(stack.Pop()))
            {
                if (seen.Add(n))
                {
                    result.Add(n);
                    stack.Push(n);
                }
            }
        }

        return result;
    }

    public static bool IsAncestorOf(ConceptInfo ancestor, ConceptInfo concept)
    {
        var seen = new HashSet<ConceptInfo>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<ConceptInfo>();
        stack.Push(concept);
        while (stack.Count > 0)
        {
            foreach (var p in stack.Pop().Parents)
            {
                if (ReferenceEquals(p, ancestor))
                {
                    return true;
                }

                if (seen.Add(p))
                {
                    stack.Push(p);
                }
            }
        }

        return false;
    }

    public override string ToString() => Canonical;
}
