// Firely POCO properties are all nullable; these tests dereference them right after asserting the shape.
#nullable disable warnings
using FhirRecovery.Conformance.Questionnaires;
using Hl7.Fhir.Model;
using static FhirRecovery.Conformance.Tests.Questionnaires.QuestionnaireFixtures;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Conformance.Tests.Questionnaires;

/// <summary>Observation-based $extract and expression-based $populate, on the IG's questionnaires and examples.</summary>
public sealed class ExtractAndPopulateTests
{
    private const string ObservationCodes = IgBase + "/CodeSystem/recovery-observation";

    private static List<Observation> Extract(string exampleFile, string canonical)
    {
        var response = Example<QuestionnaireResponse>(exampleFile);
        var result = Services.Extractor.Extract(response, Definition(canonical));
        Assert.Empty(result.Skipped);
        return result.Observations.ToList();
    }

    private static Dictionary<string, int?> Values(IEnumerable<Observation> observations) =>
        observations.ToDictionary(o => o.Code.Coding[0].Code!, o => (o.Value as Integer)?.Value);

    [Fact]
    public void Qpr_extraction_gives_the_total_as_an_Observation_derived_from_the_response()
    {
        var observation = Assert.Single(Extract("QuestionnaireResponse-tom-qpr-baseline.json", Qpr15));

        Assert.Equal((ObservationCodes, "qpr-15-total"), (observation.Code.Coding[0].System, observation.Code.Coding[0].Code));
        Assert.Equal(34, (observation.Value as Integer)?.Value);
        Assert.Equal("Patient/tom", observation.Subject.Reference);
        Assert.Equal("QuestionnaireResponse/tom-qpr-baseline", observation.DerivedFrom[0].Reference);
        Assert.Equal("2026-03-16T09:30:00+01:00", observation.Effective.ToString());
        Assert.Equal("survey", observation.Category[0].Coding[0].Code);
        Assert.Equal(ObservationExtractor.IdentifierSystem, observation.Identifier[0].System);
    }

    [Fact]
    public void Chime_extraction_gives_each_process_and_the_total()
    {
        var values = Values(Extract("QuestionnaireResponse-ingrid-chime-check.json", Chime));

        Assert.Equal(6, values.Count);
        Assert.Equal(14, values["chime-5-total"]);
        // Coded answers become CodeableConcepts.
        var process = Extract("QuestionnaireResponse-ingrid-chime-check.json", Chime).First(o => o.Code.Coding[0].Code == "chime-meaning-in-life");
        Assert.Equal("agree-strongly", ((CodeableConcept)process.Value).Coding[0].Code);
    }

    [Fact]
    public void Self_assessment_extraction_gives_the_domain_scores_and_total()
    {
        var values = Values(Extract("QuestionnaireResponse-tom-recovery-self-assessment.json", SelfAssessment));

        Assert.Equal(new Dictionary<string, int?>
        {
            ["self-assessment-promoting-citizenship"] = 7,
            ["self-assessment-organisational-commitment"] = 13,
            ["self-assessment-supporting-personally-defined-recovery"] = 15,
            ["self-assessment-working-relationship"] = 7,
            ["self-assessment-total"] = 42,
        }, values);
    }

    [Fact]
    public void Goal_review_extraction_gives_progress_and_attainment_with_the_goal_as_focus()
    {
        var observations = Extract("QuestionnaireResponse-tom-goal-review.json", GoalReview);

        Assert.Equal(new Dictionary<string, int?> { ["goal-progress"] = 6, ["goal-attainment"] = 1 }, Values(observations));
        Assert.All(observations, o => Assert.Equal("Goal/tom-reconnect-family", Assert.Single(o.Focus).Reference));
    }

    [Theory]
    [InlineData("QuestionnaireResponse-tom-qpr-baseline.json", Qpr15)]
    [InlineData("QuestionnaireResponse-ingrid-chime-check.json", Chime)]
    [InlineData("QuestionnaireResponse-tom-recovery-self-assessment.json", SelfAssessment)]
    [InlineData("QuestionnaireResponse-tom-goal-review.json", GoalReview)]
    [InlineData("QuestionnaireResponse-ingrid-check-in-2026-04-07.json", CheckIn)]
    public void Extracted_Observations_validate_without_errors(string file, string canonical)
    {
        var observations = Extract(file, canonical);

        Assert.NotEmpty(observations);
        foreach (var observation in observations)
        {
            var issues = ValidateFully(observation);
            Assert.False(issues.Any(i => i.IsError), Show(issues));
        }
    }

