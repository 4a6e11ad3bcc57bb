using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Server.Security;

/// <summary>
/// The store as every FHIR interaction sees it: reads, searches, history and writes are checked against the current
/// request's token (<see cref="CurrentAccess"/>) right where the data is, so no endpoint, operation, batch entry or
/// future interaction can reach around the scopes or out of the patient's compartment. What a token may not see answers
/// like what does not exist (null, no match); what it may not do is a 403.
/// </summary>
/// <remarks>
/// Store-level calls are the client's own interactions: read and vread need read, search needs search, instance history
/// read, type and system history search. Reads and searches inside a session also serve writes (the current version of
/// an update, conditional matching), so there any permission on the type will do, still within the compartment.
/// </remarks>
public sealed class SecuredResourceStore(IResourceStore inner, AccessPolicy policy) : IResourceStore, IPolicyReader
{
    private static readonly SmartPermission[] SearchOnly = [SmartPermission.Search];
    private static readonly SmartPermission[] ReadOnly = [SmartPermission.Read];

    public IResourceStore Inner => inner;

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public Task<bool> IsEmptyAsync(CancellationToken cancellationToken = default) => inner.IsEmptyAsync(cancellationToken);

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken = default) => inner.IsReadyAsync(cancellationToken);

    public Task<ResourceVersion?> ReadAsync(string resourceType, string id, CancellationToken cancellationToken = default) =>
        policy.ReadAsync(resourceType, ReadOnly, () => inner.ReadAsync(resourceType, id, cancellationToken), this, cancellationToken);

    public async Task<ResourceVersion?> ReadVersionAsync(string resourceType, string id, long versionId, CancellationToken cancellationToken = default)
    {
        var access = policy.Current;
        if (access.IsUnrestricted)
        {
            return await inner.ReadVersionAsync(resourceType, id, versionId, cancellationToken);
        }

        var grant = policy.Require(access, resourceType, SmartPermission.Read);
        if (grant.IsConstrained)
        {
            // Constraints are search parameters: they say nothing about earlier versions.
            throw SecurityErrors.InsufficientScope($"The token's scopes for {resourceType} are constrained: earlier versions cannot be read under them");
        }

        var version = await inner.ReadVersionAsync(resourceType, id, versionId, cancellationToken);
        return version is not null && await policy.IsVisibleAsync(grant, version, this, cancellationToken) ? version : null;
    }

    public Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken = default) =>
        policy.SearchAsync(request, SearchOnly, narrowed => inner.SearchAsync(narrowed, cancellationToken), this, cancellationToken);

    public async Task<HistoryResult> HistoryAsync(HistoryRequest request, CancellationToken cancellationToken = default)
    {
        var access = policy.Current;
        if (access.IsUnrestricted)
        {
            return await inner.HistoryAsync(request, cancellationToken);
        }

        SmartPermission permission;
        var hideTotal = false;
        if (request.ResourceType is { } type)
        {
            permission = request.Id is null ? SmartPermission.Search : SmartPermission.Read;
            var grant = policy.Require(access, type, permission);
            if (grant.IsConstrained)
            {
                throw SecurityErrors.InsufficientScope($"The token's scopes for {type} are constrained: history cannot be read under them");
            }

            if (request.Id is { } id)
            {
                // The resource itself must be visible (a moved or foreign resource is unknown), then each version is checked.
                var current = await inner.ReadAsync(type, id, cancellationToken);
                if (current is null || !await policy.IsVisibleAsync(grant, current, this, cancellationToken))
                {
                    throw SecurityErrors.NotKnown(type, id);
                }
            }

            hideTotal = grant.IsConfined;
        }
        else
        {
            permission = SmartPermission.Search;
            if (!access.GrantsAnything(SmartPermission.Search))
            {
                throw AccessPolicy.Denied(access, "*", SmartPermission.Search);
            }

            hideTotal = access.TypesGranted(SmartPermission.Search) is not null || access.HasPatientScopes || access.UserPatient is not null;
        }

        var result = await inner.HistoryAsync(request, cancellationToken);
        return await policy.FilterAsync(access, result, permission, hideTotal, this, cancellationToken);
    }

    public async Task<IStoreSession> BeginAsync(CancellationToken cancellationToken = default) =>
        new SecuredStoreSession(await inner.BeginAsync(cancellationToken), inner, policy);

    Task<ResourceVersion?> IPolicyReader.ReadVersionAsync(string type, string id, long versionId, CancellationToken cancellationToken) =>
        inner.ReadVersionAsync(type, id, versionId, cancellationToken);

    Task<SearchResult> IPolicyReader.SearchAsync(SearchRequest request, CancellationToken cancellationToken) =>
        inner.SearchAsync(request, cancellationToken);
}

/// <summary>A store session whose reads, searches and writes are checked like <see cref="SecuredResourceStore"/>'s.</summary>
internal sealed class SecuredStoreSession(IStoreSession inner, IResourceStore store, AccessPolicy policy) : IStoreSession, IPolicyReader, ISubscriptionOutboxSession
{
    // Notifications are the server's bookkeeping of a write the policy has already allowed: they join the same transaction.
    private ISubscriptionOutboxSession Outbox => inner as ISubscriptionOutboxSession
        ?? throw new InvalidOperationException("The resource store has no subscription outbox (ISubscriptionOutboxSession)");

    public Task EnqueueAsync(SubscriptionNotification notification, CancellationToken cancellationToken = default) =>
        Outbox.EnqueueAsync(notification, cancellationToken);

    public Task<string?> SubscriptionsMarkerAsync(CancellationToken cancellationToken = default) =>
        inner is ISubscriptionOutboxSession outbox ? outbox.SubscriptionsMarkerAsync(cancellationToken) : Task.FromResult<string?>(null);

