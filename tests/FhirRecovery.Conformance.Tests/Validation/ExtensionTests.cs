using FhirRecovery.Conformance.Validation;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>Extensions: the definition is resolved by url, its context and value type checked, unknown ones reported.</summary>
public sealed class ExtensionTests
{
    private const string Narrative = """ "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }, """;
    private const string BirthPlace = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace";
    private const string Nationality = "http://hl7.org/fhir/StructureDefinition/patient-nationality";

    private static ValidationResult Patient(string extensions, string element = "extension") =>
        Validate.Profiled($$"""{ "resourceType": "Patient", {{Narrative}} "{{element}}": [ {{extensions}} ] }""");

    [Fact]
    public void A_known_extension_with_an_allowed_value_in_its_context_is_valid() =>
        Patient($$"""{ "url": "{{BirthPlace}}", "valueAddress": { "city": "Tromsø" } }""").HasNoIssues();

    [Fact]
    public void An_unknown_extension_outside_hl7_org_is_an_error()
    {
        var result = Patient("""{ "url": "http://acme.test/fhir/StructureDefinition/unknown", "valueString": "x" }""");

        result.HasError(IssueType.Structure, "Patient.extension[0]", IssueKind.Profile, "Unknown extension 'http://acme.test/fhir/StructureDefinition/unknown'");
    }

    [Fact]
    public void An_unknown_extension_in_the_hl7_org_namespace_is_only_a_warning()
    {
        var result = Patient("""{ "url": "http://hl7.org/fhir/StructureDefinition/no-such-extension", "valueString": "x" }""");

        result.HasIssue(IssueSeverity.Warning, IssueType.Structure, "Patient.extension[0]", IssueKind.Profile, "Unknown extension");
        result.HasNoErrors();
    }

    [Fact]
    public void An_unknown_extension_is_a_warning_when_unknown_extensions_are_allowed()
    {
        var validator = SharedDefinitions.CreateValidator(SharedDefinitions.Resolver, new ValidatorSettings { AllowUnknownExtensions = true });
        var json = $$"""{ "resourceType": "Patient", {{Narrative}} "extension": [ { "url": "http://acme.test/fhir/StructureDefinition/unknown", "valueString": "x" } ] }""";

        var result = validator.Validate(System.Text.Encoding.UTF8.GetBytes(json), Hl7.Fhir.Rest.ResourceFormat.Json);

        result.HasIssue(IssueSeverity.Warning, IssueType.Structure, "Patient.extension[0]", IssueKind.Profile, "Unknown extension");
        result.HasNoErrors();
    }

    [Fact]
    public void An_unknown_modifier_extension_is_an_error_saying_it_must_be_understood()
    {
        var result = Patient("""{ "url": "http://acme.test/fhir/StructureDefinition/unknown-modifier", "valueBoolean": true }""", "modifierExtension");

        result.HasError(IssueType.Structure, "Patient.modifierExtension[0]", IssueKind.Profile, "Unknown modifier extension");
    }

    [Fact]
    public void A_known_extension_with_a_value_type_its_definition_does_not_allow_is_an_error_at_the_value()
    {
        var result = Patient($$"""{ "url": "{{BirthPlace}}", "valueString": "Tromsø" }""");

        var issue = result.HasErrorAt("Patient.extension[0].valueString", IssueKind.Profile);
        Assert.Contains("Address", issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_known_extension_outside_its_context_is_an_error_at_the_extension()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" },
              "extension": [ { "url": "{{BirthPlace}}", "valueAddress": { "city": "Tromsø" } } ] }
            """);

        result.HasError(IssueType.Structure, "Observation.extension[0]", IssueKind.Profile, "is not allowed on Observation");
    }

    [Fact]
    public void A_known_extension_on_a_backbone_element_of_its_context_resource_is_out_of_context()
    {
        // patient-birthPlace has context Patient: on Patient itself it is fine (see above), on Patient.contact it is not.
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}}
              "contact": [ { "name": { "family": "x" }, "extension": [ { "url": "{{BirthPlace}}", "valueAddress": { "city": "Tromsø" } } ] } ] }
            """);

