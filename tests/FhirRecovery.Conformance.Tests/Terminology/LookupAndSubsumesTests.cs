using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.Model;
using static FhirRecovery.Conformance.Tests.Terminology.TerminologyFixture;

namespace FhirRecovery.Conformance.Tests.Terminology;

public class LookupAndSubsumesTests
{
    private static TerminologyService Tx => Service;

    [Fact]
    public void Lookup_returns_display_definition_designations_and_hierarchy_properties()
    {
        var result = Tx.Lookup(Animals, "animal");

        Assert.Equal("Animals", result.Name);
        Assert.Equal("1.0.0", result.Version);
        Assert.Equal("Animal", result.Display);
        Assert.Equal("A living organism that feeds on organic matter.", result.Definition);
        Assert.True(result.Abstract);
        Assert.False(result.Inactive);
        Assert.Equal(["mammal", "bird"], result.Properties.Where(p => p.Code == "child").Select(p => p.Value?.ToString()));
        Assert.DoesNotContain(result.Properties, p => p.Code == "parent");
    }

    [Fact]
    public void Lookup_includes_parents_from_nesting_and_from_properties_and_the_concept_properties()
    {
        var result = Tx.Lookup(Animals, "penguin");

        Assert.Equal(["bird", "swimmer"], result.Properties.Where(p => p.Code == "parent").Select(p => p.Value?.ToString()));
        Assert.Contains(result.Properties, p => p.Code == "habitat" && p.Value?.ToString() == "sea");
        Assert.Contains(result.Properties, p => p.Code == "inactive" && p.Value is FhirBoolean { Value: false });
    }

    [Fact]
    public void Lookup_reports_inactive_status_and_can_limit_properties()
    {
        var dodo = Tx.Lookup(Animals, "dodo", properties: ["status"]);

        Assert.True(dodo.Inactive);
        var property = Assert.Single(dodo.Properties);
        Assert.Equal("status", property.Code);
        Assert.Equal("retired", property.Value?.ToString());
    }

    [Fact]
    public void Lookup_uses_a_designation_for_the_requested_language()
    {
        Assert.Equal("Hund", Tx.Lookup(Animals, "dog", displayLanguage: "de").Display);
        Assert.Equal("Hond", Tx.Lookup(Animals, "dog", displayLanguage: "nl-BE").Display);
        Assert.Equal(2, Tx.Lookup(Animals, "dog").Designations.Count);
    }

    [Fact]
    public void Lookup_works_on_core_v3_and_grammar_systems()
    {
        var amb = Tx.Lookup("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB");
        Assert.Equal("ambulatory", amb.Display);
        Assert.Contains(amb.Properties, p => p.Code == "parent" && p.Value?.ToString() == "_ActEncounterCode");

        var unit = Tx.Lookup("http://unitsofmeasure.org", "mg/dL");
        Assert.Equal("mg/dL", unit.Display);
    }

    [Fact]
    public void Lookup_of_unknown_codes_and_systems_is_not_found()
    {
        Assert.Equal(OperationOutcome.IssueType.NotFound, Assert.Throws<TerminologyException>(() => Tx.Lookup(Animals, "unicorn")).IssueType);
        Assert.Equal(404, Assert.Throws<TerminologyException>(() => Tx.Lookup("http://example.org/unknown", "x")).StatusCode);
        Assert.Equal(OperationOutcome.IssueType.NotFound, Assert.Throws<TerminologyException>(() => Tx.Lookup(Snomed, "38341003")).IssueType);
        Assert.Equal(OperationOutcome.IssueType.NotFound, Assert.Throws<TerminologyException>(() => Tx.Lookup("urn:ietf:bcp:47", "xx-YY")).IssueType);
    }

    [Theory]
    [InlineData("dog", "dog", SubsumptionOutcome.Equivalent)]
    [InlineData("mammal", "dog", SubsumptionOutcome.Subsumes)]
    [InlineData("animal", "dog", SubsumptionOutcome.Subsumes)]
    [InlineData("dog", "animal", SubsumptionOutcome.SubsumedBy)]
    [InlineData("dog", "cat", SubsumptionOutcome.NotSubsumed)]
    [InlineData("swimmer", "whale", SubsumptionOutcome.Subsumes)] // "child" property
    [InlineData("penguin", "swimmer", SubsumptionOutcome.SubsumedBy)] // "parent" property
    [InlineData("bird", "whale", SubsumptionOutcome.NotSubsumed)]
    public void Subsumes_follows_nesting_and_parent_child_properties(string codeA, string codeB, SubsumptionOutcome expected)
    {
        Assert.Equal(expected, Tx.Subsumes(Animals, codeA, codeB));
    }

    [Fact]
    public void Subsumes_on_core_v3_ActReason()
    {
        const string actReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
        Assert.Equal(SubsumptionOutcome.Subsumes, Tx.Subsumes(actReason, "PurposeOfUse", "ETREAT"));
        Assert.Equal(SubsumptionOutcome.SubsumedBy, Tx.Subsumes(actReason, "ETREAT", "TREAT"));
        Assert.Equal(SubsumptionOutcome.NotSubsumed, Tx.Subsumes(actReason, "HMARKT", "TREAT"));
    }

    [Fact]
    public void Subsumes_with_unknown_codes_or_without_content_fails()
    {
        Assert.Equal(OperationOutcome.IssueType.NotFound, Assert.Throws<TerminologyException>(() => Tx.Subsumes(Animals, "dog", "unicorn")).IssueType);
        Assert.Equal(OperationOutcome.IssueType.NotSupported, Assert.Throws<TerminologyException>(() => Tx.Subsumes(Snomed, "1", "2")).IssueType);
    }
}
