using FhirRecovery.Storage;
using FhirRecovery.Storage.Search;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Security;

/// <summary>Reads and searches the policy may need while checking (the store, or the open session for writes).</summary>
internal interface IPolicyReader
{
    Task<ResourceVersion?> ReadVersionAsync(string type, string id, long versionId, CancellationToken cancellationToken);

    Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// The rules behind <see cref="SecuredResourceStore"/>: which scope grants an access, what a confined or constrained
/// grant may see, and how a search is narrowed to the patient's compartment and the scopes' constraints (and its results
/// checked again, so a flaw in one layer does not leak another patient's data).
/// </summary>
public sealed class AccessPolicy(PatientCompartment compartment, SearchParameterRegistry registry, IOptionsMonitor<AuthOptions> options, IHttpContextAccessor http)
{
    public PatientCompartment Compartment => compartment;

    /// <summary>
    /// The access the store enforces now. Outside any request (start-up, background work): the server itself. A request in
    /// SMART mode that did not pass the authorization middleware (an endpoint outside /fhir) gets nothing.
    /// </summary>
    public AccessContext Current =>
        CurrentAccess.Context
        ?? (http.HttpContext is not null && options.CurrentValue.Mode == AuthMode.Smart ? AccessContext.Unauthenticated : AccessContext.System);

    public Grant Require(AccessContext access, string type, SmartPermission permission) =>
        access.GrantFor(type, permission) ?? throw Denied(access, type, permission);

    public Grant RequireAny(AccessContext access, string type, SmartPermission[] permissions) =>
        access.GrantForAny(type, permissions) ?? throw Denied(access, type, permissions[0]);

    /// <summary>
    /// Population-level answers (counts over everyone's records, such as <c>$recovery-orientation</c>) are computed in the
    /// database, past the per-resource checks, and a count over a small population is the data of its people: they need
    /// unconfined, unconstrained search on every type counted. A patient's app (patient context, or a patient's own
    /// login with user scopes) gets a 403.
    /// </summary>
    public void RequirePopulationAccess(string operation, params string[] types)
    {
        var access = Current;
        if (access.IsUnrestricted)
        {
            return;
        }

        foreach (var type in types)
        {
            var grant = Require(access, type, SmartPermission.Search);
            if (grant.IsConfined || grant.IsConstrained)
            {
                throw SecurityErrors.InsufficientScope(
                    $"{operation} counts every person's {type} records: it needs user/ or system/ scopes for {type} without constraints, "
                    + "which a token confined to one patient does not give", $"user/{type}.s");
            }
        }
    }

    internal static Http.FhirException Denied(AccessContext access, string type, SmartPermission permission)
    {
        if (access.Kind == "unauthenticated")
        {
            return SecurityErrors.Unauthorized("This request needs a bearer token", error: null);
        }

        var level = access.HasPatientScopes && access.Patient is not null ? "patient" : access.FhirUser is not null ? "user" : "system";
        var patientScopeWithoutContext = access.Patient is null && access.Scopes.Any(s => s.Level == ScopeLevel.Patient && s.Covers(type) && s.Permissions.HasFlag(permission));
        return SecurityErrors.InsufficientScope(patientScopeWithoutContext
                ? $"The token's patient/ scopes need a patient in context (launch/patient), and it has none"
                : $"The token's scopes do not allow {SecurityErrors.Describe(permission)} on {type}",
            $"{level}/{type}.{SmartScope.Letters(permission)}");
    }

    /// <summary>
    /// A read under the current token: a grant for one of <paramref name="permissions"/> first (403 without), then the
    /// version only if it is visible under it (otherwise as if it did not exist).
    /// </summary>
    internal async Task<ResourceVersion?> ReadAsync(string type, SmartPermission[] permissions, Func<Task<ResourceVersion?>> read, IPolicyReader reader,
        CancellationToken cancellationToken)
    {
        var access = Current;
        if (access.IsUnrestricted)
        {
            return await read();
        }

        var grant = RequireAny(access, type, permissions);
        var version = await read();
        return version is not null && await IsVisibleAsync(grant, version, reader, cancellationToken) ? version : null;
    }

