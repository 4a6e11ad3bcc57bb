using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Validation;
using FhirRecovery.Mapping;
using FhirRecovery.Mapping.UsCore;
using Hl7.Fhir.Model;

namespace FhirRecovery.Mapping.Tests;

/// <summary>One conformance engine, mapping service (with the sample EHRs) and US Core engine per test process.</summary>
public static class Shared
{
    private static readonly Lazy<ConformanceEngine> LazyEngine = new(() => ConformanceEngine.Create());
    private static readonly Lazy<EhrMappingService> LazyMapping = new(() => new EhrMappingService(Engine, new MappingOptions
    {
        EhrDirectories = [SamplePath()],
    }));

    private static readonly Lazy<ConformanceEngine> LazyUsCore = new(() => UsCoreDefinitions.CreateEngine(Engine));

    public static ConformanceEngine Engine => LazyEngine.Value;

    public static EhrMappingService Mapper => LazyMapping.Value;

    public static ConformanceEngine UsCoreEngine => LazyUsCore.Value;

    public static string RepoRoot { get; } = FindRoot();

    public static string SamplePath(params string[] parts) => Path.Combine([RepoRoot, "samples", "ehr", .. parts]);

    public static string Sample(params string[] parts) => File.ReadAllText(SamplePath(parts));

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "FhirRecovery.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("FhirRecovery.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Validates against meta.profile (and the base); fails the test listing every error.</summary>
    public static void AssertValid(ConformanceEngine engine, Resource resource, string? because = null)
    {
        var result = engine.Validator.Validate(resource);
        var errors = result.Issues.Where(i => i.IsError).ToList();
        Assert.True(errors.Count == 0,
            $"{because}{resource.TypeName} ({string.Join(", ", resource.Meta?.Profile ?? [])}) has {errors.Count} errors:\n"
            + string.Join("\n", errors.Select(e => $"  {e.Expression}: {e.Message}")));
    }

    /// <summary>Resources of a transaction Bundle with their references made resolvable (fullUrl → Type/id with a fresh id).</summary>
    public static List<Resource> Materialize(Bundle bundle)
    {
        var copy = (Bundle)bundle.DeepCopy();
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        var n = 0;
        foreach (var entry in copy.Entry)
        {
            entry.Resource.Id = $"r{++n}";
            ids[entry.FullUrl] = $"{entry.Resource.TypeName}/{entry.Resource.Id}";
        }

        foreach (var entry in copy.Entry)
        {
            Rewrite(entry.Resource, ids);
        }

        return copy.Entry.Select(e => e.Resource).ToList();
    }

    private static void Rewrite(Base node, Dictionary<string, string> ids)
    {
        foreach (var (_, value) in node.EnumerateElements())
        {
            foreach (var element in value is System.Collections.IEnumerable list and not string ? list.OfType<Base>() : value is Base single ? [single] : [])
            {
                if (element is ResourceReference { Reference: { } r } reference && ids.TryGetValue(r, out var local))
                {
                    reference.Reference = local;
                }

                if (element is not PrimitiveType)
                {
                    Rewrite(element, ids);
                }
            }
        }
    }
}
