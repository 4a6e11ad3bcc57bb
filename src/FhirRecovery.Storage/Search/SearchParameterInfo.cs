using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace FhirRecovery.Storage.Search;

/// <summary>How a search parameter is stored and matched.</summary>
public enum SearchParameterStorage
{
    /// <summary>Values extracted with the FHIRPath expression into the index table of the parameter's type.</summary>
    Indexed,

    /// <summary><c>_id</c>: the resource id column.</summary>
    ResourceId,

    /// <summary><c>_lastUpdated</c>: the last-updated column.</summary>
    LastUpdated,

    /// <summary>Defined, but this store cannot search it (see <see cref="SearchParameterInfo.UnsupportedReason"/>).</summary>
    Unsupported,
}

/// <summary>One search parameter as this store uses it for one resource type.</summary>
public sealed class SearchParameterInfo
{
    internal SearchParameterInfo(string resourceType, SearchParameter definition, SearchParamType type, string? expression,
        SearchParameterStorage storage, string? unsupportedReason, IReadOnlyList<CompositeComponentInfo> components)
    {
        ResourceType = resourceType;
        Definition = definition;
        Code = definition.Code ?? "";
        Url = definition.Url ?? "";
        Type = type;
        Expression = expression;
        Storage = storage;
        UnsupportedReason = unsupportedReason;
        Components = components;
        Targets = definition.Target.Where(t => t is not null).Select(t => t!.Value.ToString()).ToArray();
    }

    public string ResourceType { get; }

    public SearchParameter Definition { get; }

    public string Code { get; }

    public string Url { get; }

    public SearchParamType Type { get; }

    /// <summary>The FHIRPath expression, reduced to the branches that apply to <see cref="ResourceType"/>.</summary>
    public string? Expression { get; }

    public SearchParameterStorage Storage { get; }

    public string? UnsupportedReason { get; }

    /// <summary>Resource types a reference parameter may point to (empty: any).</summary>
    public IReadOnlyList<string> Targets { get; }

    public IReadOnlyList<CompositeComponentInfo> Components { get; }

    public bool IsSupported => Storage != SearchParameterStorage.Unsupported;

    /// <summary>Whether <c>_sort</c> accepts this parameter.</summary>
    public bool IsSortable => IsSupported && Type is SearchParamType.String or SearchParamType.Token or SearchParamType.Date
        or SearchParamType.Number or SearchParamType.Quantity or SearchParamType.Uri or SearchParamType.Reference;

    /// <summary>Compiled once, on first use (null when not indexed).</summary>
    internal CompiledExpression? Compiled { get; set; }

    /// <summary>The expression as plain element paths (a union of them), when it is one; null when it needs FHIRPath (see <see cref="Indexing.PocoPath"/>).</summary>
    public IReadOnlyList<Indexing.PocoPath>? PlainPaths { get; internal init; }

    public override string ToString() => $"{ResourceType}.{Code} ({Type})";
}

/// <summary>A component of a composite parameter: its type, and the expression evaluated on each composite value.</summary>
public sealed class CompositeComponentInfo
{
    internal CompositeComponentInfo(int index, string indexName, SearchParamType type, string expression, CompiledExpression compiled)
    {
        Index = index;
        IndexName = indexName;
        Type = type;
        Expression = expression;
        Compiled = compiled;
    }

    public int Index { get; }

    /// <summary>The parameter name its values are indexed under (<c>code-value-quantity$1</c>).</summary>
    public string IndexName { get; }

    public SearchParamType Type { get; }

    public string Expression { get; }

    internal CompiledExpression Compiled { get; }
}
