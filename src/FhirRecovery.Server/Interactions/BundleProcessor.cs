using FhirRecovery.Server.Configuration;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Patching;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Interactions;

/// <summary>How the answer to a batch or transaction should look, and whether its writes are live or a history import.</summary>
public sealed record BundleContext(string BaseUrl, PreferReturn Return, SearchHandling Handling, WriteMode Mode = WriteMode.Live);

/// <summary>
/// batch and transaction. A transaction runs in ONE store session, in the spec's order (DELETE, POST, PUT/PATCH,
/// GET/HEAD), with <c>urn:uuid:</c> fullUrls and conditional references resolved and rewritten everywhere; any failing
/// entry rolls all of it back and the answer names that entry. Batch entries are independent, each in its own session,
/// each with its own response.
/// </summary>
public sealed class BundleProcessor(
    IResourceStore store,
    ResourceInteractions interactions,
    SearchService search,
    HistoryService history,
    IOptionsMonitor<LimitOptions> limits,
    TimeProvider clock)
{
    private sealed class Work(int index, Bundle.EntryComponent entry, Bundle.HTTPVerb method, EntryUrl url)
    {
        public int Index { get; } = index;
        public Bundle.EntryComponent Entry { get; } = entry;
        public Bundle.HTTPVerb Method { get; } = method;
        public EntryUrl Url { get; } = url;
        public string Where => $"Bundle.entry[{Index}]";

        /// <summary>For POST and PUT: the id the resource gets (decided before any reference is rewritten).</summary>
        public string? TargetId { get; set; }

        /// <summary>For a conditional create that matched: the existing version (nothing is written).</summary>
        public ResourceVersion? Existing { get; set; }

        public Bundle.EntryComponent? Response { get; set; }
    }

    public async Task<Bundle> ProcessAsync(Bundle bundle, BundleContext context, CancellationToken cancellationToken)
    {
        if (bundle.Type is not (Bundle.BundleType.Transaction or Bundle.BundleType.Batch))
        {
            throw FhirException.BadRequest($"A Bundle posted to the base must be a batch or transaction, not {bundle.Type?.ToString().ToLowerInvariant() ?? "untyped"}", "Bundle.type");
        }

        var max = limits.CurrentValue.MaxBundleEntries;
        if (bundle.Entry.Count > max)
        {
            throw new FhirException(StatusCodes.Status413PayloadTooLarge, OperationOutcome.IssueType.TooCostly,
                $"The Bundle has {bundle.Entry.Count} entries; at most {max} are accepted (Limits:MaxBundleEntries)", "Bundle.entry");
        }

        return bundle.Type == Bundle.BundleType.Transaction
            ? await TransactionAsync(bundle, context, cancellationToken)
            : await BatchAsync(bundle, context, cancellationToken);
    }

    private async Task<Bundle> TransactionAsync(Bundle bundle, BundleContext context, CancellationToken cancellationToken)
    {
        var work = bundle.Entry.Select((entry, i) => Describe(entry, i, context.BaseUrl)).ToList();
        RequireDistinctTargets(work);
        var writes = interactions.In(context.Mode);

        // No transparent retry after a deadlock or serialization failure (unlike single writes, SingleWrite): entries
        // mutate as the transaction goes (ids assigned, urn:uuid references rewritten, conditional matches resolved,
        // hooks' amendments), so a replay would need the Bundle re-read from scratch, and a large ingest is better
        // re-sent by the client that knows it. The answer is a 409 (transient) with nothing written (StoreErrors).
        await using var session = await store.BeginAsync(cancellationToken);
        Work? current = null;
        try
        {
            foreach (var item in work.Where(w => w.Method == Bundle.HTTPVerb.DELETE))
            {
                current = item;
                item.Response = Written(await DeleteAsync(writes, session, item, cancellationToken), context, item);
            }

            // Every POST and PUT gets its id before any write, so references between entries can be rewritten.
            var identities = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var item in work.Where(w => w.Method is Bundle.HTTPVerb.POST or Bundle.HTTPVerb.PUT))
            {
                current = item;
                await AssignIdentityAsync(session, item, cancellationToken);
                var resource = item.Entry.Resource!;
                if (item.Entry.FullUrl is { Length: > 0 } fullUrl)
                {
                    identities[fullUrl] = $"{resource.TypeName}/{item.TargetId}";
                }

                identities.TryAdd($"{context.BaseUrl}/{resource.TypeName}/{item.TargetId}", $"{resource.TypeName}/{item.TargetId}");
            }

            foreach (var item in work.Where(w => w.Entry.Resource is not null && w.Method is Bundle.HTTPVerb.POST or Bundle.HTTPVerb.PUT))
            {
                current = item;
                await RewriteReferencesAsync(session, item, identities, transaction: true, cancellationToken);
            }

            foreach (var item in work.Where(w => w.Method == Bundle.HTTPVerb.POST))
            {
                current = item;
                item.Response = Written(await CreateAsync(writes, session, item, cancellationToken), context, item);
            }

            foreach (var item in work.Where(w => w.Method is Bundle.HTTPVerb.PUT or Bundle.HTTPVerb.PATCH))
            {
                current = item;
                var result = item.Method == Bundle.HTTPVerb.PUT
                    ? await UpdateAsync(writes, session, item, cancellationToken)
                    : await PatchAsync(writes, session, item, cancellationToken);
                item.Response = Written(result, context, item);
            }

            foreach (var item in work.Where(w => w.Method is Bundle.HTTPVerb.GET or Bundle.HTTPVerb.HEAD))
            {
                current = item;
                item.Response = await ReadAsync(session, item, context, cancellationToken);
            }

            current = null;
            await session.CommitAsync(cancellationToken);
        }
        catch (Exception ex) when (current is not null && StoreErrors.ToFhir(ex) is { } failure)
        {
            // Disposing the session without commit rolls back every entry already written.
            throw EntryFailed(current, failure);
        }

        return Response(Bundle.BundleType.TransactionResponse, work);
    }

    private async Task<Bundle> BatchAsync(Bundle bundle, BundleContext context, CancellationToken cancellationToken)
    {
        var writes = interactions.In(context.Mode);
        var work = new List<Work>();
        for (var i = 0; i < bundle.Entry.Count; i++)
        {
            Work item;
            try
            {
                item = Describe(bundle.Entry[i], i, context.BaseUrl);
            }
            catch (FhirException ex)
            {
                item = new Work(i, bundle.Entry[i], Bundle.HTTPVerb.GET, new EntryUrl(null, null, null, null, "")) { Response = Failed(ex) };
                work.Add(item);
                continue;
            }

            work.Add(item);
            try
            {
                await using var session = await store.BeginAsync(cancellationToken);
                if (item.Method is Bundle.HTTPVerb.POST or Bundle.HTTPVerb.PUT)
                {
                    await AssignIdentityAsync(session, item, cancellationToken);
                    await RewriteReferencesAsync(session, item, new Dictionary<string, string>(), transaction: false, cancellationToken);
                }

                item.Response = item.Method switch
                {
                    Bundle.HTTPVerb.DELETE => Written(await DeleteAsync(writes, session, item, cancellationToken), context, item),
                    Bundle.HTTPVerb.POST => Written(await CreateAsync(writes, session, item, cancellationToken), context, item),
                    Bundle.HTTPVerb.PUT => Written(await UpdateAsync(writes, session, item, cancellationToken), context, item),
                    Bundle.HTTPVerb.PATCH => Written(await PatchAsync(writes, session, item, cancellationToken), context, item),
                    _ => await ReadAsync(null, item, context, cancellationToken),
                };
                await session.CommitAsync(cancellationToken);
            }
            catch (Exception ex) when (StoreErrors.ToFhir(ex) is { } failure)
            {
                item.Response = Failed(failure);
            }
        }

        return Response(Bundle.BundleType.BatchResponse, work);
    }

    private Bundle Response(Bundle.BundleType type, List<Work> work)
    {
        var response = new Bundle
        {
            Id = Guid.NewGuid().ToString(),
            Meta = new Meta { LastUpdated = clock.GetUtcNow() },
            Type = type,
        };
        response.Entry.AddRange(work.Select(w => w.Response!));
        return response;
    }

    /// <summary>Checks an entry's request and reads its URL (400 naming the entry when it is not usable).</summary>
    private static Work Describe(Bundle.EntryComponent entry, int index, string baseUrl)
    {
        var where = $"Bundle.entry[{index}]";
        if (entry.Request?.Method is not { } method)
        {
            throw FhirException.BadRequest($"{where} has no request.method", $"{where}.request.method");
        }

        if (string.IsNullOrWhiteSpace(entry.Request.Url))
        {
            throw FhirException.BadRequest($"{where} has no request.url", $"{where}.request.url");
        }

        var url = EntryUrl.Parse(entry.Request.Url, baseUrl, $"{where}.request.url");
        var work = new Work(index, entry, method, url);
        switch (method)
        {
            case Bundle.HTTPVerb.POST or Bundle.HTTPVerb.PUT:
                if (entry.Resource is null)
                {
                    throw FhirException.BadRequest($"{where} ({method} {entry.Request.Url}) has no resource", $"{where}.resource");
                }

                if (url.Type != entry.Resource.TypeName || (method == Bundle.HTTPVerb.POST && url.Id is not null) || url.History is not null)
                {
                    throw FhirException.BadRequest($"{where}: {method} {entry.Request.Url} does not fit a {entry.Resource.TypeName}", $"{where}.request.url");
                }

                if (method == Bundle.HTTPVerb.PUT && url.Id is null && url.Query.Length == 0)
                {
                    throw FhirException.BadRequest($"{where}: PUT needs [type]/[id] or [type]?[criteria], not {entry.Request.Url}", $"{where}.request.url");
                }

                break;
            case Bundle.HTTPVerb.DELETE or Bundle.HTTPVerb.PATCH:
                if (url.Type is null || (url.Id is null && url.Query.Length == 0) || url.History is not null)
                {
                    throw FhirException.BadRequest($"{where}: {method} needs [type]/[id] or [type]?[criteria], not {entry.Request.Url}", $"{where}.request.url");
                }

                break;
        }

        return work;
    }

    /// <summary>A resource may be the target of only one write in a transaction.</summary>
    private static void RequireDistinctTargets(List<Work> work)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var item in work.Where(w => w.Method is not (Bundle.HTTPVerb.GET or Bundle.HTTPVerb.HEAD or Bundle.HTTPVerb.POST) && w.Url.Id is not null))
        {
            var key = $"{item.Url.Type}/{item.Url.Id}";
            if (!seen.TryAdd(key, item.Index))
            {
                throw FhirException.BadRequest($"Bundle.entry[{seen[key]}] and {item.Where} both change {key}; a transaction may change a resource only once", item.Where);
            }
        }
    }

    private static async System.Threading.Tasks.Task AssignIdentityAsync(IStoreSession session, Work item, CancellationToken cancellationToken)
    {
        var resource = item.Entry.Resource!;
        if (item.Method == Bundle.HTTPVerb.POST)
        {
            if (item.Entry.Request!.IfNoneExist is { Length: > 0 } criteria)
            {
                var query = criteria.StartsWith(resource.TypeName + "?", StringComparison.Ordinal) ? criteria[(resource.TypeName.Length + 1)..] : criteria;
                var matches = await SearchCriteria.MatchAsync(session, resource.TypeName, query, "ifNoneExist", cancellationToken);
                if (matches.Count > 1)
                {
                    throw FhirException.PreconditionFailed($"ifNoneExist '{criteria}' matches more than one {resource.TypeName}");
                }

                item.Existing = matches.Count == 1 ? matches[0] : null;
            }

            item.TargetId = item.Existing?.Id ?? ResourceNames.NewId();
            return;
        }

        if (item.Url.Id is { } id)
        {
            item.TargetId = id;
            return;
        }

        var found = await SearchCriteria.MatchAsync(session, resource.TypeName, item.Url.Query, "Conditional update", cancellationToken);
        item.TargetId = found.Count switch
        {
            0 => string.IsNullOrEmpty(resource.Id) ? ResourceNames.NewId() : resource.Id,
            1 => found[0].Id,
            _ => throw FhirException.PreconditionFailed($"Conditional update: '{item.Url.Query}' matches more than one {resource.TypeName}"),
        };
        if (found.Count == 1 && !string.IsNullOrEmpty(resource.Id) && resource.Id != found[0].Id)
        {
            throw FhirException.BadRequest($"The {resource.TypeName}'s id '{resource.Id}' is not the id of the resource matching '{item.Url.Query}' ('{found[0].Id}')");
        }
    }

    /// <summary>Rewrites fullUrl references to the entries' ids and resolves conditional references (exactly one match).</summary>
    private static async System.Threading.Tasks.Task RewriteReferencesAsync(IStoreSession session, Work item, Dictionary<string, string> identities, bool transaction, CancellationToken cancellationToken)
    {
        var conditional = new List<string>();
        string? unresolved = null;
        ReferenceRewriter.Rewrite(item.Entry.Resource!, reference =>
        {
            if (identities.TryGetValue(reference, out var local))
            {
                return local;
            }

            if (reference.StartsWith("urn:uuid:", StringComparison.Ordinal) || reference.StartsWith("urn:oid:", StringComparison.Ordinal))
            {
                unresolved ??= reference;
                return null;
            }

            var question = reference.IndexOf('?');
            if (question > 0 && ResourceNames.IsResourceType(reference[..question]))
            {
                conditional.Add(reference);
            }

            return null;
        }, uri => identities.GetValueOrDefault(uri));

        if (unresolved is not null)
        {
            throw FhirException.BadRequest(transaction
                ? $"The reference '{unresolved}' is not the fullUrl of any entry of the transaction"
                : $"The reference '{unresolved}' cannot be resolved in a batch (entries of a batch do not refer to each other)");
        }

        if (conditional.Count == 0)
        {
            return;
        }

        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var reference in conditional.Distinct())
        {
            var question = reference.IndexOf('?');
            var type = reference[..question];
            var matches = await SearchCriteria.MatchAsync(session, type, reference[(question + 1)..], "Conditional reference", cancellationToken);
            resolved[reference] = matches.Count == 1
                ? $"{type}/{matches[0].Id}"
                : throw FhirException.PreconditionFailed($"The conditional reference '{reference}' matches {(matches.Count == 0 ? "no" : "more than one")} {type}; it must match exactly one");
        }

        ReferenceRewriter.Rewrite(item.Entry.Resource!, reference => resolved.GetValueOrDefault(reference));
    }

    private static async Task<WriteResult> CreateAsync(ResourceInteractions writes, IStoreSession session, Work item, CancellationToken cancellationToken)
    {
        if (item.Existing is { } existing)
        {
            return new WriteResult(StatusCodes.Status200OK, existing, []);
        }

        var input = writes.Validation.Check(item.Entry.Resource!, $"{item.Where}.resource");
        return await writes.CreateWithIdAsync(session, input, item.TargetId!, cancellationToken);
    }

    private static async Task<WriteResult> UpdateAsync(ResourceInteractions writes, IStoreSession session, Work item, CancellationToken cancellationToken)
    {
        var resource = item.Entry.Resource!;
        if (item.Url.Id is null)
        {
            // Conditional update: its id was settled with the others; only a missing id is filled in.
            resource.Id ??= item.TargetId;
        }

        var input = writes.Validation.Check(resource, $"{item.Where}.resource");
        return await writes.UpdateAsync(session, resource.TypeName, item.TargetId!, input, IfMatch(item), cancellationToken);
    }

    private static async Task<WriteResult> PatchAsync(ResourceInteractions writes, IStoreSession session, Work item, CancellationToken cancellationToken)
    {
        PatchDocument patch = item.Entry.Resource switch
        {
            Parameters parameters => FhirPathPatch.FromParameters(parameters),
            Binary { Data: { } data } binary when binary.ContentType?.StartsWith(FhirMediaTypes.JsonPatch, StringComparison.OrdinalIgnoreCase) == true => JsonPatch.Parse(data),
            _ => throw FhirException.BadRequest($"{item.Where}: a PATCH entry carries a Parameters (FHIRPath Patch) or a Binary of {FhirMediaTypes.JsonPatch}", $"{item.Where}.resource"),
        };
        var id = item.Url.Id;
        if (id is null)
        {
            var matches = await SearchCriteria.MatchAsync(session, item.Url.Type!, item.Url.Query, "Conditional patch", cancellationToken);
            id = matches.Count == 1
                ? matches[0].Id
                : throw (matches.Count == 0
                    ? FhirException.NotFound($"Conditional patch: '{item.Url.Query}' matches no {item.Url.Type}")
                    : FhirException.PreconditionFailed($"Conditional patch: '{item.Url.Query}' matches more than one {item.Url.Type}"));
        }

        return await writes.PatchAsync(session, item.Url.Type!, id, patch, IfMatch(item), cancellationToken);
    }

    private static async Task<WriteResult> DeleteAsync(ResourceInteractions writes, IStoreSession session, Work item, CancellationToken cancellationToken) =>
        item.Url.Id is { } id
            ? await writes.DeleteAsync(session, item.Url.Type!, id, IfMatch(item), cancellationToken)
            : await writes.ConditionalDeleteAsync(session, item.Url.Type!, item.Url.Query, cancellationToken);

    private static long? IfMatch(Work item) => ResourceInteractions.ParseETag(item.Entry.Request!.IfMatch, $"{item.Where}.request.ifMatch");

    /// <summary>GET/HEAD entries: read, vread, search and history.</summary>
    private async Task<Bundle.EntryComponent> ReadAsync(IStoreSession? session, Work item, BundleContext context, CancellationToken cancellationToken)
    {
        var url = item.Url;
        var parameters = SearchCriteria.Parse(url.Query);
        Resource resource;
        ResourceVersion? version = null;
        if (url.History is not null && url.VersionId is null)
        {
            resource = await history.HistoryAsync(url.Type, url.Id, parameters, context.BaseUrl, cancellationToken);
        }
        else if (url.Type is not null && url.Id is not null)
        {
            version = url.VersionId is { } vid
                ? await ReadVersionAsync(url.Type, url.Id, vid, cancellationToken)
                : session is null
                    ? await store.ReadAsync(url.Type, url.Id, cancellationToken)
                    : await session.ReadAsync(url.Type, url.Id, cancellationToken);
            if (version is null)
            {
                throw FhirException.NotFound($"{url.Type}/{url.Id} is not known");
            }

            if (version.IsDeleted)
            {
                throw FhirException.Gone($"{url.Type}/{url.Id} was deleted");
            }

            resource = FhirSerialization.ParseStored(version.Json!);
        }
        else
        {
            resource = (await search.SearchAsync(new SearchInput(url.Type, parameters, null, context.Handling, Subsetting.None), context.BaseUrl, session, cancellationToken))
                .ToBundle(Subsetting.None);
        }

        return new Bundle.EntryComponent
        {
            FullUrl = version is null ? null : $"{context.BaseUrl}/{version.ResourceType}/{version.Id}",
            Resource = item.Method == Bundle.HTTPVerb.HEAD ? null : resource,
            Response = new Bundle.ResponseComponent
            {
                Status = "200 OK",
                Etag = version is null ? null : FhirResult.ETag(version.VersionId),
                LastModified = version?.LastUpdated,
            },
        };
    }

    private async Task<ResourceVersion?> ReadVersionAsync(string type, string id, long versionId, CancellationToken cancellationToken) =>
        await store.ReadVersionAsync(type, id, versionId, cancellationToken);

    private static Bundle.EntryComponent Written(WriteResult result, BundleContext context, Work item)
    {
        var version = result.Version;
        var entry = new Bundle.EntryComponent
        {
            FullUrl = version is null ? null : $"{context.BaseUrl}/{version.ResourceType}/{version.Id}",
            Response = new Bundle.ResponseComponent
            {
                Status = result.Status switch
                {
                    StatusCodes.Status201Created => "201 Created",
                    StatusCodes.Status204NoContent => "204 No Content",
                    _ => "200 OK",
                },
                Location = version is null || item.Method == Bundle.HTTPVerb.DELETE ? null : $"{version.ResourceType}/{version.Id}/_history/{version.VersionId}",
                Etag = version is null ? null : FhirResult.ETag(version.VersionId),
                LastModified = version?.LastUpdated,
            },
        };
        if (version?.Json is not null && !version.IsDeleted)
        {
            switch (context.Return)
            {
                case PreferReturn.Representation:
                    entry.Resource = FhirSerialization.ParseStored(version.Json);
                    break;
                case PreferReturn.OperationOutcome:
                    entry.Response.Outcome = new CheckedResource(new Basic(), result.Warnings).ToOutcome($"{item.Method} {item.Entry.Request!.Url}: {entry.Response.Status}");
                    break;
            }
        }

        return entry;
    }

    private static Bundle.EntryComponent Failed(FhirException failure) => new()
    {
        Response = new Bundle.ResponseComponent
        {
            Status = $"{failure.Status} {ReasonPhrases(failure.Status)}",
            Outcome = failure.Outcome,
        },
    };

    private static string ReasonPhrases(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);

    /// <summary>The transaction's answer when an entry fails: that entry's status, and an outcome that names it first.</summary>
    private static FhirException EntryFailed(Work item, FhirException failure)
    {
        var outcome = new OperationOutcome();
        var first = failure.Outcome.Issue.FirstOrDefault();
        var message = $"Transaction failed at {item.Where} ({item.Method} {item.Entry.Request?.Url}): {first?.Diagnostics ?? failure.Message}. Nothing was written.";
        outcome.Issue.Add(new OperationOutcome.IssueComponent
        {
            Severity = OperationOutcome.IssueSeverity.Error,
            Code = first?.Code ?? OperationOutcome.IssueType.Processing,
            Diagnostics = message,
            Details = new CodeableConcept { Text = message },
            Expression = [item.Where],
        });
        outcome.Issue.AddRange(failure.Outcome.Issue);
        return new FhirException(failure.Status, outcome);
    }
}

