using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Interactions;

/// <summary>Which write interaction is happening.</summary>
public enum WriteKind
{
    Create,
    Update,
    Patch,
    Delete,
}

/// <summary>
/// One write as hooks see it: inside the store session of the request (or of the whole transaction Bundle), so what a
/// hook writes lands atomically with it, and a hook that throws <see cref="Http.FhirException"/> refuses it.
/// </summary>
public sealed class WriteContext
{
    public required IStoreSession Session { get; init; }

    public required WriteKind Kind { get; init; }

    public required string ResourceType { get; init; }

    public required string Id { get; init; }

    /// <summary>The new content (null for a delete). A hook may change it before the write (e.g. recomputed scores).</summary>
    public Resource? Resource { get; init; }

    /// <summary>The version current before this write, or null when there was none (a create, or update-as-create).</summary>
    public ResourceVersion? Previous { get; init; }

    /// <summary>
    /// Live, or a <see cref="WriteMode.HistoryImport"/> replaying recorded versions: hooks that enforce or react to live
    /// workflow (state machines, derived statuses, notifications, outbound messages) skip those; each hook says why.
    /// </summary>
    public WriteMode Mode { get; init; }

    public bool IsHistoryImport => Mode == WriteMode.HistoryImport;
}

/// <summary>
/// Behaviour that goes with writes: workflow rules that refuse a change, derived data computed before a write,
/// provenance, audit or notifications recorded after it. Registered in DI; called in registration order.
/// </summary>
public interface IResourceWriteHook
{
    /// <summary>Before the store write: inspect or amend <see cref="WriteContext.Resource"/>, or throw to refuse.</summary>
    ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken);

    /// <summary>After the store write, in the same session: record what follows from it.</summary>
    ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken);
}
