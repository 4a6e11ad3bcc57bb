using System.Diagnostics;
using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.Model;
using static FhirRecovery.Conformance.Tests.Terminology.TerminologyFixture;

namespace FhirRecovery.Conformance.Tests.Terminology;

public class ValidateCodeTests
{
    private static TerminologyService Tx => Service;

    [Fact]
    public void A_coding_is_valid_when_its_system_and_code_are_in_the_value_set()
    {
        var result = Tx.ValueSetValidateCode(Vs("mammals"), new Coding(Animals, "dog"));

        Assert.Equal(CodeValidity.Valid, result.Outcome);
        Assert.Equal(Animals, result.System);
        Assert.Equal("dog", result.Code);
        Assert.Equal("1.0.0", result.Version);
        Assert.Equal("Dog", result.Display);
        Assert.Empty(result.Issues);
    }

    [Fact]
    public void A_codeable_concept_is_valid_when_any_coding_is_in_the_value_set()
    {
        var concept = new CodeableConcept { Coding = [new Coding(Loinc, "1234-5"), new Coding(Animals, "penguin"), new Coding(Animals, "cat")] };

        var result = Tx.ValueSetValidateCode(Vs("mammals"), concept);

        Assert.True(result.IsValid);
        Assert.Equal(2, result.CodingIndex);
        Assert.Equal("cat", result.Code);
    }