    /// <summary>A search under the current token: narrowed before it runs (<see cref="Narrow"/>), its results checked again after.</summary>
    internal async Task<SearchResult> SearchAsync(SearchRequest request, SmartPermission[] permissions, Func<SearchRequest, Task<SearchResult>> search,
        IPolicyReader reader, CancellationToken cancellationToken)
    {
        var access = Current;
        if (access.IsUnrestricted)
        {
            return await search(request);
        }

        var narrowed = Narrow(access, request, permissions);
        return await FilterAsync(access, narrowed, await search(narrowed), reader, cancellationToken);
    }

    /// <summary>Whether a stored version is visible under the grant (compartment and constraints).</summary>
    internal async Task<bool> IsVisibleAsync(Grant grant, ResourceVersion version, IPolicyReader reader, CancellationToken cancellationToken)
    {
        if (grant.Patient is { } patient && !await IsInCompartmentAsync(patient, version, reader, cancellationToken))
        {
            return false;
        }

        return !grant.IsConstrained || version.IsDeleted
               || (await MatchingConstraintsAsync(grant, version.ResourceType, [version.Id], reader, cancellationToken)).Contains(version.Id);
    }

    /// <summary>
    /// Compartment membership of a version; a deletion belongs where its last live version was. Shared types (definitions,
    /// directory) are visible to everyone with a scope for them.
    /// </summary>
    internal async Task<bool> IsInCompartmentAsync(string patient, ResourceVersion version, IPolicyReader reader, CancellationToken cancellationToken)
    {
        if (compartment.IsShared(version.ResourceType))
        {
            return true;
        }

        if (!compartment.IsMemberType(version.ResourceType))
        {
            return false;
        }

        var live = version;
        while (live is { IsDeleted: true } && live.VersionId > 1)
        {
            live = await reader.ReadVersionAsync(version.ResourceType, version.Id, live.VersionId - 1, cancellationToken);
        }

        return live is { IsDeleted: false, Json: { } json } && compartment.IsMember(version.ResourceType, version.Id, json, patient);
    }

    /// <summary>The ids (of those given) that match one of the grant's constraint sets (one search per set).</summary>
    internal async Task<HashSet<string>> MatchingConstraintsAsync(Grant grant, string type, IReadOnlyCollection<string> ids, IPolicyReader reader, CancellationToken cancellationToken)
    {
        var matching = new HashSet<string>(StringComparer.Ordinal);
        if (ids.Count == 0)
        {
            return matching;
        }

        foreach (var constraints in grant.Constraints ?? [])
        {
            List<KeyValuePair<string, string>> parameters = [new("_id", string.Join(',', ids)), .. constraints, new("_count", ids.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))];
            var result = await reader.SearchAsync(new SearchRequest
            {
                ResourceType = type,
                Parameters = parameters,
                Compartment = grant.Patient is { } p && compartment.IsMemberType(type) ? new CompartmentScope("Patient", p) : null,
                Handling = SearchHandling.Strict,
            }, cancellationToken);
            matching.UnionWith(result.Matches.Select(m => m.Id));
        }

        return matching;
    }

