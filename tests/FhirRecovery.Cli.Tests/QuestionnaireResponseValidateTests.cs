namespace FhirRecovery.Cli.Tests;

/// <summary>`validate` checks a QuestionnaireResponse against its Questionnaire through the engine, with nothing to switch on.</summary>
public class QuestionnaireResponseValidateTests
{
    [Fact]
    public void Validate_reports_an_answer_that_is_not_one_of_the_questionnaires_options()
    {
        var file = Path.Combine(TestPaths.InvalidExamples, "QuestionnaireResponse-answer-not-an-option.json");

        var result = CliRunner.Run(Path.GetTempPath(), "validate", file);

        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"(?m)^  error\s+QuestionnaireResponse\.item\[0\]\.item\[0\]\.answer\[0\]\.valueCoding\s+.*is not one of its answerOptions", result.Out);
    }

    [Fact]
    public void Validate_passes_a_response_whose_answers_and_total_fit_the_questionnaire()
    {
        var file = Path.Combine(TestPaths.Examples, "QuestionnaireResponse-tom-qpr-baseline.json");

        var result = CliRunner.Run(Path.GetTempPath(), "validate", file);

        Assert.True(result.ExitCode == 0, result.ToString());
    }
}
