using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.Model;
using static FhirRecovery.Conformance.Tests.Terminology.TerminologyFixture;

namespace FhirRecovery.Conformance.Tests.Terminology;

/// <summary>Compose semantics on the synthetic "animals" code system (see <see cref="TerminologyFixture"/>).</summary>
public class ValueSetExpansionTests
{
    private static TerminologyService Tx => Service;

    private static IReadOnlyList<string> Expand(string id, ExpansionOptions? options = null) => Codes(Tx.Expand(Vs(id), options));

    [Fact]
    public void A_whole_code_system_include_lists_every_concept_in_code_system_order()
    {
        Assert.Equal(["animal", "mammal", "dog", "cat", "whale", "bird", "penguin", "sparrow", "dodo", "kiwi", "swimmer"], Expand("all-animals"));
    }

    [Fact]
    public void Is_a_includes_the_concept_and_everything_below_it()
    {
        Assert.Equal(["mammal", "dog", "cat", "whale"], Expand("mammals"));
    }

    [Fact]
    public void Descendent_of_leaves_out_the_concept_itself()
    {
        Assert.Equal(["dog", "cat", "whale"], Expand("below-mammal"));
    }

    [Fact]
    public void Is_not_a_leaves_out_the_concept_and_its_descendants()
    {
        Assert.Equal(["animal", "mammal", "dog", "cat", "whale", "swimmer"], Expand("not-birds"));
    }

    [Fact]
    public void Generalizes_includes_the_concept_and_its_ancestors()
    {
        Assert.Equal(["animal", "mammal", "dog"], Expand("dog-and-up"));
    }

    [Fact]
    public void Is_a_follows_parent_and_child_properties_as_well_as_nesting()
    {
        // swimmer has whale as "child" property; penguin names swimmer as "parent" property.
        Assert.Equal(["whale", "penguin", "swimmer"], Expand("swimmers"));
    }

    [Theory]
    [InlineData("sea", new[] { "whale", "penguin" })]
    [InlineData("legs-0-or-2", new[] { "whale", "penguin", "sparrow", "dodo", "kiwi" })]
    [InlineData("not-on-land", new[] { "animal", "mammal", "whale", "bird", "penguin", "sparrow", "dodo", "kiwi", "swimmer" })]
    [InlineData("c-or-d", new[] { "dog", "cat", "dodo" })]
    [InlineData("domestic", new[] { "dog", "cat" })]
    [InlineData("child-of-bird", new[] { "penguin", "sparrow", "dodo", "kiwi" })]
    [InlineData("domestic-mammals-on-land", new[] { "dog", "cat" })]
    public void Property_filters_select_by_code_system_properties(string valueSet, string[] expected)
    {
        Assert.Equal(expected, Expand(valueSet));
    }

