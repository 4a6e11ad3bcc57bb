using FhirRecovery.Conformance.Validation;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>
/// Slicing with the small test profiles of <see cref="TestProfiles"/>: value, pattern, exists, type and profile
/// discriminators; closed, ordered and openAtEnd rules; slice cardinality; the unsliced element's own rules.
/// </summary>
public sealed class SlicingTests
{
    private const string Narrative = """ "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }, """;

    private static ValidationResult Patient(string profile, string elements) =>
        Validate.Profiled($$"""{ "resourceType": "Patient", {{Narrative}} {{elements}} }""", profile);

    private static ValidationResult Observation(string profile, string elements) =>
        Validate.Profiled($$"""{ "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" }, {{elements}} }""", profile);

    private const string Mrn = """{ "system": "http://acme.test/mrn", "value": "123" }""";
    private const string Ssn = """{ "system": "http://acme.test/ssn", "value": "456" }""";
    private const string Other = """{ "system": "http://acme.test/other", "value": "789" }""";

    // value discriminator (system), closed

    [Fact]
    public void Values_each_matching_a_slice_by_value_are_valid() =>
        Patient(TestProfiles.SliceValue, $$""" "identifier": [ {{Mrn}}, {{Ssn}} ] """).HasNoIssues();

    [Fact]
    public void A_value_matching_no_slice_of_a_closed_slicing_is_an_error_at_the_value()
    {
        var result = Patient(TestProfiles.SliceValue, $$""" "identifier": [ {{Mrn}}, {{Other}} ] """);

        result.HasError(IssueType.Structure, "Patient.identifier[1]", IssueKind.Profile, "does not match any known slice");
        result.HasNoErrorsAt("Patient.identifier[0]");
    }

    [Fact]
    public void A_required_slice_that_is_missing_is_reported_at_the_parent()
    {
        var result = Patient(TestProfiles.SliceValue, $$""" "identifier": [ {{Ssn}} ] """);

        result.HasError(IssueType.Required, "Patient", IssueKind.Profile, "Slice 'mrn' of Patient.identifier requires at least 1 value(s), found 0");
    }

    [Fact]
    public void A_required_slice_is_reported_when_the_sliced_element_is_absent_altogether()
    {
        var result = Patient(TestProfiles.SliceValue, """ "active": true """);

        result.HasError(IssueType.Required, "Patient", IssueKind.Profile, "Slice 'mrn'");
    }

    [Fact]
    public void More_values_in_a_slice_than_its_maximum_is_reported_at_the_parent()
    {
        var result = Patient(TestProfiles.SliceValue, $$""" "identifier": [ {{Mrn}}, { "system": "http://acme.test/mrn", "value": "124" } ] """);

        result.HasError(IssueType.Structure, "Patient", IssueKind.Profile, "Slice 'mrn' of Patient.identifier allows at most 1 value(s), found 2");
    }

    [Fact]
    public void A_value_in_a_slice_must_also_meet_the_unsliced_elements_constraints()
    {
        // The unsliced Patient.identifier requires value; the mrn slice itself says nothing about it.
        var result = Patient(TestProfiles.SliceValue, """ "identifier": [ { "system": "http://acme.test/mrn" } ] """);

        result.HasError(IssueType.Required, "Patient.identifier[0]", IssueKind.Profile, "Patient.identifier.value");
    }

    // pattern discriminator ($this), open

    [Fact]
    public void A_CodeableConcept_with_extra_codings_matches_a_pattern_slice_and_other_values_are_allowed_in_open_slicing()
    {
        var result = Observation(TestProfiles.SlicePattern, """
            "category": [
              { "coding": [ { "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory" } ] },
              { "coding": [ { "system": "http://acme.test/cat", "code": "v" },
                            { "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs" } ] } ]
            """);

        result.HasNoIssues();
    }

    [Fact]
    public void A_required_pattern_slice_without_a_matching_value_is_reported()
    {
        var result = Observation(TestProfiles.SlicePattern, """
            "category": [ { "coding": [ { "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory" } ] } ]
            """);

        result.HasError(IssueType.Required, "Observation", IssueKind.Profile, "Slice 'vital'");
    }