        result.HasError(IssueType.Structure, "Patient.contact[0].extension[0]", IssueKind.Profile, "is not allowed on Patient.contact");
    }

    [Fact]
    public void Sub_extensions_a_known_complex_extension_defines_are_valid()
    {
        Patient($$"""{ "url": "{{Nationality}}", "extension": [ { "url": "code", "valueCodeableConcept": { "text": "Norwegian" } } ] }""").HasNoIssues();
        Patient($$"""{ "url": "{{TestProfiles.ComplexExtension}}", "extension": [ { "url": "level", "valueInteger": 2 } ] }""").HasNoIssues();
    }

    [Fact]
    public void A_sub_extension_url_a_known_complex_extension_does_not_define_is_an_error()
    {
        var result = Patient($$"""{ "url": "{{Nationality}}", "extension": [ { "url": "bogus", "valueString": "x" } ] }""");

        result.HasError(IssueType.Structure, "Patient.extension[0].extension[0]", IssueKind.Profile, "Sub-extension url 'bogus' is not defined");
    }

    [Fact]
    public void A_sub_extension_url_a_test_complex_extension_does_not_define_is_an_error()
    {
        var result = Patient($$"""{ "url": "{{TestProfiles.ComplexExtension}}", "extension": [ { "url": "lvl", "valueInteger": 2 } ] }""");

        result.HasError(IssueType.Structure, "Patient.extension[0].extension[0]", IssueKind.Profile, "Sub-extension url 'lvl' is not defined");
    }

    [Fact]
    public void A_sub_extension_with_a_value_type_its_slice_does_not_allow_is_an_error()
    {
        var result = Patient($$"""{ "url": "{{TestProfiles.ComplexExtension}}", "extension": [ { "url": "level", "valueString": "two" } ] }""");

        result.HasErrorAt("Patient.extension[0].extension[0].valueString", IssueKind.Profile);
    }

    [Fact]
    public void A_value_on_a_complex_extension_that_forbids_one_is_an_error()
    {
        var result = Patient($$"""{ "url": "{{TestProfiles.ComplexExtension}}", "valueString": "x" }""");

        result.HasError(IssueType.Structure, "Patient.extension[0]", IssueKind.Profile, "Extension.value[x] is not allowed here (maximum 0)");
    }

    [Fact]
    public void A_test_extension_outside_its_context_is_an_error()
    {
        var result = Validate.Profiled($$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" },
              "extension": [ { "url": "{{TestProfiles.ComplexExtension}}", "extension": [ { "url": "level", "valueInteger": 2 } ] } ] }
            """);

        result.HasError(IssueType.Structure, "Observation.extension[0]", IssueKind.Profile, "is not allowed on Observation");
    }

    [Fact]
    public void A_relative_Extension_url_at_the_top_level_is_an_error()
    {
        var result = Patient("""{ "url": "my-extension", "valueString": "x" }""");

        result.HasError(IssueType.Invalid, "Patient.extension[0]", IssueKind.Profile, "must be an absolute URL");
    }

    [Fact]
    public void An_extension_on_a_primitive_is_checked_like_any_other()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}} "birthDate": "1990-01-01",
              "_birthDate": { "extension": [ { "url": "http://acme.test/fhir/StructureDefinition/unknown", "valueString": "x" } ] } }
            """);

        result.HasError(IssueType.Structure, "Patient.birthDate.extension[0]", IssueKind.Profile, "Unknown extension");
    }

    [Fact]
    public void An_IG_extension_whose_value_is_outside_its_range_is_reported()
    {
        // goal-attainment-level is an integer from -2 to +2 (gal-1; the IG records this invalid example).
        var result = Validate.Json(System.IO.File.ReadAllText(Path.Combine(TestPaths.Profiles, "examples", "invalid", "Goal-attainment-level-out-of-range.json")));

        result.HasError(IssueType.Invariant, "Goal.extension[3]", IssueKind.Profile, "gal-1");
    }
}
