using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Model;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>The JSON representation rules (R4 json.html) that a lenient parse forgets: all Structure issues (HTTP 400).</summary>
public sealed class JsonRepresentationTests
{
    [Fact]
    public void A_well_formed_resource_has_no_representation_issues()
    {
        var result = Validate.Json("""
            {
              "resourceType": "Patient",
              "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Ingrid Solberg</div>" },
              "active": true,
              "multipleBirthInteger": 2,
              "name": [ { "family": "Solberg", "given": [ "Ingrid", "Marie" ] } ],
              "gender": "female",
              "birthDate": "1990-04-01"
            }
            """);

        result.HasNoIssues();
        Assert.IsType<Patient>(result.Resource);
    }

    [Fact]
    public void An_array_for_an_element_that_does_not_repeat_is_a_structure_error_at_the_element()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "gender": [ "male" ] }""");

        var issue = result.HasError(IssueType.Structure, "Patient.gender", IssueKind.Structure, "does not repeat");
        Assert.Equal((1L, 40L), issue.Position);
    }

    [Fact]
    public void A_single_value_for_a_repeating_element_is_a_structure_error_at_the_element()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "name": { "family": "Solberg" } }""");

        result.HasError(IssueType.Structure, "Patient.name", IssueKind.Structure, "must be a JSON array");
    }

    [Fact]
    public void A_null_value_is_a_structure_error()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "gender": null }""");

        result.HasError(IssueType.Structure, "Patient.gender", IssueKind.Structure, "must not be null");
    }

    [Fact]
    public void A_null_inside_an_array_of_complex_values_is_a_structure_error_at_its_index()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "name": [ { "family": "Solberg" }, null ] }""");

        result.HasError(IssueType.Structure, "Patient.name[1]", IssueKind.Structure, "must not be null");
    }

    [Fact]
    public void A_null_inside_a_primitive_array_that_keeps_it_aligned_with_its_extension_part_is_allowed()
    {
        var result = Validate.Json("""
            {
              "resourceType": "Patient",
              "name": [ {
                "given": [ "Ingrid", null ],
                "_given": [ null, { "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown" } ] } ]
              } ]
            }
            """);

        result.HasNoErrors();
        var given = ((Patient)result.Resource!).Name[0].GivenElement;
        Assert.Equal(2, given.Count);
        Assert.Null(given[1].Value);
        Assert.Single(given[1].Extension);
    }

    [Fact]
    public void A_null_in_a_primitive_array_with_nothing_at_its_position_in_the_extension_part_is_an_error()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "name": [ { "given": [ "Ingrid", null ] } ] }""");

        result.HasErrorAt("Patient.name[0].given[1]", IssueKind.Structure);
    }

    [Fact]
    public void An_empty_object_is_a_structure_error_at_the_element()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "maritalStatus": {} }""");

        result.HasError(IssueType.Structure, "Patient.maritalStatus", IssueKind.Structure, "must not be empty");
    }

    [Fact]
    public void An_empty_array_is_a_structure_error_at_the_element()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "name": [] }""");

        result.HasError(IssueType.Structure, "Patient.name", IssueKind.Structure, "must not be empty");
    }

    [Fact]
    public void An_empty_string_is_a_structure_error_at_the_element()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "name": [ { "family": "" } ] }""");

        result.HasError(IssueType.Structure, "Patient.name[0].family", IssueKind.Structure, "empty string");
    }

    [Fact]
    public void A_duplicate_property_is_a_structure_error_at_the_element()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "gender": "male", "gender": "female" }""");

        result.HasError(IssueType.Structure, "Patient.gender", IssueKind.Structure, "Duplicate JSON property 'gender'");
    }

    [Fact]
    public void A_duplicate_property_inside_a_nested_object_is_reported_at_its_path()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "name": [ { "family": "A", "family": "B" } ] }""");

        result.HasError(IssueType.Structure, "Patient.name[0].family", IssueKind.Structure, "Duplicate JSON property");
    }

    [Theory]
    [InlineData("""{ "resourceType": "Patient", "active": "true" }""", "Patient.active", "must be a JSON boolean, not a JSON string")]
    [InlineData("""{ "resourceType": "Patient", "multipleBirthInteger": "2" }""", "Patient.multipleBirthInteger", "must be a JSON number, not a JSON string")]
    [InlineData("""{ "resourceType": "Observation", "status": "final", "code": { "text": "x" }, "valueQuantity": { "value": "1.5" } }""", "Observation.valueQuantity.value", "must be a JSON number, not a JSON string")]
    [InlineData("""{ "resourceType": "Patient", "name": [ { "family": 42 } ] }""", "Patient.name[0].family", "must be a JSON string, not a JSON number")]
    [InlineData("""{ "resourceType": "Patient", "birthDate": { "value": "2000" } }""", "Patient.birthDate", "must be a JSON string, not a JSON object")]
    [InlineData("""{ "resourceType": "Patient", "active": 1 }""", "Patient.active", "must be a JSON boolean, not a JSON number")]
    public void A_primitive_written_as_the_wrong_JSON_kind_is_a_structure_error(string json, string expression, string message)
    {
        var result = Validate.Json(json);

        result.HasError(IssueType.Structure, expression, IssueKind.Structure, message);
    }

    [Fact]
    public void Numbers_booleans_and_strings_of_the_right_JSON_kind_are_accepted()
    {
        var result = Validate.Json("""
            { "resourceType": "Observation", "status": "final", "code": { "text": "weight" },
              "valueQuantity": { "value": 72.5, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg" } }
            """);

        result.HasNoErrors();
    }

    [Fact]
    public void An_extension_part_for_a_non_primitive_element_is_a_structure_error()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "_name": [ { "extension": [] } ] }""");

        result.HasError(IssueType.Structure, "Patient._name", IssueKind.Structure, "only allowed for primitive elements");
    }

    [Fact]
    public void An_extension_part_for_a_primitive_element_is_accepted()
    {
        var result = Validate.Json("""
            { "resourceType": "Patient",
              "_birthDate": { "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown" } ] } }
            """);

        result.HasNoErrors();
    }

    [Fact]
    public void An_unknown_property_in_the_extension_part_of_a_primitive_with_extensions_is_an_unknown_element()
    {
        var result = Validate.Json("""
            { "resourceType": "Patient", "birthDate": "1990-01-01",
              "_birthDate": { "foo": 1, "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown" } ] } }
            """);

        result.HasError(IssueType.Structure, "Patient.birthDate.foo", IssueKind.Structure, "Unknown element 'foo'");
    }

    [Fact]
    public void An_unknown_property_in_the_extension_part_of_a_primitive_with_a_value_is_an_unknown_element()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "birthDate": "1990-01-01", "_birthDate": { "foo": 1 } }""");

        result.HasError(IssueType.Structure, "Patient.birthDate.foo", IssueKind.Structure, "Unknown element 'foo'");
    }

    [Fact]
    public void An_integer_written_with_an_exponent_is_not_a_valid_integer()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "multipleBirthInteger": 1e2 }""");

        result.HasErrorAt("Patient.multipleBirthInteger", IssueKind.Structure);
    }

    [Fact]
    public void An_integer_written_with_a_fraction_is_not_a_valid_integer()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "multipleBirthInteger": 2.0 }""");

        result.HasError(IssueType.Value, "Patient.multipleBirthInteger", IssueKind.Structure, "not a valid integer");
    }

    [Fact]
    public void An_unknown_resource_type_inside_a_Bundle_entry_is_reported_once()
    {
        var result = Validate.Json("""
            { "resourceType": "Bundle", "type": "collection",
              "entry": [ { "fullUrl": "urn:uuid:2a0c4f4e-6f0b-4d3e-9d5c-1f1e5a7b8c01", "resource": { "resourceType": "Foo" } } ] }
            """);

        Assert.Single(result.Issues, i => i.Message.Contains("Unknown resource type 'Foo'", StringComparison.Ordinal));
    }

    [Fact]
    public void An_object_without_resourceType_is_not_a_resource_and_is_not_walked()
    {
        var result = Validate.Json("""{ "id": "x", "gender": "male" }""");

        var issue = result.HasError(IssueType.Structure, null, IssueKind.Structure, "no 'resourceType'");
        Assert.Null(result.Resource);
        Assert.NotNull(issue.Position);
    }

    [Fact]
    public void An_unknown_resourceType_is_a_structure_error()
    {
        var result = Validate.Json("""{ "resourceType": "Patientt", "id": "x" }""");

        result.HasError(IssueType.Structure, null, IssueKind.Structure, "Unknown resource type 'Patientt'");
        Assert.Null(result.Resource);
    }

    [Fact]
    public void A_resourceType_naming_a_datatype_is_an_unknown_resource_type()
    {
        var result = Validate.Json("""{ "resourceType": "HumanName", "family": "x" }""");

        result.HasError(IssueType.Structure, null, IssueKind.Structure, "Unknown resource type 'HumanName'");
    }

    [Fact]
    public void A_resourceType_in_the_wrong_case_is_an_unknown_resource_type()
    {
        var result = Validate.Json("""{ "resourceType": "patient" }""");

        result.HasError(IssueType.Structure, null, IssueKind.Structure, "Unknown resource type 'patient'");
    }

    [Fact]
    public void An_unknown_resourceType_of_a_contained_resource_is_reported_at_the_contained_element()
    {
        var result = Validate.Json("""
            { "resourceType": "Patient", "contained": [ { "resourceType": "Nonsense", "id": "a" } ] }
            """);

        result.HasError(IssueType.Structure, "Patient.contained[0]", IssueKind.Structure, "Unknown resource type 'Nonsense'");
    }

    [Fact]
    public void A_bare_JSON_array_is_not_a_resource()
    {
        var result = Validate.Json("""[ { "resourceType": "Patient" } ]""");

        result.HasError(IssueType.Structure, null, IssueKind.Structure, "must be a JSON object");
        Assert.Null(result.Resource);
    }

    [Fact]
    public void Content_after_the_resource_is_a_fatal_syntax_error()
    {
        var result = Validate.Json("""{ "resourceType": "Patient" } { "resourceType": "Patient" }""");

        var issue = result.HasFatal(IssueType.Structure, IssueKind.Structure, "not valid JSON");
        Assert.Null(issue.Expression);
        Assert.Null(result.Resource);
    }

    [Fact]
    public void Malformed_JSON_reports_its_line_and_column()
    {
        var result = Validate.Json("{\n  \"resourceType\": \"Patient\",\n  \"active\": tru\n}");

        var issue = result.HasFatal(IssueType.Structure, IssueKind.Structure, "not valid JSON");
        Assert.NotNull(issue.Position);
        Assert.Equal(3L, issue.Position!.Value.Line);
        Assert.InRange(issue.Position.Value.Column, 13L, 16L);
        var component = result.ToOperationOutcome().Issue.Single();
        Assert.Equal(3, ((Integer)component.GetExtensionValue<Integer>("http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line")).Value);
    }

    [Fact]
    public void A_representation_issue_carries_the_line_and_column_of_the_offending_token()
    {
        var result = Validate.Json("{\n  \"resourceType\": \"Patient\",\n  \"gender\": null\n}");

        var issue = result.HasError(IssueType.Structure, "Patient.gender", IssueKind.Structure, "must not be null");
        Assert.Equal((3L, 13L), issue.Position);
    }

    [Fact]
    public void JSON_comments_are_not_allowed()
    {
        var result = Validate.Json("{ \"resourceType\": \"Patient\" /* note */ }");

        result.HasFatal(IssueType.Structure, IssueKind.Structure, "not valid JSON");
    }

    [Fact]
    public void A_choice_element_with_a_type_suffix_in_the_wrong_case_is_an_unknown_element()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "deceasedboolean": true }""");

        result.HasErrorAt("Patient.deceasedboolean", IssueKind.Structure);
    }

    [Fact]
    public void Two_type_variants_of_one_choice_element_are_a_structure_error()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "deceasedBoolean": true, "deceasedDateTime": "2020-01-01" }""");

        Assert.Contains(result.Issues, i => i.IsError && i.Kind == IssueKind.Structure && i.Expression?.StartsWith("Patient.deceased", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void A_choice_element_with_an_allowed_type_suffix_is_read_as_that_type()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "deceasedDateTime": "2020-01-01" }""");

        result.HasNoErrors();
        Assert.IsType<FhirDateTime>(((Patient)result.Resource!).Deceased);
    }

    [Fact]
    public void Representation_problems_inside_contained_resources_are_located_through_contained()
    {
        var result = Validate.Json("""
            { "resourceType": "Observation", "status": "final", "code": { "text": "x" }, "subject": { "reference": "#p" },
              "contained": [ { "resourceType": "Patient", "id": "p", "active": "yes" } ] }
            """);

        result.HasError(IssueType.Structure, "Observation.contained[0].active", IssueKind.Structure, "must be a JSON boolean");
    }
}
