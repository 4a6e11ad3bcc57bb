using FhirRecovery.Mapping;
using FhirRecovery.Mapping.Ccda;
using FhirRecovery.Mapping.Hl7v2;
using FhirRecovery.Mapping.Fhir;
using FhirRecovery.Server.Http;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Mapping;

/// <summary>A patient's recovery record, read from the store with what its references need (practitioners, organisations, consents).</summary>
public sealed record PatientRecord(Patient Patient, IReadOnlyList<Resource> Resources)
{
    public Resource? Resolve(ResourceReference? reference)
    {
        if (reference?.Reference is not { } target)
        {
            return null;
        }

        var parts = target.Split('/');
        return parts.Length < 2 ? null : Resources.FirstOrDefault(r => r.TypeName == parts[^2] && r.Id == parts[^1]);
    }
}

/// <summary>
/// <c>Patient/{id}/$export-ehr</c>: the patient's recovery data as US Core resources (a transaction Bundle of conditional
/// updates for the EHR), as a C-CDA Goals document, or as v2 REF^I12 messages (one per peer-support referral).
/// </summary>
public sealed class EhrExportService(IResourceStore store, EhrMappingService mapping, TimeProvider clock)
{
    private static readonly (string Type, string Parameter)[] PatientData =
    [
        ("Goal", "subject"), ("CarePlan", "subject"), ("ServiceRequest", "subject"), ("Task", "patient"),
        ("QuestionnaireResponse", "subject"), ("Consent", "patient"), ("Condition", "subject"),
    ];

    public async Task<PatientRecord> ReadAsync(string patientId, CancellationToken cancellationToken)
    {
        var stored = await store.ReadAsync("Patient", patientId, cancellationToken);
        if (stored is null || stored.IsDeleted)
        {
            throw stored is null ? FhirException.NotFound($"Patient/{patientId} is not known") : FhirException.Gone($"Patient/{patientId} was deleted");
        }

        var patient = (Patient)FhirSerialization.ParseStored(stored.Json!);
        var resources = new List<Resource> { patient };
        foreach (var (type, parameter) in PatientData)
        {
            string? page = null;
            do
            {
                var result = await store.SearchAsync(new SearchRequest
                {
                    ResourceType = type,
                    Parameters = page is null ? [new(parameter, $"Patient/{patientId}"), new("_count", "500")] : [],
                    PageToken = page,
                }, cancellationToken);
                resources.AddRange(result.Matches.Where(m => m.Json is not null).Select(m => FhirSerialization.ParseStored(m.Json!)));
                page = result.NextPage;
            }
            while (page is not null);
        }

        // Who is named: requesters, performers, owners, authors (two hops: a role's practitioner and organisation).
        for (var hop = 0; hop < 2; hop++)
        {
            var known = resources.Select(r => $"{r.TypeName}/{r.Id}").ToHashSet(StringComparer.Ordinal);
            var wanted = resources.SelectMany(ReferenceCollector.ReferencesIn).Where(r => r.Split('/') is [var t, _] && t is "Practitioner" or "PractitionerRole" or "Organization" && !known.Contains(r)).Distinct().ToList();
            foreach (var reference in wanted)
            {
                var parts = reference.Split('/');
                if (await store.ReadAsync(parts[0], parts[1], cancellationToken) is { IsDeleted: false, Json: { } json })
                {
                    resources.Add(FhirSerialization.ParseStored(json));
                }
            }
        }

        return new PatientRecord(patient, resources);
    }

    public ConversionResult ToUsCore(PatientRecord record, string? ehr, string baseUrl) =>
        mapping.UsCore.Export(record.Resources, mapping.Ehr(ehr), baseUrl);

    public string ToCcda(PatientRecord record) =>
        CcdaGoalsExporter.Export(record.Patient, record.Resources.OfType<Goal>().Where(g => g.LifecycleStatus != Goal.GoalLifecycleStatus.EnteredInError).ToList(),
            record.Resolve, clock.GetUtcNow(), BundleAssembly.NameBasedUuid($"ccda|{record.Patient.Id}|{clock.GetUtcNow():O}"));

    public IReadOnlyList<string> ToV2(PatientRecord record, string? ehr)
    {
        var profile = mapping.Ehr(ehr);
        var tasks = record.Resources.OfType<Hl7.Fhir.Model.Task>().ToList();
        return record.Resources.OfType<ServiceRequest>()
            .Where(r => r.Meta?.Profile.Contains(RecoveryCanonicals.PeerSupportReferral) == true)
            .Select(r => ReferralMessageWriter.WriteRef(ReferralGraph.From(r, record.Resolve, tasks), profile, $"FR-{r.Id}", clock.GetUtcNow()))
            .ToList();
    }

}
