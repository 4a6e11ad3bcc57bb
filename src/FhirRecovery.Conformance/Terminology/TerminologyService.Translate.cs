using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Terminology;

public sealed partial class TerminologyService
{
    private volatile IReadOnlyList<ConceptMap>? _translationIndex;

    private IReadOnlyList<ConceptMap> AllConceptMaps =>
        _translationIndex ??= Resolver.EntriesOf("ConceptMap").Select(Resolver.Resolve).OfType<ConceptMap>().ToList();

    /// <summary>
    /// ConceptMap $translate. Forward: the elements of groups whose source is the code's system; when a group has no element
    /// for the code, its <c>unmapped</c> applies (provided → the same code, equivalence equal; fixed → the given code,
    /// equivalence wider, as a catch-all code is broader than the source concept; other-map → that map is used, cycles
    /// ignored). Reverse: the source codes whose targets are the code, with the equivalence turned round (wider ↔ narrower,
    /// subsumes ↔ specializes). dependsOn conditions are not evaluated: such targets are returned like any other.
    /// </summary>
    public TranslateResult Translate(TranslateRequest request)
    {
        List<Coding> codings;
        if (request.CodeableConcept is { } concept)
        {
            codings = concept.Coding;
        }
        else if (request.Coding is { } coding)
        {
            codings = [coding];
        }
        else if (request.Code is not null)
        {
            codings = [new Coding(request.System, request.Code) { Version = request.Version }];
        }
        else
        {
            throw TerminologyException.Required("$translate needs code and system, coding, or codeableConcept.");
        }

        if (codings.Any(c => string.IsNullOrEmpty(c.System) || string.IsNullOrEmpty(c.Code)))
        {
            throw TerminologyException.Required("$translate needs a system and a code for every coding to translate.");
        }

        var maps = SelectConceptMaps(request);
        var matches = new List<TranslateMatch>();
        foreach (var c in codings)
        {
            foreach (var map in maps)
            {
                var visited = new HashSet<ConceptMap>(ReferenceEqualityComparer.Instance) { map };
                if (request.Reverse)
                {
                    TranslateReverse(map, c, request.TargetSystem, matches);
                }
                else
                {
                    TranslateForward(map, c, request.TargetSystem, matches, visited);
                }
            }
        }

        var result = matches.Any(m => m.Equivalence is not (ConceptMapEquivalence.Unmatched or ConceptMapEquivalence.Disjoint));
        var described = string.Join(", ", codings.Select(c => $"{c.System}#{c.Code}"));
        var message = result ? null
            : maps.Count == 0 ? $"No concept map applies to {described}."
            : matches.Count > 0 ? $"The concept maps state that {described} has no match."
            : $"No mapping found for {described}.";
        return new TranslateResult(result, message, matches);
    }

    private List<ConceptMap> SelectConceptMaps(TranslateRequest request)
    {
        if (request.ConceptMap is { } given)
        {
            return [given];
        }

        if (request.ConceptMapUrl is { } url)
        {
            var canonical = request.ConceptMapVersion is { } version ? $"{url}|{version}" : url;
            return [Resolver.FindConceptMap(canonical) ?? throw TerminologyException.NotFound($"Concept map '{canonical}' is not known.")];
        }

        // Reverse swaps the roles of source and target (R4 $translate).
        var (source, target) = request.Reverse ? (request.Target, request.Source) : (request.Source, request.Target);
        return AllConceptMaps.Where(m =>
                (source is null || SameCanonical(ScopeUri(m.Source), source))
                && (target is null || SameCanonical(ScopeUri(m.Target), target)))
            .ToList();
    }

    private static string? ScopeUri(DataType? scope) => scope switch
    {
        Canonical c => c.Value,
        FhirUri u => u.Value,
        _ => null,
    };

    private static bool SameCanonical(string? a, string b) =>
        a is not null && Definitions.DefinitionResolver.SplitCanonical(a).Url == Definitions.DefinitionResolver.SplitCanonical(b).Url;

