using FhirRecovery.Conformance.Questionnaires;
using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Model;
using static FhirRecovery.Conformance.Tests.Questionnaires.QuestionnaireFixtures;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Questionnaires;

/// <summary>
/// Every rule of QuestionnaireResponse validation against its Questionnaire, each with a response that keeps it and
/// one that breaks it (on <see cref="RuleQuestionnaire"/>, built to exercise them all).
/// </summary>
public sealed class QuestionnaireResponseRuleTests
{
    private static List<ValidationIssue> Validate(QuestionnaireResponse response)
    {
        var issues = new List<ValidationIssue>();
        Services.ResponseValidator.Validate(response, RuleQuestionnaire.Definition, "QuestionnaireResponse", issues);
        return issues;
    }

    private static List<ValidationIssue> Broken(Action<QuestionnaireResponse> breakIt)
    {
        var response = RuleQuestionnaire.Valid();
        breakIt(response);
        return Validate(response);
    }

    private static QuestionnaireResponse.ItemComponent ItemOf(QuestionnaireResponse response, string linkId) => response.Item.First(i => i.LinkId == linkId);

    private static int IndexOf(QuestionnaireResponse response, string linkId) => response.Item.FindIndex(i => i.LinkId == linkId);

    /// <summary>Asserts exactly one error-or-worse issue of this rule at this location, and returns it.</summary>
    private static ValidationIssue AssertIssue(List<ValidationIssue> issues, string ruleId, string expression, IssueSeverity severity = IssueSeverity.Error)
    {
        var matching = issues.Where(i => i.RuleId == ruleId && i.Expression == expression && i.Severity == severity).ToList();
        Assert.True(matching.Count == 1, $"expected one {severity} [{ruleId}] at {expression}, got:\n{Show(issues)}");
        Assert.Equal(IssueKind.Profile, matching[0].Kind);
        return matching[0];
    }

    private static void AssertNoErrors(List<ValidationIssue> issues) => Assert.True(!issues.Any(i => i.IsError), Show(issues));

    [Fact]
    public void A_response_that_keeps_every_rule_has_no_issues()
    {
        var issues = Validate(RuleQuestionnaire.Valid());

        Assert.True(issues.Count == 0, Show(issues));
    }

    [Fact]
    public void LinkIds_must_exist_in_the_questionnaire()
    {
        var issues = Broken(r => r.Item.Insert(1, Item("nope", new FhirString("x"))));

        AssertIssue(issues, "qr-linkid", "QuestionnaireResponse.item[1].linkId");
    }

    [Fact]
    public void LinkIds_must_be_where_the_questionnaire_puts_them()
    {
        var issues = Broken(r => ItemOf(r, "people").Item.Add(Item("bool", new FhirBoolean(true))));

        var issue = AssertIssue(issues, "qr-linkid", $"QuestionnaireResponse.item[{IndexOf(RuleQuestionnaire.Valid(), "people")}].item[3].linkId");
        Assert.Contains("wrong place", issue.Message);
    }

    [Fact]
    public void Items_keep_the_order_of_the_questionnaire()
    {
        var issues = Broken(r => (r.Item[0], r.Item[1]) = (r.Item[1], r.Item[0]));

        AssertIssue(issues, "qr-order", "QuestionnaireResponse.item[1].linkId");
    }

    [Fact]
    public void A_question_appears_once_and_repeats_through_its_answers()
    {
        var issues = Broken(r => r.Item.Insert(2, Item("int", new Integer(5))));

        AssertIssue(issues, "qr-repeats", "QuestionnaireResponse.item[2]");
    }

    [Fact]
    public void A_question_that_does_not_repeat_has_one_answer_and_one_that_repeats_may_have_several()
    {
        var issues = Broken(r => ItemOf(r, "int").Answer.Add(new QuestionnaireResponse.AnswerComponent { Value = new Integer(5) }));

        AssertIssue(issues, "qr-repeats", "QuestionnaireResponse.item[1].answer[1]");
        AssertNoErrors(Validate(RuleQuestionnaire.Valid()));
    }

    [Fact]
    public void MaxOccurs_limits_the_answers_of_a_repeating_question()
    {
        var issues = Broken(r => ItemOf(r, "multi").Answer.Add(new QuestionnaireResponse.AnswerComponent { Value = new Coding("urn:test:c", "c") }));

        AssertIssue(issues, "qr-occurs", "QuestionnaireResponse.item[5]");
    }

