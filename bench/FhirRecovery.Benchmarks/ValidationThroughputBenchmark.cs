using System.Text;
using BenchmarkDotNet.Attributes;
using FhirRecovery.Conformance;
using FhirRecovery.Samples;

namespace FhirRecovery.Benchmarks;

/// <summary>
/// Issue 2's throughput figure: validating a 20,000-line NDJSON corpus of generated recovery goals, referrals, tasks
/// and questionnaire responses, parsing included, on one thread. One operation is one resource; BenchmarkDotNet's mean
/// is the time per resource (resources/s = 1 / mean).
/// </summary>
[MemoryDiagnoser]
public class ValidationThroughputBenchmark
{
    public const int CorpusSize = 20_000;

    private ConformanceEngine _engine = null!;
    private byte[][] _lines = null!;

    [GlobalSetup]
    public void Setup()
    {
        _engine = ConformanceEngine.Create();
        _lines = BenchmarkCorpus.Lines(CorpusSize).Select(Encoding.UTF8.GetBytes).ToArray();

        // The corpus is valid by construction: a benchmark of a validator that finds errors would measure error paths.
        var errors = _lines.Count(l => _engine.Validator.Validate(l).HasErrors);
        if (errors > 0)
        {
            throw new InvalidOperationException($"{errors} corpus resources have errors");
        }
    }

    [Benchmark(OperationsPerInvoke = CorpusSize)]
    public int ValidateNdjsonCorpus()
    {
        var issues = 0;
        foreach (var line in _lines)
        {
            issues += _engine.Validator.Validate(line).Issues.Count;
        }

        return issues;
    }
}
