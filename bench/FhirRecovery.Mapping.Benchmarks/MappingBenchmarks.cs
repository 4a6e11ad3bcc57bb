using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using FhirRecovery.Conformance;
using FhirRecovery.Mapping;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Mapping.Benchmarks;

/// <summary>
/// Throughput of the EHR mappers on one core (the process is pinned to CPU 0): REF^I12 → FHIR (target ≥ 5,000
/// messages/s) and C-CDA Goals documents → FHIR (target ≥ 500 documents/s), with the realistic samples of samples/ehr.
/// "→ FHIR" is the full conversion into the transaction Bundle of POCOs (parse, map, classify through the EHR's
/// ConceptMaps); the *AndSerialize variants add writing the Bundle as FHIR JSON.
/// </summary>
[Config(typeof(OneCore))]
[MemoryDiagnoser]
public class MappingBenchmarks
{
    private EhrMappingService _mapping = null!;
    private string _ref = "";
    private string _ccda = "";
    private readonly FhirJsonSerializer _json = new();

    private sealed class OneCore : ManualConfig
    {
        public OneCore() => AddJob(Job.Default.WithAffinity(1).WithId("one-core"));
    }

    [GlobalSetup]
    public void Setup()
    {
        var root = Root();
        _mapping = new EhrMappingService(ConformanceEngine.Create(), new MappingOptions { EhrDirectories = [Path.Combine(root, "samples", "ehr")] });
        _ref = File.ReadAllText(Path.Combine(root, "samples", "ehr", "northwind", "v2", "REF_I12-marisol-delgado.hl7"));
        _ccda = File.ReadAllText(Path.Combine(root, "samples", "ehr", "northwind", "ccda", "goals-marisol-delgado.xml"));
        // Warm the ConceptMap translation cache as a running server would have it.
        RefI12ToFhir();
        CcdaGoalsToFhir();
    }

    [Benchmark(Description = "REF^I12 → FHIR (one message)")]
    public int RefI12ToFhir() => _mapping.Convert(_ref, SourceFormat.Hl7v2, "northwind").Bundle.Entry.Count;

    [Benchmark(Description = "REF^I12 → FHIR JSON")]
    public int RefI12ToFhirAndSerialize() => _json.SerializeToString(_mapping.Convert(_ref, SourceFormat.Hl7v2, "northwind").Bundle).Length;

    [Benchmark(Description = "C-CDA Goals document → FHIR (one document, 3 goals)")]
    public int CcdaGoalsToFhir() => _mapping.Convert(_ccda, SourceFormat.Ccda, "northwind").Bundle.Entry.Count;

    [Benchmark(Description = "C-CDA Goals document → FHIR JSON")]
    public int CcdaGoalsToFhirAndSerialize() => _json.SerializeToString(_mapping.Convert(_ccda, SourceFormat.Ccda, "northwind").Bundle).Length;

    private static string Root()
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
}
