using Hl7.Fhir.Model;

namespace FhirRecovery.Samples;

/// <summary>
/// Resources that belong in one transaction: nothing in it changes the same resource twice (FHIR forbids that in a
/// transaction), so a resource's later versions go into later batches.
/// </summary>
/// <param name="Name">File name without extension; batches sort by it in load order.</param>
public sealed record SampleBatch(string Name, IReadOnlyList<Resource> Resources);

/// <summary>
/// One synthetic patient as successive batches: the first is the enrolment (Patient, consent, goals, care plan,
/// referrals as first recorded); each later batch is a follow-up visit with new versions of what changed since.
/// </summary>
public sealed record PatientRecord(int Index, string PatientId, IReadOnlyList<SampleBatch> Batches)
{
    /// <summary>Every resource version in load order.</summary>
    public IEnumerable<Resource> Versions => Batches.SelectMany(b => b.Resources);

    /// <summary>The last version of each resource (the state after loading everything).</summary>
    public IReadOnlyList<Resource> Latest()
    {
        var latest = new Dictionary<string, Resource>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var resource in Versions)
        {
            var key = $"{resource.TypeName}/{resource.Id}";
            if (!latest.ContainsKey(key))
            {
                order.Add(key);
            }

            latest[key] = resource;
        }

        return order.Select(k => latest[k]).ToList();
    }
}

/// <summary>What to generate.</summary>
public sealed record SampleRequest
{
    public const int DefaultSeed = 42;

    /// <summary>The default first enrolment date: fixed, so the output never depends on when it is generated.</summary>
    public static readonly DateOnly DefaultStart = new(2025, 1, 6);

    public int Patients { get; init; } = 10;

    public int Seed { get; init; } = DefaultSeed;

    /// <summary>Patients enrol over the 150 days from this date; their follow-ups run up to about a year after.</summary>
    public DateOnly Start { get; init; } = DefaultStart;
}
