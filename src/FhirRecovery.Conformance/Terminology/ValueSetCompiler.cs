using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>
/// Turns ValueSet.compose into a <see cref="MembershipSet"/>: the union of the includes minus the union of the excludes; in an
/// include, the system part (whole system, listed concepts, or filters, ANDed) is intersected with every imported value set.
/// Inactive codes are dropped when compose.inactive is false. A value set without compose falls back to its expansion.
/// </summary>
internal sealed class ValueSetCompiler(TerminologyService service, TerminologyService.ImportStack imports)
{
    private readonly List<string> _warnings = [];
    private readonly List<string> _used = [];

    public MembershipSet Compile(ValueSet valueSet)
    {
        if (imports.Contains(valueSet))
        {
            throw TerminologyException.Invalid($"Value set imports form a cycle: {imports.Describe(valueSet)}.");
        }

        imports.Push(valueSet);
        try
        {
            var set = CompileBody(valueSet);
            var size = set.YesCount;
            if (size > service.Options.MaxValueSetMembers)
            {
                throw TerminologyException.TooCostly(
                    $"Value set '{valueSet.Url}' has {size} codes, more than the limit of {service.Options.MaxValueSetMembers}.");
            }

            return new MembershipSet(set.Systems, set.Other, set.OtherReason)
            {
                Warnings = [.. set.Warnings, .. _warnings.Where(w => !set.Warnings.Contains(w)).Distinct()],
                UsedCodeSystems = [.. set.UsedCodeSystems, .. _used.Where(u => !set.UsedCodeSystems.Contains(u)).Distinct()],
            };
        }
        finally
        {
            imports.Pop();
        }
    }

    private MembershipSet CompileBody(ValueSet valueSet)
    {
        var compose = valueSet.Compose;
        if (compose is null)
        {
            if (valueSet.Expansion?.Contains.Count > 0)
            {
                return FromExpansion(valueSet.Expansion);
            }

            _warnings.Add($"Value set '{valueSet.Url}' has neither compose nor expansion: it holds no codes.");
            return MembershipSet.Empty;
        }

        var result = MembershipSet.Empty;
        foreach (var include in compose.Include)
        {
            result = MembershipSet.Union(result, CompileConceptSet(include));
        }

        if (compose.Inactive == false)
        {
            result = DropInactive(result);
        }

        if (compose.Exclude.Count > 0)
        {
            var excluded = MembershipSet.Empty;
            foreach (var exclude in compose.Exclude)
            {
                excluded = MembershipSet.Union(excluded, CompileConceptSet(exclude));
            }

            result = MembershipSet.Minus(result, excluded);
        }

        return result;
    }

    private MembershipSet CompileConceptSet(ValueSet.ConceptSetComponent set)
    {
        var parts = new List<MembershipSet>();
        if (!string.IsNullOrEmpty(set.System))
        {
            parts.Add(CompileSystemPart(set));
        }

        foreach (var canonical in set.ValueSet)
        {
            if (!string.IsNullOrEmpty(canonical))
            {
                parts.Add(Import(canonical));
            }
        }

        if (parts.Count == 0)
        {
            _warnings.Add("A compose include/exclude has neither system nor valueSet: it selects nothing.");
            return MembershipSet.Empty;
        }

        return parts.Aggregate(MembershipSet.Intersect);
    }

    private MembershipSet Import(string canonical)
    {
        var valueSet = service.Resolver.FindValueSet(canonical);
        if (valueSet is null)
        {
            // Any code might be in a value set we do not have.
            return new MembershipSet(new Dictionary<string, SystemMembership>(StringComparer.Ordinal), Tv.Maybe,
                $"The imported value set '{canonical}' is not known, so membership cannot be fully decided locally.");
        }

        if (imports.Contains(valueSet))
        {
            throw TerminologyException.Invalid($"Value set imports form a cycle: {imports.Describe(valueSet)}.");
        }

        var cached = service.GetValueSet(valueSet, imports);
        return cached.Set ?? throw cached.Error!;
    }

