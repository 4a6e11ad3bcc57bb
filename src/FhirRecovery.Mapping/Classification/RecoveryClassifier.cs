using System.Collections.Concurrent;
using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.Model;

namespace FhirRecovery.Mapping.Classification;

/// <summary>A category suggested by a text rule, with what explains it.</summary>
public sealed record TextSuggestion(Coding Coding, string RuleId, string Matched);

/// <summary>What the classifier found for one resource.</summary>
public sealed record ClassificationResult(IReadOnlyList<Coding> Mapped, IReadOnlyList<string> MapsUsed, IReadOnlyList<TextSuggestion> Suggested)
{
    public static readonly ClassificationResult Empty = new([], [], []);

    /// <summary>The note that explains the suggestions to a reader (null when there are none).</summary>
    public string? SuggestionNote => Suggested.Count == 0
        ? null
        : "Recovery categories suggested by the rule-based text classifier, not coded by the source: "
          + string.Join("; ", Suggested.Select(s => $"{s.Coding.Display} (rule {s.RuleId}, matched '{s.Matched}')")) + ".";
}

/// <summary>
/// Classifies EHR data into the recovery framework. Source codes (SNOMED CT, LOINC, an EHR's local codes) are translated
/// with the EHR's ConceptMaps through the conformance engine's <c>$translate</c>; a recovery-framework theme brings its
/// domain, and a CHIME process the IG's theme-to-CHIME map implies. Only where no code maps, and only when allowed,
/// the text rules suggest a category, returned separately so the caller marks it.
/// </summary>
public sealed class RecoveryClassifier(TerminologyService terminology, DefinitionResolver definitions)
{
    /// <summary>Equivalences that let a target stand for the source: the target means the same or includes it.</summary>
    private static readonly HashSet<ConceptMapEquivalence> Accepted =
    [
        ConceptMapEquivalence.Equivalent, ConceptMapEquivalence.Equal, ConceptMapEquivalence.Wider, ConceptMapEquivalence.Subsumes,
    ];

    private readonly ConcurrentDictionary<(ConceptMap Map, string System, string Code, string Target), Coding[]> _cache = new();
    private readonly Lazy<IReadOnlyDictionary<string, string>> _frameworkParents = new(() => LoadParents(definitions, RecoveryCanonicals.RecoveryFramework));
    private readonly Lazy<ConceptMap?> _themeToChime = new(() => definitions.FindConceptMap(RecoveryCanonicals.RecoveryFrameworkToChime));

    /// <summary>The targets in <paramref name="targetSystem"/> that the EHR's maps give for a source coding (cached; copies).</summary>
    public IEnumerable<(Coding Coding, string MapUrl)> Translate(EhrProfile ehr, Coding source, string targetSystem)
    {
        if (string.IsNullOrEmpty(source.System) || string.IsNullOrEmpty(source.Code))
        {
            yield break;
        }

        foreach (var map in ehr.ConceptMaps)
        {
            var found = _cache.GetOrAdd((map, source.System, source.Code, targetSystem), key => TranslateNow(key.Map, key.System, key.Code, key.Target));
            foreach (var coding in found)
            {
                yield return ((Coding)coding.DeepCopy(), map.Url ?? map.Id ?? "ConceptMap");
            }
        }
    }

    private Coding[] TranslateNow(ConceptMap map, string system, string code, string targetSystem)
    {
        if (!map.Group.Any(g => g.Source == system && g.Target == targetSystem))
        {
            return [];
        }

        var result = terminology.Translate(new TranslateRequest { ConceptMap = map, System = system, Code = code, TargetSystem = targetSystem });
        return result.Matches.Where(m => Accepted.Contains(m.Equivalence) && m.Concept?.Code is not null)
            .Select(m => new Coding(m.Concept!.System, m.Concept.Code, m.Concept.Display))
            .ToArray();
    }

