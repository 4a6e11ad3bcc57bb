using System.Globalization;
using FhirRecovery.Conformance;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Workflow;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Server.Summary;

/// <summary>One goal and how it went: ratings and status over its versions.</summary>
public sealed record GoalProgress(
    Goal Goal,
    FrameworkConcept? Domain,
    IReadOnlyList<FrameworkConcept> Themes,
    IReadOnlyList<AttainmentRating> Ratings,
    IReadOnlyList<GoalStatusChange> StatusHistory)
{
    public string Description => Goal.Description?.Text ?? Goal.Description?.Coding.FirstOrDefault()?.Display ?? "(no description)";

    /// <summary>Latest rating minus the first (null with fewer than two).</summary>
    public int? Change => Ratings.Count >= 2 ? Ratings[^1].Level - Ratings[0].Level : null;
}

/// <summary>A goal attainment rating (-2..+2, extension goal-attainment-level).</summary>
public sealed record AttainmentRating(DateTimeOffset? Date, int Level);

/// <summary>A goal's status as one version recorded it.</summary>
public sealed record GoalStatusChange(DateTimeOffset When, string Lifecycle, string? Achievement);

/// <summary>A score of a questionnaire (an item with a calculated value) over the person's responses, oldest first.</summary>
public sealed record ScoreSeries(string QuestionnaireUrl, string Title, string LinkId, string ItemText, IReadOnlyList<ScorePoint> Points)
{
    public ScorePoint Latest => Points[^1];

    public ScorePoint? Previous => Points.Count >= 2 ? Points[^2] : null;

    /// <summary>"up", "down" or "unchanged" against the previous response; null for a first score.</summary>
    public string? Trend => Previous is { } previous ? Latest.Value > previous.Value ? "up" : Latest.Value < previous.Value ? "down" : "unchanged" : null;
}

public sealed record ScorePoint(DateTimeOffset Authored, decimal Value, string ResponseId);

/// <summary>A referral with its Tasks (one per organisation it was sent to).</summary>
public sealed record ReferralView(ServiceRequest Request, IReadOnlyList<FhirTask> Tasks);

/// <summary>What the recovery summary of one person shows.</summary>
public sealed record RecoverySummary(
    Patient Patient,
    DateTimeOffset Generated,
    IReadOnlyList<GoalProgress> Goals,
    IReadOnlyList<ScoreSeries> Scores,
    IReadOnlyList<ReferralView> OpenReferrals,
    IReadOnlyDictionary<string, int> ClosedReferrals,
    IReadOnlyList<FhirTask> PatientTasks,
    IReadOnlyList<Communication> Messages,
    IReadOnlyList<QuestionnaireResponse> ScoredResponses);

/// <summary>
/// Gathers a person's recovery summary from the store. Every search is confined to the Patient compartment of the
/// person (so the summary shows exactly what compartment-based access to that person allows), and goal progress comes
/// from the goals' version history.
/// </summary>
public sealed class RecoverySummaryService(IResourceStore store, ConformanceEngine engine, RecoveryFramework framework, TimeProvider clock)
{
    /// <summary>Most responses looked at for scores (the newest); a summary is one page, not an archive.</summary>
    public const int MaxResponses = 1000;

    public const int MaxMessages = 20;

    private const string CalculatedExpression = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression";
    private const string CqfExpression = "http://hl7.org/fhir/StructureDefinition/cqf-expression";

