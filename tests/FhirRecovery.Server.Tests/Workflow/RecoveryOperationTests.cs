using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using FhirRecovery.Conformance;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Server.Tests.Workflow;

/// <summary>
/// <c>$recovery-summary</c>, <c>$recovery-orientation</c> and recovery messages on the shipped sample data set (60
/// people, every Task state), loaded at start through the transaction machinery — so the loading itself shows that the
/// lifecycle accepts every transition the samples make. Expected values are computed here from the sample files.
/// </summary>
public abstract class RecoveryOperationTests(FhirServerFixture fixture)
{
    private const string Person = "s42-p0001";
    private static SampleData Samples => SampleData.Instance;

    private HttpClient Client => fixture.Client;

    [StoreFact]
    public async Task The_sample_data_loads_completely_through_the_lifecycle_and_referrals_keep_their_status()
    {
        foreach (var type in new[] { "Task", "ServiceRequest", "Goal", "QuestionnaireResponse", "Patient" })
        {
            var expected = Samples.Final.Values.Count(r => r.TypeName == type);
            var bundle = await (await Client.GetAsync($"{type}?_summary=count")).ReadAsync<Bundle>();
            Assert.True(expected == bundle.Total, $"{type}: {bundle.Total} stored, {expected} in the sample files");
        }

        foreach (var task in Samples.All<FhirTask>())
        {
            var stored = await (await Client.GetAsync($"Task/{task.Id}")).ReadAsync<FhirTask>();
            Assert.Equal(task.Status, stored.Status);
        }

        // The server derives each referral's status from its Tasks; on the samples it agrees with what the files say,
        // so no referral got a version the files do not have.
        foreach (var referral in Samples.All<ServiceRequest>())
        {
            var stored = await (await Client.GetAsync($"ServiceRequest/{referral.Id}")).ReadAsync<ServiceRequest>();
            Assert.Equal(referral.Status, stored.Status);
            var versions = Samples.Versions.Count(v => v is ServiceRequest s && s.Id == referral.Id);
            Assert.True(versions.ToString(CultureInfo.InvariantCulture) == stored.Meta.VersionId,
                $"ServiceRequest/{referral.Id}: version {stored.Meta.VersionId}, the files have {versions}");
        }
    }