    [Fact]
    public void Excludes_remove_filtered_concepts_and_the_codes_of_an_excluded_value_set()
    {
        Assert.Equal(["animal", "mammal", "dog", "cat", "swimmer"], Expand("no-birds-no-sea"));
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(Vs("no-birds-no-sea"), Animals, "whale").Outcome);
    }

    [Fact]
    public void An_include_with_system_and_value_set_is_their_intersection()
    {
        Assert.Equal(["dog", "cat"], Expand("listed-mammals"));
        Assert.Equal(["whale"], Expand("mammals-at-sea"));
    }

    [Fact]
    public void Separate_includes_are_a_union()
    {
        Assert.Equal(["whale", "penguin", "dog", "cat"], Expand("union-of-imports"));
    }

    [Fact]
    public void An_import_cycle_is_reported_not_followed_forever()
    {
        var ex = Assert.Throws<TerminologyException>(() => Tx.Expand(Vs("imports-cycle")));
        Assert.Contains("cycle", ex.Message);
        Assert.Contains("cycle-a", ex.Message);
        Assert.Equal(400, ex.StatusCode);

        var self = Assert.Throws<TerminologyException>(() => Tx.Expand(Vs("self-import")));
        Assert.Contains("cycle", self.Message);

        // Validation does not throw: the answer is just not decidable.
        Assert.Equal(CodeValidity.Unknown, Tx.ValueSetValidateCode(Vs("cycle-b"), Animals, "dog").Outcome);
    }

    [Fact]
    public void Compose_inactive_false_drops_retired_concepts()
    {
        var codes = Expand("active-animals");
        Assert.DoesNotContain("dodo", codes);
        Assert.Contains("kiwi", codes); // deprecated is still active
        Assert.Equal(CodeValidity.Invalid, Tx.ValueSetValidateCode(Vs("active-animals"), Animals, "dodo").Outcome);
    }

    [Fact]
    public void Expansions_flag_abstract_and_inactive_concepts()
    {
        var contains = Tx.Expand(Vs("all-animals")).Expansion!.Contains.ToDictionary(c => c.Code!);

        Assert.True(contains["mammal"].Abstract);
        Assert.Null(contains["dog"].Abstract);
        Assert.True(contains["dodo"].Inactive);
        Assert.Null(contains["kiwi"].Inactive);
    }

    [Fact]
    public void Active_only_and_exclude_not_for_ui_leave_codes_out()
    {
        Assert.DoesNotContain("dodo", Expand("all-animals", new ExpansionOptions { ActiveOnly = true }));
        var forUi = Expand("all-animals", new ExpansionOptions { ExcludeNotForUI = true });
        Assert.DoesNotContain("animal", forUi);
        Assert.DoesNotContain("mammal", forUi);
        Assert.Contains("bird", forUi);
    }

    [Fact]
    public void Paging_returns_a_slice_with_the_full_total_and_echoes_the_parameters()
    {
        var page = Tx.Expand(Vs("all-animals"), new ExpansionOptions { Offset = 2, Count = 3 });

        Assert.Equal(["dog", "cat", "whale"], Codes(page));
        Assert.Equal(11, page.Expansion!.Total);
        Assert.Equal(2, page.Expansion!.Offset);
        Assert.Contains(page.Expansion!.Parameter, p => p.Name == "offset" && (p.Value as Integer)?.Value == 2);
        Assert.Contains(page.Expansion!.Parameter, p => p.Name == "count" && (p.Value as Integer)?.Value == 3);
    }

    [Fact]
    public void A_text_filter_matches_word_starts_in_displays_and_designations_and_code_starts()
    {
        Assert.Equal(["sparrow"], Expand("all-animals", new ExpansionOptions { Filter = "spa" }));
        Assert.Equal(["dog"], Expand("all-animals", new ExpansionOptions { Filter = "hon" })); // Dutch designation "Hond"
        var filtered = Tx.Expand(Vs("all-animals"), new ExpansionOptions { Filter = "DO" });
        Assert.Equal(["dog", "dodo"], Codes(filtered));
        Assert.Equal(2, filtered.Expansion!.Total);
        Assert.Contains(filtered.Expansion!.Parameter, p => p.Name == "filter");
    }

    [Fact]
    public void Designations_and_display_language_come_from_the_code_system_and_the_value_set()
    {
        var withDesignations = Tx.Expand(Vs("all-animals"), new ExpansionOptions { IncludeDesignations = true });
        var dog = withDesignations.Expansion!.Contains.Single(c => c.Code == "dog");
        Assert.Contains(dog.Designation, d => d.Language == "nl" && d.Value == "Hond");

        var german = Tx.Expand(Vs("all-animals"), new ExpansionOptions { DisplayLanguage = "de" });
        Assert.Equal("Hund", german.Expansion!.Contains.Single(c => c.Code == "dog").Display);
        Assert.Equal("Cat", german.Expansion!.Contains.Single(c => c.Code == "cat").Display);

        var french = Tx.Expand(Vs("listed-with-displays"), new ExpansionOptions { DisplayLanguage = "fr" });
        Assert.Equal("Chien", french.Expansion!.Contains.Single(c => c.Code == "dog").Display);
    }

    [Fact]
    public void Listed_concepts_use_the_value_set_display_and_unknown_listed_codes_are_dropped_with_a_warning()
    {
        var expansion = Tx.Expand(Vs("listed-with-displays"));

        Assert.Equal(["dog", "cat"], Codes(expansion));
        Assert.Equal("Doggy", expansion.Expansion!.Contains[0].Display);
        Assert.Equal("Cat", expansion.Expansion!.Contains[1].Display);
        Assert.Contains(expansion.Expansion!.Parameter, p => p.Name == "warning" && p.Value?.ToString()?.Contains("unicorn") == true);
    }

    [Fact]
    public void Nested_expansions_follow_the_hierarchy_and_count_every_code()
    {
        var nested = Tx.Expand(Vs("all-animals"), new ExpansionOptions { ExcludeNested = false });

        Assert.Equal(11, nested.Expansion!.Total);
        Assert.Equal(["animal", "swimmer"], nested.Expansion!.Contains.Select(c => c.Code));
        var mammal = nested.Expansion!.Contains[0].Contains.Single(c => c.Code == "mammal");
        Assert.Equal(["dog", "cat", "whale"], mammal.Contains.Select(c => c.Code));
        Assert.Equal(11, Flatten(nested.Expansion!.Contains).Count());
    }

    [Fact]
    public void Version_pinning_selects_the_code_system_version()
    {
        Assert.Equal(["x", "y"], Expand("versioned-1"));
        Assert.Equal(["x", "y", "z"], Expand("versioned-2"));
        Assert.Contains(Tx.Expand(Vs("versioned-2")).Expansion!.Parameter, p => p.Name == "used-codesystem" && p.Value?.ToString() == $"{Versioned}|2.0");

        // A version that is not loaded falls back to the loaded one, with a warning.
        var fallback = Tx.Expand(Vs("versioned-9"));
        Assert.Equal(["x", "y"], Codes(fallback));
        Assert.Contains(fallback.Expansion!.Parameter, p => p.Name == "warning" && p.Value?.ToString()?.Contains("9.9") == true);
    }

    [Fact]
    public void Expanding_more_than_the_limit_is_too_costly_unless_paged()
    {
        var ex = Assert.Throws<TerminologyException>(() => Tx.Expand(Vs("big")));
        Assert.Equal(OperationOutcome.IssueType.TooCostly, ex.IssueType);
        Assert.Equal(OperationOutcome.IssueType.TooCostly, ex.Outcome.Issue[0].Code);

        var page = Tx.Expand(Vs("big"), new ExpansionOptions { Offset = 24_990, Count = 100 });
        Assert.Equal(25_000, page.Expansion!.Total);
        Assert.Equal(10, page.Expansion!.Contains.Count);

        // Validation is not limited by the expansion size.
        Assert.True(Tx.ValueSetValidateCode(Vs("big"), Big, "c24999").IsValid);
    }

    [Fact]
    public void The_expansion_and_member_limits_are_configurable()
    {
        var small = new TerminologyService(Resolver, new TerminologyOptions { MaxExpansionSize = 3, MaxValueSetMembers = 5 });

        Assert.Throws<TerminologyException>(() => small.Expand(Vs("mammals")));
        Assert.Equal(3, small.Expand(Vs("mammals"), new ExpansionOptions { Count = 3 }).Expansion!.Contains.Count);
        var tooMany = Assert.Throws<TerminologyException>(() => small.Expand(Vs("all-animals"), new ExpansionOptions { Count = 1 }));
        Assert.Equal(OperationOutcome.IssueType.TooCostly, tooMany.IssueType);
    }

    [Fact]
    public void A_value_set_given_as_a_resource_may_import_known_value_sets()
    {
        var adhoc = ValueSet("adhoc", new ValueSet.ConceptSetComponent { ValueSet = [Vs("sea")] }, IncludeCodes(Animals, ["dog"]));
        adhoc.Url = null;

        Assert.Equal(["whale", "penguin", "dog"], Codes(Tx.Expand(adhoc)));
    }

    [Fact]
    public void A_value_set_without_compose_is_taken_from_its_expansion()
    {
        var expanded = new ValueSet
        {
            Url = Vs("pre-expanded"),
            Status = PublicationStatus.Active,
            Expansion = new ValueSet.ExpansionComponent
            {
                Timestamp = "2024-01-01",
                Contains =
                [
                    new ValueSet.ContainsComponent
                    {
                        System = Animals, Code = "dog", Display = "Dog",
                        Contains = [new ValueSet.ContainsComponent { System = Animals, Code = "cat", Display = "Cat" }],
                    },
                ],
            },
        };

        Assert.True(Tx.ValueSetValidateCode(expanded, Animals, "cat").IsValid);
        Assert.False(Tx.ValueSetValidateCode(expanded, Animals, "whale").IsValid);
    }

    [Fact]
    public void Undecidable_parts_prevent_expansion_with_the_right_issue()
    {
        Assert.Equal(OperationOutcome.IssueType.NotSupported, Assert.Throws<TerminologyException>(() => Tx.Expand(Vs("snomed-mixed"))).IssueType);
        Assert.Equal(OperationOutcome.IssueType.NotFound, Assert.Throws<TerminologyException>(() => Tx.Expand(Vs("imports-unknown"))).IssueType);
        Assert.Equal(OperationOutcome.IssueType.NotFound, Assert.Throws<TerminologyException>(() => Tx.Expand(Vs("no-such-value-set"))).IssueType);
        Assert.Equal(OperationOutcome.IssueType.Invalid, Assert.Throws<TerminologyException>(() => Tx.Expand(Vs("bad-regex"))).IssueType);
    }

    [Fact]
    public void Value_sets_listing_SNOMED_codes_expand_to_those_codes()
    {
        var expansion = Tx.Expand(Vs("snomed-listed"));
        var c = Assert.Single(expansion.Expansion!.Contains);
        Assert.Equal("38341003", c.Code);
        Assert.Equal("Hypertensive disorder", c.Display);
    }

    [Fact]
    public void A_fragment_expands_to_its_known_codes_marked_unclosed()
    {
        var expansion = Tx.Expand(Vs("fragment"));

        Assert.Equal(["a", "b"], Codes(expansion));
        Assert.Contains(expansion.Expansion!.Extension, e => e.Url == "http://hl7.org/fhir/StructureDefinition/valueset-unclosed");
    }
}
