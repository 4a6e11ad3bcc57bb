using FhirRecovery.Conformance.Validation;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>The Bundle rules no invariant states (fullUrl identity, unique links, search results) and unique element ids.</summary>
public sealed class BundleRuleTests
{
    private const string Narrative = """ "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }, """;

    private static string Patient(string? id = "p1") => id is null
        ? $$"""{ "resourceType": "Patient", {{Narrative}} "active": true }"""
        : $$"""{ "resourceType": "Patient", "id": "{{id}}", {{Narrative}} "active": true }""";

    private static ValidationResult Bundle(string type, string entries, string extra = "") =>
        Validate.Json($$"""{ "resourceType": "Bundle", "type": "{{type}}", {{extra}} "entry": [ {{entries}} ] }""");

    [Fact]
    public void A_collection_whose_entries_have_matching_absolute_fullUrls_is_valid() =>
        Bundle("collection", $$"""
            { "fullUrl": "http://acme.test/fhir/Patient/p1", "resource": {{Patient()}} },
            { "fullUrl": "urn:uuid:2a0c4f4e-6f0b-4d3e-9d5c-1f1e5a7b8c01", "resource": {{Patient(null)}} }
            """).HasNoIssues();

    [Fact]
    public void An_entry_without_fullUrl_outside_transactions_and_batches_is_an_error_at_the_entry()
    {
        var result = Bundle("collection", $$"""{ "resource": {{Patient()}} }""");

        result.HasError(IssueType.Invalid, "Bundle.entry[0]", IssueKind.Profile, "must have a fullUrl");
    }

    [Theory]
    [InlineData("transaction")]
    [InlineData("batch")]
    public void An_entry_without_fullUrl_in_a_transaction_or_batch_is_valid(string type)
    {
        var result = Bundle(type, $$"""{ "resource": {{Patient(null)}}, "request": { "method": "POST", "url": "Patient" } }""");

        result.HasNoIssues();
    }

    [Fact]
    public void A_relative_fullUrl_is_an_error()
    {
        var result = Bundle("collection", $$"""{ "fullUrl": "Patient/p1", "resource": {{Patient()}} }""");

        result.HasError(IssueType.Invalid, "Bundle.entry[0]", IssueKind.Profile, "must be an absolute URL");
    }

    [Theory]
    [InlineData("http://acme.test/fhir/Patient/p2")]
    [InlineData("http://acme.test/fhir/Observation/p1")]
    public void A_RESTful_fullUrl_not_ending_in_the_resources_type_and_id_is_an_error(string fullUrl)
    {
        var result = Bundle("collection", $$"""{ "fullUrl": "{{fullUrl}}", "resource": {{Patient()}} }""");

        result.HasError(IssueType.Invalid, "Bundle.entry[0]", IssueKind.Profile, "must end with the resource's type and id (/Patient/p1)");
    }

    [Fact]
    public void A_RESTful_fullUrl_for_a_resource_without_id_is_an_error()
    {
        var result = Bundle("collection", $$"""{ "fullUrl": "http://acme.test/fhir/Patient/p1", "resource": {{Patient(null)}} }""");

        result.HasError(IssueType.Invalid, "Bundle.entry[0]", IssueKind.Profile, "the resource has no id");
    }

    [Fact]
    public void A_search_result_without_id_is_an_error_at_the_resource()
    {
        var result = Bundle("searchset", $$"""{ "fullUrl": "urn:uuid:2a0c4f4e-6f0b-4d3e-9d5c-1f1e5a7b8c01", "resource": {{Patient(null)}}, "search": { "mode": "match" } }""");

        result.HasError(IssueType.Invalid, "Bundle.entry[0].resource", IssueKind.Profile, "Search results must have ids");
    }

    [Fact]
    public void Search_results_with_ids_and_an_OperationOutcome_without_id_are_valid()
    {
        var result = Bundle("searchset", $$"""
            { "fullUrl": "http://acme.test/fhir/Patient/p1", "resource": {{Patient()}}, "search": { "mode": "match" } },
            { "fullUrl": "urn:uuid:2a0c4f4e-6f0b-4d3e-9d5c-1f1e5a7b8c01",
              "resource": { "resourceType": "OperationOutcome", {{Narrative}} "issue": [ { "severity": "warning", "code": "informational" } ] },
              "search": { "mode": "outcome" } }
            """, """ "total": 1, """);

        result.HasNoIssues();
    }

    [Fact]
    public void A_second_self_link_is_an_error_at_that_link()
    {
        var result = Bundle("searchset", $$"""{ "fullUrl": "http://acme.test/fhir/Patient/p1", "resource": {{Patient()}} }""", """
            "link": [ { "relation": "self", "url": "http://acme.test/fhir/Patient?a=1" }, { "relation": "next", "url": "http://acme.test/fhir/Patient?page=2" },
                      { "relation": "self", "url": "http://acme.test/fhir/Patient?a=2" } ],
            """);

        result.HasError(IssueType.Invalid, "Bundle.link[2]", IssueKind.Profile, "'self' can only occur once");
        result.HasNoErrorsAt("Bundle.link[1]");
    }

    [Fact]
    public void Two_entries_with_the_same_fullUrl_break_bdl_7()
    {
        var result = Bundle("collection", $$"""
            { "fullUrl": "http://acme.test/fhir/Patient/p1", "resource": {{Patient()}} },
            { "fullUrl": "http://acme.test/fhir/Patient/p1", "resource": {{Patient()}} }
            """);

        result.HasError(IssueType.Invariant, "Bundle", IssueKind.Profile, "bdl-7");
    }

    [Fact]
    public void Two_elements_with_the_same_id_in_one_resource_are_an_error_at_the_second()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}} "name": [ { "id": "n1", "family": "Dahl" } ], "telecom": [ { "id": "n1", "system": "phone", "value": "1" } ] }
            """);

        result.HasError(IssueType.Invalid, "Patient.telecom[0]", IssueKind.Profile, "Duplicate id value 'n1'");
        Assert.Single(result.Issues, i => i.Message.Contains("Duplicate id", StringComparison.Ordinal));
    }

    [Fact]
    public void The_same_element_id_in_two_resources_of_a_Bundle_is_valid()
    {
        var patient = $$"""{ "resourceType": "Patient", "id": "ID", {{Narrative}} "name": [ { "id": "n1", "family": "Dahl" } ] }""";
        var result = Bundle("collection", $$"""
            { "fullUrl": "http://acme.test/fhir/Patient/ID", "resource": {{patient}} },
            { "fullUrl": "http://other.test/fhir/Patient/ID", "resource": {{patient}} }
            """);

        result.HasNoIssueMentioning("Duplicate id");
    }

    [Fact]
    public void Distinct_element_ids_across_a_container_and_its_contained_resource_are_valid()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}} "name": [ { "id": "n1", "family": "Dahl" } ],
              "contained": [ { "resourceType": "Organization", "id": "gp", "name": "x", "telecom": [ { "id": "t1", "system": "phone", "value": "1" } ] } ],
              "generalPractitioner": [ { "id": "t2", "reference": "#gp" } ] }
            """);

        result.HasNoIssueMentioning("Duplicate id");
    }
}