    // exists discriminator (period), closed and ordered

    private const string Dated = """{ "city": "Oslo", "period": { "start": "2020-01-01" } }""";
    private const string Undated = """{ "city": "Bergen" }""";

    [Fact]
    public void Values_sorted_into_slices_by_existence_in_slice_order_are_valid() =>
        Patient(TestProfiles.SliceExistsOrdered, $$""" "address": [ {{Dated}}, {{Dated}}, {{Undated}} ] """).HasNoIssues();

    [Fact]
    public void Ordered_slices_out_of_order_are_an_error_at_the_value_out_of_place()
    {
        var result = Patient(TestProfiles.SliceExistsOrdered, $$""" "address": [ {{Undated}}, {{Dated}} ] """);

        result.HasError(IssueType.Structure, "Patient.address[1]", IssueKind.Profile, "are ordered");
    }

    // type discriminator (value), closed

    [Fact]
    public void Values_sorted_into_slices_by_type_are_valid()
    {
        var result = Observation(TestProfiles.SliceType, """
            "component": [ { "code": { "text": "a" }, "valueQuantity": { "value": 1 } }, { "code": { "text": "b" }, "valueString": "x" } ]
            """);

        result.HasNoIssues();
    }

    [Fact]
    public void A_value_of_a_type_no_slice_takes_is_an_error_in_a_closed_type_slicing()
    {
        var result = Observation(TestProfiles.SliceType, """
            "component": [ { "code": { "text": "a" }, "valueQuantity": { "value": 1 } }, { "code": { "text": "b" }, "valueBoolean": true } ]
            """);

        result.HasError(IssueType.Structure, "Observation.component[1]", IssueKind.Profile, "does not match any known slice");
        result.HasNoErrorsAt("Observation.component[0]");
    }

    // profile discriminator ($this), closed

    [Fact]
    public void A_value_conforming_to_the_slice_type_profile_is_valid() =>
        Patient(TestProfiles.SliceProfile, """ "identifier": [ { "system": "http://acme.test/x", "value": "1" } ] """).HasNoIssues();

    [Fact]
    public void A_value_not_conforming_to_the_slice_type_profile_matches_no_slice()
    {
        var result = Patient(TestProfiles.SliceProfile, """ "identifier": [ { "system": "http://acme.test/x", "value": "1" }, { "value": "2" } ] """);

        result.HasError(IssueType.Structure, "Patient.identifier[1]", IssueKind.Profile, "does not match any known slice");
    }

    [Fact]
    public void Without_any_value_conforming_to_the_slice_profile_the_required_slice_is_missing()
    {
        var result = Patient(TestProfiles.SliceProfile, """ "identifier": [ { "value": "2" } ] """);

        result.HasError(IssueType.Required, "Patient", IssueKind.Profile, "Slice 'strict'");
    }

    // openAtEnd

    [Fact]
    public void With_openAtEnd_unmatched_values_after_the_slices_are_valid() =>
        Patient(TestProfiles.SliceOpenAtEnd, $$""" "identifier": [ {{Mrn}}, {{Other}}, {{Other}} ] """).HasNoIssues();

    [Fact]
    public void With_openAtEnd_a_slice_after_an_unmatched_value_is_an_error()
    {
        var result = Patient(TestProfiles.SliceOpenAtEnd, $$""" "identifier": [ {{Other}}, {{Mrn}} ] """);

        result.HasError(IssueType.Structure, "Patient.identifier[1]", IssueKind.Profile, "openAtEnd");
    }

    // The IG's slicing (Goal.category by recovery framework / CHIME / life domain; extension slices by url).

    [Fact]
    public void An_IG_extension_slice_with_a_value_of_the_wrong_type_is_an_error()
    {
        var goal = Validate.Example("Goal-tom-peer-group.json");
        goal["extension"]![0]!.AsObject().Remove("valueCodeableConcept");
        goal["extension"]![0]!["valueString"] = "high";

        var result = Validate.Json(goal);

        result.HasError(IssueType.Structure, "Goal.extension[0].valueString", IssueKind.Profile, "allowed: CodeableConcept");
    }
}
