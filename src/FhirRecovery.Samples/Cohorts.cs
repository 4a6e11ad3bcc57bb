using FhirRecovery.Samples.Catalogue;
using Hl7.Fhir.Model;

namespace FhirRecovery.Samples;

/// <summary>
/// The cohort Groups of a set: one per clinic with at least one patient, listing (in index order) the patients whose
/// <c>managingOrganization</c> is that clinic, so <c>Group/[id]/$export</c> exports a clinic's caseload. Built as the
/// patients stream by: it keeps only each patient's id and name, never the patients themselves.
/// </summary>
public sealed class Cohorts(int seed)
{
    /// <summary>Sorts after every patient file, so the Groups are loaded once their members are.</summary>
    public const string BatchName = "zz-cohorts";

    private readonly Dictionary<string, List<(string Id, string? Name)>> _members = new(StringComparer.Ordinal);

    public static string GroupId(int seed, string organisationId) => $"s{seed}-cohort-{organisationId}";

    /// <summary>Adds a patient (in index order) to the cohort of their managing organisation.</summary>
    public void Add(PatientRecord patient)
    {
        var resource = patient.Versions.OfType<Patient>().Last();
        var organisation = resource.ManagingOrganization?.Reference
                           ?? throw new InvalidOperationException($"Patient/{resource.Id} has no managingOrganization");
        var clinicId = organisation["Organization/".Length..];
        if (!_members.TryGetValue(clinicId, out var members))
        {
            _members[clinicId] = members = [];
        }

        var name = resource.Name.FirstOrDefault();
        members.Add((resource.Id!, name is null ? null : $"{string.Join(' ', name.Given)} {name.Family}"));
    }

    /// <summary>The Groups, in the catalogue's order of clinics.</summary>
    public SampleBatch Batch() => new(BatchName, ServiceCatalogue.Clinics
        .Where(clinic => _members.ContainsKey(clinic.Id))
        .Select(clinic => (Resource)CreateGroup(clinic, _members[clinic.Id]))
        .ToList());

    private Group CreateGroup(ServiceOrganisation clinic, List<(string Id, string? Name)> members) => new()
    {
        Id = GroupId(seed, clinic.Id),
        Text = FhirBuild.Narrative($"{clinic.Name} caseload",
            $"The {members.Count} {(members.Count == 1 ? "person" : "people")} of this fictional sample set (seed {seed}) "
            + $"who receive care from {clinic.Name}: the patients whose managing organisation it is."),
        Type = Group.GroupType.Person,
        Actual = true,
        Name = $"{clinic.Name} caseload",
        ManagingEntity = FhirBuild.Ref("Organization", clinic.Id, clinic.Name),
        Quantity = members.Count,
        Member = members.Select(m => new Group.MemberComponent { Entity = FhirBuild.Ref("Patient", m.Id, m.Name) }).ToList(),
    };
}
