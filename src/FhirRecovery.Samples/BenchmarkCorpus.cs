using Hl7.Fhir.Model;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Samples;

/// <summary>
/// Input for the validator benchmark: the four core recovery resource types (Goal, ServiceRequest, Task,
/// QuestionnaireResponse) in equal shares, as minified NDJSON lines, like a bulk export from a record system. The
/// resources are the current versions of generated patients (narrative, extensions and history notes included), so
/// their sizes are realistic; every one is valid against its profile.
/// </summary>
public static class BenchmarkCorpus
{
    public static IReadOnlyList<string> ResourceTypes { get; } = ["Goal", "ServiceRequest", "Task", "QuestionnaireResponse"];

    /// <summary>
    /// <paramref name="count"/> lines, cycling Goal, ServiceRequest, Task, QuestionnaireResponse. Patients are generated
    /// as needed, lazily, so a large corpus streams in constant memory. Same arguments, same lines.
    /// </summary>
    public static IEnumerable<string> Lines(int count, int seed = SampleRequest.DefaultSeed, DateOnly? start = null) =>
        Resources(count, seed, start).Select(r => SampleJson.SerializeToString(r));

    public static IEnumerable<Resource> Resources(int count, int seed = SampleRequest.DefaultSeed, DateOnly? start = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var request = new SampleRequest { Patients = 1, Seed = seed, Start = start ?? SampleRequest.DefaultStart };
        SampleGenerator.Check(request);
        var queues = ResourceTypes.ToDictionary(t => t, _ => new Queue<Resource>(), StringComparer.Ordinal);
        var nextPatient = 1;
        for (var produced = 0; produced < count; produced++)
        {
            var queue = queues[ResourceTypes[produced % ResourceTypes.Count]];
            while (queue.Count == 0)
            {
                foreach (var resource in SampleGenerator.Patient(request, nextPatient++).Latest())
                {
                    if (resource is Goal or ServiceRequest or FhirTask or QuestionnaireResponse)
                    {
                        queues[resource.TypeName].Enqueue(resource);
                    }
                }
            }

            yield return queue.Dequeue();
        }
    }

    /// <summary>Writes <paramref name="count"/> lines to a file (UTF-8, "\n" after each line).</summary>
    public static void Write(string path, int count, int seed = SampleRequest.DefaultSeed, DateOnly? start = null)
    {
        using var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        foreach (var line in Lines(count, seed, start))
        {
            writer.WriteLine(line);
        }
    }
}