    private static bool SameSystem(string? groupSystem, string system) =>
        groupSystem is null || Definitions.DefinitionResolver.SplitCanonical(groupSystem).Url == system;

    private void TranslateForward(ConceptMap map, Coding coding, string? targetSystem, List<TranslateMatch> matches, HashSet<ConceptMap> visited)
    {
        var comparer = ResolveCodeSystem(coding.System!, null, null).CodeComparer;
        foreach (var group in map.Group)
        {
            if (!SameSystem(group.Source, coding.System!) || (targetSystem is not null && group.Target != targetSystem))
            {
                continue;
            }

            var found = false;
            foreach (var element in group.Element.Where(e => e.Code is not null && comparer.Equals(e.Code, coding.Code)))
            {
                foreach (var target in element.Target)
                {
                    found = true;
                    matches.Add(new TranslateMatch
                    {
                        Equivalence = target.Equivalence ?? ConceptMapEquivalence.Equivalent,
                        Concept = new Coding(group.Target, target.Code, target.Display) { Version = group.TargetVersion },
                        Products = target.Product.Select(p => new TranslateProduct(p.Property, new Coding(p.System, p.Value, p.Display))).ToList(),
                        Source = map.Url,
                        Comment = target.Comment,
                    });
                }
            }

            if (found || group.Unmapped is not { } unmapped)
            {
                continue;
            }

            switch (unmapped.Mode)
            {
                case ConceptMap.ConceptMapGroupUnmappedMode.Provided:
                    matches.Add(new TranslateMatch
                    {
                        Equivalence = ConceptMapEquivalence.Equal,
                        Concept = new Coding(group.Target ?? coding.System, coding.Code, coding.Display) { Version = group.TargetVersion },
                        Source = map.Url,
                    });
                    break;
                case ConceptMap.ConceptMapGroupUnmappedMode.Fixed when unmapped.Code is not null:
                    matches.Add(new TranslateMatch
                    {
                        Equivalence = ConceptMapEquivalence.Wider,
                        Concept = new Coding(group.Target, unmapped.Code, unmapped.Display) { Version = group.TargetVersion },
                        Source = map.Url,
                    });
                    break;
                case ConceptMap.ConceptMapGroupUnmappedMode.OtherMap when unmapped.Url is not null:
                    if (Resolver.FindConceptMap(unmapped.Url) is { } other && visited.Add(other))
                    {
                        TranslateForward(other, coding, targetSystem, matches, visited);
                    }

                    break;
            }
        }
    }

    private void TranslateReverse(ConceptMap map, Coding coding, string? targetSystem, List<TranslateMatch> matches)
    {
        var comparer = ResolveCodeSystem(coding.System!, null, null).CodeComparer;
        foreach (var group in map.Group)
        {
            if (!SameSystem(group.Target, coding.System!) || (targetSystem is not null && group.Source != targetSystem))
            {
                continue;
            }

            foreach (var element in group.Element)
            {
                foreach (var target in element.Target.Where(t => t.Code is not null && comparer.Equals(t.Code, coding.Code)))
                {
                    matches.Add(new TranslateMatch
                    {
                        Equivalence = Invert(target.Equivalence ?? ConceptMapEquivalence.Equivalent),
                        Concept = new Coding(group.Source, element.Code, element.Display) { Version = group.SourceVersion },
                        Source = map.Url,
                        Comment = target.Comment,
                    });
                }
            }
        }
    }

    private static ConceptMapEquivalence Invert(ConceptMapEquivalence e) => e switch
    {
        ConceptMapEquivalence.Wider => ConceptMapEquivalence.Narrower,
        ConceptMapEquivalence.Narrower => ConceptMapEquivalence.Wider,
        ConceptMapEquivalence.Subsumes => ConceptMapEquivalence.Specializes,
        ConceptMapEquivalence.Specializes => ConceptMapEquivalence.Subsumes,
        _ => e,
    };
}
