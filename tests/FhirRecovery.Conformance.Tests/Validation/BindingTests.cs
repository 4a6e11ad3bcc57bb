using FhirRecovery.Conformance.Validation;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>
/// Bindings checked with the local terminology: required → error, extensible → warning, preferred and example →
/// nothing; codes of SNOMED CT and LOINC (no content here) cannot be decided, which is not an error.
/// </summary>
public sealed class BindingTests
{
    private const string LifeDomain = "https://fhirrecovery.org/fhir/CodeSystem/life-domain";
    private const string Chime = "https://fhirrecovery.org/fhir/CodeSystem/chime-process";
    private const string Narrative = """ "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }, """;

    private static string Concept(string system, string code, string? display = null) =>
        display is null
            ? $$"""{ "coding": [ { "system": "{{system}}", "code": "{{code}}" } ] }"""
            : $$"""{ "coding": [ { "system": "{{system}}", "code": "{{code}}", "display": "{{display}}" } ] }""";

    /// <summary>An Observation under test-bindings; every element not given is valid for its binding.</summary>
    private static ValidationResult Observation(string? category = null, string? code = null, string? method = null, string? interpretation = null,
        string? bodySite = null, string? dataAbsentReason = null)
    {
        var json = $$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final",
              "category": [ {{category ?? Concept(LifeDomain, "work")}} ],
              "code": {{code ?? Concept("http://loinc.org", "29463-7")}}
              {{(method is null ? "" : $", \"method\": {method}")}}
              {{(interpretation is null ? "" : $", \"interpretation\": [ {interpretation} ]")}}
              {{(bodySite is null ? "" : $", \"bodySite\": {bodySite}")}}
              {{(dataAbsentReason is null ? "" : $", \"dataAbsentReason\": {dataAbsentReason}")}} }
            """;
        return Validate.Profiled(json, TestProfiles.Bindings);
    }

    [Fact]
    public void A_code_in_a_required_value_set_is_valid()
    {
        var result = Observation(category: Concept(LifeDomain, "housing"));

        Assert.DoesNotContain(result.Issues, i => i.Expression?.StartsWith("Observation.category", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void A_CodeableConcept_outside_a_required_value_set_is_an_error_at_the_element()
    {
        var result = Observation(category: Concept(LifeDomain, "not-a-domain"));

        var issue = result.HasError(IssueType.CodeInvalid, "Observation.category[0]", IssueKind.Profile, "binding required");
        Assert.Contains("life-domain", issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_CodeableConcept_with_one_coding_in_a_required_value_set_among_others_is_valid()
    {
        var result = Observation(category: $$"""
            { "coding": [ { "system": "http://acme.test/local", "code": "w" }, { "system": "{{LifeDomain}}", "code": "work" } ] }
            """);

        result.HasNoErrorsAt("Observation.category");
    }

    [Fact]
    public void A_CodeableConcept_with_only_text_for_a_required_binding_is_an_error()
    {
        var result = Observation(category: """{ "text": "work" }""");

        result.HasError(IssueType.CodeInvalid, "Observation.category[0]", IssueKind.Profile, "No code provided");
    }

    [Fact]
    public void A_code_of_a_required_core_binding_is_checked()
    {
        Validate.Json($$"""{ "resourceType": "Patient", {{Narrative}} "gender": "female" }""").HasNoIssues();

        var result = Validate.Json($$"""{ "resourceType": "Patient", {{Narrative}} "gender": "mail" }""");

        result.HasError(IssueType.CodeInvalid, "Patient.gender", IssueKind.Profile, "administrative-gender");
    }

    [Fact]
    public void A_Coding_outside_a_required_value_set_is_an_error_and_one_inside_is_valid()
    {
        static ValidationResult Encounter(string code) => Validate.Profiled($$"""
            { "resourceType": "Encounter", {{Narrative}} "status": "finished", "class": { "system": "{{LifeDomain}}", "code": "{{code}}" } }
            """, TestProfiles.CodingBinding);

        Encounter("work").HasNoIssues();
        Encounter("bogus").HasError(IssueType.CodeInvalid, "Encounter.class", IssueKind.Profile, "binding required");
    }

    [Fact]
    public void A_code_outside_an_extensible_value_set_is_a_warning_not_an_error()
    {
        var result = Observation(method: Concept(Chime, "not-a-process"));

        result.HasIssue(IssueSeverity.Warning, IssueType.CodeInvalid, "Observation.method", IssueKind.Profile, "binding extensible");
        result.HasNoErrors();
    }

    [Fact]
    public void A_code_inside_an_extensible_value_set_has_no_issue()
    {
        var result = Observation(method: Concept(Chime, "hope-and-optimism"));

        Assert.DoesNotContain(result.Issues, i => i.Expression == "Observation.method");
    }

    [Fact]
    public void Codes_outside_preferred_and_example_value_sets_are_not_reported()
    {
        var result = Observation(interpretation: Concept("http://acme.test/local", "x"), dataAbsentReason: Concept("http://acme.test/local", "y"));

        Assert.DoesNotContain(result.Issues, i => i.Expression?.StartsWith("Observation.interpretation", StringComparison.Ordinal) == true
                                                 || i.Expression?.StartsWith("Observation.dataAbsentReason", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void A_LOINC_code_bound_to_a_LOINC_value_set_is_not_an_error_though_it_cannot_be_checked_locally()
    {
        var result = Observation(code: Concept("http://loinc.org", "8302-2"));

        result.HasNoErrors();
        Assert.All(result.Issues.Where(i => i.Expression == "Observation.code"), i => Assert.Equal(IssueSeverity.Information, i.Severity));
    }

    [Fact]
    public void A_SNOMED_CT_code_bound_to_a_SNOMED_CT_value_set_is_not_an_error_though_it_cannot_be_checked_locally()
    {
        var result = Observation(bodySite: Concept("http://snomed.info/sct", "368209003", "Right arm"));

        result.HasNoErrors();
    }

    [Fact]
    public void A_code_from_an_unrelated_system_for_a_required_SNOMED_CT_value_set_is_an_error()
    {
        var result = Observation(bodySite: Concept("http://acme.test/local", "arm"));

        result.HasError(IssueType.CodeInvalid, "Observation.bodySite", IssueKind.Profile);
    }

    [Fact]
    public void A_wrong_display_is_a_warning()
    {
        var result = Observation(category: Concept(LifeDomain, "work", "Gardening"));

        result.HasIssue(IssueSeverity.Warning, IssueType.CodeInvalid, "Observation.category[0]", IssueKind.Profile, "Work and employment");
        result.HasNoErrors();
    }

    [Fact]
    public void The_right_display_has_no_issue()
    {
        var result = Observation(category: Concept(LifeDomain, "work", "Work and employment"));

        Assert.DoesNotContain(result.Issues, i => i.Expression?.StartsWith("Observation.category", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void A_Coding_system_that_is_a_value_set_canonical_is_an_error()
    {
        var result = Observation(method: Concept("https://fhirrecovery.org/fhir/ValueSet/chime-process", "connectedness"));

        result.HasError(IssueType.Invalid, "Observation.method.coding[0]", IssueKind.Profile, "references a value set");
    }

    [Fact]
    public void A_relative_Coding_system_is_an_error()
    {
        var result = Observation(interpretation: Concept("local-codes", "x"));

        result.HasError(IssueType.Invalid, "Observation.interpretation[0].coding[0]", IssueKind.Profile, "absolute reference");
    }
}