    public async Task<RecoverySummary> BuildAsync(string patientId, CancellationToken cancellationToken)
    {
        var stored = await store.ReadAsync("Patient", patientId, cancellationToken) ?? throw FhirException.NotFound($"Patient/{patientId} is not known");
        if (stored.IsDeleted)
        {
            throw FhirException.Gone($"Patient/{patientId} was deleted");
        }

        var patient = (Patient)FhirSerialization.ParseStored(stored.Json!);
        var scope = new CompartmentScope("Patient", patientId);

        var goals = new List<GoalProgress>();
        foreach (var goal in await SearchAsync<Goal>(scope, "Goal", [new("subject", $"Patient/{patientId}")], 1000, cancellationToken))
        {
            goals.Add(await ProgressAsync(goal, cancellationToken));
        }

        var responses = await SearchAsync<QuestionnaireResponse>(scope, "QuestionnaireResponse",
            [new("subject", $"Patient/{patientId}"), new("status", "completed,amended"), new("_sort", "-authored")], MaxResponses, cancellationToken);
        var (scores, scored) = await ScoresAsync(responses, cancellationToken);

        var referrals = await SearchAsync<ServiceRequest>(scope, "ServiceRequest",
            [new("subject", $"Patient/{patientId}"), new("code", $"{WorkflowCanonicals.PeerSupportService}|peer-support-referral")], 500, cancellationToken);
        var tasks = await SearchAsync<FhirTask>(scope, "Task", [new("patient", $"Patient/{patientId}")], 1000, cancellationToken);
        var tasksByReferral = tasks.Where(t => TaskStateMachine.For(t) == TaskStateMachine.PeerSupportTask)
            .ToLookup(t => TaskWorkflowHook.ReferralId(t) ?? "");
        var open = referrals.Where(r => r.Status is RequestStatus.Draft or RequestStatus.Active or RequestStatus.OnHold)
            .OrderByDescending(r => r.AuthoredOn, StringComparer.Ordinal)
            .Select(r => new ReferralView(r, tasksByReferral[r.Id ?? ""].OrderBy(t => t.AuthoredOn, StringComparer.Ordinal).ToList()))
            .ToList();
        var closed = referrals.Where(r => r.Status is not (RequestStatus.Draft or RequestStatus.Active or RequestStatus.OnHold or RequestStatus.EnteredInError))
            .GroupBy(r => r.Status?.GetLiteral() ?? "unknown")
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var patientTasks = tasks.Where(t => TaskStateMachine.For(t) == TaskStateMachine.PatientTask
                                            && t.Status is FhirTask.TaskStatus.Ready or FhirTask.TaskStatus.InProgress or FhirTask.TaskStatus.OnHold)
            .OrderBy(t => t.AuthoredOn, StringComparer.Ordinal)
            .ToList();

        var messages = await SearchAsync<Communication>(scope, "Communication",
            [new("subject", $"Patient/{patientId}"), new("_sort", "-sent")], MaxMessages, cancellationToken);

        return new RecoverySummary(patient, clock.GetUtcNow(), goals.OrderBy(g => g.Domain?.Code ?? "~").ThenBy(g => g.Goal.Id, StringComparer.Ordinal).ToList(),
            scores, open, closed, patientTasks, messages, scored);
    }

    /// <summary>Most resources a summary document pulls in by reference (organisations, practitioners, consents, ...).</summary>
    public const int MaxReferenced = 500;

