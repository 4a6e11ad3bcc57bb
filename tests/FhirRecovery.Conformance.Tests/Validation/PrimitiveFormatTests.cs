using FhirRecovery.Conformance.Validation;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>
/// The lexical rules of the R4 primitive types, checked through Parameters.parameter.value[x] (which takes every type):
/// a wrong format is a Structure error with code value at the element; ranges and lengths set by profiles are Profile errors.
/// </summary>
public sealed class PrimitiveFormatTests
{
    private static ValidationResult Parameter(string type, string jsonValue) =>
        Validate.Json($$"""{ "resourceType": "Parameters", "parameter": [ { "name": "p", "value{{type}}": {{jsonValue}} } ] }""");

    private static void Valid(string type, string jsonValue) => Parameter(type, jsonValue).HasNoIssues();

    private static ValidationIssue Invalid(string type, string jsonValue, string? message = null) =>
        Parameter(type, jsonValue).HasError(IssueType.Value, $"Parameters.parameter[0].value{type}", IssueKind.Structure, message);

    [Theory]
    [InlineData("\"2023\"")]
    [InlineData("\"2023-02\"")]
    [InlineData("\"2023-02-28\"")]
    [InlineData("\"2024-02-29\"")]
    public void Dates_of_year_month_or_day_precision_are_valid(string value) => Valid("Date", value);

    [Theory]
    [InlineData("\"2023-02-30\"", "has no day 30")]
    [InlineData("\"2023-02-29\"", "has no day 29")]
    [InlineData("\"2023-04-31\"", "has no day 31")]
    [InlineData("\"2023-13\"", "not a valid date")]
    [InlineData("\"2023-1-5\"", "not a valid date")]
    [InlineData("\"0000\"", "not a valid date")]
    [InlineData("\"2023-02-01T10:00:00Z\"", "not a valid date")]
    [InlineData("\"23-02-01\"", "not a valid date")]
    public void Impossible_or_malformed_dates_are_invalid(string value, string message) => Invalid("Date", value, message);

    [Theory]
    [InlineData("\"2023\"")]
    [InlineData("\"2023-02-28\"")]
    [InlineData("\"2023-02-28T10:15:00Z\"")]
    [InlineData("\"2023-02-28T10:15:00.123+02:00\"")]
    [InlineData("\"2023-02-28T23:59:60-05:00\"")]
    [InlineData("\"2023-02-28T10:15:00+14:00\"")]
    public void DateTimes_with_a_time_carry_a_zone(string value) => Valid("DateTime", value);

    [Theory]
    [InlineData("\"2023-02-28T10:15:00\"")]
    [InlineData("\"2023-02-28T10:15Z\"")]
    [InlineData("\"2023-02-28T24:00:00Z\"")]
    [InlineData("\"2023-02-28T10:15:00+15:00\"")]
    [InlineData("\"2023-02-28T10:15:00+14:30\"")]
    [InlineData("\"2023-02-28T10:15:00+0200\"")]
    [InlineData("\"2023-02-28T10:15:00.Z\"")]
    [InlineData("\"2023-02-28 10:15:00Z\"")]
    [InlineData("\"2023-02-30T10:15:00Z\"")]
    public void DateTimes_without_zone_with_impossible_times_or_zones_are_invalid(string value) => Invalid("DateTime", value);

    [Fact]
    public void An_instant_needs_seconds_and_a_zone()
    {
        Valid("Instant", "\"2023-02-28T10:15:00.000Z\"");
        Invalid("Instant", "\"2023-02-28\"", "not a valid instant");
        Invalid("Instant", "\"2023-02-28T10:15:00\"", "not a valid instant");
        Invalid("Instant", "\"2023-02-29T10:15:00Z\"", "has no day 29");
    }

    [Fact]
    public void A_time_is_hours_minutes_and_seconds_without_zone()
    {
        Valid("Time", "\"10:15:00\"");
        Valid("Time", "\"23:59:59.5\"");
        Invalid("Time", "\"10:15\"", "not a valid time");
        Invalid("Time", "\"25:00:00\"", "not a valid time");
        Invalid("Time", "\"10:15:00Z\"", "not a valid time");
    }

    [Fact]
    public void Integers_are_32_bit()
    {
        Valid("Integer", "2147483647");
        Valid("Integer", "-2147483648");
        Invalid("Integer", "2147483648", "outside the 32-bit range");
        Invalid("Integer", "-2147483649", "outside the 32-bit range");
        Invalid("Integer", "1.5", "not a valid integer");
    }

