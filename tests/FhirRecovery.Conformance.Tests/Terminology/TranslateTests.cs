using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.Model;
using static FhirRecovery.Conformance.Tests.Terminology.TerminologyFixture;

namespace FhirRecovery.Conformance.Tests.Terminology;

public class TranslateTests
{
    private static TerminologyService Tx => Service;

    [Fact]
    public void Forward_translation_returns_the_mapped_concept_with_its_equivalence()
    {
        var result = Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("animal-to-class"), System = Animals, Code = "dog" });

        Assert.True(result.Result);
        var match = Assert.Single(result.Matches);
        Assert.Equal(ConceptMapEquivalence.Wider, match.Equivalence);
        Assert.Equal(Classes, match.Concept.System);
        Assert.Equal("mammalia", match.Concept.Code);
        Assert.Equal("Mammalia", match.Concept.Display);
        Assert.Equal(Cm("animal-to-class"), match.Source);
    }

    [Fact]
    public void Reverse_translation_returns_the_source_codes_with_the_equivalence_turned_round()
    {
        var result = Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("animal-to-class"), System = Classes, Code = "mammalia", Reverse = true });

        Assert.True(result.Result);
        Assert.Equal(["dog", "cat", "mammal"], result.Matches.Select(m => m.Concept.Code));
        Assert.All(result.Matches, m => Assert.Equal(Animals, m.Concept.System));
        Assert.Equal(ConceptMapEquivalence.Narrower, result.Matches[0].Equivalence);
        Assert.Equal(ConceptMapEquivalence.Equivalent, result.Matches[2].Equivalence);
    }

    [Fact]
    public void An_unmatched_target_is_returned_but_the_result_is_false()
    {
        var result = Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("animal-to-class"), Coding = new Coding(Animals, "swimmer") });

        Assert.False(result.Result);
        Assert.Equal(ConceptMapEquivalence.Unmatched, Assert.Single(result.Matches).Equivalence);
        Assert.NotNull(result.Message);
    }

    [Fact]
    public void Unmapped_fixed_gives_the_fixed_code()
    {
        var result = Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("animal-to-class"), System = Animals, Code = "sparrow" });

        Assert.True(result.Result);
        var match = Assert.Single(result.Matches);
        Assert.Equal("other", match.Concept.Code);
        Assert.Equal(Classes, match.Concept.System);
        Assert.Equal(ConceptMapEquivalence.Wider, match.Equivalence);
    }

    [Fact]
    public void Unmapped_provided_gives_the_same_code_in_the_target_system()
    {
        var mapped = Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("same-codes"), System = Animals, Code = "dog" });
        Assert.Equal("canine", Assert.Single(mapped.Matches).Concept.Code);

        var provided = Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("same-codes"), System = Animals, Code = "cat" });
        var match = Assert.Single(provided.Matches);
        Assert.Equal("cat", match.Concept.Code);
        Assert.Equal(Example + "/CodeSystem/animals-v2", match.Concept.System);
        Assert.Equal(ConceptMapEquivalence.Equal, match.Equivalence);
    }

    [Fact]
    public void Unmapped_other_map_continues_in_the_other_map_and_stops_on_cycles()
    {
        var direct = Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("sparrows-then-other-map"), System = Animals, Code = "sparrow" });
        Assert.Equal("aves", Assert.Single(direct.Matches).Concept.Code);

        var viaOther = Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("sparrows-then-other-map"), System = Animals, Code = "penguin" });
        var match = Assert.Single(viaOther.Matches);
        Assert.Equal("aves", match.Concept.Code);
        Assert.Equal(Cm("animal-to-class"), match.Source);

        var loop = Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("loop-a"), System = Animals, Code = "whale" });
        Assert.False(loop.Result);
        Assert.Empty(loop.Matches);
    }

    [Fact]
    public void Without_a_map_url_maps_are_chosen_by_source_and_target_value_sets_and_target_system()
    {
        var bySource = Tx.Translate(new TranslateRequest { Source = Vs("all-animals"), System = Animals, Code = "cat" });
        Assert.Equal("mammalia", Assert.Single(bySource.Matches).Concept.Code);

        var byTargetSystem = Tx.Translate(new TranslateRequest { TargetSystem = Example + "/CodeSystem/animals-v2", System = Animals, Code = "dog" });
        Assert.Equal("canine", Assert.Single(byTargetSystem.Matches).Concept.Code);

        var reverseBySource = Tx.Translate(new TranslateRequest { Source = Example + "/ValueSet/classes", System = Classes, Code = "aves", Reverse = true });
        Assert.Equal("penguin", Assert.Single(reverseBySource.Matches).Concept.Code);

        var none = Tx.Translate(new TranslateRequest { Source = Vs("nothing-maps-from-here"), System = Animals, Code = "cat" });
        Assert.False(none.Result);
        Assert.Empty(none.Matches);
    }

    [Fact]
    public void A_codeable_concept_translates_every_coding()
    {
        var concept = new CodeableConcept { Coding = [new Coding(Animals, "dog"), new Coding(Animals, "penguin")] };
        var result = Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("animal-to-class"), CodeableConcept = concept });

        Assert.Equal(["mammalia", "aves"], result.Matches.Select(m => m.Concept.Code));
    }

    [Fact]
    public void A_core_concept_map_translates()
    {
        // http://hl7.org/fhir/ConceptMap/cm-administrative-gender-v2: FHIR gender -> v2 table 0001.
        var result = Tx.Translate(new TranslateRequest
        {
            ConceptMapUrl = "http://hl7.org/fhir/ConceptMap/cm-administrative-gender-v2",
            System = "http://hl7.org/fhir/administrative-gender",
            Code = "female",
        });

        Assert.True(result.Result);
        Assert.Equal("F", Assert.Single(result.Matches).Concept.Code);
    }

    [Fact]
    public void Bad_translate_requests_fail_with_the_right_issue()
    {
        Assert.Equal(OperationOutcome.IssueType.Required, Assert.Throws<TerminologyException>(() => Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("animal-to-class") })).IssueType);
        Assert.Equal(OperationOutcome.IssueType.Required, Assert.Throws<TerminologyException>(() => Tx.Translate(new TranslateRequest { Code = "dog" })).IssueType);
        Assert.Equal(OperationOutcome.IssueType.NotFound, Assert.Throws<TerminologyException>(() =>
            Tx.Translate(new TranslateRequest { ConceptMapUrl = Cm("no-such-map"), System = Animals, Code = "dog" })).IssueType);
    }
}
