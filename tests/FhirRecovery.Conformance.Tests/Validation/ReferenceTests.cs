using FhirRecovery.Conformance.Validation;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>
/// References: allowed target types, target profiles for targets inside the document (contained, same Bundle),
/// Bundle resolution rules (fullUrl, relative to the entry's base, urn:uuid), documents, Reference.type.
/// </summary>
public sealed class ReferenceTests
{
    private const string Narrative = """ "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }, """;
    private const string Uuid1 = "urn:uuid:2a0c4f4e-6f0b-4d3e-9d5c-1f1e5a7b8c01";
    private const string Uuid2 = "urn:uuid:2a0c4f4e-6f0b-4d3e-9d5c-1f1e5a7b8c02";

    private static ValidationResult Allergy(string patientReference) => Validate.Json($$"""
        { "resourceType": "AllergyIntolerance", {{Narrative}}
          "clinicalStatus": { "coding": [ { "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" } ] },
          "patient": { "reference": "{{patientReference}}" } }
        """);

    [Theory]
    [InlineData("Patient/1")]
    [InlineData("http://acme.test/fhir/Patient/1")]
    [InlineData("Patient/1/_history/2")]
    public void A_reference_to_an_allowed_target_type_is_valid(string reference) => Allergy(reference).HasNoIssues();

    [Theory]
    [InlineData("Practitioner/1")]
    [InlineData("http://acme.test/fhir/Practitioner/1")]
    public void A_literal_reference_to_a_type_the_element_does_not_allow_is_an_error(string reference)
    {
        var result = Allergy(reference);

        var issue = result.HasError(IssueType.Structure, "AllergyIntolerance.patient", IssueKind.Profile, "target type 'Practitioner' is not allowed");
        Assert.Contains("Patient", issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_Reference_type_that_contradicts_the_literal_reference_is_an_error()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" },
              "subject": { "reference": "Patient/1", "type": "Group" } }
            """);

        result.HasError(IssueType.Structure, "Observation.subject", IssueKind.Profile, "Reference.type 'Group' does not match the target type 'Patient'");
    }

    [Fact]
    public void A_Reference_type_that_agrees_with_the_literal_reference_is_valid()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" },
              "subject": { "reference": "Patient/1", "type": "Patient" } }
            """);

