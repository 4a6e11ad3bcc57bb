using FhirRecovery.Server.Http;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Security;

/// <summary>The answers of the security layer: 401 (token faults, RFC 6750) and 403 (insufficient scope), as OperationOutcomes.</summary>
public static class SecurityErrors
{
    public const string Realm = "fhir";

    /// <summary>401: no token, or a token that is not valid here. <paramref name="error"/> is null when none was sent.</summary>
    public static FhirException Unauthorized(string message, string? error = "invalid_token")
    {
        var exception = new FhirException(StatusCodes.Status401Unauthorized, OperationOutcome.IssueType.Login, message);
        exception.Headers["WWW-Authenticate"] = error is null
            ? $"Bearer realm=\"{Realm}\""
            : $"Bearer realm=\"{Realm}\", error=\"{error}\", error_description=\"{Quote(message)}\"";
        return exception;
    }

    /// <summary>403: the token is valid but its scopes (or its launch context) do not allow this.</summary>
    public static FhirException InsufficientScope(string message, string? neededScope = null)
    {
        var exception = new FhirException(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden, message);
        exception.Headers["WWW-Authenticate"] = $"Bearer realm=\"{Realm}\", error=\"insufficient_scope\", error_description=\"{Quote(message)}\""
                                               + (neededScope is null ? "" : $", scope=\"{neededScope}\"");
        return exception;
    }

    /// <summary>A resource the caller may not see answers exactly like one that does not exist.</summary>
    public static FhirException NotKnown(string type, string id) => FhirException.NotFound($"{type}/{id} is not known");

    public static string Describe(SmartPermission permission) => permission switch
    {
        SmartPermission.Create => "create",
        SmartPermission.Read => "read",
        SmartPermission.Update => "update",
        SmartPermission.Delete => "delete",
        SmartPermission.Search => "search",
        _ => SmartScope.Letters(permission),
    };

    private static string Quote(string text) => text.Replace("\\", "\\\\").Replace("\"", "'");
}
