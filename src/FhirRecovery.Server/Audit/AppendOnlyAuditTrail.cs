using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Audit;

/// <summary>
/// The audit trail is evidence: through the API an AuditEvent may be recorded (BALP lets applications add their own)
/// but never changed or removed, whatever the caller's scopes. The server's own writer stores events directly, not
/// through these hooks.
/// </summary>
public sealed class AppendOnlyAuditTrail : IResourceWriteHook
{
    public ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken)
    {
        if (context.ResourceType == "AuditEvent" && context.Kind != WriteKind.Create)
        {
            throw new FhirException(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden,
                $"AuditEvent/{context.Id}: the audit trail is append-only; an AuditEvent cannot be updated, patched or deleted");
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
