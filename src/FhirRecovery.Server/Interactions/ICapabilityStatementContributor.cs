using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Interactions;

/// <summary>
/// Adds to the CapabilityStatement what a feature registered outside the REST core brings (e.g. the security section,
/// operations). Called for each base URL the statement is made for (the result is cached per base URL), after the
/// core statement is built; registered in DI.
/// </summary>
public interface ICapabilityStatementContributor
{
    void Contribute(CapabilityStatement statement, string baseUrl);
}
