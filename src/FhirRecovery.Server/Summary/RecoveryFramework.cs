using FhirRecovery.Conformance;
using FhirRecovery.Server.Workflow;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Summary;

/// <summary>A concept of the recovery framework: a domain, or a theme with its domain.</summary>
public sealed record FrameworkConcept(string Code, string Display, string? DomainCode)
{
    public bool IsDomain => DomainCode is null;

    public Coding ToCoding() => new(WorkflowCanonicals.RecoveryFramework, Code, Display);
}

/// <summary>
/// The recovery-oriented practice framework (Le Boutillier et al. 2011) as the IG's CodeSystem defines it: 4 domains,
/// each with its themes (16 in all). Read from the loaded definitions, so summaries and indicators follow the IG.
/// </summary>
public sealed class RecoveryFramework
{
    public RecoveryFramework(ConformanceEngine engine)
    {
        var codeSystem = engine.Definitions.FindCodeSystem(WorkflowCanonicals.RecoveryFramework)
                         ?? throw new InvalidOperationException($"The IG's CodeSystem {WorkflowCanonicals.RecoveryFramework} is not loaded.");
        var concepts = new List<FrameworkConcept>();
        foreach (var domain in codeSystem.Concept)
        {
            concepts.Add(new FrameworkConcept(domain.Code!, domain.Display ?? domain.Code!, null));
            concepts.AddRange(domain.Concept.Select(theme => new FrameworkConcept(theme.Code!, theme.Display ?? theme.Code!, domain.Code)));
        }

        Concepts = concepts;
        Domains = concepts.Where(c => c.IsDomain).ToList();
        Themes = concepts.Where(c => !c.IsDomain).ToList();
        ByCode = concepts.ToDictionary(c => c.Code, StringComparer.Ordinal);
    }

    public IReadOnlyList<FrameworkConcept> Concepts { get; }

    public IReadOnlyList<FrameworkConcept> Domains { get; }

    public IReadOnlyList<FrameworkConcept> Themes { get; }

    public IReadOnlyDictionary<string, FrameworkConcept> ByCode { get; }

    public IEnumerable<FrameworkConcept> ThemesOf(string domainCode) => Themes.Where(t => t.DomainCode == domainCode);

    /// <summary>The domain a coding belongs to (itself for a domain), or null when it is not a framework code.</summary>
    public FrameworkConcept? DomainOf(Coding coding) =>
        coding.System == WorkflowCanonicals.RecoveryFramework && coding.Code is { } code && ByCode.TryGetValue(code, out var concept)
            ? concept.IsDomain ? concept : ByCode[concept.DomainCode!]
            : null;

    /// <summary>Count buckets: each domain (its own code and its themes' codes), then each theme.</summary>
    public IReadOnlyList<CodeBucket> Buckets() =>
    [
        .. Domains.Select(d => new CodeBucket(d.Code,
            [new CodeBucketCode(WorkflowCanonicals.RecoveryFramework, d.Code), .. ThemesOf(d.Code).Select(t => new CodeBucketCode(WorkflowCanonicals.RecoveryFramework, t.Code))])),
        .. Themes.Select(t => new CodeBucket(t.Code, [new CodeBucketCode(WorkflowCanonicals.RecoveryFramework, t.Code)])),
    ];
}
