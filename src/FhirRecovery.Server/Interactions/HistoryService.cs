using System.Globalization;
using FhirRecovery.Server.Configuration;
using FhirRecovery.Server.Http;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Interactions;

/// <summary>history (instance, type, system) with <c>_since</c>, <c>_at</c>, <c>_count</c> and page tokens, as a history Bundle.</summary>
public sealed class HistoryService(IResourceStore store, IOptionsMonitor<LimitOptions> limits, TimeProvider clock)
{
    public async Task<Bundle> HistoryAsync(string? type, string? id, IReadOnlyList<KeyValuePair<string, string>> parameters, string baseUrl, CancellationToken cancellationToken)
    {
        if (type is not null && id is not null && await store.ReadAsync(type, id, cancellationToken) is null)
        {
            throw FhirException.NotFound($"{type}/{id} is not known");
        }

        var request = new HistoryRequest
        {
            ResourceType = type,
            Id = id,
            Since = Instant(parameters, "_since"),
            At = Instant(parameters, "_at"),
            Count = Count(parameters),
            PageToken = Value(parameters, "_page"),
        };
        var result = await store.HistoryAsync(request, cancellationToken);

        var linkBase = type is null ? $"{baseUrl}/_history" : id is null ? $"{baseUrl}/{type}/_history" : $"{baseUrl}/{type}/{id}/_history";
        // The store ties a page token to the request's _since, _at and _count: the links repeat them.
        var carried = parameters.Where(p => p.Key is "_format" or "_since" or "_at" or "_count").ToList();
        var bundle = new Bundle
        {
            Id = Guid.NewGuid().ToString(),
            Meta = new Meta { LastUpdated = clock.GetUtcNow() },
            Type = Bundle.BundleType.History,
            Total = result.Total,
        };
        bundle.Link.Add(new Bundle.LinkComponent { Relation = "self", Url = Link(linkBase, parameters.Where(p => p.Key != "_pretty")) });
        if (result.NextPage is { } next)
        {
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "next", Url = Link(linkBase, carried.Append(new("_page", next))) });
        }

        if (result.PreviousPage is { } previous)
        {
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "previous", Url = Link(linkBase, carried.Append(new("_page", previous))) });
        }

        foreach (var version in result.Entries)
        {
            bundle.Entry.Add(Entry(version, baseUrl));
        }

        return bundle;
    }

    private static Bundle.EntryComponent Entry(ResourceVersion version, string baseUrl)
    {
        var (method, status) = version.Method switch
        {
            HistoryMethod.Create => (Bundle.HTTPVerb.POST, "201 Created"),
            HistoryMethod.Delete => (Bundle.HTTPVerb.DELETE, "204 No Content"),
            _ => (Bundle.HTTPVerb.PUT, "200 OK"),
        };
        if (version.IsDeleted)
        {
            (method, status) = (Bundle.HTTPVerb.DELETE, "204 No Content");
        }

        return new Bundle.EntryComponent
        {
            FullUrl = $"{baseUrl}/{version.ResourceType}/{version.Id}",
            Resource = version.IsDeleted || version.Json is null ? null : FhirSerialization.ParseStored(version.Json),
            Request = new Bundle.RequestComponent
            {
                Method = method,
                Url = method == Bundle.HTTPVerb.POST ? version.ResourceType : $"{version.ResourceType}/{version.Id}",
            },
            Response = new Bundle.ResponseComponent
            {
                Status = status,
                Etag = FhirResult.ETag(version.VersionId),
                LastModified = version.LastUpdated,
            },
        };
    }

    private int Count(IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var limit = limits.CurrentValue;
        if (Value(parameters, "_count") is not { } text)
        {
            return limit.DefaultPageSize;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            throw FhirException.BadRequest($"_count '{text}' is not a non-negative integer", "_count");
        }

        return Math.Min(count, limit.MaxPageSize);
    }

    private static DateTimeOffset? Instant(IReadOnlyList<KeyValuePair<string, string>> parameters, string name)
    {
        if (Value(parameters, name) is not { Length: > 0 } text)
        {
            return null;
        }

        // FHIR dateTime with any precision; without a zone it is taken as UTC.
        var dateTime = new FhirDateTime(text);
        if (!FhirDateTime.IsValidValue(text) || !dateTime.TryToDateTimeOffset(out var instant))
        {
            throw FhirException.BadRequest($"{name} '{text}' is not a FHIR instant or dateTime (e.g. 2026-01-31T12:00:00Z)", name);
        }

        return instant;
    }

    private static string? Value(IReadOnlyList<KeyValuePair<string, string>> parameters, string name) =>
        parameters.LastOrDefault(p => p.Key == name).Value;

    private static string Link(string linkBase, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var query = SearchCriteria.ToQueryString(parameters);
        return query.Length == 0 ? linkBase : $"{linkBase}?{query}";
    }
}