    [Fact]
    public void A_repeating_group_may_appear_several_times()
    {
        var response = RuleQuestionnaire.Valid();

        Assert.Equal(2, response.Item.Count(i => i.LinkId == "people"));
        AssertNoErrors(Validate(response));
    }

    [Theory]
    [InlineData("bool", "valueString")]
    [InlineData("int", "valueDecimal")]
    [InlineData("dec", "valueInteger")]
    [InlineData("date", "valueDateTime")]
    [InlineData("text", "valueInteger")]
    [InlineData("multi", "valueString")]
    [InlineData("int-choice", "valueCoding")]
    public void Answers_have_the_type_of_their_item(string linkId, string wrong)
    {
        DataType value = wrong switch
        {
            "valueString" => new FhirString("x"),
            "valueDecimal" => new FhirDecimal(1.5m),
            "valueInteger" => new Integer(1),
            "valueDateTime" => new FhirDateTime("2024-05-01T10:00:00Z"),
            _ => new Coding("urn:test:c", "a"),
        };
        var index = IndexOf(RuleQuestionnaire.Valid(), linkId);
        var issues = Broken(r => ItemOf(r, linkId).Answer = [new QuestionnaireResponse.AnswerComponent { Value = value }]);

        AssertIssue(issues, "qr-answer-type", $"QuestionnaireResponse.item[{index}].answer[0].{wrong}");
    }

    [Fact]
    public void An_answer_has_a_value()
    {
        var issues = Broken(r => ItemOf(r, "int").Answer = [new QuestionnaireResponse.AnswerComponent()]);

        AssertIssue(issues, "qr-answer-value", "QuestionnaireResponse.item[1].answer[0]");
    }

    [Fact]
    public void Groups_and_display_items_have_no_answers()
    {
        var response = RuleQuestionnaire.Valid();
        var people = IndexOf(response, "people");
        ItemOf(response, "people").Answer = [new QuestionnaireResponse.AnswerComponent { Value = new FhirString("x") }];
        response.Item.Insert(8, Item("info", new FhirString("x")));

        var issues = Validate(response);

        AssertIssue(issues, "qr-group-answer", $"QuestionnaireResponse.item[{people + 1}].answer[0]");
        AssertIssue(issues, "qr-display", "QuestionnaireResponse.item[8]");
    }

    [Fact]
    public void Items_nested_in_a_question_go_under_its_answers()
    {
        var smoker = IndexOf(RuleQuestionnaire.Valid(), "smoker");
        var misplaced = Broken(r =>
        {
            var item = ItemOf(r, "smoker");
            item.Item = item.Answer[0].Item;
            item.Answer[0].Item = [];
        });
        var unexpected = Broken(r => ItemOf(r, "int").Answer[0].Item = [Item("per-day", new Integer(1))]);

        AssertIssue(misplaced, "qr-question-items", $"QuestionnaireResponse.item[{smoker}].item[0]");
        AssertIssue(unexpected, "qr-linkid", "QuestionnaireResponse.item[1].answer[0].item[0]");
    }

    [Fact]
    public void Required_items_must_be_answered_in_a_completed_response_only()
    {
        var missing = Broken(r => r.Item.RemoveAt(0));
        var inProgress = Broken(r =>
        {
            r.Item.RemoveAt(0);
            r.Item.RemoveAll(i => i.LinkId is "when-equal" or "required-if");
            r.Status = QuestionnaireResponse.QuestionnaireResponseStatus.InProgress;
        });
        var emptyAnswer = Broken(r => r.Item[0].Answer.Clear());

        AssertIssue(missing, "qr-required", "QuestionnaireResponse");
        Assert.DoesNotContain(inProgress, i => i.RuleId == "qr-required");
        AssertIssue(emptyAnswer, "qr-required", "QuestionnaireResponse.item[0]");
    }

    [Fact]
    public void Required_items_inside_groups_and_under_answers_are_required_there()
    {
        var people = IndexOf(RuleQuestionnaire.Valid(), "people");
        var smoker = IndexOf(RuleQuestionnaire.Valid(), "smoker");
        var issues = Broken(r =>
        {
            ItemOf(r, "people").Item.RemoveAt(0);
            ItemOf(r, "smoker").Answer[0].Item.Clear();
        });

        AssertIssue(issues, "qr-required", $"QuestionnaireResponse.item[{people}]");
        AssertIssue(issues, "qr-required", $"QuestionnaireResponse.item[{smoker}].answer[0]");
    }

