using FhirRecovery.Conformance.Validation;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>fixed[x] (exact) and pattern[x] (at least these parts) values set by a profile: Profile errors with code value.</summary>
public sealed class FixedAndPatternTests
{
    private const string Weight = """{ "system": "http://loinc.org", "code": "29463-7" }""";
    private const string Method = """{ "coding": [ { "system": "http://acme.test/method", "code": "scale" } ] }""";

    private static ValidationResult Observation(string status = "final", string code = $$"""{ "coding": [ {{Weight}} ] }""", string method = Method) =>
        Validate.Profiled($$"""
            { "resourceType": "Observation",
              "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">weight</div>" },
              "status": "{{status}}", "code": {{code}}, "method": {{method}} }
            """, TestProfiles.FixedAndPattern);

    [Fact]
    public void Values_equal_to_the_fixed_values_and_matching_the_pattern_are_valid() => Observation().HasNoIssues();

    [Fact]
    public void A_primitive_other_than_its_fixed_value_is_a_profile_error()
    {
        var result = Observation(status: "preliminary");

        result.HasError(IssueType.Value, "Observation.status", IssueKind.Profile, "fixed value 'final'");
    }

    [Fact]
    public void A_complex_value_with_more_than_its_fixed_value_is_a_profile_error()
    {
        // fixed means exactly: an extra coding or an extra display is a difference.
        var extraCoding = Observation(method: """{ "coding": [ { "system": "http://acme.test/method", "code": "scale" }, { "system": "http://acme.test/other", "code": "x" } ] }""");
        var extraDisplay = Observation(method: """{ "coding": [ { "system": "http://acme.test/method", "code": "scale", "display": "Scale" } ] }""");

        extraCoding.HasError(IssueType.Value, "Observation.method", IssueKind.Profile, "fixed value");
        extraDisplay.HasError(IssueType.Value, "Observation.method", IssueKind.Profile, "fixed value");
    }

    [Fact]
    public void A_CodeableConcept_with_extra_codings_text_and_display_still_matches_a_pattern_naming_one_coding()
    {
        var result = Observation(code: $$"""
            { "coding": [ { "system": "http://acme.test/codes", "code": "w" },
                          { "system": "http://loinc.org", "code": "29463-7", "display": "Body weight" } ],
              "text": "Weight" }
            """);

        result.HasNoIssues();
    }

    [Fact]
    public void A_CodeableConcept_without_the_coding_of_the_pattern_is_a_profile_error()
    {
        var result = Observation(code: """{ "coding": [ { "system": "http://loinc.org", "code": "8302-2" } ] }""");

        result.HasError(IssueType.Value, "Observation.code", IssueKind.Profile, "does not match the pattern");
    }

    [Fact]
    public void A_coding_with_the_pattern_code_in_another_system_does_not_match()
    {
        var result = Observation(code: """{ "coding": [ { "system": "http://acme.test/codes", "code": "29463-7" } ] }""");

        result.HasError(IssueType.Value, "Observation.code", IssueKind.Profile, "does not match the pattern");
    }

    [Fact]
    public void A_pattern_is_not_met_by_the_pattern_parts_spread_over_two_codings()
    {
        var result = Observation(code: """{ "coding": [ { "system": "http://loinc.org", "code": "8302-2" }, { "system": "http://acme.test/codes", "code": "29463-7" } ] }""");

        result.HasError(IssueType.Value, "Observation.code", IssueKind.Profile, "does not match the pattern");
    }

    [Fact]
    public void A_fixed_value_of_an_IG_profile_is_checked()
    {
        // peer-support-referral fixes ServiceRequest.intent; the IG records this invalid example and its error.
        var referral = Validate.Example("ServiceRequest-tom-peer-support-referral.json");
        Validate.Json(referral).HasNoErrors();

        referral["intent"] = "plan";
        var result = Validate.Json(referral);

        result.HasError(IssueType.Value, "ServiceRequest.intent", IssueKind.Profile, "fixed value 'order'");
    }
}
