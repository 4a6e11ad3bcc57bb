using FhirRecovery.Samples.Catalogue;
using Hl7.Fhir.Model;

namespace FhirRecovery.Samples;

/// <summary>
/// The organisations, practitioners and practitioner roles every patient of a set refers to. They do not depend on the
/// seed: two sets loaded into one server share them, and ids never clash.
/// </summary>
public static class SharedResources
{
    public const string BatchName = "00-shared";

    public static IReadOnlyList<Resource> Create()
    {
        var resources = new List<Resource>();
        foreach (var organisation in ServiceCatalogue.Organisations)
        {
            resources.Add(new Organization
            {
                Id = organisation.Id,
                Text = FhirBuild.Narrative(organisation.Name, organisation.Description + $" Serves {organisation.Area}."),
                Active = true,
                Type =
                [
                    organisation.IsPeerSupport
                        ? new Code(Ig.Systems.OrganizationType, "cg", "Community Group").ToConcept()
                        : new Code(Ig.Systems.OrganizationType, "prov", "Healthcare Provider").ToConcept(),
                ],
                Name = organisation.Name,
            });
        }

        foreach (var worker in ServiceCatalogue.Workers)
        {
            resources.Add(new Practitioner
            {
                Id = worker.Id,
                Text = FhirBuild.Narrative(null, $"{worker.Name} (fictional), {worker.About}."),
                Active = true,
                Name = [new HumanName { Family = worker.Family, Given = [worker.Given] }],
                Gender = worker.Gender == "female" ? AdministrativeGender.Female : AdministrativeGender.Male,
            });
        }

        foreach (var worker in ServiceCatalogue.Workers)
        {
            var organisation = ServiceCatalogue.Organisation(worker.OrganisationId);
            resources.Add(new PractitionerRole
            {
                Id = worker.RoleId,
                Text = FhirBuild.Narrative(null, $"{worker.Name}, {worker.Role.ToLowerInvariant()} at {organisation.Name}."),
                Active = true,
                Practitioner = FhirBuild.Ref("Practitioner", worker.Id, worker.Name),
                Organization = FhirBuild.Ref("Organization", organisation.Id, organisation.Name),
                Code = [new CodeableConcept { Text = worker.Role }],
            });
        }

        return resources;
    }
}
