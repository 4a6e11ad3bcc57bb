using FhirRecovery.TestKit.Model;

namespace FhirRecovery.TestKit.Suites;

/// <summary>The kit's suites, in run order (capability first: later suites read what it found).</summary>
public static class SuiteCatalog
{
    /// <summary>Fresh suite objects (a suite keeps state for one run only).</summary>
    public static IReadOnlyList<KitSuite> Create() =>
    [
        new CapabilitySuite(),
        new ProfilesSuite(),
        new SearchSuite(),
        new ReferralWorkflowSuite(),
        new QuestionnairesSuite(),
        new SmartSuite(),
        new BulkExportSuite(),
        new MappingSuite(),
    ];

    public static IReadOnlyList<string> Names { get; } = Create().Select(s => s.Name).ToList();

    /// <summary>The suites named (all when none), or an <see cref="ArgumentException"/> naming the unknown ones.</summary>
    public static IReadOnlyList<KitSuite> Select(IReadOnlyList<string> names)
    {
        var unknown = names.Where(n => !Names.Contains(n, StringComparer.OrdinalIgnoreCase)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown suite {string.Join(", ", unknown.Select(u => $"'{u}'"))}; the suites are {string.Join(", ", Names)}");
        }

        return Create().Where(s => names.Count == 0 || names.Contains(s.Name, StringComparer.OrdinalIgnoreCase)).ToList();
    }
}