    private MembershipSet CompileSystemPart(ValueSet.ConceptSetComponent set)
    {
        // A system is a uri, not a canonical: a '#' belongs to it; only "system|version" (seen in the wild) is split.
        var system = set.System!;
        var bar = system.IndexOf('|');
        var (url, embeddedVersion) = bar < 0 ? (system, (string?)null) : (system[..bar], system[(bar + 1)..]);
        var info = service.ResolveCodeSystem(url, set.Version ?? embeddedVersion, _warnings);
        if (info.Kind != CodeSystemKind.Unavailable || info.Resource is not null)
        {
            _used.Add(info.Canonical);
        }

        var entries = new Dictionary<string, (Tv, Member?)>(info.CodeComparer);
        Tv ifValid = Tv.No, ifInvalid = Tv.No;
        string? reason = null;

        if (set.Concept.Count > 0)
        {
            foreach (var c in set.Concept)
            {
                if (string.IsNullOrEmpty(c.Code) || entries.ContainsKey(c.Code))
                {
                    continue;
                }

                var concept = info.HasConcepts ? info.Find(c.Code) : null;
                if (concept is null && info.Kind == CodeSystemKind.Complete)
                {
                    _warnings.Add($"The value set lists '{c.Code}', which is not a code of '{url}'.");
                    continue;
                }

                string? grammarDisplay = null;
                if (info.Kind == CodeSystemKind.Grammar)
                {
                    var check = info.Grammar!.Check(c.Code);
                    if (!check.IsValid)
                    {
                        _warnings.Add($"The value set lists '{c.Code}': {check.Error}");
                        continue;
                    }

                    grammarDisplay = check.Display;
                }

                var member = concept is not null && c.Display is null && c.Designation.Count == 0
                    ? info.MemberFor(concept)
                    : new Member
                    {
                        System = url,
                        Version = info.Version,
                        Code = concept?.Code ?? c.Code,
                        Display = c.Display ?? concept?.Display ?? grammarDisplay,
                        Abstract = concept?.Abstract ?? false,
                        Inactive = concept?.Inactive ?? false,
                        Concept = concept,
                        ValueSetDesignations = c.Designation,
                    };
                entries[member.Code] = (Tv.Yes, member);
            }

            var listed = Single(url, info, entries, Tv.No, Tv.No, null);
            return set.Filter.Count > 0 ? MembershipSet.Intersect(listed, FilterPart(set, url, info)) : listed;
        }

        if (set.Filter.Count > 0)
        {
            return FilterPart(set, url, info);
        }

        switch (info.Kind)
        {
            case CodeSystemKind.Complete or CodeSystemKind.Partial:
                CheckSize(info.Concepts.Count, url);
                foreach (var concept in info.Concepts)
                {
                    entries[concept.Code] = (Tv.Yes, info.MemberFor(concept));
                }

                if (info.Kind == CodeSystemKind.Partial)
                {
                    (ifValid, ifInvalid, reason) = (Tv.Maybe, Tv.Maybe, info.UnavailableReason);
                }

                break;
            case CodeSystemKind.Grammar:
                (ifValid, ifInvalid) = (Tv.Yes, Tv.No);
                break;
            default:
                (ifValid, ifInvalid, reason) = (Tv.Maybe, Tv.Maybe, info.UnavailableReason);
                break;
        }

        return Single(url, info, entries, ifValid, ifInvalid, reason);
    }

    private MembershipSet FilterPart(ValueSet.ConceptSetComponent set, string url, CodeSystemInfo info)
    {
        var entries = new Dictionary<string, (Tv, Member?)>(info.CodeComparer);
        switch (info.Kind)
        {
            case CodeSystemKind.Complete or CodeSystemKind.Partial:
                HashSet<ConceptInfo>? matches = null;
                foreach (var filter in set.Filter)
                {
                    var found = ConceptFilter.Apply(info, filter, service.Options.RegexTimeout, _warnings);
                    if (matches is null)
                    {
                        matches = found;
                    }
                    else
                    {
                        matches.IntersectWith(found);
                    }
                }

                CheckSize(matches!.Count, url);
                foreach (var concept in matches.OrderBy(c => c.Order))
                {
                    entries[concept.Code] = (Tv.Yes, info.MemberFor(concept));
                }

                return info.Kind == CodeSystemKind.Partial
                    ? Single(url, info, entries, Tv.Maybe, Tv.Maybe, info.UnavailableReason)
                    : Single(url, info, entries, Tv.No, Tv.No, null);
            case CodeSystemKind.Grammar:
                // Filters on grammar-based systems (e.g. UCUM "canonical") are not evaluated; well-formed codes stay undecided.
                return Single(url, info, entries, Tv.Maybe, Tv.No,
                    $"The filter on {info.Name} ({url}) is not evaluated locally: which well-formed codes it selects cannot be decided.");
            default:
                return Single(url, info, entries, Tv.Maybe, Tv.Maybe, info.UnavailableReason);
        }
    }