    [StoreFact]
    public async Task The_summary_is_a_valid_document_with_goals_by_domain_progress_scores_and_referrals()
    {
        var response = await Client.GetAsync($"Patient/{Person}/$recovery-summary");
        await response.AssertStatusAsync(HttpStatusCode.OK);
        var bundle = await response.ReadAsync<Bundle>();
        Assert.Equal(Bundle.BundleType.Document, bundle.Type);
        Assert.NotNull(bundle.Identifier?.Value);
        Assert.NotNull(bundle.Timestamp);
        var composition = Assert.IsType<Composition>(bundle.Entry[0].Resource);
        Assert.Equal($"http://localhost/fhir/Patient/{Person}", composition.Subject.Reference);
        Assert.Equal(CompositionStatus.Final, composition.Status);

        // One section per recovery domain, in the framework's order, then the other topics.
        var codes = composition.Section.Select(s => s.Code.Coding[0].Code).ToList();
        Assert.Equal(["promoting-citizenship", "organisational-commitment", "supporting-personally-defined-recovery", "working-relationship"], codes.Take(4));
        Assert.Equal(["questionnaire-scores", "peer-support-referrals", "patient-tasks", "secure-messages"], codes.Skip(codes.Count - 4));

        var goals = Samples.All<Goal>().Where(g => g.Subject.Reference == $"Patient/{Person}").ToList();
        Assert.NotEmpty(goals);
        foreach (var goal in goals)
        {
            var domain = SampleData.FrameworkCodes(goal).Select(c => Samples.DomainOf[c]).First();
            var section = composition.Section.Single(s => s.Code.Coding[0].Code == domain);
            Assert.Contains(section.Entry, e => e.Reference.EndsWith($"/Goal/{goal.Id}", StringComparison.Ordinal));
            Assert.Contains(System.Net.WebUtility.HtmlEncode(goal.Description.Text), section.Text.Div);

            // Progress over time: every rating of the goal, oldest first, and the change from the first to the latest.
            var ratings = goal.Extension.Where(e => e.Url.EndsWith("goal-attainment-level", StringComparison.Ordinal))
                .Select(e => ((Integer)e.GetExtension("level").Value).Value!.Value).ToList();
            var change = ratings[^1] - ratings[0];
            Assert.Contains($"change {(change > 0 ? "+" : "")}{change}", section.Text.Div);
        }

        var sectionsWithoutGoals = composition.Section.Take(4).Where(s => s.Entry.Count == 0).ToList();
        Assert.All(sectionsWithoutGoals, s => Assert.Equal("nilknown", s.EmptyReason.Coding[0].Code));

        // Scores: the QPR-15 totals of the person's responses, latest with trend (the files: 39, 42, 44).
        var totals = Samples.All<QuestionnaireResponse>()
            .Where(q => q.Subject.Reference == $"Patient/{Person}" && q.Questionnaire.Contains("qpr-15", StringComparison.Ordinal))
            .OrderBy(q => q.Authored, StringComparer.Ordinal)
            .Select(q => (Authored: q.Authored[..10], Total: ((Integer)q.Item.Single(i => i.LinkId == "total").Answer[0].Value).Value!.Value))
            .ToList();
        var scores = composition.Section.Single(s => s.Code.Coding[0].Code == "questionnaire-scores");
        Assert.Contains($"{totals[^1].Total} ({totals[^1].Authored})", scores.Text.Div);
        Assert.Contains($"{totals[^2].Total} ({totals[^2].Authored})", scores.Text.Div);
        var delta = totals[^1].Total - totals[^2].Total;
        Assert.Contains(delta > 0 ? $"up (+{delta})" : delta < 0 ? $"down ({delta})" : "unchanged", scores.Text.Div);
        Assert.Contains(string.Join(", ", totals.Select(t => t.Total)), scores.Text.Div);

        // Open referrals and the state each organisation reports.
        var referrals = composition.Section.Single(s => s.Code.Coding[0].Code == "peer-support-referrals");
        var open = Samples.All<ServiceRequest>().Where(s => s.Subject.Reference == $"Patient/{Person}" && s.Status is RequestStatus.Active or RequestStatus.OnHold).ToList();
        foreach (var referral in open)
        {
            Assert.Contains(referrals.Entry, e => e.Reference.EndsWith($"/ServiceRequest/{referral.Id}", StringComparison.Ordinal));
            foreach (var task in Samples.All<FhirTask>().Where(t => t.Focus.Reference == $"ServiceRequest/{referral.Id}"))
            {
                Assert.Contains(referrals.Entry, e => e.Reference.EndsWith($"/Task/{task.Id}", StringComparison.Ordinal));
                Assert.Contains(Hl7.Fhir.Utility.EnumUtility.GetLiteral(task.Status), referrals.Text.Div);
            }
        }

        // A document: everything the sections point to is in the Bundle, and the whole validates.
        var fullUrls = bundle.Entry.Select(e => e.FullUrl).ToHashSet();
        Assert.All(composition.Section.SelectMany(s => s.Entry), e => Assert.Contains(e.Reference, fullUrls));

        // Closed over references: whatever an entry refers to (the peer-support organisations, the care coordinator, the
        // questionnaire's goal...) is in the document too, when the server holds it.
        var referenced = bundle.Entry.SelectMany(e => References(System.Text.Json.Nodes.JsonNode.Parse(FhirHttp.ToJson(e.Resource))))
            .Select(r => r.StartsWith("http://localhost/fhir/", StringComparison.Ordinal) ? r["http://localhost/fhir/".Length..] : r)
            .Where(r => r.Split('/') is [var type, _] && char.IsUpper(type[0]))
            .ToHashSet();
        Assert.Contains(referenced, r => r.StartsWith("Organization/", StringComparison.Ordinal) || r.StartsWith("Practitioner/", StringComparison.Ordinal));
        foreach (var reference in referenced)
        {
            if ((await Client.GetAsync(reference)).IsSuccessStatusCode)
            {
                Assert.True(fullUrls.Contains($"http://localhost/fhir/{reference}"), $"{reference} is referred to in the document but not in it");
            }
        }
        var validation = fixture.Factory.Services.GetRequiredService<ConformanceEngine>().Validator.Validate(bundle);
        Assert.True(!validation.HasErrors, string.Join("\n", validation.Issues.Where(i => i.IsError).Select(i => $"{i.Expression}: {i.Message}")));
    }

