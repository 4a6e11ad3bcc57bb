using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;

namespace FhirRecovery.Server.Http;

/// <summary><c>_summary</c> and <c>_elements</c>: what part of each resource the client asked to see.</summary>
public sealed record Subsetting(SummaryType Summary, IReadOnlyList<string>? Elements)
{
    public const string SubsettedSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

    public static readonly Subsetting None = new(SummaryType.False, null);

    public bool IsNone => Summary == SummaryType.False && Elements is null;

    /// <summary>From the query string; a bad <c>_summary</c> value is a 400.</summary>
    public static Subsetting FromQuery(IQueryCollection query)
    {
        var summary = SummaryType.False;
        if (query.TryGetValue("_summary", out var summaryValues) && summaryValues.LastOrDefault() is { Length: > 0 } value)
        {
            summary = value.ToLowerInvariant() switch
            {
                "true" => SummaryType.True,
                "text" => SummaryType.Text,
                "data" => SummaryType.Data,
                "count" => SummaryType.Count,
                "false" => SummaryType.False,
                _ => throw FhirException.BadRequest($"_summary '{value}' is not one of true, text, data, count, false", "_summary"),
            };
        }

        IReadOnlyList<string>? elements = null;
        if (query.TryGetValue("_elements", out var elementValues))
        {
            elements = elementValues.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Distinct(StringComparer.Ordinal)
                .ToList();
            if (elements.Count == 0)
            {
                elements = null;
            }
        }

        return new Subsetting(summary, elements);
    }

    /// <summary>
    /// From the query string of a read or search of <paramref name="type"/> (null: all types); under
    /// <c>Prefer: handling=strict</c>, an <c>_elements</c> entry that names no element is a 400 (leniently it is ignored).
    /// </summary>
    public static Subsetting FromQuery(HttpContext http, string? type)
    {
        var subsetting = FromQuery(http.Request.Query);
        if (subsetting.Elements is { } elements && FhirRequestContext.Get(http).Handling == Storage.SearchHandling.Strict)
        {
            var unknown = elements.Where(e => !IsKnown(e, type)).ToList();
            if (unknown.Count > 0)
            {
                throw FhirException.BadRequest(
                    $"_elements names no element of {type ?? "any resource type"}: {string.Join(", ", unknown)} (Prefer: handling=strict)", "_elements");
            }
        }

        return subsetting;
    }

    /// <summary>
    /// The top-level elements <c>_elements</c> asks of a resource of <paramref name="resourceType"/>, or null when it is
    /// to be sent whole. An entry is a plain element name (e.g. <c>status</c>), which applies to the matches of a search
    /// (and to a read), or <c>Type.element</c> (e.g. <c>Goal.lifecycleStatus</c>), which applies to every resource of
    /// that type, included ones too. Deeper paths keep their whole top-level element: servers may return more than asked.
    /// </summary>
    public IReadOnlyList<string>? ElementsFor(string resourceType, bool isMatch)
    {
        if (Elements is null)
        {
            return null;
        }

        var names = new List<string>();
        foreach (var entry in Elements)
        {
            var (type, element) = Split(entry);
            if (type is null ? isMatch : type == resourceType)
            {
                names.Add(element);
            }
        }

        return names.Count == 0 ? null : names;
    }

    /// <summary>(type, top-level element) of an <c>_elements</c> entry; type is null for a plain element name.</summary>
    private static (string? Type, string Element) Split(string entry)
    {
        var parts = entry.Split('.');
        return parts.Length > 1 && Interactions.ResourceNames.IsResourceType(parts[0]) ? (parts[0], parts[1]) : (null, parts[0]);
    }

    private static bool IsKnown(string entry, string? searchedType)
    {
        var (type, element) = Split(entry);
        if (type is null && entry.Contains('.', StringComparison.Ordinal) && char.IsUpper(entry[0]))
        {
            return false; // "Goall.status": a type that does not exist
        }

        var types = type is not null ? [type] : searchedType is not null ? [searchedType] : Interactions.ResourceNames.All;
        return types.Any(t => ModelInfo.ModelInspector.FindClassMapping(ModelInfo.GetTypeForFhirType(t)!)?.FindMappedElementByName(element) is not null);
    }

    /// <summary>
    /// A copy of <paramref name="resource"/> with only id, meta, the mandatory elements (min 1, which a client's parser
    /// may require) and the requested ones, tagged SUBSETTED. Names the type does not have are ignored. (Firely's own
    /// _elements filter drops id and meta, which clients need.)
    /// </summary>
    public static Resource ApplyElements(Resource resource, IReadOnlyList<string> elements)
    {
        var copy = (Resource)resource.DeepCopy();
        var mapping = ModelInfo.ModelInspector.FindClassMapping(copy.GetType());
        var keep = new HashSet<string>(elements, StringComparer.Ordinal) { "id", "meta", "resourceType" };
        if (mapping is not null)
        {
            foreach (var property in mapping.PropertyMappings.Where(p => p.IsMandatoryElement))
            {
                keep.Add(property.Name);
            }
        }

        foreach (var name in copy.EnumerateElements().Select(e => e.Key).ToList())
        {
            if (!keep.Contains(name))
            {
                copy.SetValue(name, null);
            }
        }

        MarkSubsetted(copy);
        return copy;
    }

    public static void MarkSubsetted(Resource resource)
    {
        resource.Meta ??= new Meta();
        if (!resource.Meta.Tag.Any(t => t.System == SubsettedSystem && t.Code == "SUBSETTED"))
        {
            resource.Meta.Tag.Add(new Coding(SubsettedSystem, "SUBSETTED"));
        }
    }
}
