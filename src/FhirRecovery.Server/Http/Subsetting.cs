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
                .Select(e => e.Split('.')[0])
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
    /// A copy of <paramref name="resource"/> with only id, meta, the mandatory elements and the requested ones, tagged
    /// SUBSETTED. (Firely's own _elements filter drops id and meta, which clients need.)
    /// </summary>
    public static Resource ApplyElements(Resource resource, IReadOnlyList<string> elements)
    {
        var copy = (Resource)resource.DeepCopy();
        var mapping = Hl7.Fhir.Model.ModelInfo.ModelInspector.FindClassMapping(copy.GetType());
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