        result.HasNoIssues();
    }

    [Fact]
    public void A_Reference_type_alone_is_checked_against_the_allowed_target_types()
    {
        var result = Validate.Json($$"""
            { "resourceType": "AllergyIntolerance", {{Narrative}}
              "clinicalStatus": { "coding": [ { "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" } ] },
              "patient": { "type": "Group", "identifier": { "system": "http://acme.test/groups", "value": "g1" } } }
            """);

        result.HasError(IssueType.Structure, "AllergyIntolerance.patient", IssueKind.Profile, "target type 'Group' is not allowed");
    }

    // Target profiles, checked where the target is in the document.

    private static ValidationResult ObservationWithContained(string containedPatient) => Validate.Profiled($$"""
        { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" },
          "contained": [ {{containedPatient}} ], "subject": { "reference": "#p" } }
        """, TestProfiles.ReferenceTarget);

    [Fact]
    public void A_contained_target_conforming_to_the_target_profile_is_valid() =>
        ObservationWithContained("""{ "resourceType": "Patient", "id": "p", "name": [ { "family": "Dahl" } ] }""").HasNoErrors();

    [Fact]
    public void A_contained_target_not_conforming_to_the_target_profile_is_an_error_at_the_reference()
    {
        var result = ObservationWithContained("""{ "resourceType": "Patient", "id": "p", "active": true }""");

        result.HasError(IssueType.Structure, "Observation.subject", IssueKind.Profile, "does not conform to the target profile");
    }

    [Fact]
    public void A_contained_target_of_a_type_the_target_profile_does_not_constrain_is_an_error()
    {
        var result = ObservationWithContained("""{ "resourceType": "Group", "id": "p", "type": "person", "actual": true }""");

        result.HasError(IssueType.Structure, "Observation.subject", IssueKind.Profile, "target type 'Group' is not allowed");
    }

    /// <summary>A collection Bundle: an Observation (under test-reference-target) and a Patient without name.</summary>
    private static ValidationResult Collection(string observationFullUrl, string subjectReference, string patientFullUrl, bool patientNamed = false) =>
        Validate.Profiled($$"""
            { "resourceType": "Bundle", "type": "collection",
              "entry": [
                { "fullUrl": "{{observationFullUrl}}",
                  "resource": { "resourceType": "Observation", "id": "o1", {{Narrative}}
                                "meta": { "profile": [ "{{TestProfiles.ReferenceTarget}}" ] },
                                "status": "final", "code": { "text": "x" }, "subject": { "reference": "{{subjectReference}}" } } },
                { "fullUrl": "{{patientFullUrl}}",
                  "resource": { "resourceType": "Patient", "id": "p1", {{Narrative}} {{(patientNamed ? "\"name\": [ { \"family\": \"Dahl\" } ]," : "")}} "active": true } } ] }
            """);

    private const string Unresolved = "does not conform to the target profile";

    [Fact]
    public void A_reference_by_absolute_fullUrl_resolves_to_the_entry_and_is_checked_against_the_target_profile()
    {
        Collection("http://acme.test/fhir/Observation/o1", "http://acme.test/fhir/Patient/p1", "http://acme.test/fhir/Patient/p1")
            .HasError(IssueType.Structure, "Bundle.entry[0].resource.subject", IssueKind.Profile, Unresolved);
        Collection("http://acme.test/fhir/Observation/o1", "http://acme.test/fhir/Patient/p1", "http://acme.test/fhir/Patient/p1", patientNamed: true)
            .HasNoErrors();
    }

    [Fact]
    public void A_relative_reference_resolves_against_the_base_of_the_referring_entry()
    {
        var result = Collection("http://acme.test/fhir/Observation/o1", "Patient/p1", "http://acme.test/fhir/Patient/p1");

        result.HasError(IssueType.Structure, "Bundle.entry[0].resource.subject", IssueKind.Profile, Unresolved);
    }

    [Fact]
    public void A_relative_reference_does_not_resolve_to_an_entry_with_another_base()
    {
        var result = Collection("http://acme.test/fhir/Observation/o1", "Patient/p1", "http://other.test/fhir/Patient/p1");

        result.HasNoIssueMentioning(Unresolved);
    }

    [Fact]
    public void A_urn_uuid_reference_resolves_to_the_entry_with_that_fullUrl()
    {
        var result = Collection(Uuid1, Uuid2, Uuid2);

        result.HasError(IssueType.Structure, "Bundle.entry[0].resource.subject", IssueKind.Profile, Unresolved);
    }

    [Fact]
    public void A_relative_reference_from_an_entry_with_a_urn_uuid_fullUrl_does_not_resolve()
    {
        var result = Collection(Uuid1, "Patient/p1", "http://acme.test/fhir/Patient/p1");

        result.HasNoIssueMentioning(Unresolved);
    }

    [Fact]
    public void A_urn_uuid_reference_resolved_in_the_Bundle_has_its_target_type_checked()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Bundle", "type": "collection",
              "entry": [
                { "fullUrl": "{{Uuid1}}",
                  "resource": { "resourceType": "AllergyIntolerance", {{Narrative}}
                                "clinicalStatus": { "coding": [ { "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" } ] },
                                "patient": { "reference": "{{Uuid2}}" } } },
                { "fullUrl": "{{Uuid2}}", "resource": { "resourceType": "Practitioner", {{Narrative}} "active": true } } ] }
            """);

        result.HasError(IssueType.Structure, "Bundle.entry[0].resource.patient", IssueKind.Profile, "target type 'Practitioner' is not allowed");
    }

    // Documents: references must resolve inside the Bundle.

    private static ValidationResult Document(string subjectReference) => Validate.Json($$"""
        { "resourceType": "Bundle", "identifier": { "system": "http://acme.test/documents", "value": "d1" }, "type": "document",
          "timestamp": "2024-05-01T10:00:00Z",
          "entry": [
            { "fullUrl": "{{Uuid1}}",
              "resource": { "resourceType": "Composition", {{Narrative}} "status": "final", "type": { "text": "Recovery summary" },
                            "subject": { "reference": "{{subjectReference}}" }, "date": "2024-05-01", "author": [ { "reference": "{{Uuid2}}" } ],
                            "title": "Recovery summary" } },
            { "fullUrl": "{{Uuid2}}", "resource": { "resourceType": "Patient", {{Narrative}} "active": true } } ] }
        """);

    [Fact]
    public void A_document_whose_references_all_resolve_inside_it_is_valid() => Document(Uuid2).HasNoErrors();

    [Fact]
    public void A_document_with_a_reference_that_does_not_resolve_inside_it_is_an_error_at_the_reference()
    {
        var result = Document("urn:uuid:2a0c4f4e-6f0b-4d3e-9d5c-1f1e5a7b8c99");

        result.HasError(IssueType.NotFound, "Bundle.entry[0].resource.subject", IssueKind.Profile, "Can't find");
    }

    [Fact]
    public void A_document_with_a_relative_reference_to_a_resource_it_does_not_contain_is_an_error()
    {
        var result = Document("Patient/elsewhere");

        result.HasError(IssueType.NotFound, "Bundle.entry[0].resource.subject", IssueKind.Profile, "'Patient/elsewhere'");
    }
}
