using System.Text.Json.Nodes;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Security.Authentication;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Security.Embedded;

/// <summary>
/// SMART discovery: <c>/fhir/.well-known/smart-configuration</c> and the CapabilityStatement's security section (with the
/// oauth-uris extension), both saying exactly what this server supports in its configuration.
/// </summary>
public sealed class SmartConfiguration(IOptionsMonitor<AuthOptions> options) : ICapabilityStatementContributor
{
    public const string OAuthUrisExtension = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

    /// <summary>The issuer (origin) the authorization endpoints live under, for a FHIR base URL.</summary>
    public string IssuerFor(string fhirBaseUrl)
    {
        if (options.CurrentValue.Embedded.Issuer is { Length: > 0 } configured)
        {
            return configured.TrimEnd('/') + "/";
        }

        return fhirBaseUrl.EndsWith("/fhir", StringComparison.Ordinal) ? fhirBaseUrl[..^"fhir".Length] : new Uri(new Uri(fhirBaseUrl), "/").ToString();
    }

    /// <summary>The discovery document, or null when no authorization server is known to this server.</summary>
    public JsonObject? Document(string fhirBaseUrl)
    {
        var auth = options.CurrentValue;
        if (auth.Mode == AuthMode.None)
        {
            return null;
        }

        if (SecuritySetup.EmbeddedEnabled(auth))
        {
            var issuer = IssuerFor(fhirBaseUrl);
            return new JsonObject
            {
                ["issuer"] = issuer,
                ["jwks_uri"] = issuer + ".well-known/jwks",
                ["authorization_endpoint"] = issuer + "connect/authorize",
                ["token_endpoint"] = issuer + "connect/token",
                ["revocation_endpoint"] = issuer + "connect/revoke",
                ["introspection_endpoint"] = issuer + "connect/introspect",
                ["grant_types_supported"] = Array("authorization_code", "refresh_token", "client_credentials"),
                ["token_endpoint_auth_methods_supported"] = Array("private_key_jwt", "client_secret_basic", "client_secret_post", "none"),
                ["token_endpoint_auth_signing_alg_values_supported"] = Array("RS256", "RS384", "ES256", "ES384"),
                ["scopes_supported"] = Array(
                    "openid", "fhirUser", "profile", "launch", "launch/patient", "offline_access",
                    "patient/*.cruds", "patient/*.rs", "user/*.cruds", "user/*.rs", "system/*.cruds", "system/*.rs",
                    "patient/*.read", "patient/*.write", "user/*.read", "user/*.write", "system/*.read", "system/*.write"),
                ["response_types_supported"] = Array("code"),
                ["code_challenge_methods_supported"] = Array("S256"),
                ["capabilities"] = Array(
                    "launch-ehr", "launch-standalone", "authorize-post",
                    "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
                    "sso-openid-connect", "context-ehr-patient", "context-standalone-patient", "context-banner",
                    "permission-offline", "permission-patient", "permission-user", "permission-v1", "permission-v2"),
            };
        }

        if (auth.Authority is { Length: > 0 } authority)
        {
            // An external authority: its own discovery document says what it does; here, what this resource server enforces.
            var issuer = authority.TrimEnd('/');
            return new JsonObject
            {
                ["issuer"] = issuer,
                ["authorization_endpoint"] = auth.AuthorizationEndpoint ?? issuer + "/protocol/openid-connect/auth",
                ["token_endpoint"] = auth.TokenEndpoint ?? issuer + "/protocol/openid-connect/token",
                ["grant_types_supported"] = Array("authorization_code", "client_credentials"),
                ["code_challenge_methods_supported"] = Array("S256"),
                ["capabilities"] = Array("launch-standalone", "client-public", "context-standalone-patient", "permission-patient", "permission-user",
                    "permission-v1", "permission-v2"),
            };
        }

        return null;
    }

    public void Contribute(CapabilityStatement statement, string baseUrl)
    {
        var rest = statement.Rest.FirstOrDefault();
        if (rest is null)
        {
            return;
        }

        var auth = options.CurrentValue;
        if (auth.Mode == AuthMode.None)
        {
            const string warning = "WARNING: security is switched off (Auth:Mode=None): anyone can read and write everything on this server, anonymously. "
                                   + "Use it only for local experiments.";
            rest.Security = new CapabilityStatement.SecurityComponent { Cors = true, Description = warning };
            statement.Description = warning;
            return;
        }

        rest.Security = new CapabilityStatement.SecurityComponent
        {
            Cors = true,
            Service =
            [
                new CodeableConcept("http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR", "SMART-on-FHIR"),
            ],
            Description = "SMART App Launch 2 (v1 and v2 scopes, patient/user/system levels, constrained v2 scopes) and Backend Services. "
                          + "Patient-context tokens see only their patient's compartment; see .well-known/smart-configuration.",
        };
        if (Document(baseUrl) is { } document)
        {
            var uris = new Extension { Url = OAuthUrisExtension };
            foreach (var (name, key) in new[] { ("authorize", "authorization_endpoint"), ("token", "token_endpoint"), ("revoke", "revocation_endpoint"), ("introspect", "introspection_endpoint") })
            {
                if (document[key]?.GetValue<string>() is { } uri)
                {
                    uris.Extension.Add(new Extension(name, new FhirUri(uri)));
                }
            }

            rest.Security.Extension.Add(uris);
        }
    }

    private static JsonArray Array(params string[] values) => new(values.Select(v => (JsonNode)JsonValue.Create(v)).ToArray());

    /// <summary><c>GET /fhir/.well-known/smart-configuration</c>.</summary>
    internal static IResult Endpoint(HttpContext http, SmartConfiguration configuration)
    {
        var document = configuration.Document(FhirRequestContext.Get(http).BaseUrl);
        if (document is null)
        {
            throw FhirException.NotFound("No SMART authorization server is configured for this server");
        }

        http.Response.Headers.CacheControl = "public, max-age=300";
        return Results.Text(document.ToJsonString(), "application/json");
    }
}
