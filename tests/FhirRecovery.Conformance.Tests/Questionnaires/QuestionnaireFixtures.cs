using FhirRecovery.Conformance.Questionnaires;
using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Conformance.Tests.Questionnaires;

/// <summary>The IG's questionnaires and examples, and small builders for responses.</summary>
internal static class QuestionnaireFixtures
{
    public const string IgBase = "https://fhirrecovery.org/fhir";
    public const string AgreementScale = IgBase + "/CodeSystem/agreement-scale";
    public const string Qpr15 = IgBase + "/Questionnaire/qpr-15|0.1.0";
    public const string Chime = IgBase + "/Questionnaire/chime-recovery-processes|0.1.0";
    public const string SelfAssessment = IgBase + "/Questionnaire/recovery-self-assessment|0.1.0";
    public const string GoalSetting = IgBase + "/Questionnaire/recovery-goal-setting|0.1.0";
    public const string GoalReview = IgBase + "/Questionnaire/recovery-goal-review|0.1.0";
    public const string PeerPreferences = IgBase + "/Questionnaire/peer-support-preferences|0.1.0";
    public const string CheckIn = IgBase + "/Questionnaire/daily-wellbeing-check-in|0.1.0";

    private static readonly FhirJsonDeserializer Json = new();

    public static QuestionnaireServices Services => SharedDefinitions.Engine.Questionnaires;

    public static Questionnaire Questionnaire(string canonical) =>
        Services.Resolver.Find(canonical) ?? throw new InvalidOperationException($"{canonical} is not in the IG");

    public static QuestionnaireDefinition Definition(string canonical) => QuestionnaireDefinition.For(Questionnaire(canonical));

    public static T Example<T>(string file) where T : Resource =>
        (T)Json.DeserializeResource(File.ReadAllText(Path.Combine(TestPaths.Profiles, "examples", file)));

    public static Coding Agree(string code) => new(AgreementScale, code);

    /// <summary>The agreement-scale code of a 0-4 score.</summary>
    public static Coding Score(int score) => Agree(score switch
    {
        0 => "disagree-strongly",
        1 => "disagree",
        2 => "not-sure",
        3 => "agree",
        _ => "agree-strongly",
    });

    public static QuestionnaireResponse Response(string questionnaire, params QuestionnaireResponse.ItemComponent[] items) => new()
    {
        Questionnaire = questionnaire,
        Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
        Subject = new ResourceReference("Patient/p1"),
        Authored = "2026-05-01T10:00:00+02:00",
        Item = items.ToList(),
    };

    public static QuestionnaireResponse.ItemComponent Item(string linkId, params DataType[] answers) => new()
    {
        LinkId = linkId,
        Answer = answers.Select(a => new QuestionnaireResponse.AnswerComponent { Value = a }).ToList(),
    };

    public static QuestionnaireResponse.ItemComponent Group(string linkId, params QuestionnaireResponse.ItemComponent[] items) => new()
    {
        LinkId = linkId,
        Item = items.ToList(),
    };

    /// <summary>A QPR-15 response with these item scores (0-4) and, when given, a recorded total.</summary>
    public static QuestionnaireResponse Qpr(IReadOnlyList<int> scores, int? total)
    {
        var response = Response(Qpr15, Group("qpr", scores.Select((s, i) => Item($"qpr-{i + 1:D2}", Score(s))).ToArray()));
        if (total is { } recorded)
        {
            response.Item.Add(Item("total", new Integer(recorded)));
        }

        return response;
    }

    /// <summary>The questionnaire-validation issues only (the profile walk is not run).</summary>
    public static List<ValidationIssue> Check(QuestionnaireResponse response) => Services.ResponseValidator.Validate(response).ToList();

    /// <summary>Everything the profile validator says (walk plus the questionnaire check), as $validate does.</summary>
    public static List<ValidationIssue> ValidateFully(Resource resource) => SharedDefinitions.Validator.Validate(resource).Issues.ToList();

    public static string Show(IEnumerable<ValidationIssue> issues) =>
        string.Join("\n", issues.Select(i => $"  {i.Severity} {i.Code} [{i.RuleId}] {i.Expression}: {i.Message}"));
}
