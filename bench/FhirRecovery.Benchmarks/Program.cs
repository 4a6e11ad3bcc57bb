using BenchmarkDotNet.Running;
using FhirRecovery.Benchmarks;

// `startup` and `memory` are measured in fresh processes (BenchmarkDotNet's harness would hide the cost);
// everything else goes to BenchmarkDotNet.
return args.FirstOrDefault() switch
{
    "startup" => StartupMeasurement.Run(args.Skip(1).ToArray()),
    "memory" => StartupMeasurement.MeasureMemory(),
    _ => RunBenchmarks(args),
};

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(ValidationThroughputBenchmark).Assembly).Run(args);
    return 0;
}
