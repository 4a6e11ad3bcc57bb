using System.Text.Json.Nodes;
using FhirRecovery.Server.Security;
using FhirRecovery.Storage;

namespace FhirRecovery.Server.Faults;

/// <summary>
/// The store faults of <see cref="FaultOptions"/>, on top of the store every interaction uses (the secured one when
/// SMART is on): a wrong profile on Goal reads, reads by id that skip the compartment check, searches cut after page two.
/// </summary>
internal sealed class FaultyResourceStore(IResourceStore inner, FaultOptions faults) : IResourceStore
{
    private const string WrongProfile = "https://fhirrecovery.org/fhir/StructureDefinition/recovery-care-plan";

    public Task InitializeAsync(CancellationToken cancellationToken = default) => inner.InitializeAsync(cancellationToken);

    public Task<bool> IsEmptyAsync(CancellationToken cancellationToken = default) => inner.IsEmptyAsync(cancellationToken);

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken = default) => inner.IsReadyAsync(cancellationToken);

    public async Task<ResourceVersion?> ReadAsync(string resourceType, string id, CancellationToken cancellationToken = default)
    {
        var version = await inner.ReadAsync(resourceType, id, cancellationToken);
        if (version is null && faults.LeakyCompartment && inner is SecuredResourceStore secured)
        {
            version = await secured.Inner.ReadAsync(resourceType, id, cancellationToken);
        }

        return faults.WrongProfileInOutput && version is { ResourceType: "Goal", IsDeleted: false, Json: { } json }
            ? version with { Json = WithProfile(json, WrongProfile) }
            : version;
    }

    public Task<ResourceVersion?> ReadVersionAsync(string resourceType, string id, long versionId, CancellationToken cancellationToken = default) =>
        inner.ReadVersionAsync(resourceType, id, versionId, cancellationToken);

    public Task<IStoreSession> BeginAsync(CancellationToken cancellationToken = default) => inner.BeginAsync(cancellationToken);

    public async Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken = default)
    {
        var result = await inner.SearchAsync(request, cancellationToken);
        // A page reached through a page token is page two or later: it claims to be the last.
        return faults.BrokenNextLink && request.PageToken is not null && result.NextPage is not null ? result with { NextPage = null } : result;
    }

    public Task<HistoryResult> HistoryAsync(HistoryRequest request, CancellationToken cancellationToken = default) =>
        inner.HistoryAsync(request, cancellationToken);

    private static byte[] WithProfile(byte[] json, string profile)
    {
        var resource = JsonNode.Parse(json)!.AsObject();
        var meta = resource["meta"] as JsonObject ?? new JsonObject();
        meta["profile"] = new JsonArray(profile);
        resource["meta"] = meta;
        return System.Text.Encoding.UTF8.GetBytes(resource.ToJsonString());
    }
}