    /// <summary>
    /// Narrows a search to what the token may see: the patient's compartment, the scopes' constraints, the types it may
    /// search; refuses (403) what cannot be narrowed. <paramref name="permissions"/>: the permissions that allow the search
    /// (search itself, or for searches inside a write, e.g. conditional matching, any write permission on the type).
    /// </summary>
    internal SearchRequest Narrow(AccessContext access, SearchRequest request, SmartPermission[] permissions)
    {
        if (request.ResourceType is { } type)
        {
            var grant = RequireAny(access, type, permissions);
            var narrowed = request;
            CheckReferencedTypes(access, type, grant, request.Parameters);
            if (grant.Patient is { } patient)
            {
                narrowed = narrowed with { Compartment = ConfinedCompartment(type, patient, request.Compartment) };
            }

            if (grant.Constraints is { } constraints && request.PageToken is null)
            {
                narrowed = narrowed with { Parameters = [.. request.Parameters, .. Merge(type, constraints)] };
            }

            return narrowed;
        }

        // Across types (GET [base]?..., GET Patient/1/*): the types searched must all be allowed, with one confinement.
        var requested = request.Parameters.Where(p => p.Key == "_type").SelectMany(p => p.Value.Split(',', StringSplitOptions.RemoveEmptyEntries)).ToList();
        IReadOnlyCollection<string> types;
        List<KeyValuePair<string, string>> parameters = [.. request.Parameters];
        if (requested.Count > 0)
        {
            types = requested;
        }
        else if (access.TypesGranted(SmartPermission.Search) is { } granted)
        {
            types = granted;
            if (request.PageToken is null)
            {
                parameters.Add(new("_type", string.Join(',', granted.Order(StringComparer.Ordinal))));
            }
        }
        else
        {
            types = ["*"];
        }

        var grants = types.Select(t => (Type: t, Grant: access.GrantFor(t, SmartPermission.Search) ?? throw Denied(access, t, SmartPermission.Search))).ToList();
        if (grants.Any(g => g.Grant.IsConstrained))
        {
            throw SecurityErrors.InsufficientScope("The token's scopes for some of these types are constrained: search those types one by one");
        }

        var confinements = grants.Select(g => g.Grant.Patient).Distinct().ToList();
        if (confinements.Count > 1)
        {
            throw SecurityErrors.InsufficientScope("The token's scopes confine some of these types to a patient and not others: search them one by one");
        }

        foreach (var (t, g) in grants.Where(g => g.Type != "*"))
        {
            CheckReferencedTypes(access, t, g, request.Parameters);
        }

        return confinements[0] is { } confined
            ? request with { Parameters = parameters, Compartment = ConfinedCompartment(null, confined, request.Compartment) }
            : request with { Parameters = parameters };
    }

    /// <summary>The compartment a confined search runs in: the patient's own (another patient's is unknown: 404).</summary>
    private CompartmentScope? ConfinedCompartment(string? type, string patient, CompartmentScope? asked)
    {
        if (asked is not null && (asked.CompartmentType != "Patient" || asked.Id != patient))
        {
            throw asked.CompartmentType == "Patient"
                ? SecurityErrors.NotKnown("Patient", asked.Id)
                : SecurityErrors.InsufficientScope($"With a patient in context only that patient's compartment can be searched, not {asked.CompartmentType}/{asked.Id}");
        }

        if (type is null || compartment.IsMemberType(type))
        {
            return new CompartmentScope("Patient", patient);
        }

        if (compartment.IsShared(type))
        {
            return null;
        }

        throw SecurityErrors.InsufficientScope($"{type} is not in the Patient compartment: with a patient in context it cannot be searched");
    }

    /// <summary>
    /// Chains and _has look into other types: the token must be allowed to search those too, and a confined search of a
    /// shared type (which runs outside the compartment) may not look into patients' data at all.
    /// </summary>
    private void CheckReferencedTypes(AccessContext access, string type, Grant grant, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var confinedShared = grant.IsConfined && compartment.IsShared(type);
        foreach (var (name, _) in parameters)
        {
            if (name.StartsWith("_has:", StringComparison.Ordinal))
            {
                var parts = name.Split(':');
                var hasType = parts.Length > 1 ? parts[1] : "";
                if (confinedShared)
                {
                    throw SecurityErrors.InsufficientScope($"_has on {type} would look into other patients' data: not allowed with a patient in context");
                }

                if (access.GrantForAny(hasType, [SmartPermission.Search, SmartPermission.Read]) is null)
                {
                    throw Denied(access, hasType, SmartPermission.Search);
                }

                continue;
            }

            if (name.StartsWith('_'))
            {
                continue;
            }

            var dot = name.IndexOf('.');
            if (dot < 0)
            {
                continue;
            }

            // subject:Patient.name → Patient; subject.name → every target type of "subject".
            var head = name[..dot];
            var colon = head.IndexOf(':');
            var code = colon < 0 ? head : head[..colon];
            var explicitType = colon < 0 ? null : head[(colon + 1)..];
            IEnumerable<string> targets = explicitType is not null
                ? [explicitType]
                : registry.Find(type, code)?.Targets is { Count: > 0 } declared ? declared : ["*"];
            foreach (var target in targets)
            {
                if (confinedShared && !compartment.IsShared(target))
                {
                    throw SecurityErrors.InsufficientScope($"The chain {name} would look into patients' data from {type}: not allowed with a patient in context");
                }

                if (access.GrantForAny(target, [SmartPermission.Search, SmartPermission.Read]) is null)
                {
                    throw SecurityErrors.InsufficientScope(
                        $"The chain {name} reaches {target}, which the token's scopes do not allow to search (name the type, e.g. {code}:Patient.x, to narrow it)",
                        $"{(grant.IsConfined ? "patient" : "user")}/{target}.s");
                }
            }
        }
    }

