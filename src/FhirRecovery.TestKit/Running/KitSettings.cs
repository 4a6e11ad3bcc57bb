namespace FhirRecovery.TestKit.Running;

/// <summary>What a run tests and how it authenticates.</summary>
public sealed record KitSettings
{
    /// <summary>The FHIR base of the server under test, e.g. http://localhost:5000/fhir.</summary>
    public required Uri Server { get; init; }

    /// <summary>A bearer token for the setup and most tests (it needs to create and read the guide's resources).</summary>
    public string? Token { get; init; }

    /// <summary>SMART Backend Services: the client id registered on the server's authorization server.</summary>
    public string? ClientId { get; init; }

    /// <summary>SMART Backend Services: the client's private key, a JWK or a JWKS (RS384 or ES384).</summary>
    public string? PrivateKeyJwk { get; init; }

    /// <summary>The scopes asked for with Backend Services; the server grants what the client is registered for.</summary>
    public string Scope { get; init; } = "system/*.cruds system/*.rs";

    /// <summary>A token confined to one patient (a SMART patient launch), for the negative compartment tests.</summary>
    public string? PatientToken { get; init; }

    /// <summary>That patient's id, when the patient token is not a readable JWT with a <c>patient</c> claim.</summary>
    public string? PatientId { get; init; }

    /// <summary>Suites to run (names); empty: all.</summary>
    public IReadOnlyList<string> Suites { get; init; } = [];

    /// <summary>The HTTP handler (tests: an in-process server); null: the network.</summary>
    public HttpMessageHandler? Handler { get; init; }

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>How long a bulk export may take before its test fails.</summary>
    public TimeSpan ExportTimeout { get; init; } = TimeSpan.FromMinutes(5);
}
