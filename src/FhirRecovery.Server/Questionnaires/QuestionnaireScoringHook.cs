using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Questionnaires;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Questionnaires;

/// <summary>
/// Recomputes the scores (SDC calculatedExpression) of every QuestionnaireResponse written, inside the write's store
/// session, and stores the questionnaire's values.
/// <para>
/// Policy on a recorded score that differs: by default the server corrects it and says so: the validator's warning
/// (<c>qr-score-mismatch</c>) comes back with <c>Prefer: return=OperationOutcome</c>, and <c>return=representation</c>
/// shows the stored, corrected score. Why not refuse: the answers are the person's own and the primary data; a score
/// is derived from them by the questionnaire's rules, which the server applies exactly, so refusing would lose what
/// the person said for a client's arithmetic (or an outdated scoring rule), while storing the wrong score would carry
/// it into extracted Observations and summaries. A client that prefers a refusal sends <c>Prefer: handling=strict</c>
/// (FHIR's strict handling, read here for writes as "report, don't repair"): then a differing score is a 422 whose
/// OperationOutcome locates each one. A missing score is always filled in.
/// </para>
/// </summary>
public sealed class QuestionnaireScoringHook(ConformanceEngine engine, StoredQuestionnaires questionnaires, IHttpContextAccessor http) : IResourceWriteHook
{
    public async ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken)
    {
        // Also in a history import: a score is derived data, not an event; a wrong one imported would flow into the
        // extracted Observations and summaries as it would from a live write.
        if (context.Resource is not QuestionnaireResponse response || response.Status == QuestionnaireResponse.QuestionnaireResponseStatus.EnteredInError)
        {
            return;
        }

        var questionnaire = await questionnaires.FindForAsync(response, context.Session, cancellationToken);
        if (questionnaire is null)
        {
            return;
        }

        var result = engine.Questionnaires.Scorer.Score(response, QuestionnaireDefinition.For(questionnaire));
        if (result.Corrected is not { } corrected)
        {
            return;
        }

        var differing = result.Differences.Where(d => d.WasPresent).ToList();
        if (differing.Count > 0 && Strict())
        {
            var outcome = new OperationOutcome();
            foreach (var difference in differing)
            {
                var computed = difference.Computed.Count == 0 ? "nothing" : string.Join(", ", difference.Computed.Select(AnswerValues.Describe));
                var recorded = string.Join(", ", difference.Recorded.Select(AnswerValues.Describe));
                outcome.Issue.Add(Outcomes.Error(OperationOutcome.IssueType.BusinessRule,
                    $"The score {difference.Item.Label} is recorded as {recorded}, but {questionnaire.Url}|{questionnaire.Version} computes {computed} (Prefer: handling=strict refuses instead of correcting)",
                    difference.Recorded.Count > 0 ? $"{difference.Location}.answer[0].{AnswerValues.JsonName(difference.Recorded[0])}" : difference.Location).Issue[0]);
            }

            throw new FhirException(StatusCodes.Status422UnprocessableEntity, outcome);
        }

        response.Item = corrected.Item;
    }

    public ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    private bool Strict()
    {
        if (http.HttpContext is not { } current)
        {
            // Writes outside a request (the sample loader) are corrected.
            return false;
        }

        try
        {
            return FhirRequestContext.Get(current).Handling == SearchHandling.Strict;
        }
        catch (FhirException)
        {
            return false;
        }
    }
}
