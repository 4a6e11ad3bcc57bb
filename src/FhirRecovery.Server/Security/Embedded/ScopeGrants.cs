namespace FhirRecovery.Server.Security.Embedded;

/// <summary>
/// Which of the requested scopes the embedded server grants: the SMART scopes it supports, within what the client is
/// registered for; system/ scopes only to backend services (client_credentials), patient/ and user/ scopes only with a user.
/// A scope that is not granted is left out (the token response's <c>scope</c> says what was granted), as SMART allows.
/// </summary>
public static class ScopeGrants
{
    /// <summary>Non-resource scopes understood in the authorization code flow.</summary>
    public static readonly IReadOnlySet<string> ContextScopes = new HashSet<string>(StringComparer.Ordinal)
    {
        "openid", "fhirUser", "profile", "launch", "launch/patient", "offline_access",
    };

    public static List<string> ForUser(IEnumerable<string> requested, IReadOnlyCollection<string> allowed) =>
        requested.Distinct(StringComparer.Ordinal).Where(scope =>
        {
            if (ContextScopes.Contains(scope))
            {
                return allowed.Count == 0 || allowed.Contains(scope) || scope is "openid" or "fhirUser" or "profile" or "launch" or "launch/patient";
            }

            return SmartScope.Parse(scope) is { Level: not ScopeLevel.System } parsed && Allowed(parsed, allowed);
        }).ToList();

    public static List<string> ForBackendService(IEnumerable<string> requested, IReadOnlyCollection<string> allowed) =>
        requested.Distinct(StringComparer.Ordinal)
            .Where(scope => SmartScope.Parse(scope) is { Level: ScopeLevel.System } parsed && Allowed(parsed, allowed))
            .ToList();

    private static bool Allowed(SmartScope requested, IReadOnlyCollection<string> allowed) =>
        allowed.Count == 0 || allowed.Select(SmartScope.Parse).OfType<SmartScope>().Any(a => a.Contains(requested));
}