    private static IEnumerable<string> References(System.Text.Json.Nodes.JsonNode? node) => node switch
    {
        System.Text.Json.Nodes.JsonObject o => o.SelectMany(p => p.Key == "reference" && p.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var r)
            ? [r]
            : References(p.Value)),
        System.Text.Json.Nodes.JsonArray a => a.SelectMany(References),
        _ => [],
    };

    [StoreFact]
    public async Task The_summary_prints_as_html_when_asked_and_unknown_people_are_404()
    {
        var html = await Client.GetAsync($"Patient/{Person}/$recovery-summary?_format=html");
        await html.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("text/html", html.Content.Headers.ContentType?.MediaType);
        var page = await html.Content.ReadAsStringAsync();
        Assert.StartsWith("<!DOCTYPE html>", page);
        Assert.Contains("<h1>Recovery summary</h1>", page);
        Assert.Contains("Aaron Walsh", page);
        Assert.Contains("@page", page); // print layout
        Assert.DoesNotContain("<script", page);
        foreach (var domain in new[] { "Promoting citizenship", "Organisational commitment", "Supporting personally defined recovery", "Working relationship" })
        {
            Assert.Contains($"<h2>Goals: {domain}</h2>", page);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, $"Patient/{Person}/$recovery-summary");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        var byAccept = await Client.SendAsync(request);
        Assert.Equal("text/html", byAccept.Content.Headers.ContentType?.MediaType);

        using var fhir = new HttpRequestMessage(HttpMethod.Get, $"Patient/{Person}/$recovery-summary");
        fhir.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+xml"));
        Assert.Equal("application/fhir+xml", (await Client.SendAsync(fhir)).Content.Headers.ContentType?.MediaType);

        await (await Client.GetAsync("Patient/nobody-here/$recovery-summary")).AssertOutcomeAsync(HttpStatusCode.NotFound);
        await (await Client.GetAsync("Patient/nobody-here/$recovery-summary?_format=html")).AssertOutcomeAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async Task Recovery_messages_are_searchable_by_patient_goal_and_referral_and_shown_in_the_summary()
    {
        var person = Samples.Get<Patient>("Patient/s42-p0002");
        var goal = Samples.All<Goal>().First(g => g.Subject.Reference == $"Patient/{person.Id}");
        var referral = Samples.All<ServiceRequest>().FirstOrDefault(s => s.Subject.Reference == $"Patient/{person.Id}");
        var text = $"I went to the walking group <b>twice</b> this week & it helped {Unique("m")}";
        var message = Example<Communication>("Communication-ingrid-message-about-choir.json");
        message.Id = null;
        message.Meta.VersionId = null;
        message.Subject = new ResourceReference($"Patient/{person.Id}");
        message.Sender = new ResourceReference($"Patient/{person.Id}");
        message.About = [new ResourceReference($"Goal/{goal.Id}"), .. referral is null ? [] : new[] { new ResourceReference($"ServiceRequest/{referral.Id}") }];
        message.Payload = [new Communication.PayloadComponent { Content = new FhirString(text) }];
        message.Sent = "2026-11-20T10:00:00Z";
        var created = await (await Client.PostAsync("Communication", message)).ReadAsync<Communication>();

        foreach (var query in new[]
                 {
                     $"Communication?patient=Patient/{person.Id}", $"Communication?goal=Goal/{goal.Id}", $"Communication?about=Goal/{goal.Id}",
                     $"Patient/{person.Id}/Communication",
                 }.Concat(referral is null ? [] : [$"Communication?referral=ServiceRequest/{referral.Id}"]))
        {
            var found = await (await Client.GetAsync(query)).ReadAsync<Bundle>();
            Assert.True(found.Entry.Any(e => e.Resource?.Id == created.Id), $"{query} does not find the message");
        }

        var none = await (await Client.GetAsync($"Patient/s42-p0003/Communication")).ReadAsync<Bundle>();
        Assert.DoesNotContain(none.Entry, e => e.Resource?.Id == created.Id);

        var summary = await (await Client.GetAsync($"Patient/{person.Id}/$recovery-summary")).ReadAsync<Bundle>();
        var messages = ((Composition)summary.Entry[0].Resource).Section.Single(s => s.Code.Coding[0].Code == "secure-messages");
        Assert.Contains(messages.Entry, e => e.Reference.EndsWith($"/Communication/{created.Id}", StringComparison.Ordinal));
        Assert.Contains(summary.Entry, e => e.Resource is Communication c && c.Id == created.Id);
        var page = await (await Client.GetAsync($"Patient/{person.Id}/$recovery-summary?_format=html")).Content.ReadAsStringAsync();
        Assert.Contains("I went to the walking group &lt;b&gt;twice&lt;/b&gt; this week &amp; it helped", page);
        Assert.DoesNotContain("<b>twice</b>", page);
    }

    [StoreFact]
    public async Task The_orientation_counts_goals_responses_and_referrals_by_domain_and_theme()
    {
        var report = await (await Client.GetAsync("$recovery-orientation")).ReadOkAsync<MeasureReport>();
        Assert.Equal("https://fhirrecovery.org/fhir/Measure/recovery-orientation", report.Measure);
        Assert.Equal(MeasureReport.MeasureReportType.Summary, report.Type);
        Assert.Equal(["goals", "questionnaire-responses", "referrals"], report.Group.Select(g => g.Code.Coding[0].Code));

        var goals = Samples.All<Goal>().ToList();
        AssertGroup(report, "goals", goals.Count, Samples.CountByCode(goals, SampleData.FrameworkCodes));
        Assert.Equal(201, report.Group[0].Population[0].Count);
        Assert.Equal(65, Stratum(report, "goals", "promoting-citizenship").Population[0].Count);

        var responses = Samples.All<QuestionnaireResponse>().Where(q => q.Status is QuestionnaireResponse.QuestionnaireResponseStatus.Completed or QuestionnaireResponse.QuestionnaireResponseStatus.Amended).ToList();
        AssertGroup(report, "questionnaire-responses", responses.Count,
            Samples.CountByCode(responses, q => Samples.Questionnaires.TryGetValue(q.Questionnaire, out var questionnaire) ? Samples.FocusCodes(questionnaire) : []));

        var referrals = Samples.All<ServiceRequest>().Where(s => s.Status != RequestStatus.EnteredInError).ToList();
        AssertGroup(report, "referrals", referrals.Count, Samples.CountByCode(referrals, s => s.SupportingInfo
            .Where(r => r.Reference.StartsWith("Goal/", StringComparison.Ordinal))
            .SelectMany(r => SampleData.FrameworkCodes(Samples.Get<Goal>(r.Reference)))
            .Append("peer-support")));

        // Gaps are the strata at 0, and the narrative names them.
        var validation = fixture.Factory.Services.GetRequiredService<ConformanceEngine>().Validator.Validate(report);
        Assert.True(!validation.HasErrors, string.Join("\n", validation.Issues.Where(i => i.IsError).Select(i => $"{i.Expression}: {i.Message}")));
        Assert.Contains("of the 16 themes covered", report.Text.Div);
    }

    [StoreFact]
    public async Task The_orientation_narrows_to_a_period_an_organisation_or_a_group()
    {
        var report = await (await Client.GetAsync("$recovery-orientation?periodStart=2025-01-01&periodEnd=2025-03-31")).ReadOkAsync<MeasureReport>();
        var inPeriod = Samples.All<Goal>().Where(g => string.CompareOrdinal(g.Start is Date d ? d.Value : "", "2025-01-01") >= 0
                                                      && string.CompareOrdinal(g.Start is Date e ? e.Value : "9999", "2025-03-31") <= 0).ToList();
        AssertGroup(report, "goals", inPeriod.Count, Samples.CountByCode(inPeriod, SampleData.FrameworkCodes));
        Assert.Equal("2025-01-01T00:00:00Z", report.Period.Start);

        const string organisation = "sample-lakeside-recovery-clinic";
        var managed = Samples.All<Patient>().Where(p => p.ManagingOrganization?.Reference == $"Organization/{organisation}").Select(p => $"Patient/{p.Id}").ToHashSet();
        report = await (await Client.GetAsync($"Organization/{organisation}/$recovery-orientation")).ReadOkAsync<MeasureReport>();
        var goals = Samples.All<Goal>().Where(g => managed.Contains(g.Subject.Reference)).ToList();
        AssertGroup(report, "goals", goals.Count, Samples.CountByCode(goals, SampleData.FrameworkCodes));
        Assert.Equal($"Organization/{organisation}", report.Reporter.Reference);

        var members = Samples.All<Patient>().Take(7).Select(p => $"Patient/{p.Id}").ToList();
        var group = new Group
        {
            Type = Group.GroupType.Person,
            Actual = true,
            Member = members.Select(m => new Group.MemberComponent { Entity = new ResourceReference(m) }).ToList(),
        };
        var groupId = (await (await Client.PostAsync("Group", group)).ReadAsync<Group>()).Id;
        var parameters = new Parameters();
        parameters.Add("periodEnd", new Date("2026-12-31"));
        report = await (await Client.PostAsync($"Group/{groupId}/$recovery-orientation", parameters)).ReadOkAsync<MeasureReport>();
        var groupGoals = Samples.All<Goal>().Where(g => members.Contains(g.Subject.Reference)).ToList();
        AssertGroup(report, "goals", groupGoals.Count, Samples.CountByCode(groupGoals, SampleData.FrameworkCodes));
        var responses = Samples.All<QuestionnaireResponse>().Where(q => members.Contains(q.Subject.Reference)).ToList();
        Assert.Equal(responses.Count, report.Group[1].Population[0].Count);
        Assert.Equal($"Group/{groupId}", report.Subject.Reference);

        await (await Client.GetAsync("$recovery-orientation?periodStart=last-year")).AssertOutcomeAsync(HttpStatusCode.BadRequest, "periodStart");
        await (await Client.GetAsync("$recovery-orientation?periodStart=2025-05-01&periodEnd=2025-01-01")).AssertOutcomeAsync(HttpStatusCode.BadRequest, "periodEnd");
        await (await Client.GetAsync("Organization/no-such-org/$recovery-orientation")).AssertOutcomeAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async Task The_capability_statement_lists_the_recovery_operations()
    {
        var statement = await (await Client.GetAsync("metadata")).ReadAsync<CapabilityStatement>();
        var rest = statement.Rest[0];
        Assert.Contains(rest.Operation, o => o.Name == "recovery-orientation");
        Assert.Contains(rest.Resource.Single(r => r.Type == "Patient").Operation, o => o.Name == "recovery-summary");
        Assert.Contains(rest.Resource.Single(r => r.Type == "Group").Operation, o => o.Name == "recovery-orientation");
        Assert.Contains(rest.Resource.Single(r => r.Type == "Communication").SearchParam, p => p.Name == "goal");
        Assert.Contains(rest.Resource.Single(r => r.Type == "Communication").SearchParam, p => p.Name == "referral");
    }

    private static void AssertGroup(MeasureReport report, string group, int total, Dictionary<string, int> expected)
    {
        var component = report.Group.Single(g => g.Code.Coding[0].Code == group);
        Assert.Equal(total, component.Population[0].Count);
        var differences = new List<string>();
        foreach (var stratum in component.Stratifier.SelectMany(s => s.Stratum))
        {
            var code = stratum.Value.Coding[0].Code;
            var count = stratum.Population[0].Count ?? -1;
            if (count != expected.GetValueOrDefault(code))
            {
                differences.Add($"{code}: {count}, expected {expected.GetValueOrDefault(code)}");
            }

            var proportion = total == 0 ? 0 : Math.Round((decimal)count / total, 4);
            Assert.Equal(proportion, stratum.MeasureScore.Value);
        }

        Assert.True(differences.Count == 0, $"{group}: " + string.Join("; ", differences));
        Assert.Equal(20, component.Stratifier.Sum(s => s.Stratum.Count)); // 4 domains + 16 themes
        var covered = component.Stratifier[1].Stratum.Count(s => s.Population[0].Count > 0);
        Assert.Equal(Math.Round(covered / 16m, 4), component.MeasureScore.Value);
    }

    private static MeasureReport.StratifierGroupComponent Stratum(MeasureReport report, string group, string code) =>
        report.Group.Single(g => g.Code.Coding[0].Code == group).Stratifier.SelectMany(s => s.Stratum).Single(s => s.Value.Coding[0].Code == code);
}

/// <summary>A server loaded with the shipped sample data set at start (validation off: the samples are validated by their own tests).</summary>
internal static class ResponseReading
{
    /// <summary>The body as <typeparamref name="T"/>, after checking the answer is 200 (else the failure shows the body).</summary>
    public static async Task<T> ReadOkAsync<T>(this HttpResponseMessage response) where T : Resource
    {
        await response.AssertStatusAsync(HttpStatusCode.OK);
        return await response.ReadAsync<T>();
    }
}

public sealed class SqliteSampleSetFixture : SqliteServerFixture
{
    protected override Dictionary<string, string?> Settings() => SampleSet.With(base.Settings());
}

public sealed class PostgreSqlSampleSetFixture : PostgreSqlServerFixture
{
    protected override Dictionary<string, string?> Settings() => SampleSet.With(base.Settings());
}

internal static class SampleSet
{
    public static Dictionary<string, string?> With(Dictionary<string, string?> settings)
    {
        settings["Samples:LoadWhenEmpty"] = "true";
        settings["Samples:Path"] = RepoPath("samples", "data");
        settings["Validation:Mode"] = "Off";
        // The sample data set is small: a counting query that needs more than a few seconds has a plan that re-runs a
        // subquery per row (as the orientation's scoped counts once did on PostgreSQL before its tables were analysed,
        // a minute each); let it fail here rather than only under load.
        settings["Storage:CommandTimeoutSeconds"] = "15";
        return settings;
    }
}

public sealed class SqliteRecoveryOperationTests(SqliteSampleSetFixture fixture) : RecoveryOperationTests(fixture), IClassFixture<SqliteSampleSetFixture>;

public sealed class PostgreSqlRecoveryOperationTests(PostgreSqlSampleSetFixture fixture) : RecoveryOperationTests(fixture), IClassFixture<PostgreSqlSampleSetFixture>;
