using BenchmarkDotNet.Running;
using FhirRecovery.Benchmarks;

// `startup` and `memory` are measured in fresh processes (BenchmarkDotNet's harness would hide the cost),
// `questionnaires-cpu` in CPU time; everything else goes to BenchmarkDotNet.
return args.FirstOrDefault() switch
{
    "startup" => StartupMeasurement.Run(args.Skip(1).ToArray()),
    "memory" => StartupMeasurement.MeasureMemory(),
    "questionnaires-cpu" => QuestionnaireCpuMeasurement.Run(args.Skip(1).ToArray()),
    "orientation" => OrientationMeasurement.Run(args.Skip(1).ToArray()),
    "export" => ExportMeasurement.Run(args.Skip(1).ToArray()),
    _ => RunBenchmarks(args),
};

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(ValidationThroughputBenchmark).Assembly).Run(args);
    return 0;
}
