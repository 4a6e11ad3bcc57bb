using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Tests.Infrastructure;

/// <summary>
/// A small recovery data set: two patients with goals, observations, referrals, tasks and questionnaire responses, and
/// a third patient with almost nothing (for :missing and compartment leaks).
/// </summary>
public abstract class SearchTestBase(IStoreProvider provider) : StoreTestBase(provider)
{
    public const string Nin = "urn:oid:2.16.578.1.12.4.1.4.1";
    public const string V2IdentifierType = "http://terminology.hl7.org/CodeSystem/v2-0203";
    public const string GoalSettingUrl = "https://fhirrecovery.org/fhir/Questionnaire/goal-setting";
    public const string CheckInUrl = "https://fhirrecovery.org/fhir/Questionnaire/check-in";
    public const string RecoveryGoalProfile = "https://fhirrecovery.org/fhir/StructureDefinition/recovery-goal";

    /// <summary>The store's clock: 2026-03-10 12:00Z when the data is written.</summary>
    protected ManualTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 3, 10, 12, 0, 0, TimeSpan.Zero));

    protected override TimeProvider Time => Clock;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await CreateAllAsync(Seed().ToArray());
    }

    private static IEnumerable<Resource> Seed()
    {
        yield return new Organization { Id = "o1", Name = "Riverside CMHT" };
        yield return new Organization { Id = "o2", Name = "Northside Peer Collective" };
        yield return new Practitioner
        {
            Id = "pr1",
            Name = [new HumanName { Family = "Dahl", Given = ["Helle"] }],
        };

        var p1 = TestData.Patient("p1", "Berg", "Ingrid", "1980-05-12", active: true);
        p1.Gender = AdministrativeGender.Female;
        p1.Identifier = [new Identifier(Nin, "12345678901") { Type = new CodeableConcept(V2IdentifierType, "NI", "National unique individual identifier") }];
        p1.Address = [new Address { City = "Tromsø", Line = ["Storgata 1"] }];
        p1.Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Phone, null, "+47 900 00 001")];
        p1.GeneralPractitioner = [new ResourceReference("Practitioner/pr1")];
        p1.ManagingOrganization = new ResourceReference("Organization/o1");
        yield return p1;

        var p2 = TestData.Patient("p2", "Ødegård", "Tom", "1975", active: false);
        p2.Gender = AdministrativeGender.Male;
        p2.Identifier = [new Identifier(Nin, "98765432109") { Type = new CodeableConcept(V2IdentifierType, "SS") }];
        p2.Address = [new Address { City = "Bergen" }];
        p2.ManagingOrganization = new ResourceReference("Organization/o2");
        yield return p2;

        var p3 = TestData.Patient("p3", "Zola", "Émile");
        p3.ManagingOrganization = new ResourceReference("Organization/o1");
        yield return p3;

        var g1 = TestData.Goal("g1", "p1", Goal.GoalLifecycleStatus.Active, "Return to part-time work",
            (TestData.RecoveryFramework, "meaningful-occupation"), (TestData.LifeDomain, "work"));
        g1.Start = new Date("2026-01-15");
        g1.Target = [new Goal.TargetComponent { Due = new Date("2026-06-30") }];
        g1.ExpressedBy = new ResourceReference("Patient/p1");
        g1.Extension = [AttainmentLevel(3)];
        g1.Meta = new Meta
        {
            Tag = [new Coding("urn:test", "alpha")],
            Security = [new Coding("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R")],
            Profile = [RecoveryGoalProfile],
            Source = "urn:source:app1",
        };
        yield return g1;

        var g2 = TestData.Goal("g2", "p1", Goal.GoalLifecycleStatus.Completed, "Join a choir", (TestData.LifeDomain, "relationships-social-network"));
        g2.Start = new Date("2025-09-01");
        g2.Extension = [AttainmentLevel(5)];
        g2.Meta = new Meta { Tag = [new Coding("urn:test", "beta")] };
        yield return g2;

        var g3 = TestData.Goal("g3", "p2", Goal.GoalLifecycleStatus.Active, "Reconnect with family",
            (TestData.RecoveryFramework, "social-inclusion"), (TestData.LifeDomain, "family-and-caring"));
        g3.Start = new Date("2026-02-01");
        g3.ExpressedBy = new ResourceReference("Practitioner/pr1");
        yield return g3;

        yield return TestData.Goal("g4", "p2", Goal.GoalLifecycleStatus.Proposed, "Find a flat, with a garden", (TestData.LifeDomain, "housing"));

        yield return TestData.Observation("ow1", "p1", "29463-7", 72.5m, "kg", "2026-01-10T08:30:00Z");
        yield return TestData.Observation("ow2", "p2", "29463-7", 90m, "kg", "2026-02-10");
        yield return TestData.Observation("oh1", "p1", "8302-2", 170m, "cm", "2026-01-10T08:35:00Z");
        var bp = TestData.Observation("obp", "p1", "85354-9", effective: "2026-03-01T10:00:00+01:00");
        bp.Component =
        [
            new Observation.ComponentComponent { Code = new CodeableConcept(TestData.Loinc, "8480-6"), Value = new Quantity(120, "mm[Hg]", TestData.Ucum) },
            new Observation.ComponentComponent { Code = new CodeableConcept(TestData.Loinc, "8462-4"), Value = new Quantity(80, "mm[Hg]", TestData.Ucum) },
        ];
        yield return bp;

        yield return TestData.Referral("sr1", "p1", RequestStatus.Active, "g1");
        yield return TestData.Referral("sr2", "p2", RequestStatus.Completed, "g3");

        yield return new Hl7.Fhir.Model.Task
        {
            Id = "t1", Status = Hl7.Fhir.Model.Task.TaskStatus.Requested, Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            Focus = new ResourceReference("ServiceRequest/sr1"), For = new ResourceReference("Patient/p1"),
        };
        yield return new Hl7.Fhir.Model.Task
        {
            Id = "t2", Status = Hl7.Fhir.Model.Task.TaskStatus.Completed, Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            Focus = new ResourceReference("ServiceRequest/sr2"), For = new ResourceReference("Patient/p2"),
        };

        yield return new Questionnaire { Id = "q1", Url = GoalSettingUrl, Version = "1.0", Name = "GoalSetting", Status = PublicationStatus.Active };
        yield return new Questionnaire { Id = "q2", Url = CheckInUrl, Name = "CheckIn", Status = PublicationStatus.Draft };

        yield return Response("qr1", "p1", GoalSettingUrl + "|1.0", "2026-03-01T09:00:00Z", "g1");
        yield return Response("qr2", "p2", CheckInUrl, "2026-03-05", "g3");
    }

    private static Extension AttainmentLevel(int level) => new()
    {
        Url = "https://fhirrecovery.org/fhir/StructureDefinition/goal-attainment-level",
        Extension = [new Extension("level", new Integer(level))],
    };

    private static QuestionnaireResponse Response(string id, string patient, string questionnaire, string authored, string goal) => new()
    {
        Id = id,
        Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
        Questionnaire = questionnaire,
        Subject = new ResourceReference($"Patient/{patient}"),
        Authored = authored,
        Extension = [new Extension("http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal", new ResourceReference($"Goal/{goal}"))],
    };
}
