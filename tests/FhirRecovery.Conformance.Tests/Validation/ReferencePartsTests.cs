using FhirRecovery.Conformance.Validation;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>How literal references are taken apart for resolution within a Bundle and for target-type checks.</summary>
public sealed class ReferencePartsTests
{
    [Theory]
    [InlineData("Patient/1", null, "Patient", "1", null)]
    [InlineData("Patient/1/_history/2", null, "Patient", "1", "2")]
    [InlineData("http://x/fhir/Patient/1", "http://x/fhir", "Patient", "1", null)]
    [InlineData("http://x/fhir/Patient/1/_history/2", "http://x/fhir", "Patient", "1", "2")]
    [InlineData("http://x/Patient/1?_format=json", "http://x", "Patient", "1", null)]
    [InlineData("a/Patient/1/_history/2", "a", "Patient", "1", "2")]
    public void A_literal_reference_yields_its_base_type_id_and_version(string reference, string? @base, string type, string id, string? version) =>
        Assert.Equal(new ReferenceParts(@base, type, id, version), ReferenceParts.Parse(reference));

    [Theory]
    [InlineData("#contained")]
    [InlineData("urn:uuid:8a5b2c4e-0000-4000-8000-000000000001")]
    [InlineData("patient/1")]
    [InlineData("Patient/")]
    [InlineData("Patient//1")]
    [InlineData("1")]
    [InlineData("_history/2")]
    [InlineData("")]
    public void References_that_are_not_type_and_id_yield_nothing(string reference) =>
        Assert.Equal(default, ReferenceParts.Parse(reference));

    [Fact]
    public void The_base_of_a_RESTful_full_url_is_the_service_base() =>
        Assert.Equal("http://x/fhir", ReferenceParts.BaseOf("http://x/fhir/Goal/g1"));
}
