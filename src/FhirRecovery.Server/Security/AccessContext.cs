using System.Security.Claims;
using FhirRecovery.Server.Interactions;

namespace FhirRecovery.Server.Security;

/// <summary>
/// What one type of access is allowed under a token: confined to a patient's compartment or not, and limited by SMART v2
/// scope constraints or not (several constrained scopes of a type are alternatives: a resource matching any one is allowed).
/// </summary>
public sealed record Grant(string? Patient, IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>>? Constraints)
{
    public bool IsConfined => Patient is not null;

    public bool IsConstrained => Constraints is not null;

    public static readonly Grant Unlimited = new(null, null);
}

/// <summary>
/// Who is calling and what the token allows: the client, the user (<c>fhirUser</c>), the patient in context and the SMART
/// scopes. Made once per FHIR request by <see cref="FhirAuthorizationMiddleware"/>; the store decorator
/// (<see cref="SecuredResourceStore"/>) asks it on every read, search and write.
/// </summary>
public sealed class AccessContext
{
    private readonly Dictionary<(string Type, SmartPermission Permission), Grant?> _grants = [];

    private AccessContext(bool unrestricted, string kind)
    {
        IsUnrestricted = unrestricted;
        Kind = kind;
    }

    /// <summary>Everything allowed: Auth:Mode=None, and the server's own work (start-up, hooks, audit).</summary>
    public bool IsUnrestricted { get; }

    /// <summary>"anonymous" (Auth:Mode=None), "system" (the server itself), "token" (a bearer token).</summary>
    public string Kind { get; }

    public string? ClientId { get; private init; }

    public string? Subject { get; private init; }

    public string? Issuer { get; private init; }

    /// <summary>The user's FHIR resource as a relative reference (<c>Practitioner/1</c>), when the token names one.</summary>
    public string? FhirUser { get; private init; }

    /// <summary>The patient in context (launch/patient), when the token has one.</summary>
    public string? Patient { get; private init; }

    /// <summary>
    /// The patient that user-level scopes are confined to: the user's own record when <c>fhirUser</c> is a Patient,
    /// or the patient of a RelatedPerson user (resolved by the middleware).
    /// </summary>
    public string? UserPatient { get; internal set; }

    public IReadOnlyList<string> RawScopes { get; private init; } = [];

    public IReadOnlyList<SmartScope> Scopes { get; private init; } = [];

    public static readonly AccessContext Anonymous = new(true, "anonymous");

    public static readonly AccessContext System = new(true, "system");

    /// <summary>A request that carries no valid token (only anonymous endpoints such as /metadata can be used).</summary>
    public static readonly AccessContext Unauthenticated = new(false, "unauthenticated");

    public static AccessContext FromPrincipal(ClaimsPrincipal principal, AuthOptions options)
    {
        var raw = principal.FindAll("scope").Concat(principal.FindAll("scp"))
            .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Concat(principal.FindAll("roles").Select(c => c.Value))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return new AccessContext(false, "token")
        {
            RawScopes = raw,
            Scopes = raw.Select(SmartScope.Parse).OfType<SmartScope>().ToList(),
            ClientId = First(principal, "client_id", "azp", "appid"),
            Subject = First(principal, "sub", "oid"),
            Issuer = First(principal, "iss"),
            Patient = NormalizePatient(First(principal, options.PatientClaim)),
            FhirUser = RelativeReference(First(principal, options.FhirUserClaim)),
        };
    }

    /// <summary>The context as data, for work that runs after the request has ended (a Bulk Data export job).</summary>
    public AccessSnapshot ToSnapshot() => new(Kind, ClientId, Subject, Issuer, Patient, FhirUser, UserPatient, RawScopes);

    /// <summary>The context a snapshot was taken of, with the same rights (the token's scopes are parsed again).</summary>
    public static AccessContext FromSnapshot(AccessSnapshot snapshot) => snapshot.Kind switch
    {
        "anonymous" => Anonymous,
        "system" => System,
        "unauthenticated" => Unauthenticated,
        _ => new AccessContext(false, snapshot.Kind)
        {
            RawScopes = snapshot.Scopes,
            Scopes = snapshot.Scopes.Select(SmartScope.Parse).OfType<SmartScope>().ToList(),
            ClientId = snapshot.ClientId,
            Subject = snapshot.Subject,
            Issuer = snapshot.Issuer,
            Patient = snapshot.Patient,
            FhirUser = snapshot.FhirUser,
            UserPatient = snapshot.UserPatient,
        },
    };

    /// <summary>Whether any resource scope grants anything at all.</summary>
    public bool HasResourceScopes => IsUnrestricted || Scopes.Count > 0;

    /// <summary>Whether the token holds patient-level scopes (so every access of those is confined to <see cref="Patient"/>).</summary>
    public bool HasPatientScopes => Scopes.Any(s => s.Level == ScopeLevel.Patient);

    /// <summary>
    /// The access <paramref name="permission"/> on <paramref name="type"/> allows, or null when no scope grants it. When
    /// several scopes grant it, the widest confinement wins (user/system over patient), and among those an unconstrained
    /// scope over constrained ones: the result never allows more than the scopes together do.
    /// </summary>
    public Grant? GrantFor(string type, SmartPermission permission)
    {
        if (IsUnrestricted)
        {
            return Grant.Unlimited;
        }

        lock (_grants)
        {
            if (_grants.TryGetValue((type, permission), out var cached))
            {
                return cached;
            }

            var grant = Compute(type, permission);
            _grants[(type, permission)] = grant;
            return grant;
        }
    }

