using FhirRecovery.Conformance.Terminology;
using static FhirRecovery.Conformance.Tests.Terminology.TerminologyFixture;

namespace FhirRecovery.Conformance.Tests.Terminology;

/// <summary>Code systems decided by syntax (CodeSystem-level validate-code), and the ISO tables.</summary>
public class GrammarSystemTests
{
    private static TerminologyService Tx => Service;

    [Theory]
    [InlineData("en")]
    [InlineData("en-US")]
    [InlineData("EN-us")]
    [InlineData("zh-Hant-TW")]
    [InlineData("sr-Latn-RS")]
    [InlineData("es-419")]
    [InlineData("de-CH-1901")]
    [InlineData("sl-rozaj-biske")]
    [InlineData("en-US-u-ca-gregory")]
    [InlineData("fr-x-private")]
    [InlineData("x-whatever")]
    [InlineData("i-klingon")]
    [InlineData("haw")]
    [InlineData("zh-yue")]
    [InlineData("qaa")]
    public void Well_formed_language_tags_are_valid(string tag)
    {
        Assert.Equal(CodeValidity.Valid, Tx.CodeSystemValidateCode("urn:ietf:bcp:47", tag).Outcome);
    }

    [Theory]
    [InlineData("")]
    [InlineData("english")]
    [InlineData("xx")]
    [InlineData("eng")] // BCP 47 uses "en"
    [InlineData("en-YY")]
    [InlineData("en-US-")]
    [InlineData("en_US")]
    [InlineData("en-Abcd")]
    [InlineData("en-840")] // countries use their alpha-2 code
    [InlineData("de-1901-1901")]
    [InlineData("en-u")]
    [InlineData("en-x")]
    public void Malformed_or_unregistered_language_tags_are_invalid(string tag)
    {
        var result = Tx.CodeSystemValidateCode("urn:ietf:bcp:47", tag);
        Assert.Equal(CodeValidity.Invalid, result.Outcome);
        Assert.NotNull(result.Message);
    }

    [Fact]
    public void Language_tags_get_a_display_from_the_ISO_names()
    {
        Assert.Equal("English (United States)", Tx.Lookup("urn:ietf:bcp:47", "en-US").Display);
        Assert.Equal("Dutch", Tx.CodeSystemValidateCode("urn:ietf:bcp:47", "nl").Display);
    }

    [Theory]
    [InlineData("application/fhir+json")]
    [InlineData("application/fhir+xml;fhirVersion=4.0")]
    [InlineData("text/plain; charset=UTF-8")]
    [InlineData("multipart/form-data; boundary=\"a b;c\"")]
    [InlineData("image/svg+xml")]
    [InlineData("application/vnd.ms-excel")]
    [InlineData("TEXT/HTML")]
    public void Well_formed_media_types_are_valid(string code)
    {
        Assert.Equal(CodeValidity.Valid, Tx.CodeSystemValidateCode("urn:ietf:bcp:13", code).Outcome);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("text/")]
    [InlineData("/plain")]
    [InlineData("bogus/plain")]
    [InlineData("text/plain;")]
    [InlineData("text/plain; charset")]
    [InlineData("text/pl ain")]
    [InlineData("text/plain; a=\"open")]
    public void Malformed_media_types_are_invalid(string code)
    {
        Assert.Equal(CodeValidity.Invalid, Tx.CodeSystemValidateCode("urn:ietf:bcp:13", code).Outcome);
    }

    [Theory]
    [InlineData("mg")]
    [InlineData("mg/dL")]
    [InlineData("kg/m2")]
    [InlineData("mm[Hg]")]
    [InlineData("/min")]
    [InlineData("%")]
    [InlineData("{beats}/min")]
    [InlineData("{score}")]
    [InlineData("10*3/uL")]
    [InlineData("10*-3")]
    [InlineData("1")]
    [InlineData("[in_i]")]
    [InlineData("Cel")]
    [InlineData("mL/(24.h)")]
    [InlineData("g.m-2")]
    [InlineData("ug/kg/min")]
    [InlineData("[IU]/L")]
    [InlineData("m[H2O]")]
    [InlineData("B[10.nV]")]
    [InlineData("dB")]
    [InlineData("mmol/mol")]
    [InlineData("ng/mL{FEU}")]
    [InlineData("cal_[15]")]
    [InlineData("daL")]
    [InlineData("{# of calculi}")] // spaces in annotations, as UCUM's common-units table has them
    [InlineData("g/(8.h){shift}")]
    public void Valid_UCUM_units_are_valid(string unit)
    {
        Assert.Equal(CodeValidity.Valid, Tx.CodeSystemValidateCode("http://unitsofmeasure.org", unit).Outcome);
    }

