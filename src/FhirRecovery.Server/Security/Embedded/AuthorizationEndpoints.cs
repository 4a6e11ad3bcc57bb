using System.Security.Claims;
using System.Text.Json;
using FhirRecovery.Server.Security.Authentication;
using FhirRecovery.Server.Security.Clients;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace FhirRecovery.Server.Security.Embedded;

/// <summary>
/// The embedded SMART authorization server's own endpoints, behind OpenIddict's protocol handling:
/// <c>/connect/authorize</c> (login, patient picker, consent; standalone and EHR launch), <c>/connect/token</c>
/// (authorization code, refresh token, client credentials), <c>/smart/login</c>, and <c>/smart/ehr-launch</c> (a minimal
/// "EHR" that launches a registered app with a patient in context).
/// </summary>
internal static class AuthorizationEndpoints
{
    public const string LoginScheme = "smart-login";
    private const string LaunchPurpose = "FhirRecovery.Smart.Launch";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapMethods("/connect/authorize", ["GET", "POST"], AuthorizeAsync).ExcludeFromDescription();
        app.MapPost("/connect/token", TokenAsync).ExcludeFromDescription();
        app.MapGet("/smart/login", LoginPage).ExcludeFromDescription();
        app.MapPost("/smart/login", LoginAsync).ExcludeFromDescription();
        app.MapGet("/smart/ehr-launch", EhrLaunchPageAsync).ExcludeFromDescription();
        app.MapPost("/smart/ehr-launch", EhrLaunchAsync).ExcludeFromDescription();
    }

    private static async Task<IResult> AuthorizeAsync(HttpContext http, DemoUsers users, TrustedIssuers issuers, IOpenIddictApplicationManager applications,
        IAntiforgery antiforgery, IDataProtectionProvider protection, TimeProvider clock)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request");
        var fhirBase = issuers.FhirBaseUrl()!;
        if ((request.GetParameter("aud")?.ToString()?.TrimEnd('/') ?? "") != fhirBase)
        {
            return Refuse(Errors.InvalidRequest, $"The aud parameter must be this FHIR server's base URL, {fhirBase}");
        }

        var login = await http.AuthenticateAsync(LoginScheme);
        var user = login.Succeeded ? users.Find(login.Principal?.FindFirstValue(Claims.Subject)) : null;
        if (user is null)
        {
            return Results.Redirect("/smart/login?returnUrl=" + Uri.EscapeDataString(AuthorizeUrl(request)));
        }

        var application = await applications.FindByClientIdAsync(request.ClientId!) as StoredApplication
                          ?? throw new InvalidOperationException("OpenIddict validated an unknown client");
        var granted = ScopeGrants.ForUser(request.GetScopes(), application.AllowedScopes);

        // EHR launch: the launch handle carries the patient chosen in the EHR.
        string? launchPatient = null;
        if (request.GetParameter("launch")?.ToString() is { Length: > 0 } launch)
        {
            if (!TryReadLaunch(protection, launch, out var launchContext, clock) || launchContext.User != user.Username)
            {
                return Refuse(Errors.InvalidRequest, "The launch parameter is not valid here (unknown, expired, or made for another user)");
            }

            launchPatient = granted.Contains("launch") ? launchContext.Patient : null;
        }

        var needsPicker = granted.Contains("launch/patient") && launchPatient is null;
        var decision = http.Request.HasFormContentType ? http.Request.Form["smart_decision"].ToString() : "";
        var patients = needsPicker ? await users.PatientsForAsync(user, http.RequestAborted) : null;
        if (decision is not ("allow" or "deny"))
        {
            return Consent(http, antiforgery, application, user, granted, request, patients, launchPatient, error: null);
        }

        try
        {
            await antiforgery.ValidateRequestAsync(http);
        }
        catch (AntiforgeryValidationException)
        {
            return Consent(http, antiforgery, application, user, granted, request, patients, launchPatient, "The form expired: please decide again");
        }

        if (decision == "deny")
        {
            return Refuse(Errors.AccessDenied, "The user did not allow access");
        }

        var patient = launchPatient;
        if (needsPicker)
        {
            patient = http.Request.Form["smart_patient"].ToString();
            if (string.IsNullOrEmpty(patient) || !await users.MayChooseAsync(user, patient, http.RequestAborted))
            {
                return Consent(http, antiforgery, application, user, granted, request, patients, launchPatient, "Choose one of the patients listed");
            }
        }

        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, user.Username).SetClaim(Claims.Name, user.DisplayName ?? user.Username);
        if (user.FhirUser is { } fhirUser && (granted.Contains("fhirUser") || granted.Any(s => s.StartsWith("user/", StringComparison.Ordinal))))
        {
            identity.SetClaim("fhirUser", $"{fhirBase}/{fhirUser}");
        }

        if (patient is not null)
        {
            identity.SetClaim("patient", patient);
        }

        identity.SetScopes(granted);
        identity.SetResources(fhirBase);
        identity.SetDestinations(ClaimDestinations);
        return Results.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static async Task<IResult> TokenAsync(HttpContext http, DemoUsers users, TrustedIssuers issuers, IOpenIddictApplicationManager applications)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request");
        if (request.IsAuthorizationCodeGrantType() || request.IsRefreshTokenGrantType())
        {
            var result = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            var principal = result.Principal;
            if (principal is null || users.Find(principal.GetClaim(Claims.Subject)) is null)
            {
                return Refuse(Errors.InvalidGrant, "The user of this grant is no longer known");
            }

            var identity = new ClaimsIdentity(principal.Claims, TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
            identity.SetDestinations(ClaimDestinations);
            return Results.SignIn(new ClaimsPrincipal(identity), LaunchContext(principal.GetClaim("patient")), OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        if (request.IsClientCredentialsGrantType())
        {
            // SMART Backend Services: the client authenticated itself (private_key_jwt or secret); it acts as itself.
            var application = await applications.FindByClientIdAsync(request.ClientId!) as StoredApplication
                              ?? throw new InvalidOperationException("OpenIddict validated an unknown client");
            var granted = ScopeGrants.ForBackendService(request.GetScopes(), application.AllowedScopes);
            if (granted.Count == 0)
            {
                return Refuse(Errors.InvalidScope, "Backend services need system/ scopes the client is registered for");
            }

            var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
            identity.SetClaim(Claims.Subject, application.ClientId).SetClaim(Claims.Name, application.DisplayName ?? application.ClientId);
            identity.SetScopes(granted);
            identity.SetResources(issuers.FhirBaseUrl()!);
            identity.SetDestinations(_ => [Destinations.AccessToken]);
            // SMART Backend Services requires `scope` in the token response, even when it equals what was asked for.
            var response = new AuthenticationProperties(items: new Dictionary<string, string?>(), parameters: new Dictionary<string, object?> { ["scope"] = string.Join(' ', granted) });
            return Results.SignIn(new ClaimsPrincipal(identity), response, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        return Refuse(Errors.UnsupportedGrantType, "Supported: authorization_code, refresh_token, client_credentials");
    }

    /// <summary>SMART's launch context parameters in the token response.</summary>
    private static AuthenticationProperties? LaunchContext(string? patient) =>
        patient is null ? null : new AuthenticationProperties(items: new Dictionary<string, string?>(), parameters: new Dictionary<string, object?>
        {
            ["patient"] = patient,
            ["need_patient_banner"] = true,
        });

    private static IEnumerable<string> ClaimDestinations(Claim claim) => claim.Type switch
    {
        Claims.Name => [Destinations.IdentityToken],
        "fhirUser" => [Destinations.AccessToken, Destinations.IdentityToken],
        Claims.Subject => [Destinations.AccessToken, Destinations.IdentityToken],
        _ => [Destinations.AccessToken],
    };

    private static IResult Consent(HttpContext http, IAntiforgery antiforgery, StoredApplication application, DemoUser user, IReadOnlyList<string> granted,
        OpenIddictRequest request, IReadOnlyList<(string Id, string Name)>? patients, string? launchPatient, string? error)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        var parameters = request.GetParameters()
            .Where(p => p.Key is not ("smart_decision" or "smart_patient") && p.Key != tokens.FormFieldName)
            .Select(p => new KeyValuePair<string, string?>(p.Key, p.Value.ToString()));
        return SmartPages.Consent(application.DisplayName ?? application.ClientId ?? "", user.DisplayName ?? user.Username, granted, parameters,
            patients, launchPatient, tokens.FormFieldName, tokens.RequestToken!, error);
    }

    /// <summary>An error for OpenIddict to send back to the client (a redirect with error=..., or a JSON answer).</summary>
    private static IResult Refuse(string error, string description) => Results.Forbid(
        new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }),
        [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);

    private static string AuthorizeUrl(OpenIddictRequest request) =>
        "/connect/authorize?" + string.Join('&', request.GetParameters()
            .Where(p => p.Key is not ("smart_decision" or "smart_patient" or "__RequestVerificationToken"))
            .Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value.ToString() ?? "")}"));

    private static IResult LoginPage(HttpContext http, IAntiforgery antiforgery, string? returnUrl)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return SmartPages.Login(SafeReturnUrl(returnUrl), tokens.FormFieldName, tokens.RequestToken!, error: null);
    }

    private static async Task<IResult> LoginAsync(HttpContext http, IAntiforgery antiforgery, DemoUsers users, Microsoft.Extensions.Options.IOptions<AuthOptions> options)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var returnUrl = SafeReturnUrl(form["returnUrl"]);
        try
        {
            await antiforgery.ValidateRequestAsync(http);
        }
        catch (AntiforgeryValidationException)
        {
            var fresh = antiforgery.GetAndStoreTokens(http);
            return SmartPages.Login(returnUrl, fresh.FormFieldName, fresh.RequestToken!, "The form expired: please sign in again");
        }

        var user = users.SignIn(form["username"], form["password"]);
        if (user is null)
        {
            var tokens = antiforgery.GetAndStoreTokens(http);
            return SmartPages.Login(returnUrl, tokens.FormFieldName, tokens.RequestToken!, "Unknown user name or wrong password");
        }

        var identity = new ClaimsIdentity(LoginScheme, Claims.Subject, Claims.Role);
        identity.AddClaim(new Claim(Claims.Subject, user.Username));
        await http.SignInAsync(LoginScheme, new ClaimsPrincipal(identity), new AuthenticationProperties
        {
            IsPersistent = false,
            ExpiresUtc = DateTimeOffset.UtcNow + options.Value.Embedded.LoginLifetime,
        });
        return Results.Redirect(returnUrl);
    }

    /// <summary>Only our own pages: an open redirect would make the login page a phishing tool.</summary>
    private static string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.Contains('\\')
            ? url
            : "/smart/ehr-launch";

    private static async Task<IResult> EhrLaunchPageAsync(HttpContext http, DemoUsers users, ClientRegistry clients, IAntiforgery antiforgery)
    {
        var login = await http.AuthenticateAsync(LoginScheme);
        var user = login.Succeeded ? users.Find(login.Principal?.FindFirstValue(Claims.Subject)) : null;
        if (user is null)
        {
            return Results.Redirect("/smart/login?returnUrl=" + Uri.EscapeDataString("/smart/ehr-launch"));
        }

        var apps = (await clients.ListAsync(http.RequestAborted)).Where(a => a.LaunchUri is not null).ToList();
        var patients = await users.PatientsForAsync(user, http.RequestAborted);
        var tokens = antiforgery.GetAndStoreTokens(http);
        var body = new System.Text.StringBuilder("<form method=\"post\" action=\"/smart/ehr-launch\" id=\"ehr-launch\">");
        body.Append(SmartPages.Hidden(tokens.FormFieldName, tokens.RequestToken));
        body.Append("<label for=\"client_id\">App</label><select id=\"client_id\" name=\"client_id\">");
        foreach (var app in apps)
        {
            body.Append($"<option value=\"{SmartPages.E(app.ClientId)}\">{SmartPages.E(app.DisplayName ?? app.ClientId)}</option>");
        }

        body.Append("</select><label for=\"patient\">Patient</label><select id=\"patient\" name=\"patient\">");
        foreach (var (id, name) in patients)
        {
            body.Append($"<option value=\"{SmartPages.E(id)}\">{SmartPages.E(name)} (Patient/{SmartPages.E(id)})</option>");
        }

        body.Append("</select><button type=\"submit\" id=\"launch\">Launch</button></form>");
        return SmartPages.Page("Launch an app", apps.Count == 0 ? "<p>No registered app has a launch URL.</p>" : body.ToString());
    }

    private static async Task<IResult> EhrLaunchAsync(HttpContext http, DemoUsers users, ClientRegistry clients, IAntiforgery antiforgery,
        IDataProtectionProvider protection, TrustedIssuers issuers)
    {
        var login = await http.AuthenticateAsync(LoginScheme);
        var user = login.Succeeded ? users.Find(login.Principal?.FindFirstValue(Claims.Subject)) : null;
        if (user is null)
        {
            return Results.Redirect("/smart/login?returnUrl=" + Uri.EscapeDataString("/smart/ehr-launch"));
        }

        try
        {
            await antiforgery.ValidateRequestAsync(http);
        }
        catch (AntiforgeryValidationException)
        {
            return Results.Redirect("/smart/ehr-launch");
        }

        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var app = await clients.FindAsync(form["client_id"].ToString(), http.RequestAborted);
        var patient = form["patient"].ToString();
        if (app?.LaunchUri is not { } launchUri || !await users.MayChooseAsync(user, patient, http.RequestAborted))
        {
            return SmartPages.Message("Cannot launch", "Unknown app or patient", StatusCodes.Status400BadRequest);
        }

        var handle = protection.CreateProtector(LaunchPurpose).ToTimeLimitedDataProtector()
            .Protect(JsonSerializer.Serialize(new LaunchHandle(user.Username, patient)), TimeSpan.FromMinutes(10));
        var separator = launchUri.Contains('?') ? '&' : '?';
        return Results.Redirect($"{launchUri}{separator}iss={Uri.EscapeDataString(issuers.FhirBaseUrl()!)}&launch={Uri.EscapeDataString(handle)}");
    }

    private static bool TryReadLaunch(IDataProtectionProvider protection, string launch, out LaunchHandle handle, TimeProvider clock)
    {
        handle = new LaunchHandle("", "");
        try
        {
            var json = protection.CreateProtector(LaunchPurpose).ToTimeLimitedDataProtector().Unprotect(launch, out var expiration);
            if (expiration < clock.GetUtcNow())
            {
                return false;
            }

            handle = JsonSerializer.Deserialize<LaunchHandle>(json)!;
            return true;
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or JsonException or FormatException)
        {
            return false;
        }
    }

    /// <summary>What an EHR launch hands to the authorization request: who launched, for which patient.</summary>
    private sealed record LaunchHandle(string User, string Patient);
}