    /// <summary>The first of the permissions (in the order given) that is granted.</summary>
    public Grant? GrantForAny(string type, params SmartPermission[] permissions)
    {
        foreach (var permission in permissions)
        {
            if (GrantFor(type, permission) is { } grant)
            {
                return grant;
            }
        }

        return null;
    }

    private Grant? Compute(string type, SmartPermission permission)
    {
        var candidates = new List<(string? Patient, SmartScope Scope)>();
        foreach (var scope in Scopes)
        {
            if (!scope.Covers(type) || !scope.Permissions.HasFlag(permission))
            {
                continue;
            }

            switch (scope.Level)
            {
                case ScopeLevel.Patient when Patient is not null:
                    candidates.Add((Patient, scope));
                    break;
                case ScopeLevel.Patient:
                    // A patient-level scope without a patient in context grants nothing.
                    break;
                case ScopeLevel.User:
                    candidates.Add((UserPatient, scope));
                    break;
                default:
                    candidates.Add((null, scope));
                    break;
            }
        }

        if (candidates.Count == 0)
        {
            return null;
        }

        // Widest confinement first: unconfined, then the patient in context, then any other.
        var chosen = candidates.Any(c => c.Patient is null)
            ? candidates.Where(c => c.Patient is null).ToList()
            : candidates.Where(c => c.Patient == (candidates.Any(x => x.Patient == Patient) ? Patient : candidates[0].Patient)).ToList();
        var confinement = chosen[0].Patient;
        if (chosen.Any(c => !c.Scope.IsConstrained))
        {
            return new Grant(confinement, null);
        }

        return new Grant(confinement, chosen.Select(c => c.Scope.Constraints).Distinct().ToList());
    }

    /// <summary>Any grant on any type for the permission (for searches across types).</summary>
    public bool GrantsAnything(SmartPermission permission) =>
        IsUnrestricted || Scopes.Any(s => s.Permissions.HasFlag(permission) && (s.Level != ScopeLevel.Patient || Patient is not null));

    /// <summary>The resource types a permission is granted on explicitly (null: a wildcard scope grants it on every type).</summary>
    public IReadOnlyCollection<string>? TypesGranted(SmartPermission permission)
    {
        if (IsUnrestricted || Scopes.Any(s => s.IsWildcard && s.Permissions.HasFlag(permission) && (s.Level != ScopeLevel.Patient || Patient is not null)))
        {
            return null;
        }

        return Scopes.Where(s => s.Permissions.HasFlag(permission) && (s.Level != ScopeLevel.Patient || Patient is not null))
            .Select(s => s.ResourceType).ToHashSet(StringComparer.Ordinal);
    }

    private static string? First(ClaimsPrincipal principal, params string[] types) =>
        types.Select(t => principal.FindFirst(t)?.Value).FirstOrDefault(v => !string.IsNullOrEmpty(v));

    /// <summary>"123", "Patient/123" or an absolute URL ending in Patient/123: the id.</summary>
    private static string? NormalizePatient(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        var reference = RelativeReference(value.Contains('/') ? value : $"Patient/{value}");
        return reference is not null && reference.StartsWith("Patient/", StringComparison.Ordinal) ? reference["Patient/".Length..] : null;
    }

    /// <summary>The <c>Type/id</c> at the end of a reference (relative or absolute); null when it is not one.</summary>
    public static string? RelativeReference(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        var parts = value.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length >= 4 && parts[^2] == "_history")
        {
            parts = parts[..^2];
        }

        return parts.Length >= 2 && ResourceNames.IsResourceType(parts[^2]) && ResourceNames.IsValidId(parts[^1])
            ? $"{parts[^2]}/{parts[^1]}"
            : null;
    }
}

/// <summary>An <see cref="AccessContext"/> as data (JSON-serialisable): what a token allowed when a job was requested.</summary>
public sealed record AccessSnapshot(
    string Kind,
    string? ClientId,
    string? Subject,
    string? Issuer,
    string? Patient,
    string? FhirUser,
    string? UserPatient,
    IReadOnlyList<string> Scopes);

/// <summary>
/// The access context of the current flow (an async-local, so it follows the request into the store). Null outside any
/// request: the server's own background work, which is unrestricted.
/// </summary>
public static class CurrentAccess
{
    private static readonly AsyncLocal<AccessContext?> Effective = new();
    private static readonly AsyncLocal<AccessContext?> Request = new();

    /// <summary>What the store enforces now (the request's context, or System inside <see cref="AsSystem"/>).</summary>
    public static AccessContext? Context => Effective.Value;

    /// <summary>The context of the request being served, even inside <see cref="AsSystem"/> (who to name in Provenance and audit).</summary>
    public static AccessContext? Caller => Request.Value;

    /// <summary>Serves a request under <paramref name="context"/> (until disposed).</summary>
    public static Scope ForRequest(AccessContext context)
    {
        var scope = new Scope(Effective.Value, Request.Value);
        Effective.Value = context;
        Request.Value = context;
        return scope;
    }

    /// <summary>
    /// The server's own reads and writes inside a request: write hooks (workflow rules, Provenance), the patient picker's
    /// list, audit. The caller stays known through <see cref="Caller"/>.
    /// </summary>
    public static Scope AsSystem()
    {
        var scope = new Scope(Effective.Value, Request.Value);
        Effective.Value = AccessContext.System;
        return scope;
    }

    public readonly struct Scope(AccessContext? effective, AccessContext? request) : IDisposable
    {
        public void Dispose()
        {
            Effective.Value = effective;
            Request.Value = request;
        }
    }
}
