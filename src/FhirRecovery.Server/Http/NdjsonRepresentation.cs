namespace FhirRecovery.Server.Http;

/// <summary>
/// Endpoint metadata: the endpoint answers in NDJSON (Bulk Data files), which FHIR content negotiation does not know; it
/// is left to the endpoint instead of being refused with 406.
/// </summary>
public sealed class NdjsonRepresentation
{
    public const string MediaType = "application/fhir+ndjson";

    public static readonly NdjsonRepresentation Instance = new();

    public static bool On(HttpContext http) => http.GetEndpoint()?.Metadata.GetMetadata<NdjsonRepresentation>() is not null;
}