    [Fact]
    public void A_positiveInt_starts_at_one_and_an_unsignedInt_at_zero()
    {
        Valid("PositiveInt", "1");
        Invalid("PositiveInt", "0", "not a valid positiveInt");
        Invalid("PositiveInt", "-3", "not a valid positiveInt");
        Valid("UnsignedInt", "0");
        Invalid("UnsignedInt", "-1", "not a valid unsignedInt");
        Invalid("UnsignedInt", "4294967295", "outside the 32-bit range");
    }

    [Fact]
    public void Decimals_follow_the_FHIR_grammar()
    {
        Valid("Decimal", "0.0");
        Valid("Decimal", "-12.500");
        Valid("Decimal", "1.5e3");

        var xml = Validate.Xml("""
            <Parameters xmlns="http://hl7.org/fhir"><parameter><name value="p"/><valueDecimal value="1.5.2"/></parameter></Parameters>
            """);
        xml.HasError(IssueType.Value, "Parameters.parameter[0].valueDecimal", IssueKind.Structure, "not a valid decimal");
    }

    [Fact]
    public void An_id_is_at_most_64_characters_of_letters_digits_dash_and_dot()
    {
        Valid("Id", $"\"{new string('a', 64)}\"");
        Invalid("Id", $"\"{new string('a', 65)}\"", "not a valid id");
        Invalid("Id", "\"a_b\"", "not a valid id");
    }

    [Fact]
    public void A_resource_id_of_65_characters_is_reported_at_Resource_id()
    {
        var result = Validate.Json($$"""{ "resourceType": "Parameters", "id": "{{new string('x', 65)}}" }""");

        result.HasError(IssueType.Value, "Parameters.id", IssueKind.Structure, "not a valid id");
    }

    [Fact]
    public void A_code_has_no_leading_trailing_or_repeated_whitespace()
    {
        Valid("Code", "\"two words\"");
        Invalid("Code", "\" lead\"", "not valid");
        Invalid("Code", "\"trail \"", "not valid");
        Invalid("Code", "\"two  spaces\"", "not valid");
        Invalid("Code", "\"tab\\tinside\"", "not valid");
    }

    [Fact]
    public void A_uri_must_not_contain_whitespace()
    {
        Valid("Uri", "\"http://acme.test/a/b\"");
        Valid("Uri", "\"urn:isbn:0451450523\"");
        Invalid("Uri", "\"http://acme.test/a b\"", "must not contain whitespace");
        Invalid("Url", "\"http://acme.test/a b\"", "must not contain whitespace");
        Invalid("Canonical", "\"http://acme.test/a b\"", "must not contain whitespace");
    }

    [Fact]
    public void Oids_and_uuids_have_their_urn_forms()
    {
        Valid("Oid", "\"urn:oid:2.16.840.1.113883\"");
        Invalid("Oid", "\"2.16.840.1.113883\"", "not a valid oid");
        Invalid("Oid", "\"urn:oid:2.16.08\"", "not a valid oid");
        Valid("Uuid", "\"urn:uuid:c757873d-ec9a-4326-a141-556f43239520\"");
        Invalid("Uuid", "\"urn:uuid:C757873D-EC9A-4326-A141-556F43239520\"", "not a valid uuid");
        Invalid("Uuid", "\"c757873d-ec9a-4326-a141-556f43239520\"", "not a valid uuid");
        Invalid("Uri", "\"urn:uuid:not-a-uuid\"", "not a valid UUID");
        Invalid("Uri", "\"urn:oid:1.02\"", "not a valid OID");
    }

    [Fact]
    public void Base64_content_is_groups_of_four_with_at_most_two_pads()
    {
        Valid("Base64Binary", "\"SGVsbG8=\"");
        Valid("Base64Binary", "\"SGVs bG8=\"");
        Invalid("Base64Binary", "\"SGVsbG8\"", "not valid base64");
        Invalid("Base64Binary", "\"SGV*bG8=\"", "not valid base64");
        Invalid("Base64Binary", "\"S===\"", "not valid base64");
    }

    [Fact]
    public void Strings_allow_tab_and_newlines_but_no_other_control_characters_and_no_blank_content()
    {
        Valid("String", "\"line one\\nline two\\tend\"");
        Invalid("String", "\"bell\\u0007\"", "control character U+0007");
        Invalid("String", "\"   \"", "non-whitespace");
        Invalid("Markdown", "\"nul\\u0000\"", "control character U+0000");
    }

    [Fact]
    public void A_boolean_in_XML_is_true_or_false_only()
    {
        var result = Validate.Xml("""
            <Parameters xmlns="http://hl7.org/fhir"><parameter><name value="p"/><valueBoolean value="TRUE"/></parameter></Parameters>
            """);

        result.HasError(IssueType.Value, "Parameters.parameter[0].valueBoolean", IssueKind.Structure, "not a boolean");
    }

