using FhirRecovery.Server.Interactions;

namespace FhirRecovery.Server.Security;

/// <summary>What a SMART scope lets a client do with a resource type (SMART v2's c r u d s).</summary>
[Flags]
public enum SmartPermission
{
    None = 0,
    Create = 1,
    Read = 2,
    Update = 4,
    Delete = 8,
    Search = 16,
    All = Create | Read | Update | Delete | Search,
}

/// <summary>Whose data a scope is about: <c>patient/</c>, <c>user/</c> or <c>system/</c>.</summary>
public enum ScopeLevel
{
    Patient,
    User,
    System,
}

/// <summary>
/// One SMART resource scope, v1 (<c>patient/Goal.read</c>, <c>user/*.write</c>, <c>system/*.*</c>) or v2
/// (<c>patient/Goal.rs</c>, <c>user/Task.cu</c>, <c>patient/Observation.rs?category=survey</c>).
/// </summary>
public sealed record SmartScope(ScopeLevel Level, string ResourceType, SmartPermission Permissions, IReadOnlyList<KeyValuePair<string, string>> Constraints)
{
    public bool IsWildcard => ResourceType == "*";

    public bool IsConstrained => Constraints.Count > 0;

    public bool Covers(string resourceType) => IsWildcard || ResourceType == resourceType;

    /// <summary>
    /// Parses a resource scope; null for any other scope (openid, launch, offline_access, ...) and for malformed ones,
    /// which grant nothing. The dotted form some identity providers force (<c>patient.Goal.rs</c>, Entra ID does not
    /// allow '/' in scope names) is read as the slashed one.
    /// </summary>
    public static SmartScope? Parse(string scope)
    {
        var slash = scope.IndexOf('/');
        string levelText;
        string rest;
        if (slash > 0)
        {
            levelText = scope[..slash];
            rest = scope[(slash + 1)..];
        }
        else
        {
            var dot = scope.IndexOf('.');
            if (dot <= 0)
            {
                return null;
            }

            levelText = scope[..dot];
            rest = scope[(dot + 1)..];
        }

        ScopeLevel level;
        switch (levelText)
        {
            case "patient": level = ScopeLevel.Patient; break;
            case "user": level = ScopeLevel.User; break;
            case "system": level = ScopeLevel.System; break;
            default: return null;
        }

        var question = rest.IndexOf('?');
        var query = question < 0 ? null : rest[(question + 1)..];
        var body = question < 0 ? rest : rest[..question];
        var lastDot = body.LastIndexOf('.');
        if (lastDot <= 0)
        {
            return null;
        }

        var type = body[..lastDot];
        var permissionText = body[(lastDot + 1)..];
        if (type != "*" && !ResourceNames.IsResourceType(type))
        {
            return null;
        }

        var permissions = permissionText switch
        {
            "read" => SmartPermission.Read | SmartPermission.Search,
            "write" => SmartPermission.Create | SmartPermission.Update | SmartPermission.Delete,
            "*" => SmartPermission.All,
            _ => ParseV2(permissionText),
        };
        if (permissions == SmartPermission.None)
        {
            return null;
        }

        // Constraints are a v2 feature: a v1 scope with a query is not a scope we understand.
        var isV1 = permissionText is "read" or "write" or "*";
        if (query is not null && isV1)
        {
            return null;
        }

        List<KeyValuePair<string, string>> constraints = [];
        if (!string.IsNullOrEmpty(query))
        {
            constraints = SearchCriteria.Parse(query);
            if (constraints.Count == 0 || constraints.Any(c => c.Key.Length == 0 || c.Key.StartsWith('_')) || type == "*")
            {
                // Constraints on "*" would need the parameter on every type; result parameters would change the answer.
                return null;
            }
        }

        return new SmartScope(level, type, permissions, constraints);
    }

    /// <summary>v2 permissions: a non-empty subset of "cruds", in that order.</summary>
    private static SmartPermission ParseV2(string text)
    {
        const string order = "cruds";
        var result = SmartPermission.None;
        var position = -1;
        foreach (var c in text)
        {
            var index = order.IndexOf(c, StringComparison.Ordinal);
            if (index <= position)
            {
                return SmartPermission.None;
            }

            position = index;
            result |= c switch
            {
                'c' => SmartPermission.Create,
                'r' => SmartPermission.Read,
                'u' => SmartPermission.Update,
                'd' => SmartPermission.Delete,
                _ => SmartPermission.Search,
            };
        }

        return result;
    }

    /// <summary>The v2 letters of a permission set, e.g. "rs".</summary>
    public static string Letters(SmartPermission permissions) => string.Concat(
        permissions.HasFlag(SmartPermission.Create) ? "c" : "",
        permissions.HasFlag(SmartPermission.Read) ? "r" : "",
        permissions.HasFlag(SmartPermission.Update) ? "u" : "",
        permissions.HasFlag(SmartPermission.Delete) ? "d" : "",
        permissions.HasFlag(SmartPermission.Search) ? "s" : "");

    /// <summary>Whether this scope grants at least what <paramref name="requested"/> asks (same level and type, or a wider one).</summary>
    public bool Contains(SmartScope requested) =>
        Level == requested.Level
        && (IsWildcard || ResourceType == requested.ResourceType)
        && (Permissions & requested.Permissions) == requested.Permissions
        && (!IsConstrained || Constraints.SequenceEqual(requested.Constraints));
}
