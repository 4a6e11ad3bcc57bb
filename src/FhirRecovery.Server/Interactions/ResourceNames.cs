using System.Text.RegularExpressions;
using FhirRecovery.Server.Http;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Interactions;

/// <summary>Resource types and logical ids as FHIR R4 defines them.</summary>
public static partial class ResourceNames
{
    private static readonly HashSet<string> ResourceTypes = ModelInfo.SupportedResources
        .Where(t => t is not ("Resource" or "DomainResource"))
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>Every concrete resource type, sorted (for the CapabilityStatement).</summary>
    public static IReadOnlyList<string> All { get; } = ResourceTypes.Order(StringComparer.Ordinal).ToList();

    public static bool IsResourceType(string type) => ResourceTypes.Contains(type);

    /// <summary>404 for a type the server does not know (so also for a typo in the URL).</summary>
    public static void RequireType(string type)
    {
        if (type.StartsWith('$'))
        {
            throw Endpoints.SystemEndpoints.UnknownOperation(type);
        }

        if (!IsResourceType(type))
        {
            throw FhirException.NotFound($"Unknown resource type '{type}'");
        }
    }

    public static bool IsValidId(string? id) => id is not null && IdPattern().IsMatch(id);

    public static void RequireValidId(string id, string expression = "id")
    {
        if (!IsValidId(id))
        {
            throw FhirException.BadRequest($"'{id}' is not a valid resource id: 1 to 64 of A-Z, a-z, 0-9, '-' and '.'", expression);
        }
    }

    /// <summary>Server-assigned ids: time-ordered GUIDs, so new rows land at the end of the store's indexes.</summary>
    public static string NewId() => Guid.CreateVersion7().ToString();

    [GeneratedRegex(@"^[A-Za-z0-9\-\.]{1,64}$")]
    private static partial Regex IdPattern();
}
