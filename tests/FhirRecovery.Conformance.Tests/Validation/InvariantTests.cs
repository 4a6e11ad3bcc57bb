using System.Text.Json.Nodes;
using FhirRecovery.Conformance.Validation;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>Invariants: core (per-1, ref-1, dom-2..6), the IG's (rg-1, pst-1, pst-2) and a test profile's own.</summary>
public sealed class InvariantTests
{
    private const string Narrative = """ "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>" }, """;

    private static ValidationResult Period(string start, string end, ProfileValidator? validator = null)
    {
        var json = $$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" },
              "effectivePeriod": { "start": "{{start}}", "end": "{{end}}" } }
            """;
        return (validator ?? Validate.Core).Validate(System.Text.Encoding.UTF8.GetBytes(json), Hl7.Fhir.Rest.ResourceFormat.Json);
    }

    [Theory]
    [InlineData("2023-01-01", "2023-02-01")]
    [InlineData("2023-01-01T10:00:00Z", "2023-01-01T10:00:00Z")]
    [InlineData("2023-01-01T10:00:00+02:00", "2023-01-01T09:00:00Z")]
    public void A_period_whose_start_is_not_after_its_end_satisfies_per_1(string start, string end) => Period(start, end).HasNoIssues();

    [Fact]
    public void A_period_whose_start_is_after_its_end_breaks_per_1_at_the_period()
    {
        var result = Period("2023-02-01", "2023-01-01");

        var issue = result.HasError(IssueType.Invariant, "Observation.effectivePeriod", IssueKind.Profile, "per-1");
        Assert.Equal("per-1", issue.RuleId);
    }

    [Fact]
    public void A_period_comparing_a_date_with_a_dateTime_of_other_precision_breaks_per_1_as_the_HL7_validator_reads_it()
    {
        // start <= end is empty (not comparable), and an invariant must evaluate to true.
        var result = Period("2023-01-01", "2023-01-01T10:00:00Z");

        result.HasError(IssueType.Invariant, "Observation.effectivePeriod", IssueKind.Profile, "per-1");
    }

    [Fact]
    public void With_empty_invariant_results_allowed_the_same_period_passes()
    {
        var lenient = SharedDefinitions.CreateValidator(SharedDefinitions.Resolver, new ValidatorSettings { EmptyInvariantResultFails = false });

        Period("2023-01-01", "2023-01-01T10:00:00Z", lenient).HasNoIssues();
        Period("2023-02-01", "2023-01-01", lenient).HasError(IssueType.Invariant, "Observation.effectivePeriod", IssueKind.Profile, "per-1");
    }

    [Fact]
    public void A_contained_resource_referring_to_its_container_with_a_bare_hash_satisfies_ref_1_and_dom_3()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}}
              "contained": [ { "resourceType": "Observation", "id": "o1", "status": "final", "code": { "text": "x" }, "subject": { "reference": "#" } } ] }
            """);

        result.HasNoErrors();
        result.HasNoIssueMentioning("ref-1");
        result.HasNoIssueMentioning("dom-3");
    }

    [Fact]
    public void A_local_reference_to_a_contained_resource_that_exists_satisfies_ref_1()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}}
              "contained": [ { "resourceType": "Organization", "id": "gp", "name": "Riverside" } ],
              "generalPractitioner": [ { "reference": "#gp" } ] }
            """);

        result.HasNoErrors();
        result.HasNoIssueMentioning("ref-1");
    }

    [Fact]
    public void A_local_reference_to_a_missing_contained_resource_breaks_ref_1_at_the_reference()
    {
        var result = Validate.Json($$"""{ "resourceType": "Patient", {{Narrative}} "generalPractitioner": [ { "reference": "#missing" } ] }""");

        var issue = result.HasError(IssueType.Invariant, "Patient.generalPractitioner[0]", IssueKind.Profile, "ref-1");
        Assert.Equal("ref-1", issue.RuleId);
    }

    [Fact]
    public void A_bare_hash_from_the_root_resource_breaks_ref_1()
    {
        var result = Validate.Json($$"""{ "resourceType": "Patient", {{Narrative}} "generalPractitioner": [ { "reference": "#" } ] }""");

        result.HasError(IssueType.Invariant, "Patient.generalPractitioner[0]", IssueKind.Profile, "ref-1");
    }

    [Fact]
    public void A_contained_resource_with_its_own_contained_resources_breaks_dom_2()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}}
              "contained": [ { "resourceType": "Organization", "id": "gp", "name": "x",
                               "contained": [ { "resourceType": "Organization", "id": "inner", "name": "y" } ] } ],
              "generalPractitioner": [ { "reference": "#gp" } ] }
            """);

        result.HasError(IssueType.Invariant, "Patient", IssueKind.Profile, "dom-2");
    }

    [Fact]
    public void A_contained_resource_nobody_references_breaks_dom_3()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}} "contained": [ { "resourceType": "Organization", "id": "gp", "name": "x" } ] }
            """);

        var issue = result.HasError(IssueType.Invariant, "Patient", IssueKind.Profile, "dom-3");
        Assert.Contains("Organization/gp", issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_contained_resource_linked_from_the_narrative_satisfies_dom_3()
    {
        var result = Validate.Json("""
            { "resourceType": "Patient",
              "text": { "status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">GP: <a href=\"#gp\">Riverside</a></div>" },
              "contained": [ { "resourceType": "Organization", "id": "gp", "name": "Riverside" } ] }
            """);

        result.HasNoErrors();
        result.HasNoIssueMentioning("dom-3");
    }

    [Theory]
    [InlineData("""{ "versionId": "1" }""", "dom-4")]
    [InlineData("""{ "lastUpdated": "2023-01-01T00:00:00Z" }""", "dom-4")]
    [InlineData("""{ "security": [ { "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R" } ] }""", "dom-5")]
    public void Meta_on_a_contained_resource_breaks_dom_4_or_dom_5(string meta, string key)
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}}
              "contained": [ { "resourceType": "Organization", "id": "gp", "meta": {{meta}}, "name": "x" } ],
              "generalPractitioner": [ { "reference": "#gp" } ] }
            """);

        result.HasError(IssueType.Invariant, "Patient", IssueKind.Profile, key);
    }

    [Fact]
    public void A_resource_without_narrative_gets_the_dom_6_warning_only()
    {
        var result = Validate.Json("""{ "resourceType": "Patient", "active": true }""");

        var issue = result.HasIssue(IssueSeverity.Warning, IssueType.Invariant, "Patient", IssueKind.Profile, "dom-6");
        Assert.Equal("dom-6", issue.RuleId);
        result.HasNoErrors();
    }

    [Fact]
    public void A_contained_resource_without_narrative_gets_no_dom_6_warning()
    {
        var result = Validate.Json($$"""
            { "resourceType": "Patient", {{Narrative}}
              "contained": [ { "resourceType": "Organization", "id": "gp", "name": "Riverside" } ],
              "generalPractitioner": [ { "reference": "#gp" } ] }
            """);

        result.HasNoIssues();
    }

    [Fact]
    public void A_bundle_entry_without_narrative_gets_the_dom_6_warning_at_the_entry()
    {
        var result = Validate.Json("""
            { "resourceType": "Bundle", "type": "collection",
              "entry": [ { "fullUrl": "http://acme.test/fhir/Organization/gp", "resource": { "resourceType": "Organization", "id": "gp", "name": "x" } } ] }
            """);

        result.HasIssue(IssueSeverity.Warning, IssueType.Invariant, "Bundle.entry[0].resource", IssueKind.Profile, "dom-6");
    }

    [Fact]
    public void A_resource_with_narrative_has_no_dom_6_warning()
    {
        Validate.Json($$"""{ "resourceType": "Patient", {{Narrative}} "active": true }""").HasNoIssueMentioning("dom-6");
    }

    // Core invariants the HL7 reference validator evaluates in a corrected form (FHIRPathExpressionFixer).

    private static string Questionnaire(string enableWhen, string? enableBehavior = null) => $$"""
        { "resourceType": "Questionnaire", {{Narrative}} "name": "Check", "status": "draft",
          "item": [ { "linkId": "a", "type": "boolean" },
                    { "linkId": "b", "type": "string", "enableWhen": {{enableWhen}} {{(enableBehavior is null ? "" : $", \"enableBehavior\": \"{enableBehavior}\"")}} } ] }
        """;

    [Fact]
    public void An_enableWhen_comparing_an_answer_with_equals_is_valid()
    {
        Validate.Json(Questionnaire("""[ { "question": "a", "operator": "=", "answerBoolean": true } ]""")).HasNoIssues();
    }

    [Fact]
    public void An_enableWhen_with_operator_exists_and_a_boolean_answer_satisfies_que_7()
    {
        var result = Validate.Json(Questionnaire("""[ { "question": "a", "operator": "exists", "answerBoolean": true } ]"""));

        result.HasNoIssueMentioning("que-7");
        result.HasNoErrors();
    }

    [Fact]
    public void An_enableWhen_with_operator_exists_and_a_non_boolean_answer_breaks_que_7()
    {
        var result = Validate.Json(Questionnaire("""[ { "question": "a", "operator": "exists", "answerString": "yes" } ]"""));

        result.HasError(IssueType.Invariant, "Questionnaire.item[1].enableWhen[0]", IssueKind.Profile, "que-7");
    }

    [Fact]
    public void Two_enableWhen_conditions_without_enableBehavior_break_que_12()
    {
        var result = Validate.Json(Questionnaire("""
            [ { "question": "a", "operator": "=", "answerBoolean": true }, { "question": "a", "operator": "!=", "answerBoolean": false } ]
            """));

        result.HasError(IssueType.Invariant, "Questionnaire.item[1]", IssueKind.Profile, "que-12");
    }

    [Fact]
    public void Two_enableWhen_conditions_with_enableBehavior_satisfy_que_12()
    {
        var result = Validate.Json(Questionnaire("""
            [ { "question": "a", "operator": "=", "answerBoolean": true }, { "question": "a", "operator": "!=", "answerBoolean": false } ]
            """, "all"));

        result.HasNoIssues();
    }

    [Fact]
    public void A_canonical_resource_without_name_gets_no_name_warning()
    {
        var result = Validate.Json($$"""{ "resourceType": "ValueSet", {{Narrative}} "status": "draft" }""");

        result.HasNoIssueMentioning("vsd-0");
    }

    [Fact]
    public void A_canonical_resource_with_a_name_unusable_as_an_identifier_gets_the_name_warning()
    {
        var result = Validate.Json($$"""{ "resourceType": "ValueSet", {{Narrative}} "name": "no good", "status": "draft" }""");

        result.HasIssue(IssueSeverity.Warning, IssueType.Invariant, "ValueSet", IssueKind.Profile, "vsd-0");
        result.HasNoErrors();
    }

    // The IG's own invariants (profiles/), on crafted variants of its valid examples.

    [Fact]
    public void A_recovery_goal_expressed_by_another_patient_breaks_rg_1()
    {
        var goal = Validate.Example("Goal-tom-peer-group.json");
        Validate.Json(goal).HasNoErrors();

        goal["expressedBy"] = JsonNode.Parse("""{ "reference": "Patient/ingrid" }""");
        var result = Validate.Json(goal);

        var issue = result.HasError(IssueType.Invariant, "Goal", IssueKind.Profile, "rg-1");
        Assert.Equal("rg-1", issue.RuleId);
    }

    [Fact]
    public void A_recovery_goal_expressed_by_a_practitioner_does_not_concern_rg_1()
    {
        var goal = Validate.Example("Goal-tom-peer-group.json");
        goal["expressedBy"] = JsonNode.Parse("""{ "reference": "Practitioner/helle-dahl" }""");

        Validate.Json(goal).HasNoIssueMentioning("rg-1");
    }

    [Fact]
    public void A_completed_peer_support_task_without_output_breaks_pst_1()
    {
        var task = Validate.Example("Task-tom-peer-support-task.json");
        Validate.Json(task).HasNoErrors();

        task.Remove("output");
        var result = Validate.Json(task);

        result.HasError(IssueType.Invariant, "Task", IssueKind.Profile, "pst-1");
    }

    [Fact]
    public void A_rejected_peer_support_task_needs_a_status_reason_for_pst_2()
    {
        var task = Validate.Example("Task-tom-peer-support-task.json");
        task["status"] = "rejected";
        task.Remove("output");
        Validate.Json(task).HasError(IssueType.Invariant, "Task", IssueKind.Profile, "pst-2");

        task["statusReason"] = JsonNode.Parse("""{ "text": "No capacity" }""");
        Validate.Json(task).HasNoIssueMentioning("pst-2");
    }

    // A profile's own invariants, evaluated natively or (outside the fragment) by Firely.

    private const string TwoNamesExpression = "descendants().ofType(HumanName).count() <= 2";

    [Fact]
    public void A_profile_invariant_outside_the_native_fragment_is_evaluated_by_Firely_and_passes_when_true()
    {
        Assert.Null(FragmentInvariant.TryCompile(TwoNamesExpression));

        var result = Validate.Profiled($$"""
            { "resourceType": "Patient", {{Narrative}} "birthDate": "1990-01-01", "name": [ { "family": "A" }, { "family": "B" } ] }
            """, TestProfiles.Invariants);

        result.HasNoIssues();
    }

    [Fact]
    public void A_profile_invariant_outside_the_native_fragment_is_evaluated_by_Firely_and_fails_when_false()
    {
        var result = Validate.Profiled($$"""
            { "resourceType": "Patient", {{Narrative}} "birthDate": "1990-01-01",
              "name": [ { "family": "A" }, { "family": "B" } ], "contact": [ { "name": { "family": "C" } } ] }
            """, TestProfiles.Invariants);

        var issue = result.HasError(IssueType.Invariant, "Patient", IssueKind.Profile, "tst-1");
        Assert.Contains("At most two names", issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_profile_invariant_of_severity_warning_is_a_warning()
    {
        var result = Validate.Profiled($$"""{ "resourceType": "Patient", {{Narrative}} "name": [ { "family": "A" } ] }""", TestProfiles.Invariants);

        result.HasIssue(IssueSeverity.Warning, IssueType.Invariant, "Patient", IssueKind.Profile, "tst-2");
        result.HasNoErrors();
    }

    [Fact]
    public void An_invariant_that_cannot_be_compiled_is_a_warning_not_a_crash()
    {
        var result = Validate.Profiled($$"""{ "resourceType": "Patient", {{Narrative}} "name": [ { "family": "A" } ] }""", TestProfiles.BrokenInvariant);

        result.HasIssue(IssueSeverity.Warning, IssueType.NotSupported, "Patient", IssueKind.Profile, "tst-broken could not be compiled");
        result.HasNoErrors();
    }

    [Fact]
    public void An_invariant_of_a_datatype_is_checked_wherever_the_datatype_is_used()
    {
        // qty-3: if a code for the unit is present, the system SHALL also be present.
        var result = Validate.Json($$"""
            { "resourceType": "Observation", {{Narrative}} "status": "final", "code": { "text": "x" }, "valueQuantity": { "value": 1, "code": "kg" } }
            """);

        result.HasError(IssueType.Invariant, "Observation.valueQuantity", IssueKind.Profile, "qty-3");
    }
}
