using FhirRecovery.Conformance.Questionnaires;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using static FhirRecovery.Conformance.Tests.Questionnaires.QuestionnaireFixtures;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Questionnaires;

/// <summary>SDC scoring (variable, calculatedExpression, ordinalValue) with totals worked out by hand.</summary>
public sealed class ScoringTests
{
    private static int? Total(ScoringResult result, string linkId) =>
        result.Answers.Single(a => a.Item.LinkId == linkId).Computed.OfType<Integer>().SingleOrDefault()?.Value;

    [Fact]
    public void Qpr15_total_is_the_sum_of_the_fifteen_ordinal_values()
    {
        // 4+4+3+3+3+2+2+2+1+1+0+4+3+2+1 = 35
        int[] scores = [4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 0, 4, 3, 2, 1];
        var result = Services.Scorer.Score(Qpr(scores, 35), Definition(Qpr15));

        Assert.Equal(35, Total(result, "total"));
        Assert.False(result.HasDifferences);
        Assert.Empty(Check(Qpr(scores, 35)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void Qpr15_total_spans_0_to_60(int each)
    {
        var result = Services.Scorer.Score(Qpr(Enumerable.Repeat(each, 15).ToList(), null), Definition(Qpr15));

        Assert.Equal(each * 15, Total(result, "total"));
    }

    [Fact]
    public void Qpr15_has_no_total_until_all_fifteen_statements_are_answered()
    {
        var response = Qpr([4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4], null);
        response.Status = QuestionnaireResponse.QuestionnaireResponseStatus.InProgress;

        var result = Services.Scorer.Score(response, Definition(Qpr15));

        Assert.Empty(result.Answers.Single().Computed);
        Assert.False(result.HasDifferences);
    }

    [Fact]
    public void A_wrong_total_is_a_warning_at_the_recorded_value_and_the_copy_is_corrected()
    {
        int[] scores = [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2];
        var response = Qpr(scores, 45);

        var issues = Check(response);
        var result = Services.Scorer.Score(response, Definition(Qpr15));

        var issue = Assert.Single(issues);
        Assert.Equal(("qr-score-mismatch", IssueSeverity.Warning), (issue.RuleId, issue.Severity));
        Assert.Equal("QuestionnaireResponse.item[1].answer[0].valueInteger", issue.Expression);
        Assert.Contains("recorded as 45", issue.Message);
        Assert.Contains("gives 44", issue.Message);
        Assert.Equal(44, Assert.IsType<Integer>(result.Corrected!.Item[1].Answer[0].Value).Value);
        Assert.Equal(45, Assert.IsType<Integer>(response.Item[1].Answer[0].Value).Value);
    }

    [Fact]
    public void A_missing_total_is_information_and_is_added_where_the_questionnaire_puts_it()
    {
        var response = Qpr([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], null);

        var issue = Assert.Single(Check(response));
        var corrected = Services.Scorer.Score(response, Definition(Qpr15)).Corrected!;

        Assert.Equal(("qr-score-missing", IssueSeverity.Information), (issue.RuleId, issue.Severity));
        Assert.Equal(["qpr", "total"], corrected.Item.Select(i => i.LinkId));
        Assert.Equal(15, Assert.IsType<Integer>(corrected.Item[1].Answer[0].Value).Value);
    }

    [Fact]
    public void Chime_total_of_the_example_is_14()
    {
        var response = Example<QuestionnaireResponse>("QuestionnaireResponse-ingrid-chime-check.json");

        // connectedness agree 3 + hope not sure 2 + identity agree 3 + meaning agree strongly 4 + empowerment not sure 2
        Assert.Equal(14, Total(Services.Scorer.Score(response, Definition(Chime)), "total"));
        Assert.Empty(Check(response));
    }

    [Fact]
    public void Self_assessment_domain_scores_and_total_of_the_example()
    {
        var response = Example<QuestionnaireResponse>("QuestionnaireResponse-tom-recovery-self-assessment.json");

        var result = Services.Scorer.Score(response, Definition(SelfAssessment));

        Assert.Equal(7, Total(result, "score-promoting-citizenship"));          // 3+2+1+1
        Assert.Equal(13, Total(result, "score-organisational-commitment"));     // 3+2+1+3+4
        Assert.Equal(15, Total(result, "score-supporting-personally-defined-recovery")); // 3+3+4+2+3
        Assert.Equal(7, Total(result, "score-working-relationship"));           // 3+4
        Assert.Equal(42, Total(result, "score-total"));
        Assert.False(result.HasDifferences);
    }

    [Fact]
    public void Self_assessment_total_counts_equal_scores_once_each()
    {
        // All 16 statements "agree" (3): a union would collapse the equal scores; the total must be 48.
        var assessment = Definition(SelfAssessment);
        var response = Response(SelfAssessment, assessment.Items.Where(d => d.IsGroup && d.LinkId != "scores")
            .Select(d => Group(d.LinkId, d.Children.Select(t => Item(t.LinkId, Score(3))).ToArray())).ToArray());

        var result = Services.Scorer.Score(response, assessment);

        Assert.Equal(48, Total(result, "score-total"));
        Assert.Equal(12, Total(result, "score-promoting-citizenship"));
    }

    [Fact]
    public void Chained_calculations_settle_a_subtotal_before_the_total_that_uses_it()
    {
        var response = RuleQuestionnaire.Valid();
        response.Item.RemoveAll(i => i.LinkId is "subtotal" or "total");
        response.Item.First(i => i.LinkId == "scale").Item[1].Answer[0].Value = new Coding("urn:test:scale", "hi");

        var result = Services.Scorer.Score(response, RuleQuestionnaire.Definition);

        // s1 hi (2) + s2 hi (2) = 4; total = 4 * 1.5 = 6.0
        Assert.Equal(4, Assert.IsType<Integer>(result.Corrected!.Item.Single(i => i.LinkId == "subtotal").Answer[0].Value).Value);
        Assert.Equal(6.0m, Assert.IsType<FhirDecimal>(result.Corrected.Item.Single(i => i.LinkId == "total").Answer[0].Value).Value);
        Assert.Equal(["subtotal", "total"], result.Corrected.Item.TakeLast(2).Select(i => i.LinkId));
    }

    [Fact]
    public void Ordinal_weight_answers_and_sum_evaluate_as_documented()
    {
        var response = Qpr([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4], 30);
        var definition = Definition(Qpr15);
        var root = response.ToPocoNode();
        var context = new SdcEvaluationContext { Resource = root, RootResource = root, Questionnaire = definition, Environment = new Dictionary<string, IEnumerable<PocoNode>>() };

        decimal[] Evaluate(string expression) =>
            SdcFhirPath.Compile(expression).Compiled!([root], context).Select(n => SdcFhirPath.TryNumber(n, out var v, out _) ? v : -1).ToArray();

        Assert.Equal([0m, 1m, 2m, 3m, 4m], Evaluate("item.first().item.take(5).answer.value.ordinal()"));
        Assert.Equal([30m], Evaluate("item.first().item.answer.value.weight().sum()"));
        Assert.Equal(16, SdcFhirPath.Compile("answers()").Compiled!([root], context).Count());
        Assert.Equal([30m], Evaluate("%resource.answers().ordinal().sum()"));
        Assert.Equal([0m], Evaluate("{}.sum()"));
        Assert.Equal([45m], Evaluate("%resource.item.where(linkId = 'total').answers().sum() + 15"));
    }

    [Fact]
    public void A_coding_that_carries_its_own_ordinalValue_uses_it()
    {
        var response = Qpr([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0);
        var coding = Assert.IsType<Coding>(response.Item[0].Item[0].Answer[0].Value);
        coding.Extension.Add(new Extension(SdcUrls.ItemWeight, new FhirDecimal(10)));

        Assert.Equal(10, Total(Services.Scorer.Score(response, Definition(Qpr15)), "total"));
    }
}
