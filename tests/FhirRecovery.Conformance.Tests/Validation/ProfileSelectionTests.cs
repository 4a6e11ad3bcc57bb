using System.Text;
using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>
/// Which profiles apply (meta.profile, requested, ImplementationGuide.global), what happens when one is unknown or for
/// another type, and that a POCO validates like its JSON.
/// </summary>
public sealed class ProfileSelectionTests
{
    private const string Narrative = """ "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }, """;
    private const string Unknown = "http://acme.test/fhir/StructureDefinition/not-loaded";

    private static string Patient(string meta = "", string more = "") =>
        $$"""{ "resourceType": "Patient", {{meta}} {{Narrative}} "active": true {{more}} }""";

    private static string MetaProfile(params string[] profiles) =>
        $$""" "meta": { "profile": [ {{string.Join(", ", profiles.Select(p => $"\"{p}\""))}} ] }, """;

    [Fact]
    public void An_unknown_profile_in_meta_profile_is_a_warning()
    {
        var result = Validate.Profiled(Patient(MetaProfile(Unknown)));

        result.HasIssue(IssueSeverity.Warning, IssueType.NotFound, "Patient", IssueKind.Profile, "not-loaded");
        result.HasNoErrors();
    }

    [Fact]
    public void An_unknown_profile_asked_for_explicitly_is_an_error()
    {
        var result = Validate.Profiled(Patient(), Unknown);

        result.HasError(IssueType.NotFound, "Patient", IssueKind.Profile, "'http://acme.test/fhir/StructureDefinition/not-loaded' is unknown");
    }

    [Fact]
    public void A_profile_asked_for_is_applied()
    {
        Validate.Profiled(Patient()).HasNoErrors();

        var result = Validate.Profiled(Patient(), TestProfiles.NamedPatient);

        result.HasError(IssueType.Required, "Patient", IssueKind.Profile, "Patient.name");
    }

    [Fact]
    public void A_profile_in_meta_profile_is_applied()
    {
        var result = Validate.Profiled(Patient(MetaProfile(TestProfiles.NamedPatient)));

        result.HasError(IssueType.Required, "Patient", IssueKind.Profile, "Patient.name");
    }

    [Fact]
    public void A_resource_conforming_to_its_profile_is_valid() =>
        Validate.Profiled(Patient(MetaProfile(TestProfiles.NamedPatient), """, "name": [ { "family": "Dahl" } ]"""), TestProfiles.NamedPatient).HasNoIssues();

    [Fact]
    public void A_profile_for_another_resource_type_asked_for_is_an_error()
    {
        var result = Validate.Profiled(
            $$"""{ "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" } }""", TestProfiles.NamedPatient);

        result.HasError(IssueType.Invalid, "Observation", IssueKind.Profile, "is for Patient, not for Observation");
    }

    [Fact]
    public void A_profile_for_another_resource_type_in_meta_profile_is_an_error()
    {
        var result = Validate.Profiled($$"""
            { "resourceType": "Observation", {{MetaProfile(TestProfiles.NamedPatient)}} {{Narrative}} "status": "final", "code": { "text": "x" } }
            """);

        result.HasError(IssueType.Invalid, "Observation", IssueKind.Profile, "is for Patient, not for Observation");
    }

    [Fact]
    public void The_base_rules_still_apply_when_a_resource_is_checked_against_a_profile()
    {
        var result = Validate.Profiled(Patient(MetaProfile(TestProfiles.NamedPatient), """, "name": [ { "family": "Dahl" } ], "gender": "mail" """));

        result.HasError(IssueType.CodeInvalid, "Patient.gender", IssueKind.Profile, "administrative-gender");
    }

    [Fact]
    public void A_global_profile_of_a_loaded_implementation_guide_applies_to_every_resource_of_its_type()
    {
        const string basic = """{ "resourceType": "Basic", "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }, "code": { "text": "x" } }""";

        Validate.Profiled(basic).HasError(IssueType.Required, "Basic", IssueKind.Profile, "Missing required element Basic.author");
        Validate.Json(basic).HasNoIssues();
        Validate.Profiled(basic.Replace("\"code\"", "\"author\": { \"reference\": \"Practitioner/1\" }, \"code\"", StringComparison.Ordinal)).HasNoIssues();
    }

