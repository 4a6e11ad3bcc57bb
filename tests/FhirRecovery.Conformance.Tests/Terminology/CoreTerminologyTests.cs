using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.Model;
using static FhirRecovery.Conformance.Tests.Terminology.TerminologyFixture;

namespace FhirRecovery.Conformance.Tests.Terminology;

/// <summary>Expansion and validation over the real FHIR R4 core value sets and code systems.</summary>
public class CoreTerminologyTests
{
    private const string Gender = "http://hl7.org/fhir/administrative-gender";
    private const string GenderVs = "http://hl7.org/fhir/ValueSet/administrative-gender";
    private const string ActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    private const string ActReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

    private static TerminologyService Tx => Service;

    [Fact]
    public void AdministrativeGender_expands_to_its_four_codes_in_code_system_order()
    {
        var expansion = Tx.Expand(GenderVs);

        Assert.Equal(["male", "female", "other", "unknown"], Codes(expansion));
        Assert.Equal(4, expansion.Expansion!.Total);
        Assert.All(expansion.Expansion!.Contains, c => Assert.Equal(Gender, c.System));
        Assert.Equal("Male", expansion.Expansion!.Contains[0].Display);
        Assert.StartsWith("urn:uuid:", expansion.Expansion!.Identifier);
        Assert.NotNull(expansion.Expansion!.Timestamp);
        Assert.Contains(expansion.Expansion!.Parameter, p => p.Name == "used-codesystem" && p.Value?.ToString() == $"{Gender}|4.0.1");
        Assert.Equal(GenderVs, expansion.Url);
    }

    [Fact]
    public void AdministrativeGender_validates_members_and_rejects_others()
    {
        Assert.Equal(CodeValidity.Valid, Tx.ValueSetValidateCode(GenderVs, Gender, "female").Outcome);

        var unknown = Tx.ValueSetValidateCode(GenderVs, Gender, "f");
        Assert.Equal(CodeValidity.Invalid, unknown.Outcome);
        Assert.Contains("Unknown code 'f'", unknown.Message);

        var otherSystem = Tx.ValueSetValidateCode(GenderVs, "http://hl7.org/fhir/goal-status", "proposed");
        Assert.Equal(CodeValidity.Invalid, otherSystem.Outcome);
    }

    [Fact]
    public void A_wrong_display_is_still_valid_with_a_warning_and_the_right_display()
    {
        var result = Tx.ValueSetValidateCode(GenderVs, Gender, "male", display: "Man");

        Assert.True(result.IsValid);
        Assert.Equal("Male", result.Display);
        var issue = Assert.Single(result.Issues);
        Assert.Equal(OperationOutcome.IssueSeverity.Warning, issue.Severity);
        Assert.Contains("'Man'", issue.Message);
        Assert.Contains("'Male'", issue.Message);
    }

    [Fact]
    public void A_display_differing_only_in_case_and_spacing_is_accepted()
    {
        var result = Tx.ValueSetValidateCode(GenderVs, Gender, "male", display: "  male ");

        Assert.True(result.IsValid);
        Assert.Empty(result.Issues);
    }

