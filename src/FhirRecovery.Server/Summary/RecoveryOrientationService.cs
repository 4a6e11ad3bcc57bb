using System.Globalization;
using System.Net;
using System.Text;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Workflow;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Summary;

/// <summary>Whose records an orientation report covers.</summary>
public sealed record OrientationScope(string? Type, string? Id)
{
    public static readonly OrientationScope System = new(null, null);

    public string Describe => Type is null ? "all records on this server" : $"{Type}/{Id}";
}

/// <summary>
/// <c>$recovery-orientation</c>: how the recovery work recorded for a population covers the recovery framework's 4 domains
/// and 16 themes — goals (their own classification), questionnaire responses (the recovery focus of the Questionnaire
/// answered) and peer-support referrals (the goals they support, and peer support itself) — as counts, proportions and
/// gaps. The review behind this project coded six e-recovery tools this way by hand; this makes it a live indicator.
/// <para>
/// The answer is a <b>MeasureReport</b> (type summary) of the IG's Measure <c>recovery-orientation</c>, not an ad-hoc
/// Parameters: it is a population indicator over a period, which is what MeasureReport is for (period, reporter or
/// subject, one group per resource family with its initial population, stratifiers by domain and by theme with a count
/// and a proportion per stratum), so regional reporting and measure tooling can consume it as is. A gap is a stratum
/// with count 0; the narrative lists them. Each group's measureScore is the share of the 16 themes covered at all.
/// </para>
/// Everything is counted in the database (<see cref="ISearchAggregation"/>): nothing is loaded per resource.
/// </summary>
public sealed class RecoveryOrientationService(IResourceStore store, ISearchAggregation aggregation, RecoveryFramework framework, TimeProvider clock)
{
    public const string GoalsGroup = "goals";
    public const string ResponsesGroup = "questionnaire-responses";
    public const string ReferralsGroup = "referrals";
    private const string MeasurePopulation = "http://terminology.hl7.org/CodeSystem/measure-population";
    private const string GroupSystem = WorkflowCanonicals.Base + "/CodeSystem/recovery-orientation-group";

