using FhirRecovery.Server.Http;
using FhirRecovery.Server.Security;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Interactions;

/// <summary>Whether a write is a live change or part of loading a record that already happened elsewhere.</summary>
public enum WriteMode
{
    /// <summary>An ordinary client write: every write hook (workflow rules, notifications, messages) applies.</summary>
    Live,

    /// <summary>
    /// A data migration: successive versions of resources replayed as they were recorded (a re-run replays them again,
    /// and an NDJSON set by type may hold a referral's final state before its Tasks). The workflow hooks, which govern
    /// live changes, are skipped; validation, score recomputation, Provenance and audit still apply.
    /// </summary>
    HistoryImport,
}

/// <summary>
/// The history import mode of <c>POST [base]</c> (batch or transaction): the request header
/// <c>X-FhirRecovery-Import: history</c>. A header rather than a Bundle.meta tag because it is an instruction about how
/// to process the request, not part of the data (the Bundle stays a plain FHIR transaction any server takes, and the
/// loader sends the input's bytes unchanged). Allowed when authorization is off, for the server's own loading, and for
/// a token with system-level scopes granting every write the Bundle makes; anything else is a 403.
/// </summary>
public static class HistoryImport
{
    public const string Header = "X-FhirRecovery-Import";

    public const string HistoryValue = "history";

    /// <summary>The mode the request asks for: Live without the header, 400 for a value other than "history".</summary>
    public static WriteMode ModeOf(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(Header, out var values))
        {
            return WriteMode.Live;
        }

        return values.Count == 1 && string.Equals(values[0]?.Trim(), HistoryValue, StringComparison.OrdinalIgnoreCase)
            ? WriteMode.HistoryImport
            : throw FhirException.BadRequest($"{Header}: '{values}' is not understood; the only value is '{HistoryValue}'", Header);
    }

    /// <summary>
    /// 403 unless <paramref name="access"/> may skip the workflow rules for every write of <paramref name="bundle"/>:
    /// only the unrestricted contexts (Auth:Mode=None, the server itself) and system-level scopes qualify, because a
    /// patient or user acting in an app is exactly who the workflow rules protect the record from.
    /// </summary>
    public static void Authorize(AccessContext? access, Bundle bundle)
    {
        if (access is null || access.IsUnrestricted)
        {
            return;
        }

        for (var i = 0; i < bundle.Entry.Count; i++)
        {
            var entry = bundle.Entry[i];
            var (type, needed) = entry.Request?.Method switch
            {
                Bundle.HTTPVerb.POST => (entry.Resource?.TypeName, SmartPermission.Create),
                // An update may create (update-as-create), which history import does for every first version.
                Bundle.HTTPVerb.PUT => (entry.Resource?.TypeName, SmartPermission.Create | SmartPermission.Update),
                Bundle.HTTPVerb.PATCH => (TypeOf(entry.Request.Url), SmartPermission.Update),
                Bundle.HTTPVerb.DELETE => (TypeOf(entry.Request.Url), SmartPermission.Delete),
                _ => (null, SmartPermission.None),
            };
            if (type is null || needed == SmartPermission.None)
            {
                continue;
            }

            var granted = access.Scopes
                .Where(s => s.Level == ScopeLevel.System && s.Covers(type) && !s.IsConstrained)
                .Aggregate(SmartPermission.None, (all, s) => all | s.Permissions);
            if ((granted & needed) != needed)
            {
                throw new FhirException(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden,
                    $"{Header}: {HistoryValue} skips the workflow rules, so it needs system-level scopes for every write "
                    + $"(system/{type}.{SmartScope.Letters(needed)} for Bundle.entry[{i}]); send the Bundle without the header for ordinary writes",
                    $"Bundle.entry[{i}]");
            }
        }
    }

    /// <summary>The type an entry URL names (relative or on this base); an unusable URL is refused later, as without the header.</summary>
    private static string? TypeOf(string? url) =>
        url?.Split('?', 2)[0].Split('/', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(ResourceNames.IsResourceType);
}
