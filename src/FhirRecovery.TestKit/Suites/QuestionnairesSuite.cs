using FhirRecovery.TestKit.Examples;
using FhirRecovery.TestKit.Model;
using Hl7.Fhir.Model;
using static FhirRecovery.TestKit.Model.KitContext;

namespace FhirRecovery.TestKit.Suites;

/// <summary>Questionnaire responses: the server computes their scores (SDC calculatedExpression) and extracts Observations ($extract).</summary>
public sealed class QuestionnairesSuite : KitSuite
{
    private const string ExampleFile = "QuestionnaireResponse-tom-qpr-baseline";
    private const string TotalLinkId = "total";
    private const string ObservationCodes = Specs.Ig + "/CodeSystem/recovery-observation";

    private IReadOnlyList<IgExample>? _examples;
    private int? _expectedTotal;
    private string? _storedId;

    public override string Name => "questionnaires";

    public override string Description => "Submit QPR-15 responses: the server stores the score the questionnaire computes, refuses responses that break it, and $extract gives Observations.";

    public QuestionnairesSuite()
    {
        Test("qr-01", "A QPR-15 response sent with a wrong total is stored with the total the questionnaire computes (or refused with 422)",
            Specs.IgRule("recovery-questionnaire-response: scores are the questionnaire's calculatedExpression", "StructureDefinition/recovery-questionnaire-response"), async ctx =>
            {
                _examples = await RecoveryData.WriteSupportingAsync(ctx, "qr");
                var response = Response();
                var expected = Total(response) ?? throw new TestFailedException("the example response has no total");
                _expectedTotal = expected;
                SetTotal(response, expected + 5);
                var created = await ctx.Fhir.PostAsync("QuestionnaireResponse", response);
                if (created.Status == 422)
                {
                    return; // refusing a wrong score is as good as correcting it
                }

                ExpectStatus(created, 201);
                var stored = await ReadBackAsync(ctx, created);
                Expect(Total(stored) == expected, $"stored total is {Total(stored)?.ToString() ?? "missing"}; the questionnaire computes {expected} (sent {expected + 5})");
            });

        Test("qr-02", "A QPR-15 response sent without its total gets the computed total",
            Specs.FhirRule("SDC calculatedExpression", "../uv/sdc/STU3/expressions.html#calculatedExpression"), async ctx =>
            {
                var response = Response();
                var expected = Needs(_expectedTotal is { } t ? t.ToString(System.Globalization.CultureInfo.InvariantCulture) : null, "qr-01");
                response.Item.RemoveAll(i => i.LinkId == TotalLinkId);
                var created = await ctx.Fhir.PostAsync("QuestionnaireResponse", response);
                ExpectStatus(created, 201);
                var stored = await ReadBackAsync(ctx, created);
                Expect(Total(stored)?.ToString(System.Globalization.CultureInfo.InvariantCulture) == expected, $"stored total is {Total(stored)?.ToString() ?? "missing"}, expected {expected}");
                _storedId = stored.Id;
            });

        Test("qr-03", "A response whose answer is not one of its question's answerOptions is refused with 422",
            Specs.FhirRule("QuestionnaireResponse answers conform to the Questionnaire", "questionnaireresponse.html"), async ctx =>
            {
                var response = Response();
                var first = response.Item.SelectMany(i => i.Item).First(i => i.Answer.Count > 0);
                first.Answer[0].Value = new Coding(Specs.Ig + "/CodeSystem/agreement-scale", "no-such-answer");
                var created = await ctx.Fhir.PostAsync("QuestionnaireResponse", response);
                ExpectStatus(created, 422);
            });

        Test("qr-04", "QuestionnaireResponse/{id}/$extract answers a transaction Bundle with the total as an Observation (subject, derivedFrom, value) that validates",
            Specs.FhirRule("SDC observation-based extraction", "../uv/sdc/STU3/extraction.html#observation-based-extraction"), async ctx =>
            {
                var id = Needs(_storedId, "qr-02");
                var extract = await ctx.Fhir.PostAsync($"QuestionnaireResponse/{id}/$extract", new Parameters());
                ExpectStatus(extract, 200);
                var bundle = extract.Resource as Bundle ?? (extract.Resource as Parameters)?.Parameter.FirstOrDefault(p => p.Name == "return")?.Resource as Bundle
                             ?? throw new TestFailedException("$extract answered neither a Bundle nor Parameters with a return Bundle");
                Expect(bundle.Type == Bundle.BundleType.Transaction, $"the extracted Bundle is a {bundle.Type}, not a transaction");
                var total = bundle.Entry.Select(e => e.Resource).OfType<Observation>().FirstOrDefault(o => o.Code.Coding.Any(c => c.System == ObservationCodes && c.Code == "qpr-15-total"));
                Expect(total is not null, "no Observation with code qpr-15-total");
                Expect((total!.Value as Integer)?.Value == _expectedTotal, $"the Observation's value is {total.Value}, expected {_expectedTotal}");
                Expect(total.DerivedFrom.Any(d => d.Reference?.EndsWith($"QuestionnaireResponse/{id}", StringComparison.Ordinal) == true), "the Observation is not derivedFrom the response");
                Expect(total.Subject?.Reference == Response().Subject?.Reference, $"the Observation's subject is {total.Subject?.Reference}");
                ctx.ExpectValid(total, "the extracted Observation");
            });
    }

    private QuestionnaireResponse Response()
    {
        var response = RecoveryData.Example<QuestionnaireResponse>(Needs(_examples, "qr-01"), ExampleFile);
        response.Id = null;
        return response;
    }

    private static async Task<QuestionnaireResponse> ReadBackAsync(KitContext ctx, Running.FhirResponse created)
    {
        var location = created.Location ?? throw new TestFailedException("the create answered no Location");
        var read = await ctx.Fhir.GetAsync(location);
        ExpectStatus(read, 200);
        return read.As<QuestionnaireResponse>();
    }

    private static int? Total(QuestionnaireResponse response) =>
        (response.Item.FirstOrDefault(i => i.LinkId == TotalLinkId)?.Answer.FirstOrDefault()?.Value as Integer)?.Value;

    private static void SetTotal(QuestionnaireResponse response, int total) =>
        response.Item.First(i => i.LinkId == TotalLinkId).Answer = [new QuestionnaireResponse.AnswerComponent { Value = new Integer(total) }];
}
