using System.Text.Json.Nodes;
using FhirRecovery.Conformance.Validation;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>Element structure: unknown elements, choice types, cardinality, ele-1 and ext-1.</summary>
public sealed class StructureTests
{
    private const string Narrative = """ "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }, """;

    private const string RecoveryQuestionnaireResponse = "https://fhirrecovery.org/fhir/StructureDefinition/recovery-questionnaire-response";

    [Fact]
    public void An_unknown_element_at_the_root_is_a_structure_error_at_its_path()
    {
        var result = Validate.Json($$"""{ "resourceType": "Patient", {{Narrative}} "bogus": "x" }""");

        result.HasError(IssueType.Structure, "Patient.bogus", IssueKind.Structure, "Unknown element 'bogus'");
    }

    [Fact]
    public void An_unknown_element_inside_a_backbone_element_is_reported_at_its_path()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}} "contact": [ { "name": { "family": "Dahl" } }, { "gender": "male", "nickname": "x" } ] }
            """);

        result.HasError(IssueType.Structure, "Patient.contact[1].nickname", IssueKind.Structure, "Unknown element 'nickname'");
        result.HasNoErrorsAt("Patient.contact[0]");
    }

    [Fact]
    public void An_unknown_element_inside_a_datatype_is_reported_at_its_path()
    {
        var result = Validate.Json($$"""{ "resourceType": "Patient", {{Narrative}} "name": [ { "family": "Dahl", "surname": "x" } ] }""");

        result.HasError(IssueType.Structure, "Patient.name[0].surname", IssueKind.Structure, "Unknown element 'surname'");
    }

    [Fact]
    public void The_recovery_questionnaire_response_example_with_nested_items_is_valid()
    {
        var response = Validate.Example("QuestionnaireResponse-ingrid-check-in-2026-04-07.json");
        response["item"]!.AsArray().Add(JsonNode.Parse("""
            { "linkId": "group", "item": [ { "linkId": "inner", "answer": [ { "valueString": "fine", "item": [ { "linkId": "deepest", "answer": [ { "valueBoolean": true } ] } ] } ] } ] }
            """));
        // A questionnaire not known here (only a warning): this test is about the structural walk, and the check-in
        // questionnaire has no such items (QuestionnaireResponseRuleTests covers answers against the questionnaire).
        response["questionnaire"] = "https://fhirrecovery.org/fhir/Questionnaire/structure-test|1";

        var result = Validate.Json(response);

        result.HasNoErrors();
    }

    [Fact]
    public void An_unknown_element_in_a_nested_questionnaire_response_answer_is_reported_under_the_recovery_profile()
    {
        // Regression: items nested in items were once not walked under the profile (contentReference to the base).
        var response = Validate.Example("QuestionnaireResponse-ingrid-check-in-2026-04-07.json");
        response["item"]!.AsArray().Add(JsonNode.Parse("""
            { "linkId": "group", "item": [ { "linkId": "inner", "answer": [ { "valueString": "fine", "bogus": true } ] } ] }
            """));

        var result = Validate.Json(response, RecoveryQuestionnaireResponse);

        result.HasError(IssueType.Structure, "QuestionnaireResponse.item[5].item[0].answer[0].bogus", IssueKind.Structure, "Unknown element 'bogus'");
    }

    [Fact]
    public void A_bad_value_in_an_answer_nested_three_levels_deep_is_reported()
    {
        var response = Validate.Example("QuestionnaireResponse-ingrid-check-in-2026-04-07.json");
        response["item"]!.AsArray().Add(JsonNode.Parse("""
            { "linkId": "group", "item": [ { "linkId": "inner", "answer": [ { "valueString": "x", "item": [ { "linkId": "deepest", "answer": [ { "valueDate": "2023-02-30" } ] } ] } ] } ] }
            """));

        var result = Validate.Json(response);

        result.HasError(IssueType.Value, "QuestionnaireResponse.item[5].item[0].answer[0].item[0].answer[0].valueDate", IssueKind.Structure, "has no day 30");
    }

    [Fact]
    public void A_choice_element_with_an_allowed_type_is_valid()
    {
        var result = Validate.Json($$"""{ "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" }, "valueString": "ok" }""");

        result.HasNoIssues();
    }

    [Fact]
    public void A_choice_element_with_a_type_the_base_does_not_allow_is_a_structure_error()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" }, "valueReference": { "reference": "Patient/1" } }
            """);

        result.HasError(IssueType.Structure, "Observation.valueReference", IssueKind.Structure, "Type 'Reference' is not allowed for Observation.value[x]");
    }

    [Fact]
    public void A_choice_type_a_profile_leaves_out_is_an_error_at_the_element()
    {
        var result = Validate.Profiled($$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" }, "valueString": "seven" }
            """, TestProfiles.IntegerRange);

        var issue = result.HasError(IssueType.Structure, "Observation.valueString", IssueKind.Profile, "not allowed");
        Assert.Contains("integer", issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_choice_type_a_profile_leaves_out_is_a_profile_error_not_a_structure_error()
    {
        var result = Validate.Profiled($$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" }, "valueString": "seven" }
            """, TestProfiles.IntegerRange);

        Assert.Contains(result.Issues, i => i.IsError && i.Expression == "Observation.valueString" && i.Kind == IssueKind.Profile);
        Assert.DoesNotContain(result.Issues, i => i.IsError && i.Kind == IssueKind.Structure);
    }

    [Fact]
    public void A_missing_required_element_of_the_base_is_reported_at_its_parent_with_code_required()
    {
        var result = Validate.Json($$"""{ "resourceType": "Observation", {{Narrative}} "code": { "text": "x" } }""");

        result.HasError(IssueType.Required, "Observation", IssueKind.Profile, "Missing required element Observation.status");
    }

    [Fact]
    public void A_missing_element_a_profile_requires_is_reported_at_the_root()
    {
        var result = Validate.Profiled($$"""{ "resourceType": "Patient", {{Narrative}} "active": true }""", TestProfiles.PatientCardinality);

        result.HasError(IssueType.Required, "Patient", IssueKind.Profile, "Missing required element Patient.name (minimum 1)");
    }

    [Fact]
    public void Elements_within_the_cardinality_of_a_profile_are_valid()
    {
        var result = Validate.Profiled($$"""
            { "resourceType": "Patient", {{Narrative}} "identifier": [ { "value": "1" } ], "name": [ { "family": "Dahl" } ],
              "contact": [ { "name": { "family": "Lind" }, "telecom": [ { "system": "phone", "value": "123" } ] } ] }
            """, TestProfiles.PatientCardinality);

        result.HasNoIssues();
    }

    [Fact]
    public void More_values_than_the_maximum_at_the_root_is_reported_at_the_parent()
    {
        var result = Validate.Profiled($$"""
            { "resourceType": "Patient", {{Narrative}} "identifier": [ { "value": "1" }, { "value": "2" } ], "name": [ { "family": "Dahl" } ] }
            """, TestProfiles.PatientCardinality);

        result.HasError(IssueType.Structure, "Patient", IssueKind.Profile, "Patient.identifier has 2 values, the maximum is 1");
    }

    [Fact]
    public void A_missing_required_element_inside_a_backbone_element_is_reported_at_that_element()
    {
        var result = Validate.Profiled($$"""
            { "resourceType": "Patient", {{Narrative}} "name": [ { "family": "Dahl" } ],
              "contact": [ { "name": { "family": "Lind" } }, { "gender": "male" } ] }
            """, TestProfiles.PatientCardinality);

        result.HasError(IssueType.Required, "Patient.contact[1]", IssueKind.Profile, "Missing required element Patient.contact.name");
        result.HasNoErrorsAt("Patient.contact[0]");
    }

    [Fact]
    public void Too_many_values_inside_a_backbone_element_is_reported_at_that_element()
    {
        var result = Validate.Profiled($$"""
            { "resourceType": "Patient", {{Narrative}} "name": [ { "family": "Dahl" } ],
              "contact": [ { "name": { "family": "Lind" }, "telecom": [ { "system": "phone", "value": "1" }, { "system": "phone", "value": "2" } ] } ] }
            """, TestProfiles.PatientCardinality);

        result.HasError(IssueType.Structure, "Patient.contact[0]", IssueKind.Profile, "the maximum is 1");
    }

    [Fact]
    public void A_missing_required_element_inside_a_datatype_is_reported_at_the_datatype()
    {
        // Narrative.status and Narrative.div are 1..1.
        var result = Validate.Json("""{ "resourceType": "Patient", "text": { "status": "generated" } }""");

        result.HasError(IssueType.Required, "Patient.text", IssueKind.Profile, "Narrative.div");
    }

    [Fact]
    public void An_element_with_only_an_id_breaks_ele_1()
    {
        var result = Validate.Json($$"""{ "resourceType": "Patient", {{Narrative}} "maritalStatus": { "id": "m1" } }""");

        var issue = result.HasError(IssueType.Invariant, "Patient.maritalStatus", IssueKind.Structure, "ele-1");
        Assert.Equal("ele-1", issue.RuleId);
    }

    [Fact]
    public void A_primitive_with_only_an_id_breaks_ele_1()
    {
        var result = Validate.Json($$"""{ "resourceType": "Patient", {{Narrative}} "_birthDate": { "id": "b1" } }""");

        result.HasError(IssueType.Invariant, "Patient.birthDate", IssueKind.Structure, "ele-1");
    }

    [Fact]
    public void A_primitive_with_only_extensions_satisfies_ele_1()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}}
              "_birthDate": { "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown" } ] } }
            """);

        result.HasNoIssues();
    }

    [Fact]
    public void An_extension_with_both_a_value_and_sub_extensions_breaks_ext_1()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}}
              "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/patient-nationality",
                               "valueString": "x", "extension": [ { "url": "code", "valueCodeableConcept": { "text": "NO" } } ] } ] }
            """);

        var issue = result.HasError(IssueType.Invariant, "Patient.extension[0]", IssueKind.Profile, "ext-1");
        Assert.Equal("ext-1", issue.RuleId);
    }

    [Fact]
    public void An_extension_with_neither_a_value_nor_sub_extensions_breaks_ext_1()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}} "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace" } ] }
            """);

        result.HasError(IssueType.Invariant, "Patient.extension[0]", IssueKind.Profile, "ext-1");
    }

    [Fact]
    public void A_complex_extension_with_only_sub_extensions_satisfies_ext_1()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}}
              "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/patient-nationality",
                               "extension": [ { "url": "code", "valueCodeableConcept": { "text": "NO" } } ] } ] }
            """);

        result.HasNoIssues();
    }
}
