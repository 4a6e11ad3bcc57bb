using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Security.Authentication;
using FhirRecovery.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Security;

/// <summary>
/// Every request under <c>/fhir</c>: validates the bearer token (401 with <c>WWW-Authenticate</c> when missing or bad),
/// checks that the token's scopes allow the interaction on its resource type (403), and runs the rest of the request
/// under the token's <see cref="AccessContext"/>, which the store enforces on every read, search and write.
/// <c>/metadata</c> and <c>/.well-known/smart-configuration</c> are public.
/// </summary>
public sealed class FhirAuthorizationMiddleware(RequestDelegate next, IOptionsMonitor<AuthOptions> options, ValidatedTokenCache validated,
    ILogger<FhirAuthorizationMiddleware> logger)
{
    /// <summary>Where the request's access context is kept for later middleware (audit).</summary>
    public static readonly object ItemKey = new();

    /// <summary>Endpoints (by name) anyone may call.</summary>
    private static readonly HashSet<string> Public = new(StringComparer.Ordinal) { "capabilities", "smart-configuration" };

    public async System.Threading.Tasks.Task InvokeAsync(HttpContext http)
    {
        if (!http.Request.Path.StartsWithSegments("/fhir"))
        {
            await next(http);
            return;
        }

        var auth = options.CurrentValue;
        if (auth.Mode == AuthMode.None)
        {
            http.Items[ItemKey] = AccessContext.Anonymous;
            using (CurrentAccess.ForRequest(AccessContext.Anonymous))
            {
                await next(http);
            }

            return;
        }

        var endpoint = http.GetEndpoint();
        var name = endpoint?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
        if (name is not null && Public.Contains(name))
        {
            http.Items[ItemKey] = AccessContext.Unauthenticated;
            using (CurrentAccess.ForRequest(AccessContext.Unauthenticated))
            {
                await next(http);
            }

            return;
        }

        var token = BearerToken(http);
        if (token is null || !validated.TryGet(token, out var access))
        {
            var result = await http.AuthenticateAsync(BearerSchemes.Bearer);
            if (!result.Succeeded)
            {
                http.Items[ItemKey] = AccessContext.Unauthenticated;
                if (result.IsMissingToken())
                {
                    throw SecurityErrors.Unauthorized("This FHIR server needs a bearer token (SMART on FHIR; see /fhir/.well-known/smart-configuration)", error: null);
                }

                logger.LogInformation(result.Failure, "Bearer token refused for {Method} {Path}", http.Request.Method, http.Request.Path);
                throw SecurityErrors.Unauthorized(BearerSchemes.Describe(result.Failure));
            }

            access = AccessContext.FromPrincipal(result.Principal!, auth);
            await ResolveUserPatientAsync(http, access);
            if (token is not null)
            {
                validated.Add(token, access, result.Principal!);
            }
        }

        http.Items[ItemKey] = access;
        if (!access.HasResourceScopes)
        {
            throw SecurityErrors.InsufficientScope("The token holds no SMART resource scopes (patient/, user/ or system/)");
        }

        InteractionRules.Check(access, name, http.Request.RouteValues);
        using (CurrentAccess.ForRequest(access))
        {
            await next(http);
        }
    }

    private static string? BearerToken(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > "Bearer ".Length ? header["Bearer ".Length..].Trim() : null;
    }

    /// <summary>
    /// user/ scopes act for the user: a patient user sees their own compartment, a related person the patient they are
    /// related to; practitioners and other users are not confined.
    /// </summary>
    private static async System.Threading.Tasks.Task ResolveUserPatientAsync(HttpContext http, AccessContext access)
    {
        if (access.FhirUser is not { } user || !access.Scopes.Any(s => s.Level == ScopeLevel.User))
        {
            return;
        }

        if (user.StartsWith("Patient/", StringComparison.Ordinal))
        {
            access.UserPatient = user["Patient/".Length..];
            return;
        }

        if (user.StartsWith("RelatedPerson/", StringComparison.Ordinal))
        {
            var store = http.RequestServices.GetRequiredService<IResourceStore>();
            using (CurrentAccess.AsSystem())
            {
                var related = await store.ReadAsync("RelatedPerson", user["RelatedPerson/".Length..], http.RequestAborted);
                // A related person whose record is gone (or has no patient) is confined to nothing visible.
                access.UserPatient = related is { IsDeleted: false, Json: { } json } && FhirSerialization.ParseStored(json) is Hl7.Fhir.Model.RelatedPerson person
                    && AccessContext.RelativeReference(person.Patient?.Reference) is { } patient && patient.StartsWith("Patient/", StringComparison.Ordinal)
                    ? patient["Patient/".Length..]
                    : "-";
            }
        }
    }
}

/// <summary>
/// The permission each FHIR interaction needs on its resource type, by endpoint name. Checked before the interaction
/// runs, so a client without the scope gets its 403 before any body is parsed. Endpoints not listed (batch/transaction,
/// $validate, terminology operations, and operations added later) need a valid token with resource scopes here, and
/// are confined by the store like everything else. Add a line when adding an interaction that reads or writes data.
/// </summary>
public static class InteractionRules
{
    public static readonly Dictionary<string, SmartPermission> ByEndpoint = new(StringComparer.Ordinal)
    {
        ["read"] = SmartPermission.Read,
        ["vread"] = SmartPermission.Read,
        ["history-instance"] = SmartPermission.Read,
        ["validate-stored"] = SmartPermission.Read,
        ["update"] = SmartPermission.Update,
        ["patch"] = SmartPermission.Update,
        ["conditional-update"] = SmartPermission.Update,
        ["conditional-patch"] = SmartPermission.Update,
        ["delete"] = SmartPermission.Delete,
        ["conditional-delete"] = SmartPermission.Delete,
        ["create"] = SmartPermission.Create,
        ["search-type"] = SmartPermission.Search,
        ["search-type-post"] = SmartPermission.Search,
        ["search-compartment"] = SmartPermission.Search,
        ["history-type"] = SmartPermission.Search,
        ["search-system"] = SmartPermission.Search,
        ["search-system-post"] = SmartPermission.Search,
        ["history-system"] = SmartPermission.Search,
    };

    public static void Check(AccessContext access, string? endpoint, RouteValueDictionary route)
    {
        if (endpoint is null || !ByEndpoint.TryGetValue(endpoint, out var permission))
        {
            return;
        }

        var type = route.TryGetValue("type", out var value) ? value as string : null;
        if (type is null or "*" || !ResourceNames.IsResourceType(type))
        {
            if (!access.GrantsAnything(permission))
            {
                throw AccessPolicy.Denied(access, "*", permission);
            }

            return;
        }

        if (access.GrantFor(type, permission) is null)
        {
            throw AccessPolicy.Denied(access, type, permission);
        }
    }
}