    /// <summary>Recovery-framework, CHIME and life-domain categories for a goal, from its codes, else (if allowed) its text.</summary>
    public ClassificationResult ClassifyGoal(EhrProfile ehr, IReadOnlyCollection<Coding> sourceCodes, string? text, bool useText)
    {
        var mapped = new List<Coding>();
        var maps = new List<string>();
        foreach (var target in new[] { RecoveryCanonicals.RecoveryFramework, RecoveryCanonicals.ChimeProcess, RecoveryCanonicals.LifeDomain })
        {
            foreach (var source in sourceCodes.Where(c => c.System != target))
            {
                foreach (var (coding, map) in Translate(ehr, source, target))
                {
                    Add(mapped, coding);
                    if (!maps.Contains(map))
                    {
                        maps.Add(map);
                    }
                }
            }
        }

        // A theme implies its domain (rg-5) and the CHIME processes the IG's map says include it.
        foreach (var theme in mapped.Where(c => c.System == RecoveryCanonicals.RecoveryFramework).ToList())
        {
            if (theme.Code is not null && _frameworkParents.Value.TryGetValue(theme.Code, out var domain))
            {
                Add(mapped, new Coding(RecoveryCanonicals.RecoveryFramework, domain, Display(RecoveryCanonicals.RecoveryFramework, domain)));
            }

            if (_themeToChime.Value is { } chimeMap && theme.Code is not null)
            {
                foreach (var coding in TranslateNowCached(chimeMap, theme.Code))
                {
                    Add(mapped, coding);
                    if (!maps.Contains(RecoveryCanonicals.RecoveryFrameworkToChime))
                    {
                        maps.Add(RecoveryCanonicals.RecoveryFrameworkToChime);
                    }
                }
            }
        }

        var suggested = new List<TextSuggestion>();
        if (useText && !string.IsNullOrWhiteSpace(text))
        {
            if (!mapped.Any(c => c.System == RecoveryCanonicals.LifeDomain))
            {
                suggested.AddRange(Suggest(TextClassificationRules.LifeDomain, text, 2));
            }

            if (!mapped.Any(c => c.System == RecoveryCanonicals.ChimeProcess))
            {
                suggested.AddRange(Suggest(TextClassificationRules.Chime, text, 1));
            }
        }

        return new ClassificationResult(mapped, maps, suggested);
    }

    /// <summary>Referral reasons (referral-reason codes) for the source's reason codes, else (if allowed) from the text.</summary>
    public ClassificationResult ClassifyReason(EhrProfile ehr, IReadOnlyCollection<Coding> sourceCodes, string? text, bool useText)
    {
        var mapped = new List<Coding>();
        var maps = new List<string>();
        foreach (var source in sourceCodes)
        {
            if (source.System == RecoveryCanonicals.ReferralReason)
            {
                Add(mapped, new Coding(source.System, source.Code, source.Display));
                continue;
            }

            foreach (var (coding, map) in Translate(ehr, source, RecoveryCanonicals.ReferralReason))
            {
                Add(mapped, coding);
                if (!maps.Contains(map))
                {
                    maps.Add(map);
                }
            }
        }

        var suggested = mapped.Count == 0 && useText && !string.IsNullOrWhiteSpace(text)
            ? Suggest(TextClassificationRules.ReferralReason, text, 2).ToList()
            : [];
        return new ClassificationResult(mapped, maps, suggested);
    }

    private Coding[] TranslateNowCached(ConceptMap map, string code) =>
        _cache.GetOrAdd((map, RecoveryCanonicals.RecoveryFramework, code, RecoveryCanonicals.ChimeProcess),
            key => TranslateNow(key.Map, key.System, key.Code, key.Target)).Select(c => (Coding)c.DeepCopy()).ToArray();

    private static IEnumerable<TextSuggestion> Suggest(IReadOnlyList<TextRule> rules, string text, int max)
    {
        var count = 0;
        foreach (var rule in rules)
        {
            System.Text.RegularExpressions.Match match;
            try
            {
                match = rule.Pattern.Match(text);
            }
            catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
            {
                continue;
            }

            if (!match.Success)
            {
                continue;
            }

            yield return new TextSuggestion(new Coding(rule.System, rule.Code, rule.Display) { UserSelected = false }, rule.Id, match.Value);
            if (++count == max)
            {
                yield break;
            }
        }
    }

    private static void Add(List<Coding> codings, Coding coding)
    {
        if (!codings.Any(c => c.System == coding.System && c.Code == coding.Code))
        {
            codings.Add(coding);
        }
    }

    private string? Display(string system, string code) => definitions.FindCodeSystem(system)?.Concept is { } concepts ? Find(concepts, code)?.Display : null;

    private static CodeSystem.ConceptDefinitionComponent? Find(IEnumerable<CodeSystem.ConceptDefinitionComponent> concepts, string code)
    {
        foreach (var concept in concepts)
        {
            if (concept.Code == code)
            {
                return concept;
            }

            if (Find(concept.Concept, code) is { } inner)
            {
                return inner;
            }
        }

        return null;
    }

    private static IReadOnlyDictionary<string, string> LoadParents(DefinitionResolver definitions, string system)
    {
        var parents = new Dictionary<string, string>(StringComparer.Ordinal);
        if (definitions.FindCodeSystem(system) is not { } codeSystem)
        {
            return parents;
        }

        foreach (var top in codeSystem.Concept)
        {
            foreach (var child in top.Concept.Where(c => c.Code is not null && top.Code is not null))
            {
                parents[child.Code!] = top.Code!;
            }
        }

        return parents;
    }
}