    [Fact]
    public void A_codeable_concept_with_no_member_coding_is_invalid_and_says_why()
    {
        var result = Tx.ValueSetValidateCode(Vs("mammals"), new CodeableConcept { Coding = [new Coding(Animals, "penguin"), new Coding(Animals, "sparrow")] });

        Assert.Equal(CodeValidity.Invalid, result.Outcome);
        Assert.Contains(result.Issues, i => i.Message.Contains("penguin"));
        Assert.Contains(result.Issues, i => i.Message.Contains("None of the codings"));
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(Vs("mammals"), new CodeableConcept { Text = "text only" }).Outcome);
    }

    [Fact]
    public void A_codeable_concept_is_unknown_when_no_coding_is_valid_but_one_cannot_be_decided()
    {
        var concept = new CodeableConcept { Coding = [new Coding(Animals, "penguin"), new Coding(Snomed, "123456")] };

        var result = Tx.ValueSetValidateCode(Vs("snomed-or-animals"), concept);

        Assert.Equal(CodeValidity.Unknown, result.Outcome);
        Assert.Equal(1, result.CodingIndex);
        Assert.Equal(Snomed, result.UnknownSystem);
    }

    [Fact]
    public void A_code_without_system_is_inferred_from_the_value_set()
    {
        var result = Tx.ValueSetValidateCode(Vs("mammals"), null, "whale");
        Assert.True(result.IsValid);
        Assert.Equal(Animals, result.System);

        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(Vs("mammals"), null, "penguin").Outcome);
    }

    [Fact]
    public void Displays_are_checked_against_code_system_designations_and_value_set_displays()
    {
        Assert.Empty(Tx.ValueSetValidateCode(Vs("mammals"), Animals, "dog", display: "Hond").Issues);
        Assert.Empty(Tx.ValueSetValidateCode(Vs("listed-with-displays"), Animals, "dog", display: "Doggy").Issues);
        Assert.Empty(Tx.ValueSetValidateCode(Vs("listed-with-displays"), Animals, "dog", display: "Chien").Issues);

        var wrong = Tx.ValueSetValidateCode(Vs("listed-with-displays"), Animals, "dog", display: "Wolf");
        Assert.True(wrong.IsValid);
        Assert.Equal("Dog", wrong.Display);
        Assert.Equal(OperationOutcome.IssueSeverity.Warning, Assert.Single(wrong.Issues).Severity);
    }

    [Fact]
    public void Abstract_codes_are_invalid_in_value_sets_unless_allowed()
    {
        var result = Tx.ValueSetValidateCode(Vs("mammals"), Animals, "mammal");
        Assert.Equal(CodeValidity.Invalid, result.Outcome);
        Assert.True(result.Abstract);
        Assert.Contains("abstract", result.Message);

        Assert.True(Tx.ValueSetValidateCode(Vs("mammals"), Animals, "mammal", abstractAllowed: true).IsValid);

        var lenient = new TerminologyService(Resolver, new TerminologyOptions { AbstractCodesValid = true });
        Assert.True(lenient.ValueSetValidateCode(Vs("mammals"), Animals, "mammal").IsValid);
    }

    [Fact]
    public void Abstract_codes_are_codes_of_their_code_system()
    {
        Assert.True(Tx.CodeSystemValidateCode(Animals, "mammal").IsValid);
        Assert.False(Tx.CodeSystemValidateCode(Animals, "mammal", abstractAllowed: false).IsValid);
    }

    [Fact]
    public void Inactive_codes_are_valid_with_a_warning()
    {
        var result = Tx.ValueSetValidateCode(Vs("all-animals"), Animals, "dodo");

        Assert.True(result.IsValid);
        Assert.True(result.Inactive);
        var issue = Assert.Single(result.Issues);
        Assert.Equal(OperationOutcome.IssueSeverity.Warning, issue.Severity);
        Assert.Contains("inactive", issue.Message);
    }

    [Fact]
    public void Case_insensitive_code_systems_match_any_case_and_report_the_right_one()
    {
        var result = Tx.ValueSetValidateCode(Vs("case-insensitive"), CaseInsensitive, "abc");

        Assert.True(result.IsValid);
        Assert.Equal("ABC", result.Code);
        Assert.Equal(OperationOutcome.IssueSeverity.Information, Assert.Single(result.Issues).Severity);
        Assert.True(Tx.CodeSystemValidateCode(CaseInsensitive, "DEF").IsValid);
        Assert.False(Tx.CodeSystemValidateCode(Animals, "DOG").IsValid);
    }

    [Fact]
    public void Codes_absent_from_a_fragment_are_unknown_present_ones_valid()
    {
        Assert.True(Tx.ValueSetValidateCode(Vs("fragment"), Fragment, "a").IsValid);
        var absent = Tx.ValueSetValidateCode(Vs("fragment"), Fragment, "zzz");
        Assert.Equal(CodeValidity.Unknown, absent.Outcome);
        Assert.Equal(Fragment, absent.UnknownSystem);

        Assert.True(Tx.CodeSystemValidateCode(Fragment, "b").IsValid);
        Assert.Equal(CodeValidity.Unknown, Tx.CodeSystemValidateCode(Fragment, "zzz").Outcome);
    }

    [Fact]
    public void SNOMED_codes_are_unknown_unless_the_value_set_lists_them()
    {
        var vs = Vs("snomed-mixed");
        Assert.True(Tx.ValueSetValidateCode(vs, Snomed, "38341003").IsValid);
        Assert.Equal(CodeValidity.Unknown, Tx.ValueSetValidateCode(vs, Snomed, "22298006").Outcome);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(vs, Loinc, "8867-4").Outcome);

        Assert.True(Tx.ValueSetValidateCode(Vs("snomed-listed"), Snomed, "38341003").IsValid);
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(Vs("snomed-listed"), Snomed, "22298006").Outcome);
        Assert.Equal(CodeValidity.Unknown, Tx.ValueSetValidateCode(Vs("loinc-whole"), Loinc, "8867-4").Outcome);
    }

    [Fact]
    public void Codes_of_a_value_set_importing_an_unknown_value_set_are_unknown_unless_found_elsewhere()
    {
        var vs = Vs("imports-unknown");
        Assert.True(Tx.ValueSetValidateCode(vs, Animals, "cat").IsValid);
        var other = Tx.ValueSetValidateCode(vs, Animals, "dog");
        Assert.Equal(CodeValidity.Unknown, other.Outcome);
        Assert.Contains("does-not-exist", other.Message);
    }

    [Fact]
    public void An_unknown_value_set_gives_unknown_with_a_not_found_issue()
    {
        var result = Tx.ValueSetValidateCode(Vs("no-such-value-set"), Animals, "dog");

        Assert.Equal(CodeValidity.Unknown, result.Outcome);
        Assert.Equal(OperationOutcome.IssueType.NotFound, Assert.Single(result.Issues).Type);
    }

    [Fact]
    public void Code_system_validate_code_checks_existence_and_display()
    {
        Assert.True(Tx.CodeSystemValidateCode(Animals, "sparrow", "Sparrow").IsValid);
        Assert.Equal(CodeValidity.Invalid, Tx.CodeSystemValidateCode(Animals, "unicorn").Outcome);

        var wrong = Tx.CodeSystemValidateCode(new Coding(Animals, "cat", "Kitty"));
        Assert.True(wrong.IsValid);
        Assert.Contains("'Cat'", wrong.Message);

        var concept = new CodeableConcept { Coding = [new Coding(Loinc, "x"), new Coding(Animals, "cat")] };
        Assert.True(Tx.CodeSystemValidateCode(Animals, concept).IsValid);
    }

    [Fact]
    public void Code_system_validate_code_with_a_missing_version_warns_and_uses_the_loaded_one()
    {
        var result = Tx.CodeSystemValidateCode(Versioned, "z", version: "2.0");
        Assert.True(result.IsValid);
        Assert.Empty(result.Issues);

        Assert.Equal(CodeValidity.Invalid, Tx.CodeSystemValidateCode(Versioned, "z", version: "1.0").Outcome);

        var fallback = Tx.CodeSystemValidateCode(Versioned, "x", version: "7");
        Assert.True(fallback.IsValid);
        Assert.Contains("'7'", fallback.Message);
    }

    [Fact]
    public void Validating_against_a_cached_value_set_is_a_fast_lookup()
    {
        const string vs = "http://hl7.org/fhir/ValueSet/administrative-gender";
        const string system = "http://hl7.org/fhir/administrative-gender";
        Tx.ValueSetValidateCode(vs, system, "male");

        var first = Tx.ValueSetValidateCode(vs, system, "female");
        Assert.Same(first, Tx.ValueSetValidateCode(vs, system, "female")); // no allocation on the hot path

        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 200_000; i++)
        {
            Tx.ValueSetValidateCode(vs, system, (i & 1) == 0 ? "male" : "female");
        }

        watch.Stop();
        Assert.True(watch.ElapsedMilliseconds < 2_000, $"200,000 validations took {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void Concurrent_first_use_builds_consistent_results()
    {
        var fresh = new TerminologyService(Resolver);
        var results = new ValidateCodeResult[64];
        Parallel.For(0, results.Length, i =>
            results[i] = fresh.ValueSetValidateCode(Vs(i % 2 == 0 ? "no-birds-no-sea" : "union-of-imports"), Animals, "cat"));

        Assert.All(results, r => Assert.True(r.IsValid));
    }

    [Fact]
    public void Clearing_the_caches_rebuilds_on_next_use()
    {
        var fresh = new TerminologyService(Resolver);
        Assert.True(fresh.ValueSetValidateCode(Vs("mammals"), Animals, "dog").IsValid);
        fresh.ClearCaches();
        Assert.True(fresh.ValueSetValidateCode(Vs("mammals"), Animals, "dog").IsValid);
    }
}
