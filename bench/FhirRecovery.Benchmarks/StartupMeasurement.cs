using System.Diagnostics;
using System.Text;
using FhirRecovery.Conformance;
using FhirRecovery.Samples;

namespace FhirRecovery.Benchmarks;

/// <summary>
/// Start-up and memory figures of issue 2: a fresh process that loads the core definitions and the IG and validates
/// one resource of each recovery profile; and the managed heap and working set of a process after that load.
/// </summary>
internal static class StartupMeasurement
{
    /// <summary>Runs `memory` in <paramref name="runs"/> fresh processes (default 7) and prints wall times and the median.</summary>
    public static int Run(string[] args)
    {
        var runs = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 7;
        var self = Environment.ProcessPath!;
        var selfArgs = Path.GetFileName(self).StartsWith("dotnet", StringComparison.Ordinal) ? $"\"{typeof(StartupMeasurement).Assembly.Location}\" memory" : "memory";
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(new ProcessStartInfo(self, selfArgs) { RedirectStandardOutput = true, UseShellExecute = false })!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            clock.Stop();
            times.Add(clock.Elapsed.TotalSeconds);
            Console.WriteLine($"run {i + 1}: {clock.Elapsed.TotalSeconds:F2} s  {output.Trim()}");
        }

        times.Sort();
        Console.WriteLine($"median start-up (process start, core + IG loaded, one resource of each profile validated): {times[times.Count / 2]:F2} s");
        return 0;
    }

    /// <summary>Loads the engine, validates one resource of each recovery type, reports memory.</summary>
    public static int MeasureMemory()
    {
        var clock = Stopwatch.StartNew();
        var engine = ConformanceEngine.Create();
        foreach (var line in BenchmarkCorpus.Lines(BenchmarkCorpus.ResourceTypes.Count))
        {
            if (engine.Validator.Validate(Encoding.UTF8.GetBytes(line)).HasErrors)
            {
                Console.WriteLine("corpus resource has errors");
                return 1;
            }
        }

        var loaded = clock.Elapsed.TotalSeconds;
        var heap = GC.GetTotalMemory(forceFullCollection: true) / (1024.0 * 1024);
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var workingSet = process.WorkingSet64 / (1024.0 * 1024);
        Console.WriteLine($"in-process load+first validations {loaded:F2} s; managed heap {heap:F0} MiB; working set {workingSet:F0} MiB");
        return 0;
    }
}
