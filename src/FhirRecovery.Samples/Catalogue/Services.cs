namespace FhirRecovery.Samples.Catalogue;

/// <summary>An organisation of the sample set: a clinic (community mental-health team) or a peer-support organisation.</summary>
internal sealed record ServiceOrganisation(string Id, string Name, bool IsPeerSupport, string Description, string Area);

/// <summary>A practitioner and their one role at one organisation.</summary>
internal sealed record ServiceWorker(string Id, string Given, string Family, string Gender, string OrganisationId, string Role, string About)
{
    public string Name => $"{Given} {Family}";

    public string RoleId => $"{Id}-{(Role == ServiceCatalogue.PeerWorkerRole ? "peer-worker" : Role == ServiceCatalogue.CareCoordinatorRole ? "care-coordinator" : "psychiatrist")}";
}

/// <summary>
/// The fixed services every generated set shares (whatever the seed): three clinics, three peer-support organisations and
/// their staff. Ids start with "sample-" so they never collide with the IG's examples.
/// </summary>
internal static class ServiceCatalogue
{
    public const string CareCoordinatorRole = "Care coordinator";
    public const string PsychiatristRole = "Psychiatrist";
    public const string PeerWorkerRole = "Peer support worker";

    public static IReadOnlyList<ServiceOrganisation> Organisations { get; } =
    [
        new("sample-eastgate-cmht", "Eastgate Community Mental Health Team", false,
            "A fictional community mental-health team serving the eastern districts.", "eastern districts"),
        new("sample-lakeside-recovery-clinic", "Lakeside Recovery Clinic", false,
            "A fictional outpatient clinic offering recovery-oriented care and a recovery college.", "lakeside and the old town"),
        new("sample-millbrook-mhs", "Millbrook Mental Health Service", false,
            "A fictional mental-health service for the northern suburbs, with an early-intervention team.", "northern suburbs"),
        new("sample-lighthouse-peer-support", "Lighthouse Peer Support Network", true,
            "A fictional peer-support organisation whose workers have their own lived experience of mental-health difficulties.", "the whole city"),
        new("sample-common-ground-collective", "Common Ground Peer Collective", true,
            "A fictional user-led collective running peer groups, a drop-in and online peer support.", "eastern districts and online"),
        new("sample-open-door-peer-service", "Open Door Peer Recovery Service", true,
            "A fictional peer recovery service attached to a community centre.", "northern suburbs"),
    ];

    public static IReadOnlyList<ServiceWorker> Workers { get; } =
    [
        new("sample-ruth-okonkwo", "Ruth", "Okonkwo", "female", "sample-eastgate-cmht", CareCoordinatorRole, "mental-health nurse"),
        new("sample-jonas-eklund", "Jonas", "Eklund", "male", "sample-eastgate-cmht", CareCoordinatorRole, "social worker"),
        new("sample-mei-lin-chow", "Mei-Lin", "Chow", "female", "sample-eastgate-cmht", PsychiatristRole, "consultant psychiatrist"),
        new("sample-tariq-aziz", "Tariq", "Aziz", "male", "sample-lakeside-recovery-clinic", CareCoordinatorRole, "occupational therapist"),
        new("sample-liv-haugland", "Liv", "Haugland", "female", "sample-lakeside-recovery-clinic", CareCoordinatorRole, "mental-health nurse"),
        new("sample-pekka-salonen", "Pekka", "Salonen", "male", "sample-lakeside-recovery-clinic", PsychiatristRole, "psychiatrist"),
        new("sample-grace-mensah", "Grace", "Mensah", "female", "sample-millbrook-mhs", CareCoordinatorRole, "clinical psychologist"),
        new("sample-daan-visser", "Daan", "Visser", "male", "sample-millbrook-mhs", CareCoordinatorRole, "mental-health nurse"),
        new("sample-marta-sousa", "Marta", "Sousa", "female", "sample-lighthouse-peer-support", PeerWorkerRole, "peer worker with experience of depression and recovery"),
        new("sample-olly-kerr", "Olly", "Kerr", "male", "sample-lighthouse-peer-support", PeerWorkerRole, "peer worker who runs an evening group"),
        new("sample-ayla-demir", "Ayla", "Demir", "female", "sample-common-ground-collective", PeerWorkerRole, "peer worker with experience of psychosis"),
        new("sample-niko-laine", "Niko", "Laine", "male", "sample-common-ground-collective", PeerWorkerRole, "peer worker who leads the online group"),
        new("sample-bea-fontaine", "Bea", "Fontaine", "female", "sample-open-door-peer-service", PeerWorkerRole, "peer worker with experience of anxiety and trauma"),
        new("sample-kwame-asante", "Kwame", "Asante", "male", "sample-open-door-peer-service", PeerWorkerRole, "peer worker with experience of addiction recovery"),
    ];

    public static IReadOnlyList<ServiceOrganisation> Clinics { get; } = Organisations.Where(o => !o.IsPeerSupport).ToList();

    public static IReadOnlyList<ServiceOrganisation> PeerOrganisations { get; } = Organisations.Where(o => o.IsPeerSupport).ToList();

    public static IReadOnlyList<ServiceWorker> CareCoordinatorsOf(string clinicId) =>
        Workers.Where(w => w.OrganisationId == clinicId && w.Role == CareCoordinatorRole).ToList();

    public static IReadOnlyList<ServiceWorker> PeerWorkersOf(string organisationId) =>
        Workers.Where(w => w.OrganisationId == organisationId && w.Role == PeerWorkerRole).ToList();

    public static ServiceOrganisation Organisation(string id) => Organisations.Single(o => o.Id == id);
}