    private static readonly SmartPermission[] AnyOnType =
        [SmartPermission.Read, SmartPermission.Search, SmartPermission.Update, SmartPermission.Delete, SmartPermission.Create];

    private static readonly SmartPermission[] AnySearch =
        [SmartPermission.Search, SmartPermission.Read, SmartPermission.Update, SmartPermission.Delete, SmartPermission.Create];

    public Task<ResourceVersion?> ReadAsync(string resourceType, string id, CancellationToken cancellationToken = default) =>
        policy.ReadAsync(resourceType, AnyOnType, () => inner.ReadAsync(resourceType, id, cancellationToken), this, cancellationToken);

    public Task<ResourceVersion?> ReadCommittedAsync(string resourceType, string id, CancellationToken cancellationToken = default) =>
        policy.ReadAsync(resourceType, AnyOnType, () => inner.ReadCommittedAsync(resourceType, id, cancellationToken), this, cancellationToken);

    public Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken = default) =>
        policy.SearchAsync(request, AnySearch, narrowed => inner.SearchAsync(narrowed, cancellationToken), this, cancellationToken);

    public async Task<ResourceVersion> CreateAsync(Resource resource, CancellationToken cancellationToken = default)
    {
        var access = policy.Current;
        if (access.IsUnrestricted)
        {
            return await inner.CreateAsync(resource, cancellationToken);
        }

        var grant = policy.Require(access, resource.TypeName, SmartPermission.Create);
        if (grant.Patient is not null && resource.TypeName == "Patient")
        {
            throw SecurityErrors.InsufficientScope("With a patient in context no other Patient can be created");
        }

        var written = await inner.CreateAsync(resource, cancellationToken);
        await RequireWithinGrantAsync(grant, written, cancellationToken);
        return written;
    }

    public async Task<WriteOutcome> UpdateAsync(Resource resource, long? expectedVersion, CancellationToken cancellationToken = default)
    {
        var access = policy.Current;
        if (access.IsUnrestricted)
        {
            return await inner.UpdateAsync(resource, expectedVersion, cancellationToken);
        }

        var type = resource.TypeName;
        var id = resource.Id ?? "";
        var grant = policy.Require(access, type, SmartPermission.Update);
        var current = await inner.ReadAsync(type, id, cancellationToken);
        if (current is null or { IsDeleted: true })
        {
            // Update-as-create: a create as well. With a patient in context it would let the client probe for ids taken
            // by other patients' resources (a create here, "not known" there): it is refused alike for all.
            if (grant.IsConfined)
            {
                throw SecurityErrors.NotKnown(type, id);
            }

            policy.Require(access, type, SmartPermission.Create);
        }
        else if (!await policy.IsVisibleAsync(grant, current, this, cancellationToken))
        {
            throw SecurityErrors.NotKnown(type, id);
        }

        var outcome = await inner.UpdateAsync(resource, expectedVersion, cancellationToken);
        await RequireWithinGrantAsync(grant, outcome.Version, cancellationToken);
        return outcome;
    }

    public async Task<ResourceVersion?> DeleteAsync(string resourceType, string id, long? expectedVersion, CancellationToken cancellationToken = default)
    {
        var access = policy.Current;
        if (access.IsUnrestricted)
        {
            return await inner.DeleteAsync(resourceType, id, expectedVersion, cancellationToken);
        }

        var grant = policy.Require(access, resourceType, SmartPermission.Delete);
        var current = await inner.ReadAsync(resourceType, id, cancellationToken);
        if (current is { IsDeleted: false } && !await policy.IsVisibleAsync(grant, current, this, cancellationToken))
        {
            // Nothing this client can see was there to delete.
            return null;
        }

        if (current is null or { IsDeleted: true } && grant.IsConfined)
        {
            return null;
        }

        return await inner.DeleteAsync(resourceType, id, expectedVersion, cancellationToken);
    }

    /// <summary>What was written must be something the client may see: in the compartment, matching the constraints.</summary>
    private async Task RequireWithinGrantAsync(Grant grant, ResourceVersion written, CancellationToken cancellationToken)
    {
        if (grant.Patient is { } patient && (policy.Compartment.IsShared(written.ResourceType)
                                              || !policy.Compartment.IsMember(written.ResourceType, written.Id, written.Json!, patient)))
        {
            // Throwing leaves the session uncommitted: the write is rolled back.
            throw SecurityErrors.InsufficientScope(
                $"With patient {patient} in context only resources in that patient's compartment can be written; this {written.ResourceType} is not");
        }

        if (grant.IsConstrained && !(await policy.MatchingConstraintsAsync(grant, written.ResourceType, [written.Id], this, cancellationToken)).Contains(written.Id))
        {
            throw SecurityErrors.InsufficientScope($"The token's scopes allow writing only {written.ResourceType} resources matching their constraints; this one does not");
        }
    }

    public void OnCommitting(Func<CancellationToken, Task> callback) => inner.OnCommitting(callback);

    public Task CommitAsync(CancellationToken cancellationToken = default) => inner.CommitAsync(cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    Task<ResourceVersion?> IPolicyReader.ReadVersionAsync(string type, string id, long versionId, CancellationToken cancellationToken) =>
        // Earlier versions are committed data: the store sees them as the session does (sessions have no vread).
        store.ReadVersionAsync(type, id, versionId, cancellationToken);

    Task<SearchResult> IPolicyReader.SearchAsync(SearchRequest request, CancellationToken cancellationToken) =>
        inner.SearchAsync(request, cancellationToken);
}
