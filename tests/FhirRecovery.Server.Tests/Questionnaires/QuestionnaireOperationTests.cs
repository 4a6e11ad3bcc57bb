using System.Net;
using FhirRecovery.Conformance;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Questionnaires;

/// <summary>
/// Questionnaire behaviour over REST: responses validated against their (IG or stored) questionnaire on write and by
/// $validate, scores recomputed on write (corrected with a warning, or refused under Prefer: handling=strict),
/// $extract producing Observations that validate and load idempotently, $populate pre-filling from goals and
/// observations.
/// </summary>
public abstract class QuestionnaireOperationTests(FhirServerFixture fixture)
{
    private const string Ig = "https://fhirrecovery.org/fhir";
    private const string Qpr15 = Ig + "/Questionnaire/qpr-15|0.1.0";
    private const string GoalReview = Ig + "/Questionnaire/recovery-goal-review|0.1.0";
    private const string ObservationCodes = Ig + "/CodeSystem/recovery-observation";

    private HttpClient Client => fixture.Client;

    private ConformanceEngine Engine => fixture.Factory.Services.GetRequiredService<ConformanceEngine>();

    private async Task<string> NewPatientAsync(Action<Patient>? configure = null)
    {
        var patient = Patient();
        configure?.Invoke(patient);
        var response = await Client.PostAsync("Patient", patient);
        await response.AssertStatusAsync(HttpStatusCode.Created);
        return (await response.ReadAsync<Patient>()).Id;
    }

    private static QuestionnaireResponse Qpr(string patientId, IReadOnlyList<int> scores, int? total)
    {
        string[] codes = ["disagree-strongly", "disagree", "not-sure", "agree", "agree-strongly"];
        var response = new QuestionnaireResponse
        {
            Meta = new Meta { Profile = [Ig + "/StructureDefinition/recovery-questionnaire-response"] },
            Questionnaire = Qpr15,
            Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
            Subject = new ResourceReference($"Patient/{patientId}"),
            Author = new ResourceReference($"Patient/{patientId}"),
            Authored = "2026-05-04T09:00:00+02:00",
            Item =
            [
                new()
                {
                    LinkId = "qpr",
                    Item = scores.Select((s, i) => new QuestionnaireResponse.ItemComponent
                    {
                        LinkId = $"qpr-{i + 1:D2}",
                        Answer = [new() { Value = new Coding(Ig + "/CodeSystem/agreement-scale", codes[s]) }],
                    }).ToList(),
                },
            ],
        };
        if (total is { } recorded)
        {
            response.Item.Add(new() { LinkId = "total", Answer = [new() { Value = new Integer(recorded) }] });
        }

        return response;
    }

    private static int? TotalOf(QuestionnaireResponse response) =>
        (response.Item.FirstOrDefault(i => i.LinkId == "total")?.Answer.FirstOrDefault()?.Value as Integer)?.Value;

    // 3 x 5 + 2 x 5 + 4 x 5 = 45
    private static readonly int[] Scores = [3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4];

    [StoreFact]
    public async Task A_response_with_the_right_total_is_stored_as_sent()
    {
        var patient = await NewPatientAsync();

        var response = await Client.PostAsync("QuestionnaireResponse", Qpr(patient, Scores, 45));

        await response.AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal(45, TotalOf(await response.ReadAsync<QuestionnaireResponse>()));
    }

    [StoreFact]
    public async Task A_wrong_total_is_corrected_on_write_and_the_warning_comes_back_on_request()
    {
        var patient = await NewPatientAsync();

        var stored = await Client.PostAsync("QuestionnaireResponse", Qpr(patient, Scores, 50));
        var withOutcome = await Client.PostAsync("QuestionnaireResponse", Qpr(patient, Scores, 50), ("Prefer", "return=OperationOutcome"));

        await stored.AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal(45, TotalOf(await stored.ReadAsync<QuestionnaireResponse>()));
        var outcome = await withOutcome.AssertOutcomeAsync(HttpStatusCode.Created, "recorded as 50");
        var warning = Assert.Single(outcome.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Warning && i.Diagnostics.Contains("calculatedExpression"));
        Assert.Equal("QuestionnaireResponse.item[1].answer[0].valueInteger", Assert.Single(warning.Expression));
        var location = withOutcome.Headers.Location!.ToString().Split("/_history")[0];
        Assert.Equal(45, TotalOf(await (await Client.GetAsync(location)).ReadAsync<QuestionnaireResponse>()));
    }