    [Fact]
    public void A_required_item_that_is_not_enabled_need_not_be_answered()
    {
        var issues = Broken(r =>
        {
            ItemOf(r, "bool").Answer[0].Value = new FhirBoolean(false);
            r.Item.RemoveAll(i => i.LinkId is "when-equal" or "required-if");
        });

        AssertNoErrors(issues);
    }

    [Fact]
    public void Choice_answers_are_among_the_answer_options()
    {
        var coded = Broken(r => ItemOf(r, "multi").Answer[1].Value = new Coding("urn:test:c", "z"));
        var integer = Broken(r => ItemOf(r, "int-choice").Answer[0].Value = new Integer(3));
        var otherSystem = Broken(r => ItemOf(r, "multi").Answer[0].Value = new Coding("urn:other", "a"));

        AssertIssue(coded, "qr-answer-option", "QuestionnaireResponse.item[5].answer[1].valueCoding");
        AssertIssue(integer, "qr-answer-option", "QuestionnaireResponse.item[7].answer[0].valueInteger");
        AssertIssue(otherSystem, "qr-answer-option", "QuestionnaireResponse.item[5].answer[0].valueCoding");
    }

    [Fact]
    public void Open_choice_takes_free_text_and_only_warns_about_an_unlisted_code()
    {
        var text = Validate(RuleQuestionnaire.Valid());
        var unlisted = Broken(r => ItemOf(r, "open").Answer[0].Value = new Coding("urn:test:c", "z"));

        Assert.DoesNotContain(text, i => i.RuleId == "qr-answer-option");
        AssertIssue(unlisted, "qr-answer-option", "QuestionnaireResponse.item[6].answer[0].valueCoding", IssueSeverity.Warning);
    }

    [Fact]
    public void Choice_answers_are_in_the_answer_value_set()
    {
        var response = Example<QuestionnaireResponse>("QuestionnaireResponse-ingrid-goal-setting.json");
        var valid = Check(response);
        var domain = response.Item[0].Item.First(i => i.LinkId == "life-domain");
        domain.Answer = [new QuestionnaireResponse.AnswerComponent { Value = new Coding($"{IgBase}/CodeSystem/life-domain", "work") },
            new QuestionnaireResponse.AnswerComponent { Value = new Coding($"{IgBase}/CodeSystem/recovery-framework", "peer-support") }];

        var issues = Check(response);

        AssertNoErrors(valid);
        AssertIssue(issues, "qr-answer-valueset", "QuestionnaireResponse.item[0].item[2].answer[1].valueCoding");
    }

    [Theory]
    [InlineData("int", 11, "qr-max-value")]
    [InlineData("int", -1, "qr-min-value")]
    public void Integer_answers_keep_minValue_and_maxValue(string linkId, int value, string rule)
    {
        var issues = Broken(r => ItemOf(r, linkId).Answer[0].Value = new Integer(value));

        AssertIssue(issues, rule, "QuestionnaireResponse.item[1].answer[0].valueInteger");
    }

    [Fact]
    public void Decimal_and_date_answers_keep_their_limits()
    {
        var places = Broken(r => ItemOf(r, "dec").Answer[0].Value = new FhirDecimal(1.25m));
        var max = Broken(r => ItemOf(r, "dec").Answer[0].Value = new FhirDecimal(99.6m));
        var date = Broken(r => ItemOf(r, "date").Answer[0].Value = new Date("2019-12-31"));

        AssertIssue(places, "qr-decimal-places", "QuestionnaireResponse.item[2].answer[0].valueDecimal");
        AssertIssue(max, "qr-max-value", "QuestionnaireResponse.item[2].answer[0].valueDecimal");
        AssertIssue(date, "qr-min-value", "QuestionnaireResponse.item[3].answer[0].valueDate");
    }

    [Theory]
    [InlineData("abcdef", "qr-max-length")]
    [InlineData("a", "qr-min-length")]
    [InlineData("ab1", "qr-regex")]
    public void String_answers_keep_maxLength_minLength_and_regex(string text, string rule)
    {
        var issues = Broken(r => ItemOf(r, "text").Answer[0].Value = new FhirString(text));

        AssertIssue(issues, rule, "QuestionnaireResponse.item[4].answer[0].valueString");
    }

