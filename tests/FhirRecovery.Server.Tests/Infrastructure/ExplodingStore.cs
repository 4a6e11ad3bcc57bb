using FhirRecovery.Storage;

namespace FhirRecovery.Server.Tests.Infrastructure;

/// <summary>The real store, except that reading <see cref="FhirServerFixture.ExplodingId"/> fails like a bug would.</summary>
internal sealed class ExplodingStore(IResourceStore inner) : IResourceStore
{
    public const string SecretDetail = "connection string password=hunter2 at SqlStore.cs:42";

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public Task<bool> IsEmptyAsync(CancellationToken cancellationToken = default) => inner.IsEmptyAsync(cancellationToken);

    public Task<ResourceVersion?> ReadAsync(string resourceType, string id, CancellationToken cancellationToken = default) =>
        id == FhirServerFixture.ExplodingId ? throw new InvalidOperationException(SecretDetail) : inner.ReadAsync(resourceType, id, cancellationToken);

    public Task<ResourceVersion?> ReadVersionAsync(string resourceType, string id, long versionId, CancellationToken cancellationToken = default) =>
        inner.ReadVersionAsync(resourceType, id, versionId, cancellationToken);

    public Task<IStoreSession> BeginAsync(CancellationToken cancellationToken = default) => inner.BeginAsync(cancellationToken);

    public Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken = default) => inner.SearchAsync(request, cancellationToken);

    public Task<HistoryResult> HistoryAsync(HistoryRequest request, CancellationToken cancellationToken = default) => inner.HistoryAsync(request, cancellationToken);

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken = default) => inner.IsReadyAsync(cancellationToken);
}