    [Fact]
    public void Codes_are_case_sensitive_when_the_code_system_says_so()
    {
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(GenderVs, Gender, "Male").Outcome);
    }

    [Theory]
    [InlineData("http://hl7.org/fhir/ValueSet/goal-status", "http://hl7.org/fhir/goal-status", "entered-in-error", 9)]
    [InlineData("http://hl7.org/fhir/ValueSet/goal-achievement", "http://terminology.hl7.org/CodeSystem/goal-achievement", "not-achieved", 9)]
    [InlineData("http://hl7.org/fhir/ValueSet/request-status", "http://hl7.org/fhir/request-status", "revoked", 7)]
    [InlineData("http://hl7.org/fhir/ValueSet/task-status", "http://hl7.org/fhir/task-status", "on-hold", 12)]
    public void Core_status_value_sets_expand_fully_and_validate(string valueSet, string system, string code, int size)
    {
        var expansion = Tx.Expand(valueSet);

        Assert.Equal(size, expansion.Expansion!.Total);
        Assert.Contains(code, Codes(expansion));
        Assert.True(Tx.ValueSetValidateCode(valueSet, system, code).IsValid);
        Assert.False(Tx.ValueSetValidateCode(valueSet, system, "not-a-status").IsValid);
    }

    [Fact]
    public void V3_ActEncounterCode_is_the_is_a_hierarchy_minus_its_excluded_abstract_root()
    {
        const string vs = "http://terminology.hl7.org/ValueSet/v3-ActEncounterCode";
        var codes = Codes(Tx.Expand(vs));

        Assert.Contains("AMB", codes);
        Assert.Contains("EMER", codes);
        Assert.Contains("IMP", codes);
        Assert.Contains("ACUTE", codes); // nested below IMP
        Assert.DoesNotContain("_ActEncounterCode", codes);
        Assert.DoesNotContain("_ActAccountCode", codes);
        Assert.True(Tx.ValueSetValidateCode(vs, ActCode, "ACUTE").IsValid);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(vs, ActCode, "_ActEncounterCode").Outcome);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(vs, ActCode, "CASH").Outcome);
    }

    [Fact]
    public void V3_PurposeOfUse_follows_is_a_through_nesting_to_all_depths()
    {
        const string vs = "http://terminology.hl7.org/ValueSet/v3-PurposeOfUse";
        var codes = Codes(Tx.Expand(vs));

        Assert.Contains("PurposeOfUse", codes);
        Assert.Contains("TREAT", codes);
        Assert.Contains("ETREAT", codes); // PurposeOfUse > TREAT > ETREAT
        Assert.Contains("HMARKT", codes);
        Assert.DoesNotContain("_ActHealthInformationManagementReason", codes);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(vs, ActReason, "_ActHealthInformationManagementReason").Outcome);
    }

    [Fact]
    public void V3_child_properties_add_second_parents_to_the_hierarchy()
    {
        // In v3-RoleCode, DAUADOPT is nested under DAUC and also listed as a child of NCHILD... via "child" properties.
        Assert.Equal(SubsumptionOutcome.Subsumes, Tx.Subsumes("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "DAUC", "DAUADOPT"));
        Assert.Equal(SubsumptionOutcome.Subsumes, Tx.Subsumes("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "CHILD", "DAUADOPT"));
        Assert.Equal(SubsumptionOutcome.SubsumedBy, Tx.Subsumes("http://terminology.hl7.org/CodeSystem/v3-RoleCode", "DAU", "NCHILD"));
    }

    [Fact]
    public void Is_a_on_core_v3_value_sets_follows_child_properties_as_well_as_nesting()
    {
        // TWINBRO is nested under BRO, and listed as a "child" of TWIN; parent-relationship-codes includes is-a TWIN.
        Assert.Contains("TWINBRO", Codes(Tx.Expand("http://hl7.org/fhir/ValueSet/parent-relationship-codes")));
        Assert.Contains("COMPLY", Codes(Tx.Expand("http://hl7.org/fhir/ValueSet/detectedissue-category")));
    }

    [Fact]
    public void Ucum_common_units_expand_with_their_annotated_codes()
    {
        var codes = Codes(Tx.Expand("http://hl7.org/fhir/ValueSet/ucum-common", new ExpansionOptions { Count = 2_000 }));

        Assert.Equal(1357, codes.Count);
        Assert.Contains("{# of calculi}", codes);
        Assert.Contains("g/(8.h){shift}", codes);
    }

    [Fact]
    public void A_system_uri_with_a_fragment_is_kept_whole()
    {
        var expansion = Tx.Expand("http://hl7.org/fhir/ValueSet/example-hierarchical");
        Assert.All(Flatten(expansion.Expansion!.Contains), c => Assert.Equal("#hacked", c.System));
    }

    [Fact]
    public void V2_table_value_set_with_is_not_a_leaves_out_the_concept()
    {
        const string vs = "http://hl7.org/fhir/ValueSet/patient-contactrelationship";
        const string table = "http://terminology.hl7.org/CodeSystem/v2-0131";
        var codes = Codes(Tx.Expand(vs));

        Assert.Contains("C", codes);
        Assert.Contains("N", codes);
        Assert.DoesNotContain("O", codes);
        Assert.True(Tx.ValueSetValidateCode(vs, table, "E").IsValid);
        Assert.False(Tx.ValueSetValidateCode(vs, table, "O").IsValid);
    }

    [Fact]
    public void Deprecated_v2_codes_are_valid_with_an_information_note()
    {
        var result = Tx.ValueSetValidateCode("http://hl7.org/fhir/ValueSet/patient-contactrelationship", "http://terminology.hl7.org/CodeSystem/v2-0131", "BP");

        Assert.True(result.IsValid);
        var issue = Assert.Single(result.Issues);
        Assert.Equal(OperationOutcome.IssueSeverity.Information, issue.Severity);
        Assert.Contains("deprecated", issue.Message);
    }

    [Fact]
    public void A_core_value_set_importing_another_holds_the_imported_codes_and_its_own()
    {
        const string vs = "http://hl7.org/fhir/ValueSet/yesnodontknow";
        var expansion = Tx.Expand(vs);

        Assert.Equal(["N", "Y", "asked-unknown"], Codes(expansion));
        Assert.Equal("Don't know", expansion.Expansion!.Contains[2].Display); // the value set's own display wins
        Assert.True(Tx.ValueSetValidateCode(vs, "http://terminology.hl7.org/CodeSystem/v2-0136", "Y").IsValid);
        Assert.True(Tx.ValueSetValidateCode(vs, "http://terminology.hl7.org/CodeSystem/data-absent-reason", "asked-unknown").IsValid);
        Assert.False(Tx.ValueSetValidateCode(vs, "http://terminology.hl7.org/CodeSystem/data-absent-reason", "masked").IsValid);
    }

    [Fact]
    public void Security_labels_union_of_several_imported_value_sets()
    {
        const string vs = "http://hl7.org/fhir/ValueSet/security-labels";
        Assert.True(Tx.ValueSetValidateCode(vs, "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R").IsValid);
        Assert.True(Tx.ValueSetValidateCode(vs, ActReason, "HMARKT").IsValid);
        Assert.False(Tx.ValueSetValidateCode(vs, ActCode, "AMB").IsValid);
    }

    [Fact]
    public void Value_sets_listing_LOINC_codes_are_decided_locally_for_the_listed_codes()
    {
        const string vs = "http://hl7.org/fhir/ValueSet/observation-vitalsignresult";

        Assert.True(Tx.ValueSetValidateCode(vs, Loinc, "8867-4").IsValid);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(vs, Loinc, "1234-5").Outcome);
        // Without LOINC content, a different display is not reported as wrong.
        Assert.Empty(Tx.ValueSetValidateCode(vs, Loinc, "8867-4", display: "Pulse").Issues);
    }

    [Fact]
    public void SNOMED_CT_codes_in_an_intensional_core_value_set_are_unknown()
    {
        var result = Tx.ValueSetValidateCode("http://hl7.org/fhir/ValueSet/condition-code", Snomed, "38341003");

        Assert.Equal(CodeValidity.Unknown, result.Outcome);
        Assert.Equal(Snomed, result.UnknownSystem);
        Assert.NotEmpty(result.Issues);
    }

    [Fact]
    public void Mime_type_value_set_is_decided_by_syntax()
    {
        const string vs = "http://hl7.org/fhir/ValueSet/mimetypes";
        Assert.True(Tx.ValueSetValidateCode(vs, "urn:ietf:bcp:13", "application/fhir+json").IsValid);
        Assert.True(Tx.ValueSetValidateCode(vs, "urn:ietf:bcp:13", "text/plain; charset=UTF-8").IsValid);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(vs, "urn:ietf:bcp:13", "json").Outcome);
    }

    [Fact]
    public void Ucum_units_value_set_is_decided_by_syntax()
    {
        const string vs = "http://hl7.org/fhir/ValueSet/ucum-units";
        Assert.True(Tx.ValueSetValidateCode(vs, "http://unitsofmeasure.org", "mg/dL").IsValid);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(vs, "http://unitsofmeasure.org", "milligram").Outcome);
    }

    [Fact]
    public void Languages_value_set_lists_codes_and_all_languages_accepts_any_well_formed_tag()
    {
        Assert.True(Tx.ValueSetValidateCode("http://hl7.org/fhir/ValueSet/languages", "urn:ietf:bcp:47", "nl-BE").IsValid);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode("http://hl7.org/fhir/ValueSet/languages", "urn:ietf:bcp:47", "nl-NL-x-test").Outcome);

        var any = Tx.ValueSetValidateCode("http://hl7.org/fhir/ValueSet/all-languages", "urn:ietf:bcp:47", "nl-NL-x-test");
        Assert.True(any.IsValid);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode("http://hl7.org/fhir/ValueSet/all-languages", "urn:ietf:bcp:47", "english").Outcome);
    }

    [Fact]
    public void Currencies_and_countries_come_from_the_built_in_ISO_tables()
    {
        Assert.True(Tx.ValueSetValidateCode("http://hl7.org/fhir/ValueSet/currencies", "urn:iso:std:iso:4217", "EUR").IsValid);
        Assert.False(Tx.ValueSetValidateCode("http://hl7.org/fhir/ValueSet/currencies", "urn:iso:std:iso:4217", "EUX").IsValid);

        const string jurisdiction = "http://hl7.org/fhir/ValueSet/jurisdiction";
        Assert.True(Tx.ValueSetValidateCode(jurisdiction, "urn:iso:std:iso:3166", "NL").IsValid);
        Assert.True(Tx.ValueSetValidateCode(jurisdiction, "urn:iso:std:iso:3166", "NLD").IsValid);
        Assert.False(Tx.ValueSetValidateCode(jurisdiction, "urn:iso:std:iso:3166", "QQ").IsValid);
        // Subdivisions (ISO 3166-2) are not built in.
        Assert.Equal(CodeValidity.Unknown, Tx.ValueSetValidateCode(jurisdiction, "urn:iso:std:iso:3166:-2", "NL-NH").Outcome);

        var numeric = Codes(Tx.Expand("http://hl7.org/fhir/ValueSet/iso3166-1-N"));
        Assert.Contains("528", numeric);
        Assert.DoesNotContain("NL", numeric);
        Assert.Equal("Euro", Tx.Lookup("urn:iso:std:iso:4217", "EUR").Display);
    }

    [Fact]
    public void Every_core_value_set_either_expands_or_fails_with_a_terminology_error()
    {
        var failures = new List<string>();
        foreach (var entry in Resolver.EntriesOf("ValueSet").Where(e => e.PackageId == "hl7.fhir.r4.core"))
        {
            try
            {
                Tx.Expand(entry.Url!, new ExpansionOptions { Count = 5 });
            }
            catch (TerminologyException ex) when (ex.IssueType is OperationOutcome.IssueType.NotFound or OperationOutcome.IssueType.NotSupported or OperationOutcome.IssueType.TooCostly)
            {
                // Draws on content that is not here (SNOMED CT, LOINC...), or on a grammar: expected.
            }
            catch (Exception ex)
            {
                failures.Add($"{entry.Url}: {ex.Message}");
            }
        }

        Assert.Empty(failures);
    }
}