    /// <summary>
    /// The summary as a FHIR document: <see cref="RecoverySummaryDocument.ToBundle"/>, closed over references: what the
    /// entries refer to (the care coordinator, the peer-support organisations, the consent...) is added, transitively,
    /// so every reference resolves inside the document as documents require. References to what is not (or no longer)
    /// stored stay as they are.
    /// </summary>
    public async Task<Bundle> ToDocumentAsync(RecoverySummary summary, string baseUrl, CancellationToken cancellationToken)
    {
        var bundle = RecoverySummaryDocument.ToBundle(summary, framework, baseUrl);
        var resources = bundle.Entry.Select(e => e.Resource).OfType<Resource>().ToList();
        var tried = resources.Where(r => r.Id is not null).Select(r => $"{r.TypeName}/{r.Id}").ToHashSet(StringComparer.Ordinal);
        var pending = new Queue<Resource>(resources);
        var added = 0;
        while (pending.TryDequeue(out var resource) && added < MaxReferenced)
        {
            var targets = new List<string>();
            Interactions.ReferenceRewriter.Rewrite(resource, reference =>
            {
                var local = reference.StartsWith(baseUrl + "/", StringComparison.Ordinal) ? reference[(baseUrl.Length + 1)..] : reference;
                if (local.Split('/') is [var type, var id] && Interactions.ResourceNames.IsResourceType(type) && Interactions.ResourceNames.IsValidId(id) && tried.Add(local))
                {
                    targets.Add(local);
                }

                return null;
            });
            foreach (var target in targets)
            {
                var slash = target.IndexOf('/');
                if (await store.ReadAsync(target[..slash], target[(slash + 1)..], cancellationToken) is { IsDeleted: false, Json: { } json } && added < MaxReferenced)
                {
                    var referenced = FhirSerialization.ParseStored(json);
                    bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = $"{baseUrl}/{target}", Resource = referenced });
                    pending.Enqueue(referenced);
                    added++;
                }
            }
        }

        return bundle;
    }

    /// <summary>A goal's ratings (from every version: a later version may drop an earlier rating) and status changes.</summary>
    private async Task<GoalProgress> ProgressAsync(Goal goal, CancellationToken cancellationToken)
    {
        var versions = new List<(DateTimeOffset When, Goal Goal)>();
        string? page = null;
        do
        {
            var history = await store.HistoryAsync(new HistoryRequest { ResourceType = "Goal", Id = goal.Id, Count = 100, PageToken = page }, cancellationToken);
            versions.AddRange(history.Entries.Where(v => v is { IsDeleted: false, Json: not null })
                .Select(v => (v.LastUpdated, (Goal)FhirSerialization.ParseStored(v.Json!))));
            page = history.NextPage;
        }
        while (page is not null);

        versions.Sort((a, b) => a.When.CompareTo(b.When));
        var ratings = versions.SelectMany(v => Ratings(v.Goal)).Concat(Ratings(goal))
            .Distinct()
            .OrderBy(r => r.Date ?? DateTimeOffset.MinValue)
            .ToList();

        var statuses = new List<GoalStatusChange>();
        foreach (var (when, version) in versions)
        {
            var change = new GoalStatusChange(
                DateTimeOffset.TryParse(version.StatusDate, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var statusDate) && statusDate <= when ? statusDate : when,
                version.LifecycleStatus?.GetLiteral() ?? "unknown",
                version.AchievementStatus?.Coding.FirstOrDefault()?.Code ?? version.AchievementStatus?.Text);
            if (statuses.Count == 0 || statuses[^1].Lifecycle != change.Lifecycle || statuses[^1].Achievement != change.Achievement)
            {
                statuses.Add(change);
            }
        }

        var codings = goal.Category.SelectMany(c => c.Coding).Where(c => c.System == WorkflowCanonicals.RecoveryFramework).ToList();
        var domain = codings.Select(framework.DomainOf).FirstOrDefault(d => d is not null);
        var themes = codings.Where(c => c.Code is not null && framework.ByCode.TryGetValue(c.Code, out var concept) && !concept.IsDomain)
            .Select(c => framework.ByCode[c.Code!]).Distinct().ToList();
        return new GoalProgress(goal, domain, themes, ratings, statuses);
    }

    private static IEnumerable<AttainmentRating> Ratings(Goal goal) =>
        goal.Extension.Where(e => e.Url == WorkflowCanonicals.GoalAttainmentLevel)
            .Select(e => (Level: (e.GetExtension("level")?.Value as Integer)?.Value, Date: (e.GetExtension("date")?.Value as FhirDateTime)?.ToDateTimeOffset(TimeSpan.Zero)))
            .Where(r => r.Level is not null)
            .Select(r => new AttainmentRating(r.Date, r.Level!.Value));

    /// <summary>Scores: the items their Questionnaire computes (SDC calculatedExpression or cqf-expression, numeric).</summary>
    private async Task<(List<ScoreSeries>, List<QuestionnaireResponse>)> ScoresAsync(IReadOnlyList<QuestionnaireResponse> responses, CancellationToken cancellationToken)
    {
        var questionnaires = new Dictionary<string, Questionnaire?>(StringComparer.Ordinal);
        var points = new Dictionary<(string Url, string LinkId), (string Title, string Text, List<ScorePoint> Points)>();
        var scored = new Dictionary<string, QuestionnaireResponse>(StringComparer.Ordinal);
        foreach (var response in responses)
        {
            if (response.Questionnaire is not { } canonical || response.AuthoredElement?.ToDateTimeOffset(TimeSpan.Zero) is not { } authored)
            {
                continue;
            }

            if (!questionnaires.TryGetValue(canonical, out var questionnaire))
            {
                questionnaire = questionnaires[canonical] = await FindQuestionnaireAsync(canonical, cancellationToken);
            }

            if (questionnaire is null)
            {
                continue;
            }

            var url = canonical.Split('|')[0];
            foreach (var item in ScoreItems(questionnaire.Item).Where(i => i.LinkId is not null))
            {
                if (Answer(response.Item, item.LinkId!) is not { } value)
                {
                    continue;
                }

                var key = (url, item.LinkId!);
                if (!points.TryGetValue(key, out var series))
                {
                    points[key] = series = (questionnaire.Title ?? questionnaire.Name ?? url, item.Text ?? item.LinkId!, []);
                }

                series.Points.Add(new ScorePoint(authored, value, response.Id ?? ""));
                scored[response.Id ?? ""] = response;
            }
        }

        var result = points.Select(p => new ScoreSeries(p.Key.Url, p.Value.Title, p.Key.LinkId, p.Value.Text, p.Value.Points.OrderBy(x => x.Authored).ToList()))
            .OrderBy(s => s.Title, StringComparer.Ordinal).ThenBy(s => s.LinkId, StringComparer.Ordinal)
            .ToList();
        return (result, scored.Values.ToList());
    }

    private static IEnumerable<Questionnaire.ItemComponent> ScoreItems(IEnumerable<Questionnaire.ItemComponent> items)
    {
        foreach (var item in items)
        {
            if (item.Type is Questionnaire.QuestionnaireItemType.Integer or Questionnaire.QuestionnaireItemType.Decimal
                && item.Extension.Any(e => e.Url is CalculatedExpression or CqfExpression))
            {
                yield return item;
            }

            foreach (var nested in ScoreItems(item.Item))
            {
                yield return nested;
            }
        }
    }

    private static decimal? Answer(IEnumerable<QuestionnaireResponse.ItemComponent> items, string linkId)
    {
        foreach (var item in items)
        {
            if (item.LinkId == linkId)
            {
                return item.Answer.Select(a => a.Value switch
                {
                    Integer i => i.Value,
                    FhirDecimal d => d.Value,
                    Quantity q => q.Value,
                    _ => null,
                }).FirstOrDefault(v => v is not null);
            }

            if (Answer(item.Item.Concat(item.Answer.SelectMany(a => a.Item)), linkId) is { } nested)
            {
                return nested;
            }
        }

        return null;
    }

    /// <summary>The Questionnaire of a canonical: the IG's definitions first, then the store (url and version).</summary>
    private async Task<Questionnaire?> FindQuestionnaireAsync(string canonical, CancellationToken cancellationToken)
    {
        if (engine.Definitions.Resolve<Questionnaire>(canonical) is { } known)
        {
            return known;
        }

        var parts = canonical.Split('|', 2);
        List<KeyValuePair<string, string>> parameters = [new("url", parts[0]), new("_sort", "-_lastUpdated")];
        if (parts.Length == 2)
        {
            parameters.Add(new("version", parts[1]));
        }

        var found = await SearchAsync<Questionnaire>(null, "Questionnaire", parameters, 1, cancellationToken);
        return found.FirstOrDefault();
    }

    private async Task<List<T>> SearchAsync<T>(CompartmentScope? scope, string type, List<KeyValuePair<string, string>> parameters, int max,
        CancellationToken cancellationToken) where T : Resource
    {
        var found = new List<T>();
        string? page = null;
        do
        {
            var result = await store.SearchAsync(new SearchRequest
            {
                ResourceType = type,
                Parameters = page is null ? [.. parameters, new("_count", Math.Min(max, 500).ToString(System.Globalization.CultureInfo.InvariantCulture))] : [],
                PageToken = page,
                Compartment = scope,
                Handling = SearchHandling.Strict,
            }, cancellationToken);
            found.AddRange(result.Matches.Where(m => m.Json is not null).Select(m => FhirSerialization.ParseStored(m.Json!)).OfType<T>());
            page = found.Count < max ? result.NextPage : null;
        }
        while (page is not null);

        return found.Count > max ? found[..max] : found;
    }
}
