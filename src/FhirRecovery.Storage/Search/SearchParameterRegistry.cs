using System.Collections.Concurrent;
using FhirRecovery.Conformance.Definitions;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;

namespace FhirRecovery.Storage.Search;

/// <summary>
/// The search parameters of every resource type, from the definitions (core <c>search-parameters.json</c> and the IG's
/// SearchParameters): which are supported, their expressions reduced to the type, compiled once. Built lazily per type;
/// thread-safe; a pure function of the definitions, so every server instance builds the same registry.
/// </summary>
public sealed class SearchParameterRegistry
{
    // Parameters the spec defines but that need things this store does not have (full-text engine, named queries, geo).
    private static readonly Dictionary<string, string> UnsupportedByCode = new(StringComparer.Ordinal)
    {
        ["_text"] = "full-text search of the narrative is not supported",
        ["_content"] = "full-text search of the resource content is not supported",
        ["_query"] = "named queries are not supported",
        ["_list"] = "_list is not supported",
    };

    private static readonly FhirPathCompiler Compiler = new(new SymbolTable().AddStandardFP().AddFhirExtensions());
    private static readonly ConcurrentDictionary<string, Lazy<CompiledExpression?>> CompiledByExpression = new(StringComparer.Ordinal);

    private readonly DefinitionResolver _definitions;
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, SearchParameterInfo>> _byType = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyList<SearchParameterInfo>> _indexedByType = new(StringComparer.Ordinal);

    public SearchParameterRegistry(DefinitionResolver definitions)
    {
        _definitions = definitions;
    }

    public DefinitionResolver Definitions => _definitions;

    /// <summary>Every parameter defined for the type (supported or not), by code.</summary>
    public IReadOnlyDictionary<string, SearchParameterInfo> For(string resourceType) =>
        _byType.GetOrAdd(resourceType, Build);

    public SearchParameterInfo? Find(string resourceType, string code) =>
        For(resourceType).TryGetValue(code, out var info) ? info : null;

    /// <summary>The parameters a server can advertise for the type (CapabilityStatement).</summary>
    public IEnumerable<SearchParameterInfo> Supported(string resourceType) => For(resourceType).Values.Where(p => p.IsSupported);

    /// <summary>The parameters whose values the indexer extracts for the type.</summary>
    internal IReadOnlyList<SearchParameterInfo> Indexed(string resourceType) =>
        _indexedByType.GetOrAdd(resourceType, type =>
            For(type).Values.Where(p => p.Storage == SearchParameterStorage.Indexed && p.Compiled is not null).ToArray());

    private IReadOnlyDictionary<string, SearchParameterInfo> Build(string resourceType)
    {
        var result = new Dictionary<string, SearchParameterInfo>(StringComparer.Ordinal);
        foreach (var definition in _definitions.SearchParametersFor(resourceType))
        {
            if (definition.Code is not { } code || result.ContainsKey(code))
            {
                continue;
            }

            result[code] = Describe(resourceType, definition);
        }

        return result;
    }

    private SearchParameterInfo Describe(string resourceType, SearchParameter definition)
    {
        var type = definition.Type ?? SearchParamType.Special;
        var code = definition.Code ?? "";
        if (code == "_id")
        {
            return new SearchParameterInfo(resourceType, definition, SearchParamType.Token, null, SearchParameterStorage.ResourceId, null, []);
        }

        if (code == "_lastUpdated")
        {
            return new SearchParameterInfo(resourceType, definition, SearchParamType.Date, null, SearchParameterStorage.LastUpdated, null, []);
        }

        string? Unsupported(string reason) => reason;
        string? unsupported = UnsupportedByCode.TryGetValue(code, out var why) ? why
            : type == SearchParamType.Special ? Unsupported($"special parameter '{code}' is not supported")
            : string.IsNullOrWhiteSpace(definition.Expression) ? Unsupported($"parameter '{code}' has no FHIRPath expression")
            : null;

        var expression = unsupported is null ? ExpressionFor(definition.Expression!, resourceType) : null;
        if (unsupported is null && expression is null)
        {
            unsupported = $"the expression of '{code}' has no branch for {resourceType}";
        }

        CompiledExpression? compiled = null;
        if (unsupported is null)
        {
            compiled = Compile(expression!);
            if (compiled is null)
            {
                unsupported = $"the expression of '{code}' cannot be compiled";
            }
        }

        IReadOnlyList<CompositeComponentInfo> components = [];
        if (unsupported is null && type == SearchParamType.Composite)
        {
            (components, unsupported) = DescribeComponents(definition);
        }

        var info = new SearchParameterInfo(resourceType, definition, type, expression,
            unsupported is null ? SearchParameterStorage.Indexed : SearchParameterStorage.Unsupported, unsupported, components)
        {
            Compiled = unsupported is null ? compiled : null,
            PlainPaths = unsupported is null && type != SearchParamType.Composite ? Indexing.PocoPath.TryCreate(SplitUnion(expression!), resourceType) : null,
        };
        return info;
    }

