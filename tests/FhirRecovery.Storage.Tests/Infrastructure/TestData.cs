using Hl7.Fhir.Model;

namespace FhirRecovery.Storage.Tests.Infrastructure;

/// <summary>Small builders of the resources the recovery service stores.</summary>
public static class TestData
{
    public const string RecoveryFramework = "https://fhirrecovery.org/fhir/CodeSystem/recovery-framework";
    public const string LifeDomain = "https://fhirrecovery.org/fhir/CodeSystem/life-domain";
    public const string Loinc = "http://loinc.org";
    public const string Ucum = "http://unitsofmeasure.org";

    public static Patient Patient(string id, string family, string given, string? birthDate = null, bool? active = null) => new()
    {
        Id = id,
        Name = [new HumanName { Family = family, Given = [given] }],
        BirthDate = birthDate,
        Active = active,
    };

    public static Goal Goal(string id, string patientId, Goal.GoalLifecycleStatus status = Hl7.Fhir.Model.Goal.GoalLifecycleStatus.Active,
        string description = "Get back to work", params (string System, string Code)[] categories) => new()
    {
        Id = id,
        LifecycleStatus = status,
        Description = new CodeableConcept { Text = description },
        Subject = new ResourceReference($"Patient/{patientId}"),
        Category = categories.Select(c => new CodeableConcept(c.System, c.Code)).ToList(),
    };

    public static Observation Observation(string id, string patientId, string code, decimal? value = null, string unit = "kg",
        string? effective = null) => new()
    {
        Id = id,
        Status = ObservationStatus.Final,
        Code = new CodeableConcept(Loinc, code),
        Subject = new ResourceReference($"Patient/{patientId}"),
        Value = value is null ? null : new Quantity { Value = value, System = Ucum, Code = unit, Unit = unit },
        Effective = effective is null ? null : new FhirDateTime(effective),
    };

    public static ServiceRequest Referral(string id, string patientId, RequestStatus status = RequestStatus.Active, string? goalId = null) => new()
    {
        Id = id,
        Status = status,
        Intent = RequestIntent.Order,
        Subject = new ResourceReference($"Patient/{patientId}"),
        SupportingInfo = goalId is null ? [] : [new ResourceReference($"Goal/{goalId}")],
    };
}
