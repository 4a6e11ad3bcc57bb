using System.Text;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace FhirRecovery.Samples;

public enum SampleFormat
{
    /// <summary>
    /// One transaction Bundle per batch: 00-shared.json, then patient-NNNN-VV.json (enrolment VV=00, follow-ups after),
    /// then zz-cohorts.json (a Group per clinic listing its patients).
    /// </summary>
    Bundle,

    /// <summary>One NDJSON file per resource type, NN-Type.ndjson, types numbered in reference order; versions in order.</summary>
    Ndjson,
}

/// <summary>Writes a generated set into a folder (samples/data by default).</summary>
public static partial class SampleWriter
{
    /// <summary>
    /// Writes the set. Files an earlier run wrote (the names above) are removed first, so a smaller set does not leave
    /// patients of a larger one behind; other files in the folder are left alone.
    /// </summary>
    public static SampleSummary Write(SampleRequest request, string directory, SampleFormat format, bool pretty = false, Action<int>? patientDone = null)
    {
        SampleGenerator.Check(request);
        Directory.CreateDirectory(directory);
        foreach (var file in Directory.EnumerateFiles(directory).Where(f => GeneratedName().IsMatch(Path.GetFileName(f))).ToList())
        {
            File.Delete(file);
        }

        var summary = new SampleSummary();
        var shared = SampleGenerator.Shared();
        summary.AddShared(shared);
        var cohorts = new Cohorts(request.Seed);
        if (format == SampleFormat.Bundle)
        {
            WriteBundle(directory, shared, pretty, summary);
            foreach (var patient in SampleGenerator.Patients(request))
            {
                foreach (var batch in patient.Batches)
                {
                    WriteBundle(directory, batch, pretty, summary);
                }

                summary.Add(patient);
                cohorts.Add(patient);
                patientDone?.Invoke(patient.Index);
            }

            var groups = cohorts.Batch();
            WriteBundle(directory, groups, pretty, summary);
            summary.AddCohorts(groups);
            return summary;
        }

        using var writer = new NdjsonWriter(directory);
        foreach (var resource in shared.Resources)
        {
            writer.Write(resource);
        }

        foreach (var patient in SampleGenerator.Patients(request))
        {
            foreach (var resource in patient.Versions)
            {
                writer.Write(resource);
            }

            summary.Add(patient);
            cohorts.Add(patient);
            patientDone?.Invoke(patient.Index);
        }

        var cohortBatch = cohorts.Batch();
        foreach (var resource in cohortBatch.Resources)
        {
            writer.Write(resource);
        }

        summary.AddCohorts(cohortBatch);
        writer.Dispose();
        summary.Files = writer.Files;
        summary.Bytes = writer.Bytes;
        return summary;
    }

    /// <summary>The NDJSON file of a type: numbered so that sorting the names gives an order where references resolve.</summary>
    public static string NdjsonFileName(string resourceType) => $"{PatientStory.LoadRank(resourceType) + 1:D2}-{resourceType}.ndjson";

    private static void WriteBundle(string directory, SampleBatch batch, bool pretty, SampleSummary summary)
    {
        var bytes = pretty ? [.. SampleJson.Serialize(SampleGenerator.ToTransaction(batch), pretty: true), (byte)'\n'] : TransactionLines(batch);
        File.WriteAllBytes(Path.Combine(directory, batch.Name + ".json"), bytes);
        summary.Files++;
        summary.Bytes += bytes.Length;
    }

    /// <summary>
    /// The transaction Bundle of a batch with one entry per line: compact like minified JSON (the set stays a few MB),
    /// yet one resource per line to read, grep and diff. The same JSON as <see cref="SampleGenerator.ToTransaction"/>.
    /// </summary>
    public static byte[] TransactionLines(SampleBatch batch)
    {
        using var buffer = new MemoryStream();
        buffer.Write("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["u8);
        var first = true;
        foreach (var resource in batch.Resources)
        {
            buffer.Write(first ? "\n"u8 : ",\n"u8);
            first = false;
            var reference = $"{resource.TypeName}/{resource.Id}";
            buffer.Write(Encoding.UTF8.GetBytes($"{{\"fullUrl\":{Quote(DeterministicUuid.FullUrl(resource.TypeName, resource.Id!))},\"resource\":"));
            buffer.Write(SampleJson.Serialize(resource, pretty: false));
            buffer.Write(Encoding.UTF8.GetBytes($",\"request\":{{\"method\":\"PUT\",\"url\":{Quote(reference)}}}}}"));
        }

        buffer.Write("\n]}\n"u8);
        return buffer.ToArray();
    }

    private static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    [GeneratedRegex(@"^(00-shared\.json|patient-\d{4,}-\d{2}\.json|zz-cohorts\.json|\d{2}-[A-Za-z]+\.ndjson)$")]
    private static partial Regex GeneratedName();

    private sealed class NdjsonWriter(string directory) : IDisposable
    {
        private static readonly byte[] NewLine = "\n"u8.ToArray();
        private readonly Dictionary<string, FileStream> _streams = new(StringComparer.Ordinal);

        public int Files => _streams.Count;

        public long Bytes { get; private set; }

        public void Write(Resource resource)
        {
            if (!_streams.TryGetValue(resource.TypeName, out var stream))
            {
                stream = new FileStream(Path.Combine(directory, NdjsonFileName(resource.TypeName)), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                _streams[resource.TypeName] = stream;
            }

            var line = SampleJson.Serialize(resource, pretty: false);
            stream.Write(line);
            stream.Write(NewLine);
            Bytes += line.Length + 1;
        }

        public void Dispose()
        {
            foreach (var stream in _streams.Values)
            {
                stream.Dispose();
            }
        }
    }
}
