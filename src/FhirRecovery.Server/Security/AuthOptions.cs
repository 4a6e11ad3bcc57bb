namespace FhirRecovery.Server.Security;

/// <summary>How the FHIR API is protected (section <c>Auth</c>).</summary>
public enum AuthMode
{
    /// <summary>
    /// Anonymous access to everything. Only for local experiments and the tests that are not about security: logged as a
    /// warning at start-up and stated in the CapabilityStatement.
    /// </summary>
    None,

    /// <summary>SMART on FHIR: every FHIR request carries a bearer token whose scopes and launch context are enforced.</summary>
    Smart,
}

/// <summary>Token validation, the embedded SMART authorization server, and how scopes are applied (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    public AuthMode Mode { get; set; } = AuthMode.Smart;

    /// <summary>
    /// Accepted <c>aud</c> values besides the FHIR base URL of the request (which is always accepted: SMART clients ask
    /// for tokens with <c>aud</c> = the FHIR base URL), e.g. an Entra application id URI.
    /// </summary>
    public List<string> Audiences { get; set; } = [];

    /// <summary>
    /// An external OpenID Connect authority (e.g. Keycloak, Auth0, an Entra tenant's v2.0 endpoint): its metadata and
    /// keys are fetched from <see cref="MetadataAddress"/> (default <c>{Authority}/.well-known/openid-configuration</c>).
    /// Setting it switches the embedded authorization server off unless <see cref="EmbeddedServerOptions.Enabled"/> says otherwise.
    /// </summary>
    public string? Authority { get; set; }

    public string? MetadataAddress { get; set; }

    /// <summary>The external authority's authorization and token endpoints, for the SMART discovery document.</summary>
    public string? AuthorizationEndpoint { get; set; }

    public string? TokenEndpoint { get; set; }

    /// <summary>Whether the authority's metadata must come over HTTPS (switch off only for test beds on http).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>
    /// Microsoft Entra ID through Microsoft.Identity.Web (the usual <c>Instance</c>, <c>TenantId</c>, <c>ClientId</c>,
    /// <c>Audience</c> keys under <c>Auth:AzureAd</c>). Used when <c>Auth:AzureAd:ClientId</c> is set.
    /// </summary>
    public const string AzureAdSection = "Auth:AzureAd";

    /// <summary>Further issuers whose tokens are accepted: test beds, other SMART servers, test suites minting their own.</summary>
    public List<TrustedIssuerOptions> TrustedIssuers { get; set; } = [];

    /// <summary>Claim naming the patient in context (SMART's <c>patient</c> launch context).</summary>
    public string PatientClaim { get; set; } = "patient";

    /// <summary>Claim holding the FHIR resource of the user (<c>Practitioner/1</c>, <c>Patient/2</c>, or an absolute URL).</summary>
    public string FhirUserClaim { get; set; } = "fhirUser";

    /// <summary>
    /// Resource types outside the Patient compartment that patient-context tokens may still read (with a scope for them):
    /// definitions, terminology and the directory of services a patient's data refers to. Everything else that is not in
    /// the patient's compartment is invisible to them.
    /// </summary>
    public List<string> SharedTypes { get; set; } =
    [
        "Questionnaire", "ValueSet", "CodeSystem", "ConceptMap", "StructureDefinition", "SearchParameter", "OperationDefinition",
        "CapabilityStatement", "ImplementationGuide", "NamingSystem", "PlanDefinition", "ActivityDefinition", "Library",
        "Organization", "Practitioner", "PractitionerRole", "Location", "HealthcareService", "Endpoint", "Medication", "Substance",
    ];

    /// <summary>Clock skew tolerated on exp/nbf.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    public EmbeddedServerOptions Embedded { get; set; } = new();

    /// <summary>Set from configuration when <c>Auth:AzureAd:ClientId</c> is given (not a setting of its own).</summary>
    public bool AzureAdConfigured { get; set; }
}

/// <summary>An issuer trusted by configuration: its signing keys from a JWKS file or URL, or a shared secret (HS256).</summary>
public sealed class TrustedIssuerOptions
{
    /// <summary>The exact <c>iss</c> value.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>JWKS document on disk (relative to the content root).</summary>
    public string? JwksPath { get; set; }

    /// <summary>JWKS document URL (fetched and cached, refreshed when a token names an unknown key).</summary>
    public string? JwksUri { get; set; }

    /// <summary>Base64 secret for HS256 tokens (test beds only: whoever knows it can mint tokens).</summary>
    public string? SymmetricKey { get; set; }

    /// <summary>Accepted <c>aud</c> values for this issuer, on top of <see cref="AuthOptions.Audiences"/> and the FHIR base URL.</summary>
    public List<string> Audiences { get; set; } = [];
}

/// <summary>The embedded SMART App Launch / Backend Services authorization server (section <c>Auth:Embedded</c>).</summary>
public sealed class EmbeddedServerOptions
{
    /// <summary>Null: on unless an external authority (<c>Auth:Authority</c> or <c>Auth:AzureAd</c>) is configured.</summary>
    public bool? Enabled { get; set; }

    /// <summary>
    /// The issuer (<c>iss</c>) of its tokens, e.g. <c>https://fhir.example.org/</c>. Set it when several instances run
    /// behind a load balancer; default: the origin of the request (scheme, host, path base).
    /// </summary>
    public string? Issuer { get; set; }

    /// <summary>
    /// PEM file with the RSA private key that signs tokens. Empty: a key kept in the database (created once, shared by
    /// every instance using it).
    /// </summary>
    public string? SigningKeyPath { get; set; }

    /// <summary>PEM file with the RSA key that encrypts authorization codes and refresh tokens. Empty: kept in the database.</summary>
    public string? EncryptionKeyPath { get; set; }

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(60);

    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(14);

    public TimeSpan AuthorizationCodeLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long the login at the authorization server lasts (its cookie).</summary>
    public TimeSpan LoginLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Whether the issuer may be plain http (the embedded default on localhost); never in production.</summary>
    public bool AllowHttp { get; set; } = true;

    /// <summary>Clients registered at start-up (created or updated in the database; <c>fhir-recovery clients add</c> adds more).</summary>
    public List<Clients.ClientRegistration> Clients { get; set; } = [];

    /// <summary>Demo users of the login page: who they are (fhirUser) and which patients they may pick.</summary>
    public List<DemoUser> Users { get; set; } = [];
}

/// <summary>A user of the embedded server's login page (demo and test set-ups, not an identity store).</summary>
public sealed class DemoUser
{
    public string Username { get; set; } = "";

    public string Password { get; set; } = "";

    public string? DisplayName { get; set; }

    /// <summary>The user's FHIR resource, e.g. <c>Patient/s42-p0001</c> or <c>Practitioner/sample-practitioner-01</c>.</summary>
    public string? FhirUser { get; set; }

    /// <summary>Patients the user may choose in the patient picker; <c>*</c>: any patient of the store.</summary>
    public List<string> Patients { get; set; } = [];
}
