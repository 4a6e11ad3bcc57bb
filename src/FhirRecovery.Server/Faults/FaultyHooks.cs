using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;

namespace FhirRecovery.Server.Faults;

/// <summary><see cref="FaultOptions.AllowForbiddenTaskTransition"/>: the lifecycle's 409 refusals are swallowed.</summary>
internal sealed class ForbiddenTransitionLetThrough(IResourceWriteHook workflow) : IResourceWriteHook
{
    public async ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken)
    {
        try
        {
            await workflow.BeforeWriteAsync(context, cancellationToken);
        }
        catch (FhirException ex) when (ex.Status == StatusCodes.Status409Conflict)
        {
            // The fault: a transition the state machine refuses is written anyway.
        }
    }

    public ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken) =>
        workflow.AfterWriteAsync(context, written, cancellationToken);
}

/// <summary>A hook switched off by a fault (<see cref="FaultOptions.SkipScoreRecalculation"/>).</summary>
internal sealed class SkippedHook : IResourceWriteHook
{
    public ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