    [Theory]
    [InlineData("when-equal", true)]
    [InlineData("when-exists", true)]
    [InlineData("when-not-exists", false)]
    [InlineData("when-greater", false)]
    [InlineData("when-less-equal", true)]
    [InlineData("when-not-equal", false)]
    [InlineData("when-all", true)]
    [InlineData("when-any", true)]
    [InlineData("when-expression", false)]
    public void An_item_is_answerable_only_when_its_enableWhen_holds(string linkId, bool enabled)
    {
        // In the valid response bool = true, int = 4, multi = a, b.
        var response = RuleQuestionnaire.Valid();
        if (response.Item.All(i => i.LinkId != linkId))
        {
            response.Item.Insert(response.Item.FindIndex(i => i.LinkId == "required-if"), Item(linkId, new FhirString("answered")));
            response.Item = response.Item.OrderBy(i => RuleQuestionnaire.Definition.Find(i.LinkId)!.Position).ToList();
        }

        var issues = Validate(response);

        var index = response.Item.FindIndex(i => i.LinkId == linkId);
        if (enabled)
        {
            AssertNoErrors(issues);
        }
        else
        {
            AssertIssue(issues, "qr-disabled", $"QuestionnaireResponse.item[{index}]");
        }
    }

    [Fact]
    public void EnableBehavior_any_needs_one_condition_and_all_needs_every_one()
    {
        // bool = false, int = 2: when-any holds (int < 3), when-all does not (bool is false).
        var response = RuleQuestionnaire.Valid();
        ItemOf(response, "bool").Answer[0].Value = new FhirBoolean(false);
        ItemOf(response, "int").Answer[0].Value = new Integer(2);
        response.Item.RemoveAll(i => i.LinkId is "when-equal" or "required-if");
        var at = response.Item.FindIndex(i => i.LinkId == "people");
        response.Item.InsertRange(at, [Item("when-all", new FhirString("x")), Item("when-any", new FhirString("y"))]);

        var issues = Validate(response);

        AssertIssue(issues, "qr-disabled", $"QuestionnaireResponse.item[{at}]");
        Assert.DoesNotContain(issues, i => i.Expression == $"QuestionnaireResponse.item[{at + 1}]");
    }

    [Fact]
    public void EnableWhen_in_a_repeating_group_reads_the_answer_of_the_same_repetition()
    {
        var people = IndexOf(RuleQuestionnaire.Valid(), "people");
        var issues = Broken(r => r.Item.Where(i => i.LinkId == "people").Last().Item.Add(Item("phone", new FhirString("456"))));

        AssertIssue(issues, "qr-disabled", $"QuestionnaireResponse.item[{people + 1}].item[2]");
        Assert.DoesNotContain(issues, i => i.Expression == $"QuestionnaireResponse.item[{people}].item[2]");
    }

    [Fact]
    public void Issues_of_a_response_in_a_bundle_are_located_in_the_bundle()
    {
        var response = Qpr([3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3], 45);
        response.Item[0].Item[0].Answer[0].Value = new Coding(AgreementScale, "maybe");
        var bundle = new Bundle { Type = Bundle.BundleType.Collection, Entry = [new() { FullUrl = "urn:uuid:0b1e8a94-9d3e-4f51-9d0c-3c9e1f5b2a11", Resource = response }] };

        var issues = ValidateFully(bundle);

        Assert.Contains(issues, i => i.RuleId == "qr-answer-option" && i.Expression == "Bundle.entry[0].resource.item[0].item[0].answer[0].valueCoding");
    }

    [Fact]
    public void An_unknown_questionnaire_is_a_warning_and_a_stored_one_is_found_through_the_scoped_source()
    {
        var response = RuleQuestionnaire.Valid();

        var unknown = Check(response);
        List<ValidationIssue> known;
        using (QuestionnaireResolver.Use(new Source(RuleQuestionnaire.Resource)))
        {
            known = Check(response);
        }

        AssertIssue(unknown, "qr-questionnaire-unknown", "QuestionnaireResponse.questionnaire", IssueSeverity.Warning);
        Assert.True(known.Count == 0, Show(known));
        Assert.Contains(Check(response), i => i.RuleId == "qr-questionnaire-unknown");
    }

    [Fact]
    public void A_contained_questionnaire_is_used_when_the_response_points_at_it()
    {
        var response = RuleQuestionnaire.Valid();
        var contained = (Questionnaire)RuleQuestionnaire.Resource.DeepCopy();
        contained.Id = "q";
        response.Contained.Add(contained);
        response.Questionnaire = "#q";
        ItemOf(response, "int").Answer[0].Value = new Integer(42);

        Assert.Contains(Check(response), i => i.RuleId == "qr-max-value");
    }

    private sealed class Source(Questionnaire questionnaire) : IQuestionnaireSource
    {
        public Questionnaire? FindQuestionnaire(string canonical) =>
            canonical.StartsWith(questionnaire.Url!, StringComparison.Ordinal) ? questionnaire : null;
    }
}