    [Fact]
    public void The_extraction_transaction_creates_each_Observation_only_once()
    {
        var transaction = Services.Extractor.Extract(Example<QuestionnaireResponse>("QuestionnaireResponse-ingrid-chime-check.json"), Definition(Chime)).Transaction;

        Assert.Equal(Bundle.BundleType.Transaction, transaction.Type);
        Assert.All(transaction.Entry, e => Assert.StartsWith($"identifier={ObservationExtractor.IdentifierSystem}|ingrid-chime-check/", e.Request.IfNoneExist));
        Assert.Equal(transaction.Entry.Count, transaction.Entry.Select(e => e.Request.IfNoneExist).Distinct().Count());
        Assert.False(ValidateFully(transaction).Any(i => i.IsError), Show(ValidateFully(transaction)));
    }

    [Fact]
    public async Task Populate_fills_items_from_launch_contexts_variables_and_searches()
    {
        var patient = new Patient { Id = "p1", Communication = [new() { Language = new CodeableConcept("urn:ietf:bcp:47", "nb") }] };
        var goal = new Goal { Id = "g1", Description = new CodeableConcept { Text = "Sing in a choir again" }, Subject = new ResourceReference("Patient/p1") };
        var earlier = new Observation { Id = "o1", Status = ObservationStatus.Final, Code = new CodeableConcept(ObservationCodes, "goal-progress"), Value = new Integer(4) };
        var data = new Data(new Dictionary<string, Resource[]>
        {
            ["Goal"] = [goal],
            ["Observation"] = [earlier],
        });

        var review = await Services.Populator.PopulateAsync(Definition(GoalReview), new ResourceReference("Patient/p1"), patient,
            new Dictionary<string, Resource>(), data, DateTimeOffset.Parse("2026-06-01T10:00:00Z"), CancellationToken.None);
        var preferences = await Services.Populator.PopulateAsync(Definition(PeerPreferences), new ResourceReference("Patient/p1"), patient,
            new Dictionary<string, Resource>(), data, DateTimeOffset.Parse("2026-06-01T10:00:00Z"), CancellationToken.None);

        Assert.Empty(review.Issues);
        var items = review.Response.Item.ToDictionary(i => i.LinkId, i => i.Answer[0].Value);
        Assert.Equal("Goal/g1", ((ResourceReference)items["goal"]).Reference);
        Assert.Equal("Sing in a choir again", items["goal-description"].ToString());
        Assert.Equal(4, ((Integer)items["previous-progress"]).Value);
        Assert.Contains(data.Queries, q => q.StartsWith("Goal?subject=Patient%2Fp1", StringComparison.Ordinal) || q.StartsWith("Goal?subject=Patient/p1", StringComparison.Ordinal));
        Assert.Contains(data.Queries, q => q.Contains("focus=Goal/g1", StringComparison.Ordinal) || q.Contains("focus=Goal/" + Uri.EscapeDataString("g1"), StringComparison.Ordinal));
        Assert.Equal("nb", ((Coding)preferences.Response.Item.Single(i => i.LinkId == "language").Answer[0].Value).Code);
        Assert.Equal(QuestionnaireResponse.QuestionnaireResponseStatus.InProgress, review.Response.Status);
        Assert.False(ValidateFully(review.Response).Any(i => i.IsError), Show(ValidateFully(review.Response)));
    }

    [Fact]
    public async Task Populate_computes_scores_and_leaves_measures_unanswered()
    {
        var result = await Services.Populator.PopulateAsync(Definition(Qpr15), new ResourceReference("Patient/p1"), new Patient { Id = "p1" },
            new Dictionary<string, Resource>(), new Data([]), DateTimeOffset.UtcNow, CancellationToken.None);

        // Nothing answered: no statement is pre-filled and there is no total (it needs all 15).
        Assert.Empty(result.Response.Item);
    }

    private sealed class Data(Dictionary<string, Resource[]> byType) : IPopulateDataSource
    {
        public List<string> Queries { get; } = [];

        public System.Threading.Tasks.Task<Resource?> ReadAsync(string reference, CancellationToken cancellationToken) =>
            Task.FromResult(byType.Values.SelectMany(r => r).FirstOrDefault(r => $"{r.TypeName}/{r.Id}" == reference));

        public System.Threading.Tasks.Task<Bundle> SearchAsync(string query, CancellationToken cancellationToken)
        {
            Queries.Add(query);
            var type = query.Split('?')[0];
            return Task.FromResult(new Bundle
            {
                Type = Bundle.BundleType.Searchset,
                Entry = (byType.GetValueOrDefault(type) ?? []).Select(r => new Bundle.EntryComponent { Resource = r }).ToList(),
            });
        }
    }
}