    private (IReadOnlyList<CompositeComponentInfo>, string?) DescribeComponents(SearchParameter definition)
    {
        var components = new List<CompositeComponentInfo>();
        foreach (var component in definition.Component)
        {
            var url = component.Definition;
            var componentDefinition = url is null ? null : _definitions.Resolve<SearchParameter>(url);
            if (componentDefinition?.Type is not { } componentType || componentType is SearchParamType.Composite or SearchParamType.Special)
            {
                return ([], $"component '{url}' of composite '{definition.Code}' is not a known simple search parameter");
            }

            if (string.IsNullOrWhiteSpace(component.Expression) || Compile(component.Expression) is not { } compiled)
            {
                return ([], $"a component expression of composite '{definition.Code}' cannot be compiled");
            }

            components.Add(new CompositeComponentInfo(components.Count, $"{definition.Code}${components.Count}", componentType,
                component.Expression, compiled));
        }

        return components.Count == 0 ? ([], $"composite '{definition.Code}' has no components") : (components, null);
    }

    /// <summary>Compiles (once per distinct expression for the whole process) or null when Firely cannot compile it.</summary>
    internal static CompiledExpression? Compile(string expression) =>
        CompiledByExpression.GetOrAdd(expression, e => new Lazy<CompiledExpression?>(() =>
        {
            try
            {
                return Compiler.Compile(e);
            }
            catch (Exception)
            {
                return null;
            }
        })).Value;

    /// <summary>
    /// Core expressions are unions over many types (<c>AllergyIntolerance.patient | CarePlan.subject... </c>); keeping only the
    /// branches that start with the type (or Resource/DomainResource) saves evaluating dozens of empty paths per write.
    /// </summary>
    internal static string? ExpressionFor(string expression, string resourceType)
    {
        var branches = SplitUnion(expression);
        if (branches.Count == 1)
        {
            return AppliesTo(branches[0], resourceType) ? expression.Trim() : null;
        }

        var kept = branches.Where(b => AppliesTo(b, resourceType)).Select(b => b.Trim()).ToList();
        return kept.Count == 0 ? null : string.Join(" | ", kept);
    }

    private static bool AppliesTo(string branch, string resourceType)
    {
        var s = branch.TrimStart(' ', '(', '\t', '\r', '\n');
        var end = 0;
        while (end < s.Length && char.IsAsciiLetter(s[end]))
        {
            end++;
        }

        var head = s[..end];
        if (head.Length == 0 || !char.IsUpper(head[0]))
        {
            return true; // starts with a function or a variable: cannot tell, keep it
        }

        return head == resourceType || head is "Resource" or "DomainResource" || !ModelInfo.IsKnownResource(head);
    }

    private static List<string> SplitUnion(string expression)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        char? quote = null;
        for (var i = 0; i < expression.Length; i++)
        {
            var c = expression[i];
            if (quote is not null)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == quote)
                {
                    quote = null;
                }

                continue;
            }

            switch (c)
            {
                case '\'' or '`' or '"':
                    quote = c;
                    break;
                case '(' or '[' or '{':
                    depth++;
                    break;
                case ')' or ']' or '}':
                    depth--;
                    break;
                case '|' when depth == 0:
                    parts.Add(expression[start..i]);
                    start = i + 1;
                    break;
            }
        }

        parts.Add(expression[start..]);
        return parts;
    }
}
