namespace FhirRecovery.Server.Endpoints;

/// <summary>
/// Endpoints a feature adds under <c>/fhir</c> (registered in DI, mapped by <c>UseFhirServer</c> into the same route group
/// as the core interactions, so they get everything the server applies to every FHIR endpoint).
/// </summary>
public interface IFhirEndpointModule
{
    void Map(RouteGroupBuilder fhir);
}
