using System.Diagnostics;
using System.Text;
using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Questionnaires;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Benchmarks;

/// <summary>
/// Issue 6's figure measured in CPU time (`questionnaires-cpu`): the same four workloads as
/// <see cref="QuestionnaireResponseBenchmark"/>, each the median of several passes (a pass goes over the corpus
/// <see cref="Repetitions"/> times, so it lasts long enough for the CPU clock's resolution), timed by the process's
/// CPU time and by the wall clock. Why: on a shared machine the wall clock also counts the time other processes hold
/// the cores, which says nothing about what one core does; the process's CPU time does (the work runs on one thread,
/// with the workstation, non-concurrent GC, and tiered JIT has settled in the warm-up passes).
/// </summary>
internal static class QuestionnaireCpuMeasurement
{
    private const int Repetitions = 8;

    public static int Run(string[] args)
    {
        var passes = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;
        var engine = ConformanceEngine.Create();
        var responses = QuestionnaireResponseBenchmark.Corpus();
        var serializer = new FhirJsonSerializer();
        var scored = responses.Where(r => QuestionnaireDefinition.For(engine.Questionnaires.Resolver.FindFor(r)!).HasCalculations).ToList();
        var json = responses.Select(r => Encoding.UTF8.GetBytes(serializer.SerializeToString(r))).ToList();
        var scoredJson = scored.Select(r => Encoding.UTF8.GetBytes(serializer.SerializeToString(r))).ToList();
        var definitions = scored.Select(r => QuestionnaireDefinition.For(engine.Questionnaires.Resolver.FindFor(r)!)).ToList();

        Console.WriteLine($"{responses.Count} responses ({scored.Count} scored), median of {passes} passes of {Repetitions} rounds, one thread");
        Console.WriteLine("| workload | CPU µs/response | responses/s (CPU) | wall µs/response |");
        Console.WriteLine("|---|---:|---:|---:|");
        Measure("questionnaire check + scoring (parsed, all)", responses.Count, passes,
            () => responses.Sum(r => engine.Questionnaires.ResponseValidator.Validate(r).Count));
        Measure("scoring only (scored responses)", scored.Count, passes,
            () => scored.Select((r, i) => engine.Questionnaires.Scorer.Score(r, definitions[i]).Answers.Count).Sum());
        Measure("full $validate from JSON (all)", json.Count, passes, () => json.Sum(j => engine.Validator.Validate(j).Issues.Count));
        Measure("full $validate from JSON (scored responses)", scoredJson.Count, passes, () => scoredJson.Sum(j => engine.Validator.Validate(j).Issues.Count));
        return 0;
    }

    private static void Measure(string name, int count, int passes, Func<int> pass)
    {
        var process = Process.GetCurrentProcess();
        for (var i = 0; i < 3; i++)
        {
            pass();
        }

        var cpuTimes = new List<double>();
        var wallTimes = new List<double>();
        for (var i = 0; i < passes; i++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            for (var r = 0; r < Repetitions; r++)
            {
                pass();
            }

            wall.Stop();
            process.Refresh();
            cpuTimes.Add((process.TotalProcessorTime - cpu).TotalMicroseconds / (count * Repetitions));
            wallTimes.Add(wall.Elapsed.TotalMicroseconds / (count * Repetitions));
        }

        var medianCpu = cpuTimes.Order().ElementAt(passes / 2);
        var medianWall = wallTimes.Order().ElementAt(passes / 2);
        Console.WriteLine($"| {name} | {medianCpu:F1} | {1e6 / medianCpu:N0} | {medianWall:F1} |");
    }
}