    public async Task<MeasureReport> EvaluateAsync(OrientationScope scope, DateTimeOffset? start, DateTimeOffset? end, CancellationToken cancellationToken)
    {
        if (start is { } s && end is { } e && e < s)
        {
            throw FhirException.BadRequest($"periodEnd ({e:O}) is before periodStart ({s:O})", "periodEnd");
        }

        if (scope.Type is not null)
        {
            var stored = await store.ReadAsync(scope.Type, scope.Id!, cancellationToken);
            if (stored is null)
            {
                throw FhirException.NotFound($"{scope.Type}/{scope.Id} is not known");
            }

            if (stored.IsDeleted)
            {
                throw FhirException.Gone($"{scope.Type}/{scope.Id} was deleted");
            }
        }

        var buckets = framework.Buckets();
        var scopeFilter = ScopeFilter(scope);

        var goals = await aggregation.CountByCodeAsync(new TokenAggregation
        {
            Search = Search("Goal", "start-date", start, end),
            Scope = scopeFilter,
            TokenParameter = "recovery-theme",
            Buckets = buckets,
        }, cancellationToken);
        var responses = await aggregation.CountByCodeAsync(new TokenAggregation
        {
            Search = Search("QuestionnaireResponse", "authored", start, end, KeyValuePair.Create("status", "completed,amended")),
            Scope = scopeFilter,
            TokenParameter = "recovery-focus",
            ThroughReference = "questionnaire",
            TargetType = "Questionnaire",
            Buckets = buckets,
        }, cancellationToken);
        var referrals = await aggregation.CountByCodeAsync(new TokenAggregation
        {
            Scope = scopeFilter,
            Search = Search("ServiceRequest", "authored", start, end,
                KeyValuePair.Create("code", $"{WorkflowCanonicals.PeerSupportService}|peer-support-referral"), KeyValuePair.Create("status:not", "entered-in-error")),
            TokenParameter = "recovery-theme",
            ThroughReference = "supporting-goal",
            TargetType = "Goal",
            Buckets = buckets,
        }, cancellationToken);

        // A referral to peer support is itself work in the theme "peer support" (and so its domain), whatever goals it serves.
        var referralCounts = referrals.Counts.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
        if (framework.ByCode.TryGetValue("peer-support", out var peerSupport))
        {
            referralCounts[peerSupport.Code] = referrals.Total;
            referralCounts[peerSupport.DomainCode!] = referrals.Total;
        }

        var now = clock.GetUtcNow();
        var report = new MeasureReport
        {
            Id = Guid.NewGuid().ToString(),
            Status = MeasureReport.MeasureReportStatus.Complete,
            Type = MeasureReport.MeasureReportType.Summary,
            Measure = WorkflowCanonicals.RecoveryOrientationMeasure,
            Date = now.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            Period = new Period
            {
                Start = start?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                End = (end ?? now).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            },
            ImprovementNotation = new CodeableConcept("http://terminology.hl7.org/CodeSystem/measure-improvement-notation", "increase", "Increased score indicates improvement"),
        };
        switch (scope.Type)
        {
            case "Group":
                report.Subject = new ResourceReference($"Group/{scope.Id}");
                break;
            case "Organization":
                // R4 MeasureReport.subject cannot be an Organization: the organisation whose patients are covered is the reporter.
                report.Reporter = new ResourceReference($"Organization/{scope.Id}");
                break;
        }

        report.Group.Add(Group(GoalsGroup, "Recovery goals", goals.Total, goals.Counts));
        report.Group.Add(Group(ResponsesGroup, "Questionnaire responses", responses.Total, responses.Counts));
        report.Group.Add(Group(ReferralsGroup, "Peer-support referrals", referrals.Total, referralCounts));
        report.Text = Narrative(report, scope, start, end);
        return report;
    }

    /// <summary>
    /// The people whose records the scope covers: the patients an organisation manages, or a group's members. Applied to
    /// each family through its subject reference, from the people towards their records (a chained parameter such as
    /// subject:Patient.organization would walk every record instead).
    /// </summary>
    private static ReferenceScope? ScopeFilter(OrientationScope scope) => scope.Type switch
    {
        "Organization" => new ReferenceScope("subject", new SearchRequest
        {
            ResourceType = "Patient",
            Parameters = [new("organization", $"Organization/{scope.Id}")],
            Handling = SearchHandling.Strict,
        }),
        "Group" => new ReferenceScope("subject", new SearchRequest
        {
            ResourceType = "Patient",
            Parameters = [new("_has:Group:member:_id", scope.Id!)],
            Handling = SearchHandling.Strict,
        }),
        _ => null,
    };

    private static SearchRequest Search(string type, string dateParameter, DateTimeOffset? start, DateTimeOffset? end,
        params KeyValuePair<string, string>[] more)
    {
        var parameters = new List<KeyValuePair<string, string>>(more);
        if (start is { } s)
        {
            parameters.Add(new(dateParameter, "ge" + s.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)));
        }

