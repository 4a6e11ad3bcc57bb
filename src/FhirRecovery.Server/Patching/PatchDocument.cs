using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Patching;

/// <summary>A patch to apply to the current version of a resource (FHIR's patch interaction).</summary>
public abstract class PatchDocument
{
    /// <summary>The patched resource; a patch that cannot be applied throws a FhirException (400 malformed, 422 not applicable).</summary>
    public abstract Resource Apply(ResourceVersion current);
}
