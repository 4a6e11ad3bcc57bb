using Hl7.Fhir.Model;

namespace FhirRecovery.Mapping.Fhir;

/// <summary>
/// The literal references anywhere inside a resource (contained resources and extensions included): what an export
/// must bring along so the receiving EHR can resolve every reference in the set it gets.
/// </summary>
public static class ReferenceCollector
{
    public static IEnumerable<string> ReferencesIn(Base node)
    {
        foreach (var (_, value) in node.EnumerateElements())
        {
            foreach (var element in value is System.Collections.IEnumerable list and not string ? list.OfType<Base>() : value is Base single ? [single] : [])
            {
                if (element is ResourceReference { Reference: { } reference })
                {
                    yield return reference;
                }

                if (element is not PrimitiveType)
                {
                    foreach (var inner in ReferencesIn(element))
                    {
                        yield return inner;
                    }
                }
            }
        }
    }
}