        if (end is { } e)
        {
            parameters.Add(new(dateParameter, "le" + e.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)));
        }

        return new SearchRequest { ResourceType = type, Parameters = parameters, Handling = SearchHandling.Strict };
    }

    private MeasureReport.GroupComponent Group(string code, string display, int total, IReadOnlyDictionary<string, int> counts)
    {
        var group = new MeasureReport.GroupComponent
        {
            Code = new CodeableConcept(GroupSystem, code, display),
            Population = [Population(total)],
            MeasureScore = Proportion(framework.Themes.Count(t => counts.GetValueOrDefault(t.Code) > 0), framework.Themes.Count),
        };
        group.Stratifier.Add(Stratifier("recovery-domain", "By recovery domain", framework.Domains, total, counts));
        group.Stratifier.Add(Stratifier("recovery-theme", "By recovery theme", framework.Themes, total, counts));
        return group;
    }

    private static MeasureReport.StratifierComponent Stratifier(string code, string display, IEnumerable<FrameworkConcept> concepts, int total,
        IReadOnlyDictionary<string, int> counts)
    {
        var stratifier = new MeasureReport.StratifierComponent { Code = [new CodeableConcept(GroupSystem, code, display)] };
        foreach (var concept in concepts)
        {
            var count = counts.GetValueOrDefault(concept.Code);
            stratifier.Stratum.Add(new MeasureReport.StratifierGroupComponent
            {
                Value = new CodeableConcept { Coding = [concept.ToCoding()], Text = concept.Display },
                Population = [new MeasureReport.StratifierGroupPopulationComponent
                {
                    Code = new CodeableConcept(MeasurePopulation, "initial-population", "Initial Population"),
                    Count = count,
                }],
                MeasureScore = Proportion(count, total),
            });
        }

        return stratifier;
    }

    private static MeasureReport.PopulationComponent Population(int count) => new()
    {
        Code = new CodeableConcept(MeasurePopulation, "initial-population", "Initial Population"),
        Count = count,
    };

    private static Quantity Proportion(int part, int whole) => new()
    {
        Value = whole == 0 ? 0 : Math.Round((decimal)part / whole, 4),
        Unit = "proportion",
        System = "http://unitsofmeasure.org",
        Code = "1",
    };

    private Narrative Narrative(MeasureReport report, OrientationScope scope, DateTimeOffset? start, DateTimeOffset? end)
    {
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture,
            $"<p>Recovery orientation of {Html(scope.Describe)}, {Html(start is null ? "from the first record" : $"from {start:yyyy-MM-dd}")} "
            + $"{Html(end is null ? "until now" : $"to {end:yyyy-MM-dd}")}.</p>");
        html.Append("<table><tr><th>Domain / theme</th>");
        foreach (var group in report.Group)
        {
            html.Append(CultureInfo.InvariantCulture, $"<th>{Html(Label(group))} (n={group.Population[0].Count ?? 0})</th>");
        }

        html.Append("</tr>");
        foreach (var concept in framework.Concepts)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{(concept.IsDomain ? $"<b>{Html(concept.Display)}</b>" : "&#160;&#160;" + Html(concept.Display))}</td>");
            foreach (var group in report.Group)
            {
                var stratum = group.Stratifier[concept.IsDomain ? 0 : 1].Stratum.First(s => s.Value?.Coding[0].Code == concept.Code);
                html.Append(CultureInfo.InvariantCulture,
                    $"<td>{stratum.Population[0].Count ?? 0} ({(stratum.MeasureScore?.Value ?? 0) * 100:0.#}%)</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</table>");
        foreach (var group in report.Group)
        {
            var gaps = group.Stratifier[1].Stratum.Where(s => s.Population[0].Count is null or 0).Select(s => s.Value?.Text).ToList();
            html.Append(CultureInfo.InvariantCulture,
                $"<p>{Html(Label(group))}: {(group.MeasureScore?.Value ?? 0) * 100:0.#}% of the {framework.Themes.Count} themes covered; "
                + $"{(gaps.Count == 0 ? "no gaps" : "gaps: " + Html(string.Join(", ", gaps)))}.</p>");
        }

        return new Narrative
        {
            Status = Hl7.Fhir.Model.Narrative.NarrativeStatus.Generated,
            Div = $"<div xmlns=\"http://www.w3.org/1999/xhtml\">{html}</div>",
        };
    }

    private static string Label(MeasureReport.GroupComponent group) => group.Code?.Coding.FirstOrDefault()?.Display ?? "";

    private static string Html(string? text) => WebUtility.HtmlEncode(text ?? "");
}
