using FhirRecovery.Conformance.Terminology;
using FhirRecovery.Server.Http;
using FhirRecovery.Storage;

namespace FhirRecovery.Server.Interactions;

/// <summary>The store's and the terminology service's refusals as the REST answers they stand for.</summary>
public static class StoreErrors
{
    /// <summary>The FhirException for a client-caused failure, or null for an unexpected one (a 500).</summary>
    public static FhirException? ToFhir(Exception exception) => exception switch
    {
        FhirException fhir => fhir,
        SearchException search => FhirException.BadRequest($"Search parameter '{search.Parameter}': {search.Message}", search.Parameter),
        VersionConflictException conflict => FhirException.PreconditionFailed(conflict.Message),
        ResourceExistsException exists => FhirException.Conflict(exists.Message),
        TerminologyException terminology => new FhirException(terminology.StatusCode, terminology.Outcome),
        _ => null,
    };
}
