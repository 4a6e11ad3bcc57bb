using BenchmarkDotNet.Running;
using FhirRecovery.Mapping.Benchmarks;

// dotnet run -c Release --project bench/FhirRecovery.Mapping.Benchmarks -- --filter '*'   (BenchmarkDotNet, wall clock, pinned to one core)
// dotnet run -c Release --project bench/FhirRecovery.Mapping.Benchmarks -- cpu [seconds]  (throughput per CPU-second of one thread)
return args.FirstOrDefault() == "cpu"
    ? CpuTimeMeasurement.Run(args.Skip(1).ToArray())
    : Run(args);

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(MappingBenchmarks).Assembly).Run(args);
    return 0;
}
