using Hl7.Fhir.Model;

namespace FhirRecovery.Samples;

/// <summary>
/// The synthetic data set: shared services plus <see cref="SampleRequest.Patients"/> patients, each a sequence of
/// transaction batches. Same request, same resources, byte for byte: ids, dates and choices derive only from the seed,
/// the patient index and the start date (no clock, no <see cref="Guid.NewGuid"/>).
/// </summary>
public static class SampleGenerator
{
    public const int MaxPatients = 100_000;

    public static SampleBatch Shared() => new(SharedResources.BatchName, SharedResources.Create());

    /// <summary>One patient (1-based index); independent of how many others are generated.</summary>
    public static PatientRecord Patient(SampleRequest request, int index)
    {
        Check(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        return PatientStory.Generate(request.Seed, index, request.Start);
    }

    public static IEnumerable<PatientRecord> Patients(SampleRequest request)
    {
        Check(request);
        for (var index = 1; index <= request.Patients; index++)
        {
            yield return PatientStory.Generate(request.Seed, index, request.Start);
        }
    }

    /// <summary>Every batch of the set in load order: the shared services, each patient's batches, then the cohort Groups.</summary>
    public static IEnumerable<SampleBatch> Batches(SampleRequest request)
    {
        Check(request);
        yield return Shared();
        var cohorts = new Cohorts(request.Seed);
        foreach (var patient in Patients(request))
        {
            foreach (var batch in patient.Batches)
            {
                yield return batch;
            }

            cohorts.Add(patient);
        }

        yield return cohorts.Batch();
    }

    /// <summary>
    /// A batch as a FHIR transaction: PUT with the resource's id (idempotent, so loading twice is harmless) and a
    /// name-based urn:uuid fullUrl (reproducible, and what servers expect of a transaction entry).
    /// </summary>
    public static Bundle ToTransaction(SampleBatch batch) => new()
    {
        Type = Bundle.BundleType.Transaction,
        Entry = batch.Resources.Select(resource => new Bundle.EntryComponent
        {
            FullUrl = DeterministicUuid.FullUrl(resource.TypeName, resource.Id!),
            Resource = resource,
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"{resource.TypeName}/{resource.Id}" },
        }).ToList(),
    };

    public static void Check(SampleRequest request)
    {
        if (request.Patients is < 1 or > MaxPatients)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.Patients, $"patients must be 1..{MaxPatients}");
        }

        if (request.Seed < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(request), request.Seed, "the seed must be 0 or more");
        }
    }
}
