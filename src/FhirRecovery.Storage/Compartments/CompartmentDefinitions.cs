using System.Collections.Concurrent;
using FhirRecovery.Conformance.Definitions;
using Hl7.Fhir.Model;

namespace FhirRecovery.Storage.Compartments;

/// <summary>
/// The compartments of the definitions (R4 core: Patient, Encounter, RelatedPerson, Practitioner, Device): for each
/// member resource type, the reference search parameters that link it to the compartment's focal resource. A resource
/// is in <c>Patient/1</c> when one of those parameters of its type points to Patient/1; Patient/1 itself is also in it.
/// </summary>
public sealed class CompartmentDefinitions
{
    /// <summary>
    /// Added to the R4 definitions unless configured otherwise: R4's Patient compartment leaves Task out, so a patient's
    /// peer-support tasks would be invisible in patient context; R5 (and other servers) put it in through patient and focus.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string[]>> DefaultAdditions =
        new Dictionary<string, IReadOnlyDictionary<string, string[]>>
        {
            ["Patient"] = new Dictionary<string, string[]> { ["Task"] = ["patient", "focus"] },
        };

    private readonly DefinitionResolver _definitions;
    private readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string[]>> _additions;
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>?> _byType = new(StringComparer.Ordinal);

    /// <param name="definitions">Where the CompartmentDefinitions come from.</param>
    /// <param name="additions">Member types (and their parameters) added per compartment type, on top of <see cref="DefaultAdditions"/>.</param>
    public CompartmentDefinitions(DefinitionResolver definitions, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string[]>>? additions = null)
    {
        _definitions = definitions;
        var merged = DefaultAdditions.ToDictionary(c => c.Key, c => c.Value.ToDictionary(t => t.Key, t => t.Value));
        foreach (var (compartment, types) in additions ?? new Dictionary<string, IReadOnlyDictionary<string, string[]>>())
        {
            var target = merged.TryGetValue(compartment, out var existing) ? existing : merged[compartment] = [];
            foreach (var (type, parameters) in types)
            {
                target[type] = (target.GetValueOrDefault(type) ?? []).Union(parameters).ToArray();
            }
        }

        _additions = merged.ToDictionary(c => c.Key, c => (IReadOnlyDictionary<string, string[]>)c.Value);
    }

    /// <summary>Member types and their linking parameters, or null when the compartment type is not defined.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? For(string compartmentType) =>
        _byType.GetOrAdd(compartmentType, Load);

    /// <summary>The parameters that put a resource of <paramref name="resourceType"/> in the compartment (empty: never a member).</summary>
    public IReadOnlyList<string> ParametersFor(string compartmentType, string resourceType) =>
        For(compartmentType)?.GetValueOrDefault(resourceType) ?? [];

    private IReadOnlyDictionary<string, IReadOnlyList<string>>? Load(string compartmentType)
    {
        foreach (var entry in _definitions.EntriesOf("CompartmentDefinition"))
        {
            if (_definitions.Resolve(entry) is not CompartmentDefinition definition
                || !string.Equals(definition.CodeElement?.JsonValue as string, compartmentType, StringComparison.Ordinal))
            {
                continue;
            }

            var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var resource in definition.Resource)
            {
                var type = resource.CodeElement?.JsonValue as string;
                // "{def}" stands for "the focal resource itself", which membership already covers.
                var parameters = resource.Param.Where(p => p is not null && !p.StartsWith('{')).ToArray();
                if (type is not null && parameters.Length > 0)
                {
                    result[type] = parameters!;
                }
            }

            foreach (var (type, parameters) in _additions.GetValueOrDefault(compartmentType) ?? new Dictionary<string, string[]>())
            {
                result[type] = (result.GetValueOrDefault(type) ?? []).Union(parameters).ToArray();
            }

            return result;
        }

        return null;
    }
}