    [Theory]
    [InlineData("")]
    [InlineData("foo")]
    [InlineData("mg/")]
    [InlineData("mg//dL")]
    [InlineData("kg m")]
    [InlineData("Kg")] // case matters in UCUM
    [InlineData("(mg")]
    [InlineData("{}")]
    [InlineData("{abc")]
    [InlineData("k[in_i]")] // prefixes only apply to metric units
    [InlineData("mg.")]
    [InlineData("[foo]")]
    public void Invalid_UCUM_units_are_invalid(string unit)
    {
        var result = Tx.CodeSystemValidateCode("http://unitsofmeasure.org", unit);
        Assert.Equal(CodeValidity.Invalid, result.Outcome);
        Assert.NotNull(result.Message);
    }

    [Theory]
    [InlineData("urn:iso:std:iso:4217", "USD", CodeValidity.Valid)]
    [InlineData("urn:iso:std:iso:4217", "XAU", CodeValidity.Valid)]
    [InlineData("urn:iso:std:iso:4217", "usd", CodeValidity.Invalid)]
    [InlineData("urn:iso:std:iso:4217", "ABC", CodeValidity.Invalid)]
    [InlineData("urn:iso:std:iso:3166", "BE", CodeValidity.Valid)]
    [InlineData("urn:iso:std:iso:3166", "BEL", CodeValidity.Valid)]
    [InlineData("urn:iso:std:iso:3166", "056", CodeValidity.Valid)]
    [InlineData("urn:iso:std:iso:3166", "UK", CodeValidity.Invalid)]
    [InlineData("urn:ietf:rfc:3986", "http://example.org/a", CodeValidity.Valid)]
    [InlineData("urn:ietf:rfc:3986", "not a uri", CodeValidity.Invalid)]
    public void ISO_tables_and_URIs_are_decided_locally(string system, string code, CodeValidity expected)
    {
        Assert.Equal(expected, Tx.CodeSystemValidateCode(system, code).Outcome);
    }

    [Theory]
    [InlineData(Snomed, "38341003")]
    [InlineData(Loinc, "8867-4")]
    [InlineData("http://www.nlm.nih.gov/research/umls/rxnorm", "1049502")]
    [InlineData("http://hl7.org/fhir/sid/icd-10", "I10")]
    [InlineData("http://hl7.org/fhir/sid/ndc", "0002-1433-80")]
    [InlineData("http://example.org/never-heard-of", "x")]
    public void Systems_without_local_content_are_unknown(string system, string code)
    {
        var result = Tx.CodeSystemValidateCode(system, code);

        Assert.Equal(CodeValidity.Unknown, result.Outcome);
        Assert.Equal(system, result.UnknownSystem);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Grammar_systems_cannot_be_enumerated()
    {
        var ex = Assert.Throws<TerminologyException>(() => Tx.Expand("http://hl7.org/fhir/ValueSet/mimetypes"));
        Assert.Equal(Hl7.Fhir.Model.OperationOutcome.IssueType.TooCostly, ex.IssueType);
    }

    [Fact]
    public void A_value_set_of_a_grammar_system_minus_listed_codes_excludes_just_those()
    {
        var vs = Vs("mime-but-not-json");
        Assert.True(Tx.ValueSetValidateCode(vs, "urn:ietf:bcp:13", "application/xml").IsValid);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(vs, "urn:ietf:bcp:13", "application/json").Outcome);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(vs, "urn:ietf:bcp:13", "nonsense").Outcome);
    }

    [Fact]
    public void Filters_on_grammar_systems_leave_well_formed_codes_unknown_and_malformed_ones_invalid()
    {
        var vs = Vs("ucum-filtered");
        Assert.Equal(CodeValidity.Unknown, Tx.ValueSetValidateCode(vs, "http://unitsofmeasure.org", "kg").Outcome);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(vs, "http://unitsofmeasure.org", "kg//").Outcome);
    }
}