/// <summary>The URL of a Bundle entry's request, relative to the base: [type][/id][/_history[/vid]][?query].</summary>
public sealed record EntryUrl(string? Type, string? Id, string? History, long? VersionId, string Query)
{
    public static EntryUrl Parse(string url, string baseUrl, string where)
    {
        var relative = url.StartsWith(baseUrl + "/", StringComparison.Ordinal) ? url[(baseUrl.Length + 1)..] : url;
        if (Uri.TryCreate(relative, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https")
        {
            throw FhirException.BadRequest($"'{url}' is not on this server ({baseUrl})", where);
        }

        var question = relative.IndexOf('?');
        var path = question < 0 ? relative : relative[..question];
        var query = question < 0 ? "" : relative[(question + 1)..];
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length == 0)
        {
            return new EntryUrl(null, null, null, null, query);
        }

        if (segments[0] == "_history")
        {
            return new EntryUrl(null, null, "_history", null, query);
        }

        if (!ResourceNames.IsResourceType(segments[0]))
        {
            throw FhirException.BadRequest($"'{url}': unknown resource type '{segments[0]}'", where);
        }

        return segments switch
        {
            [var type] => new EntryUrl(type, null, null, null, query),
            [var type, "_history"] => new EntryUrl(type, null, "_history", null, query),
            [var type, var id] when ResourceNames.IsValidId(id) => new EntryUrl(type, id, null, null, query),
            [var type, var id, "_history"] when ResourceNames.IsValidId(id) => new EntryUrl(type, id, "_history", null, query),
            [var type, var id, "_history", var vid] when ResourceNames.IsValidId(id) && long.TryParse(vid, out var v) => new EntryUrl(type, id, "_history", v, query),
            _ => throw FhirException.BadRequest($"'{url}' is not a supported entry URL ([type], [type]/[id], [type]/[id]/_history[/vid], [type]?criteria)", where),
        };
    }
}