    /// <summary>Several constrained scopes of a type: one parameter list if they differ only in the values of one parameter.</summary>
    private static IReadOnlyList<KeyValuePair<string, string>> Merge(string type, IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> constraints)
    {
        if (constraints.Count == 1)
        {
            return constraints[0];
        }

        if (constraints.All(c => c.Count == 1) && constraints.Select(c => c[0].Key).Distinct().Count() == 1)
        {
            return [new(constraints[0][0].Key, string.Join(',', constraints.Select(c => c[0].Value)))];
        }

        throw SecurityErrors.InsufficientScope($"The token's scopes allow {type} under several different constraints, which one search cannot combine: search under one scope at a time");
    }

    /// <summary>
    /// Checks a search's results again: matches and included resources outside the compartment, of types the token may not
    /// read, or not matching the constraints are dropped.
    /// </summary>
    internal async Task<SearchResult> FilterAsync(AccessContext access, SearchRequest request, SearchResult result, IPolicyReader reader, CancellationToken cancellationToken)
    {
        var matches = await FilterAsync(access, result.Matches, SmartPermission.Search, reader, cancellationToken);
        var included = await FilterAsync(access, result.Included, SmartPermission.Read, reader, cancellationToken);
        if (matches.Count == result.Matches.Count && included.Count == result.Included.Count)
        {
            return result;
        }

        return result with
        {
            Matches = matches,
            Included = included,
            Total = matches.Count == result.Matches.Count ? result.Total : null,
        };
    }

    private async Task<IReadOnlyList<ResourceVersion>> FilterAsync(AccessContext access, IReadOnlyList<ResourceVersion> versions, SmartPermission permission,
        IPolicyReader reader, CancellationToken cancellationToken)
    {
        if (versions.Count == 0)
        {
            return versions;
        }

        var kept = new List<ResourceVersion>(versions.Count);
        var constrained = new Dictionary<string, (Grant Grant, List<ResourceVersion> Versions)>(StringComparer.Ordinal);
        foreach (var version in versions)
        {
            var grant = access.GrantForAny(version.ResourceType, [permission, SmartPermission.Read, SmartPermission.Search]);
            if (grant is null)
            {
                continue;
            }

            if (grant.Patient is { } patient && !await IsInCompartmentAsync(patient, version, reader, cancellationToken))
            {
                continue;
            }

            if (grant.IsConstrained)
            {
                if (!constrained.TryGetValue(version.ResourceType, out var group))
                {
                    constrained[version.ResourceType] = group = (grant, []);
                }

                group.Versions.Add(version);
            }

            kept.Add(version);
        }

        foreach (var (type, (grant, group)) in constrained)
        {
            var allowed = await MatchingConstraintsAsync(grant, type, group.Select(v => v.Id).Distinct().ToList(), reader, cancellationToken);
            kept.RemoveAll(v => v.ResourceType == type && !allowed.Contains(v.Id));
        }

        return kept;
    }

    /// <summary>History entries the token may see; <paramref name="permission"/> is read (instance) or search (type, system).</summary>
    internal async Task<HistoryResult> FilterAsync(AccessContext access, HistoryResult result, SmartPermission permission, bool hideTotal,
        IPolicyReader reader, CancellationToken cancellationToken)
    {
        var kept = new List<ResourceVersion>(result.Entries.Count);
        foreach (var version in result.Entries)
        {
            var grant = access.GrantFor(version.ResourceType, permission);
            if (grant is null || grant.IsConstrained)
            {
                continue;
            }

            if (grant.Patient is { } patient && !await IsInCompartmentAsync(patient, version, reader, cancellationToken))
            {
                continue;
            }

            kept.Add(version);
        }

        // The store's total would count versions the token may not see.
        return kept.Count == result.Entries.Count && !hideTotal ? result : result with { Entries = kept, Total = null };
    }
}
