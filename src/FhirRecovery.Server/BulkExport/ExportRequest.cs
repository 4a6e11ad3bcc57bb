using System.Text.Json;
using System.Text.Json.Serialization;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Security;

namespace FhirRecovery.Server.BulkExport;

/// <summary>Which resources an export is about: everything, the compartments of all patients, or those of a Group's members.</summary>
public enum ExportLevel
{
    System,
    Patient,
    Group,
}

/// <summary>A <c>_typeFilter</c>: a search (query string without the type) that narrows the export of one type.</summary>
public sealed record ExportTypeFilter(string ResourceType, string Query)
{
    /// <summary>The query as name/value pairs, percent-decoded, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters() => SearchCriteria.Parse(Query);
}

/// <summary>
/// A kick-off request as the server understood and checked it, stored with the job (as JSON) so that whichever instance
/// runs the job does exactly what was accepted, with the rights the client had when it asked.
/// </summary>
public sealed record ExportRequest
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public required ExportLevel Level { get; init; }

    /// <summary>The Group of a Group-level export.</summary>
    public string? GroupId { get; init; }

    /// <summary>The types to export, in output order (one file each).</summary>
    public required IReadOnlyList<string> Types { get; init; }

    /// <summary><c>_since</c>: only resources changed at or after it.</summary>
    public DateTimeOffset? Since { get; init; }

    public IReadOnlyList<ExportTypeFilter> TypeFilters { get; init; } = [];

    /// <summary><c>_elements</c>: <c>element</c> (every type) or <c>Type.element</c>; null for whole resources.</summary>
    public IReadOnlyList<string>? Elements { get; init; }

    /// <summary>The <c>patient</c> parameter: a Patient- or Group-level export only of these patients (ids).</summary>
    public IReadOnlyList<string>? Patients { get; init; }

    /// <summary>The kick-off URL (the manifest's <c>request</c>).</summary>
    public required string RequestUrl { get; init; }

    /// <summary>Whether the files need the client's token (false when the server runs without authorization).</summary>
    public bool RequiresAccessToken { get; init; }

    public required AccessSnapshot Access { get; init; }

    /// <summary>The elements asked for on <paramref name="type"/>, or null for whole resources.</summary>
    public IReadOnlyList<string>? ElementsFor(string type)
    {
        if (Elements is null)
        {
            return null;
        }

        var prefix = type + ".";
        var elements = Elements
            .Where(e => !e.Contains('.') || e.StartsWith(prefix, StringComparison.Ordinal))
            .Select(e => e.Contains('.') ? e[prefix.Length..] : e)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return elements.Count == 0 ? null : elements;
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static ExportRequest FromJson(string json) =>
        JsonSerializer.Deserialize<ExportRequest>(json, Json) ?? throw new JsonException("An export job without its request");
}