    [StoreFact]
    public async Task Under_Prefer_handling_strict_a_wrong_total_is_refused_with_422_and_nothing_is_stored()
    {
        var patient = await NewPatientAsync();
        var qr = Qpr(patient, Scores, 50);
        qr.Id = Unique("strict");

        var response = await Client.PutAsync($"QuestionnaireResponse/{qr.Id}", qr, ("Prefer", "handling=strict"));

        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "computes 45");
        Assert.Equal("QuestionnaireResponse.item[1].answer[0].valueInteger", Assert.Single(outcome.Issue[0].Expression));
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"QuestionnaireResponse/{qr.Id}")).StatusCode);
    }

    [StoreFact]
    public async Task A_missing_total_is_filled_in()
    {
        var patient = await NewPatientAsync();

        var response = await Client.PostAsync("QuestionnaireResponse", Qpr(patient, Scores, null));

        var stored = await response.ReadAsync<QuestionnaireResponse>();
        Assert.Equal(["qpr", "total"], stored.Item.Select(i => i.LinkId));
        Assert.Equal(45, TotalOf(stored));
    }

    [StoreFact]
    public async Task A_response_that_breaks_its_questionnaire_is_refused_with_422_located_by_FHIRPath()
    {
        var patient = await NewPatientAsync();
        var qr = Qpr(patient, Scores, 45);
        qr.Item[0].Item[2].Answer[0].Value = new Coding(Ig + "/CodeSystem/agreement-scale", "maybe");

        var response = await Client.PostAsync("QuestionnaireResponse", qr);
        var validate = await Client.PostAsync("QuestionnaireResponse/$validate", qr);

        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "is not one of its answerOptions");
        Assert.Contains(outcome.Issue, i => i.Expression.Contains("QuestionnaireResponse.item[0].item[2].answer[0].valueCoding"));
        var validated = await validate.AssertOutcomeAsync(HttpStatusCode.OK, "is not one of its answerOptions");
        Assert.Contains(validated.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
    }

    [StoreFact]
    public async Task Responses_are_checked_and_scored_against_questionnaires_stored_on_the_server()
    {
        var patient = await NewPatientAsync();
        var url = $"https://example.org/fhir/Questionnaire/{Unique("stored")}";
        var questionnaire = new Questionnaire
        {
            Url = url,
            Version = "1",
            Status = PublicationStatus.Active,
            Item =
            [
                new() { LinkId = "a", Type = Questionnaire.QuestionnaireItemType.Integer, Required = true, Extension = [new("http://hl7.org/fhir/StructureDefinition/maxValue", new Integer(5))] },
                new()
                {
                    LinkId = "double", Type = Questionnaire.QuestionnaireItemType.Integer, ReadOnly = true,
                    Extension = [new("http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
                        new Expression { Language = "text/fhirpath", Expression_ = "%resource.item.where(linkId = 'a').answer.value * 2" })],
                },
            ],
        };
        await (await Client.PostAsync("Questionnaire", questionnaire)).AssertStatusAsync(HttpStatusCode.Created);
        QuestionnaireResponse Answer(int a) => new()
        {
            Questionnaire = $"{url}|1",
            Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
            Subject = new ResourceReference($"Patient/{patient}"),
            Authored = "2026-05-04T09:00:00+02:00",
            Item = [new() { LinkId = "a", Answer = [new() { Value = new Integer(a) }] }],
        };

        var tooHigh = await Client.PostAsync("QuestionnaireResponse", Answer(6));
        var scored = await Client.PostAsync("QuestionnaireResponse", Answer(4));

        await tooHigh.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "above its maximum 5");
        await scored.AssertStatusAsync(HttpStatusCode.Created);
        var stored = await scored.ReadAsync<QuestionnaireResponse>();
        Assert.Equal(8, (stored.Item.Single(i => i.LinkId == "double").Answer[0].Value as Integer)?.Value);
    }

    [StoreFact]
    public async Task A_transaction_may_bring_a_questionnaire_and_its_responses_together()
    {
        var patient = await NewPatientAsync();
        var url = $"https://example.org/fhir/Questionnaire/{Unique("tx")}";
        var questionnaire = new Questionnaire
        {
            Url = url,
            Version = "1",
            Status = PublicationStatus.Active,
            Item =
            [
                new() { LinkId = "a", Type = Questionnaire.QuestionnaireItemType.Integer },
                new()
                {
                    LinkId = "plus-one", Type = Questionnaire.QuestionnaireItemType.Integer, ReadOnly = true,
                    Extension = [new("http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
                        new Expression { Language = "text/fhirpath", Expression_ = "%resource.item.where(linkId = 'a').answer.value + 1" })],
                },
            ],
        };
        var response = new QuestionnaireResponse
        {
            Questionnaire = $"{url}|1",
            Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
            Subject = new ResourceReference($"Patient/{patient}"),
            Authored = "2026-05-04T09:00:00+02:00",
            Item = [new() { LinkId = "a", Answer = [new() { Value = new Integer(41) }] }],
        };
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new() { FullUrl = $"urn:uuid:{Guid.NewGuid()}", Resource = questionnaire, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Questionnaire" } },
                new() { FullUrl = $"urn:uuid:{Guid.NewGuid()}", Resource = response, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "QuestionnaireResponse" } },
            ],
        };

        var result = await Client.PostAsync("", bundle);

        await result.AssertStatusAsync(HttpStatusCode.OK);
        var location = (await result.ReadAsync<Bundle>()).Entry[1].Response.Location.Split("/_history")[0];
        var stored = await (await Client.GetAsync(location)).ReadAsync<QuestionnaireResponse>();
        Assert.Equal(42, (stored.Item.Single(i => i.LinkId == "plus-one").Answer[0].Value as Integer)?.Value);
    }

    [StoreFact]
    public async Task Extract_turns_the_flagged_items_and_scores_into_Observations_that_validate_and_load_once()
    {
        var patient = await NewPatientAsync();
        var created = await (await Client.PostAsync("QuestionnaireResponse", Qpr(patient, Scores, 45))).ReadAsync<QuestionnaireResponse>();

        var extract = await Client.PostAsync($"QuestionnaireResponse/{created.Id}/$extract", new Parameters());
        await extract.AssertStatusAsync(HttpStatusCode.OK);
        var bundle = await extract.ReadAsync<Bundle>();

        Assert.Equal(Bundle.BundleType.Transaction, bundle.Type);
        var observation = Assert.IsType<Observation>(Assert.Single(bundle.Entry).Resource);
        Assert.Equal((ObservationCodes, "qpr-15-total"), (observation.Code.Coding[0].System, observation.Code.Coding[0].Code));
        Assert.Equal(45, (observation.Value as Integer)?.Value);
        Assert.Equal($"Patient/{patient}", observation.Subject.Reference);
        Assert.Equal($"QuestionnaireResponse/{created.Id}", Assert.Single(observation.DerivedFrom).Reference);
        Assert.Equal(ObservationStatus.Final, observation.Status);
        var validation = Engine.Validator.Validate(observation);
        Assert.False(validation.HasErrors, string.Join("\n", validation.Issues.Select(i => $"{i.Expression}: {i.Message}")));

        var first = await (await Client.PostAsync("", bundle)).ReadAsync<Bundle>();
        var again = await (await Client.PostAsync("", bundle)).ReadAsync<Bundle>();
        Assert.StartsWith("201", first.Entry[0].Response.Status);
        Assert.StartsWith("200", again.Entry[0].Response.Status);
        var search = await (await Client.GetAsync($"Observation?subject=Patient/{patient}&code={ObservationCodes}|qpr-15-total")).ReadAsync<Bundle>();
        Assert.Single(search.Entry, e => e.Resource is Observation);
    }

    [StoreFact]
    public async Task Extract_of_a_response_in_the_body_uses_the_questionnaires_score_not_the_recorded_one()
    {
        var patient = await NewPatientAsync();
        var parameters = new Parameters { Parameter = [new() { Name = "questionnaire-response", Resource = Qpr(patient, Scores, 50) }] };

        var bundle = await (await Client.PostAsync("QuestionnaireResponse/$extract", parameters)).ReadAsync<Bundle>();

        Assert.Equal(45, (Assert.IsType<Observation>(Assert.Single(bundle.Entry).Resource).Value as Integer)?.Value);
    }

    [StoreFact]
    public async Task Extract_of_a_response_with_errors_is_refused_with_422()
    {
        var patient = await NewPatientAsync();
        var qr = Qpr(patient, Scores, 45);
        qr.Item[0].Item.RemoveAt(3);

        var response = await Client.PostAsync("QuestionnaireResponse/$extract", qr);

        await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "qpr-04");
    }

    [StoreFact]
    public async Task Populate_prefills_the_goal_review_from_the_persons_goal_and_last_progress_rating()
    {
        var patient = await NewPatientAsync();
        var goal = Goal($"Patient/{patient}", "Sing in a choir again");
        var goalId = (await (await Client.PostAsync("Goal", goal)).ReadAsync<Goal>()).Id;
        var review = new QuestionnaireResponse
        {
            Questionnaire = GoalReview,
            Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
            Subject = new ResourceReference($"Patient/{patient}"),
            Authored = "2026-04-01T10:00:00+02:00",
            Extension = [new("http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal", new ResourceReference($"Goal/{goalId}"))],
            Item =
            [
                new() { LinkId = "goal", Answer = [new() { Value = new ResourceReference($"Goal/{goalId}") }] },
                new() { LinkId = "progress", Answer = [new() { Value = new Integer(6) }] },
                new() { LinkId = "attainment", Answer = [new() { Value = new Integer(1) }] },
            ],
        };
        var reviewId = (await (await Client.PostAsync("QuestionnaireResponse", review)).ReadAsync<QuestionnaireResponse>()).Id;
        var observations = await (await Client.PostAsync($"QuestionnaireResponse/{reviewId}/$extract", new Parameters())).ReadAsync<Bundle>();
        Assert.Equal(["goal-progress", "goal-attainment"], observations.Entry.Select(e => ((Observation)e.Resource).Code.Coding[0].Code));
        await (await Client.PostAsync("", observations)).AssertStatusAsync(HttpStatusCode.OK);

        var populate = await Client.GetAsync($"Questionnaire/recovery-goal-review/$populate?subject=Patient/{patient}");

        await populate.AssertStatusAsync(HttpStatusCode.OK);
        var output = await populate.ReadAsync<Parameters>();
        var response = Assert.IsType<QuestionnaireResponse>(output.Parameter.Single(p => p.Name == "response").Resource);
        Assert.Equal(QuestionnaireResponse.QuestionnaireResponseStatus.InProgress, response.Status);
        Assert.Equal($"Patient/{patient}", response.Subject.Reference);
        Assert.Equal($"Goal/{goalId}", (response.Item.Single(i => i.LinkId == "goal").Answer[0].Value as ResourceReference)?.Reference);
        Assert.Equal("Sing in a choir again", response.Item.Single(i => i.LinkId == "goal-description").Answer[0].Value.ToString());
        Assert.Equal(6, (response.Item.Single(i => i.LinkId == "previous-progress").Answer[0].Value as Integer)?.Value);
        var validation = Engine.Validator.Validate(response);
        Assert.False(validation.HasErrors, string.Join("\n", validation.Issues.Select(i => $"{i.Expression}: {i.Message}")));
    }

    [StoreFact]
    public async Task Populate_takes_the_goal_as_a_launch_context_and_the_questionnaire_by_canonical()
    {
        var patient = await NewPatientAsync(p => p.Communication = [new() { Language = new CodeableConcept("urn:ietf:bcp:47", "nb", "Norwegian Bokmål") }]);
        var first = (await (await Client.PostAsync("Goal", Goal($"Patient/{patient}", "First goal"))).ReadAsync<Goal>()).Id;
        await Client.PostAsync("Goal", Goal($"Patient/{patient}", "Second goal"));
        var parameters = new Parameters
        {
            Parameter =
            [
                new() { Name = "canonical", Value = new Canonical(GoalReview) },
                new() { Name = "subject", Value = new ResourceReference($"Patient/{patient}") },
                new() { Name = "context", Part = [new() { Name = "name", Value = new FhirString("goal") }, new() { Name = "content", Value = new ResourceReference($"Goal/{first}") }] },
            ],
        };

        var review = await (await Client.PostAsync("Questionnaire/$populate", parameters)).ReadAsync<Parameters>();
        var preferences = await (await Client.GetAsync($"Questionnaire/peer-support-preferences/$populate?subject=Patient/{patient}")).ReadAsync<Parameters>();

        var response = (QuestionnaireResponse)review.Parameter.Single(p => p.Name == "response").Resource;
        Assert.Equal("First goal", response.Item.Single(i => i.LinkId == "goal-description").Answer[0].Value.ToString());
        Assert.DoesNotContain(response.Item, i => i.LinkId == "previous-progress");
        var language = ((QuestionnaireResponse)preferences.Parameter.Single(p => p.Name == "response").Resource).Item.Single(i => i.LinkId == "language");
        Assert.Equal("nb", (language.Answer[0].Value as Coding)?.Code);
    }

    [StoreFact]
    public async Task Populate_without_a_subject_is_400_and_for_an_unknown_one_404()
    {
        await (await Client.GetAsync("Questionnaire/recovery-goal-review/$populate")).AssertOutcomeAsync(HttpStatusCode.BadRequest, "subject");
        await (await Client.GetAsync("Questionnaire/recovery-goal-review/$populate?subject=Patient/nobody-here")).AssertOutcomeAsync(HttpStatusCode.NotFound, "nobody-here");
        await (await Client.GetAsync("Questionnaire/no-such-questionnaire/$populate?subject=Patient/x")).AssertOutcomeAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async Task The_capability_statement_declares_extract_and_populate()
    {
        var statement = await (await Client.GetAsync("metadata")).ReadAsync<CapabilityStatement>();

        var resources = statement.Rest[0].Resource;
        Assert.Contains(resources.Single(r => r.Type == "QuestionnaireResponse").Operation, o => o.Name == "extract");
        Assert.Contains(resources.Single(r => r.Type == "Questionnaire").Operation, o => o.Name == "populate");
    }
}

public sealed class SqliteQuestionnaireOperationTests(SqliteServerFixture fixture) : QuestionnaireOperationTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlQuestionnaireOperationTests(PostgreSqlServerFixture fixture) : QuestionnaireOperationTests(fixture), IClassFixture<PostgreSqlServerFixture>;
