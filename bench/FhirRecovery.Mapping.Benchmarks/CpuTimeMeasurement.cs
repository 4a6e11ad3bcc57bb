using System.Diagnostics;
using FhirRecovery.Conformance;
using FhirRecovery.Mapping;

namespace FhirRecovery.Mapping.Benchmarks;

/// <summary>
/// <c>cpu</c>: throughput per CPU-second of one thread (the thread's own processor time, from the process's, with
/// nothing else running in it). On a machine shared with other work, wall-clock benchmarks measure the neighbours;
/// CPU time still tells what one core does. Runs each conversion for a few seconds after a warm-up.
/// </summary>
public static class CpuTimeMeasurement
{
    public static int Run(string[] args)
    {
        var root = Root();
        var mapping = new EhrMappingService(ConformanceEngine.Create(), new MappingOptions { EhrDirectories = [Path.Combine(root, "samples", "ehr")] });
        var referral = File.ReadAllText(Path.Combine(root, "samples", "ehr", "northwind", "v2", "REF_I12-marisol-delgado.hl7"));
        var ccda = File.ReadAllText(Path.Combine(root, "samples", "ehr", "northwind", "ccda", "goals-marisol-delgado.xml"));
        var seconds = args.Length > 0 && double.TryParse(args[0], out var s) ? s : 5;
        Measure("REF^I12 → FHIR", "messages", () => mapping.Convert(referral, SourceFormat.Hl7v2, "northwind"), seconds, 5_000);
        Measure("C-CDA Goals document → FHIR", "documents", () => mapping.Convert(ccda, SourceFormat.Ccda, "northwind"), seconds, 500);
        return 0;
    }

    private static void Measure(string name, string unit, Action action, double seconds, double target)
    {
        for (var i = 0; i < 500; i++)
        {
            action();
        }

        GC.Collect();
        var process = Process.GetCurrentProcess();
        var cpuStart = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var count = 0;
        while (wall.Elapsed.TotalSeconds < seconds)
        {
            for (var i = 0; i < 100; i++)
            {
                action();
            }

            count += 100;
        }

        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpuStart).TotalSeconds;
        var perCpuSecond = count / cpu;
        Console.WriteLine($"{name}: {count:N0} in {wall.Elapsed.TotalSeconds:0.0} s wall, {cpu:0.00} s CPU → {perCpuSecond:N0} {unit}/CPU-s " +
                          $"({1e6 / perCpuSecond:0.0} µs each; {count / wall.Elapsed.TotalSeconds:N0}/s wall-clock); target ≥ {target:N0}/s: {(perCpuSecond >= target ? "met" : "NOT met")}");
    }

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