    private void CheckSize(int count, string url)
    {
        if (count > service.Options.MaxValueSetMembers)
        {
            throw TerminologyException.TooCostly($"Including {count} codes of '{url}' exceeds the limit of {service.Options.MaxValueSetMembers}.");
        }
    }

    private static MembershipSet Single(string url, CodeSystemInfo info, Dictionary<string, (Tv, Member?)> entries, Tv ifValid, Tv ifInvalid, string? reason) =>
        new(new Dictionary<string, SystemMembership>(StringComparer.Ordinal)
        {
            [url] = new SystemMembership(url, info, entries, ifValid, ifInvalid, reason),
        }, Tv.No, null);

    private MembershipSet FromExpansion(ValueSet.ExpansionComponent expansion)
    {
        var bySystem = new Dictionary<string, Dictionary<string, (Tv, Member?)>>(StringComparer.Ordinal);
        var infos = new Dictionary<string, CodeSystemInfo>(StringComparer.Ordinal);
        var stack = new Stack<ValueSet.ContainsComponent>(Enumerable.Reverse(expansion.Contains));
        while (stack.Count > 0)
        {
            var c = stack.Pop();
            foreach (var child in Enumerable.Reverse(c.Contains))
            {
                stack.Push(child);
            }

            if (c.System is null || string.IsNullOrEmpty(c.Code))
            {
                continue;
            }

            if (!infos.TryGetValue(c.System, out var info))
            {
                infos[c.System] = info = service.ResolveCodeSystem(c.System, null, null);
                bySystem[c.System] = new Dictionary<string, (Tv, Member?)>(info.CodeComparer);
            }

            var concept = info.HasConcepts ? info.Find(c.Code) : null;
            bySystem[c.System].TryAdd(c.Code, (Tv.Yes, new Member
            {
                System = c.System,
                Version = c.Version ?? info.Version,
                Code = c.Code,
                Display = c.Display ?? concept?.Display,
                Abstract = c.Abstract ?? concept?.Abstract ?? false,
                Inactive = c.Inactive ?? concept?.Inactive ?? false,
                Concept = concept,
                ValueSetDesignations = c.Designation,
            }));
        }

        var systems = bySystem.ToDictionary(kv => kv.Key, kv => new SystemMembership(kv.Key, infos[kv.Key], kv.Value, Tv.No, Tv.No, null), StringComparer.Ordinal);
        return new MembershipSet(systems, Tv.No, null);
    }

    private static MembershipSet DropInactive(MembershipSet set)
    {
        var systems = new Dictionary<string, SystemMembership>(StringComparer.Ordinal);
        foreach (var (system, part) in set.Systems)
        {
            var entries = new Dictionary<string, (Tv, Member?)>(part.Comparer);
            foreach (var (code, entry) in part.Entries)
            {
                if (entry.Member?.Inactive == true && entry.Value != Tv.No)
                {
                    if (part.RuleFor(code) != Tv.No)
                    {
                        entries[code] = (Tv.No, entry.Member);
                    }

                    continue;
                }

                entries[code] = entry;
            }

            systems[system] = new SystemMembership(system, part.Info, entries, part.IfValid, part.IfInvalid, part.Reason);
        }

        return new MembershipSet(systems, set.Other, set.OtherReason) { Warnings = set.Warnings, UsedCodeSystems = set.UsedCodeSystems };
    }
}