    // Lengths and ranges a profile sets are Profile errors (422): the value is well-formed but breaks the profile's rule.

    private const string Narrative = """ "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }, """;

    [Theory]
    [InlineData("Solberg")]
    [InlineData("Ab")]
    [InlineData("Abcdefghij")]
    public void A_string_within_maxLength_and_minLength_is_valid(string family) =>
        Validate.Profiled($$"""{ "resourceType": "Patient", {{Narrative}} "name": [ { "family": "{{family}}" } ] }""", TestProfiles.PatientLengths)
            .HasNoIssues();

    [Fact]
    public void A_string_longer_than_maxLength_is_a_profile_error()
    {
        var result = Validate.Profiled($$"""{ "resourceType": "Patient", {{Narrative}} "name": [ { "family": "Abcdefghijk" } ] }""", TestProfiles.PatientLengths);

        result.HasError(IssueType.Value, "Patient.name[0].family", IssueKind.Profile, "allows at most 10");
    }

    [Fact]
    public void A_string_shorter_than_the_minLength_extension_is_a_profile_error()
    {
        var result = Validate.Profiled($$"""{ "resourceType": "Patient", {{Narrative}} "name": [ { "family": "A" } ] }""", TestProfiles.PatientLengths);

        result.HasError(IssueType.Value, "Patient.name[0].family", IssueKind.Profile, "requires at least 2");
    }

    private static ValidationResult IntegerObservation(int value) =>
        Validate.Profiled($$"""{ "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "score" }, "valueInteger": {{value}} }""",
            TestProfiles.IntegerRange);

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    public void An_integer_at_its_bounds_is_valid(int value) => IntegerObservation(value).HasNoIssues();

    [Fact]
    public void An_integer_above_maxValue_or_below_minValue_is_a_profile_error()
    {
        IntegerObservation(11).HasError(IssueType.Value, "Observation.valueInteger", IssueKind.Profile, "above the maximum");
        IntegerObservation(-1).HasError(IssueType.Value, "Observation.valueInteger", IssueKind.Profile, "below the minimum");
    }

    private static ValidationResult Weight(string value, string code) =>
        Validate.Profiled($$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "weight" },
              "valueQuantity": { "value": {{value}}, "system": "http://unitsofmeasure.org", "code": "{{code}}" } }
            """, TestProfiles.QuantityRange);

    [Theory]
    [InlineData("1500", "g")]
    [InlineData("2000", "g")]
    [InlineData("1.5", "kg")]
    [InlineData("0.5", "kg")]
    public void A_quantity_within_its_range_is_valid_whatever_the_comparable_unit(string value, string code) => Weight(value, code).HasNoIssues();

    [Fact]
    public void A_quantity_above_maxValue_is_an_error_after_unit_conversion()
    {
        Weight("2500", "g").HasError(IssueType.Value, "Observation.valueQuantity", IssueKind.Profile, "greater than the maximum");
    }

    [Fact]
    public void A_quantity_below_minValue_is_an_error_after_unit_conversion()
    {
        Weight("0.4", "kg").HasError(IssueType.Value, "Observation.valueQuantity", IssueKind.Profile, "less than the minimum");
    }

    private static ValidationResult BirthDate(string date) =>
        Validate.Profiled($$"""{ "resourceType": "Patient", {{Narrative}} "birthDate": "{{date}}" }""", TestProfiles.DateRange);

    [Theory]
    [InlineData("1900-01-01")]
    [InlineData("2030-12-31")]
    [InlineData("1950-06")]
    [InlineData("1975")]
    public void A_date_within_minValue_and_maxValue_is_valid(string date) => BirthDate(date).HasNoIssues();

    [Fact]
    public void A_date_of_the_bounds_precision_outside_them_is_a_profile_error()
    {
        BirthDate("1899-12-31").HasError(IssueType.Value, "Patient.birthDate", IssueKind.Profile, "below the minimum");
        BirthDate("2031-01-01").HasError(IssueType.Value, "Patient.birthDate", IssueKind.Profile, "above the maximum");
    }

    [Fact]
    public void A_date_of_lower_precision_wholly_outside_the_bounds_is_a_profile_error()
    {
        BirthDate("1899").HasError(IssueType.Value, "Patient.birthDate", IssueKind.Profile, "below the minimum");
        BirthDate("2031-01").HasError(IssueType.Value, "Patient.birthDate", IssueKind.Profile, "above the maximum");
    }
}