    [Fact]
    public void A_profile_both_declared_and_asked_for_reports_each_issue_once()
    {
        var result = Validate.Profiled(Patient(MetaProfile(TestProfiles.NamedPatient)), TestProfiles.NamedPatient);

        Assert.Single(result.Issues, i => i.IsError);
        result.HasError(IssueType.Required, "Patient", IssueKind.Profile, "Patient.name");
    }

    [Fact]
    public void Base_issues_are_reported_once_though_two_profiles_apply()
    {
        var result = Validate.Profiled(
            Patient(MetaProfile(TestProfiles.NamedPatient, TestProfiles.PatientLengths), """, "name": [ { "family": "Dahl" } ], "gender": "mail" """));

        Assert.Single(result.Issues, i => i.Expression == "Patient.gender");
    }

    // Validate(Resource): the same findings without the representation checks.

    private static readonly FhirJsonDeserializer Lenient = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));

    public static TheoryData<string> InvalidExamples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.Profiles, "examples", "invalid"), "*.json")
                     .Where(f => !f.EndsWith(".outcome.json", StringComparison.Ordinal)).OrderBy(f => f, StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    private static IEnumerable<string> Keys(ValidationResult result) =>
        result.Issues.Select(i => $"{i.Severity}|{i.Code}|{i.Kind}|{i.Expression}|{i.Message}").Order(StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(InvalidExamples))]
    public void Validating_the_POCO_gives_the_same_findings_as_validating_its_JSON(string file)
    {
        var json = File.ReadAllText(Path.Combine(TestPaths.Profiles, "examples", "invalid", file));
        Resource resource;
        try
        {
            resource = Lenient.Deserialize<Resource>(json);
        }
        catch (DeserializationFailedException ex)
        {
            resource = (Resource)ex.PartialResult!;
        }

        var fromBytes = Validate.Core.Validate(Encoding.UTF8.GetBytes(json));
        var fromPoco = Validate.Core.Validate(resource);

        Assert.True(fromBytes.HasErrors, fromBytes.Describe());
        Assert.Equal(
            Keys(fromBytes).Where(k => !k.Contains("|Structure|", StringComparison.Ordinal) || !IsRepresentationOnly(k)),
            Keys(fromPoco));
    }

    /// <summary>Issues only the JSON reader can find (the POCO has no JSON to check).</summary>
    private static bool IsRepresentationOnly(string key) =>
        key.Contains("JSON", StringComparison.Ordinal) || key.Contains("empty string", StringComparison.Ordinal);

    [Fact]
    public void Validating_a_POCO_against_a_requested_profile_gives_the_same_findings_as_its_JSON()
    {
        var json = $$"""
            { "resourceType": "Patient", {{Narrative}} "identifier": [ { "system": "http://acme.test/other", "value": "1" } ],
              "contact": [ { "gender": "male" } ], "birthDate": "2023-02-30" }
            """;
        var resource = Lenient.Deserialize<Resource>(json);

        var fromBytes = Validate.Profiled(json, TestProfiles.PatientCardinality, TestProfiles.SliceValue);
        var fromPoco = Validate.WithTestProfiles.Validate(resource, [TestProfiles.PatientCardinality, TestProfiles.SliceValue]);

        Assert.True(fromBytes.Issues.Count >= 4, fromBytes.Describe());
        Assert.Equal(Keys(fromBytes), Keys(fromPoco));
    }

    [Fact]
    public void Validating_a_POCO_built_in_code_reports_its_problems()
    {
        var patient = new Patient
        {
            Text = new Hl7.Fhir.Model.Narrative { Status = Hl7.Fhir.Model.Narrative.NarrativeStatus.Generated, Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" },
            BirthDateElement = new Date("2023-02-30"),
            Contact = [new Patient.ContactComponent()],
        };

        var result = Validate.Core.Validate(patient);

        result.HasError(IssueType.Value, "Patient.birthDate", IssueKind.Structure, "has no day 30");
        result.HasError(IssueType.Invariant, "Patient.contact[0]", IssueKind.Structure, "ele-1");
        Assert.Same(patient, result.Resource);
    }
}
