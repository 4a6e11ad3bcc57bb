using System.Globalization;
using System.Net;
using System.Text;
using FhirRecovery.Server.Workflow;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Server.Summary;

/// <summary>
/// The recovery summary as a FHIR document (Bundle of type document, the Composition first, then everything its
/// sections refer to) and as a printable HTML page. Both are made from the same section content: the HTML page is the
/// Composition's narrative sections under a header.
/// </summary>
public static class RecoverySummaryDocument
{
    private const string Loinc = "http://loinc.org";
    private const string EmptyReason = "http://terminology.hl7.org/CodeSystem/list-empty-reason";

    /// <summary>One section: code, title, XHTML content (inside the narrative div) and the resources it shows.</summary>
    private sealed record Section(Coding Code, string Title, string Content, IReadOnlyList<Resource> Entries);

    public static Bundle ToBundle(RecoverySummary summary, RecoveryFramework framework, string baseUrl)
    {
        var compositionId = Guid.NewGuid().ToString();
        var deviceUrl = $"urn:uuid:{Guid.NewGuid()}";
        var patientUrl = $"{baseUrl}/Patient/{summary.Patient.Id}";
        var sections = Sections(summary, framework);
        var composition = new Composition
        {
            Id = compositionId,
            Status = CompositionStatus.Final,
            Type = new CodeableConcept(Loinc, "60591-5", "Patient summary Document", "Recovery summary"),
            Subject = new ResourceReference(patientUrl, PersonName(summary.Patient)),
            Date = Instant(summary.Generated),
            Author = [new ResourceReference(deviceUrl, "FhirRecovery server")],
            Title = $"Recovery summary: {PersonName(summary.Patient)}",
            Text = Narrative($"<p>Recovery summary for {Html(PersonName(summary.Patient))}, made {Html(Day(summary.Generated))} from the records held on this server: "
                             + $"{summary.Goals.Count} goal(s), {summary.Scores.Count} questionnaire score(s), {summary.OpenReferrals.Count} open referral(s), "
                             + $"{summary.Messages.Count} recent message(s).</p>"),
        };
        foreach (var section in sections)
        {
            var component = new Composition.SectionComponent
            {
                Title = section.Title,
                Code = new CodeableConcept { Coding = [section.Code], Text = section.Title },
                Text = Narrative(section.Content),
                Entry = section.Entries.Select(e => new ResourceReference($"{baseUrl}/{e.TypeName}/{e.Id}")).ToList(),
            };
            if (section.Entries.Count == 0)
            {
                component.EmptyReason = new CodeableConcept(EmptyReason, "nilknown", "Nil Known");
            }

            composition.Section.Add(component);
        }

        var bundle = new Bundle
        {
            Id = Guid.NewGuid().ToString(),
            Type = Bundle.BundleType.Document,
            Identifier = new Identifier("urn:ietf:rfc:3986", $"urn:uuid:{compositionId}"),
            Timestamp = summary.Generated,
            Meta = new Meta { LastUpdated = summary.Generated },
        };
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = $"urn:uuid:{compositionId}", Resource = composition });
        bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = patientUrl, Resource = summary.Patient });
        bundle.Entry.Add(new Bundle.EntryComponent
        {
            FullUrl = deviceUrl,
            Resource = new Device
            {
                Id = deviceUrl["urn:uuid:".Length..],
                DeviceName = [new Device.DeviceNameComponent { Name = "FhirRecovery server", Type = DeviceNameType.ManufacturerName }],
                Text = Narrative("<p>FhirRecovery server, which made this summary.</p>"),
            },
        });
        var added = new HashSet<string>(StringComparer.Ordinal) { $"Patient/{summary.Patient.Id}" };
        foreach (var entry in sections.SelectMany(s => s.Entries))
        {
            if (added.Add($"{entry.TypeName}/{entry.Id}"))
            {
                bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = $"{baseUrl}/{entry.TypeName}/{entry.Id}", Resource = entry });
            }
        }

        return bundle;
    }

    /// <summary>A complete, self-contained HTML page for printing (A4, no scripts, no external resources).</summary>
    public static string ToHtml(RecoverySummary summary, RecoveryFramework framework)
    {
        var name = PersonName(summary.Patient);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append(CultureInfo.InvariantCulture, $"<title>Recovery summary: {Html(name)}</title>\n");
        html.Append("""
            <style>
            @page { size: A4; margin: 15mm; }
            body { font-family: "Segoe UI", Arial, sans-serif; font-size: 10.5pt; color: #111; max-width: 190mm; margin: 0 auto; }
            h1 { font-size: 16pt; margin: 0 0 2mm; } h2 { font-size: 12.5pt; border-bottom: 1px solid #999; margin: 6mm 0 2mm; page-break-after: avoid; }
            table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #bbb; padding: 1mm 2mm; text-align: left; vertical-align: top; }
            th { background: #eee; } tr, section { page-break-inside: avoid; } .muted { color: #555; }
            </style>
            </head>
            <body>

            """);
        html.Append(CultureInfo.InvariantCulture, $"<header><h1>Recovery summary</h1><p><b>{Html(name)}</b>");
        if (summary.Patient.BirthDate is { } birthDate)
        {
            html.Append(CultureInfo.InvariantCulture, $", born {Html(birthDate)}");
        }

        html.Append(CultureInfo.InvariantCulture, $". Made {Html(Day(summary.Generated))}.</p></header>\n");
        foreach (var section in Sections(summary, framework))
        {
            html.Append(CultureInfo.InvariantCulture, $"<section>\n<h2>{Html(section.Title)}</h2>\n{section.Content}\n</section>\n");
        }

        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static List<Section> Sections(RecoverySummary summary, RecoveryFramework framework)
    {
        var sections = new List<Section>();
        foreach (var domain in framework.Domains)
        {
            var goals = summary.Goals.Where(g => g.Domain?.Code == domain.Code).ToList();
            sections.Add(new Section(domain.ToCoding(), $"Goals: {domain.Display}", GoalTable(goals, $"No goals in the domain {domain.Display}."), goals.Select(g => (Resource)g.Goal).ToList()));
        }

        var unclassified = summary.Goals.Where(g => g.Domain is null).ToList();
        if (unclassified.Count > 0)
        {
            sections.Add(new Section(SectionCode("unclassified-goals", "Goals without a recovery domain"), "Goals without a recovery domain",
                GoalTable(unclassified, ""), unclassified.Select(g => (Resource)g.Goal).ToList()));
        }

        sections.Add(new Section(SectionCode("questionnaire-scores", "Questionnaire scores"), "Questionnaire scores", ScoreTable(summary.Scores),
            summary.ScoredResponses.Where(r => summary.Scores.Any(s => s.Latest.ResponseId == r.Id || s.Previous?.ResponseId == r.Id)).ToList<Resource>()));

        var referralEntries = summary.OpenReferrals.SelectMany(r => new Resource[] { r.Request }.Concat(r.Tasks)).ToList();
        sections.Add(new Section(SectionCode("peer-support-referrals", "Open peer-support referrals"), "Open peer-support referrals",
            ReferralTable(summary.OpenReferrals, summary.ClosedReferrals), referralEntries));

        sections.Add(new Section(SectionCode("patient-tasks", "Tasks for the person"), "Tasks for the person", PatientTaskTable(summary.PatientTasks),
            summary.PatientTasks.ToList<Resource>()));

        sections.Add(new Section(SectionCode("secure-messages", "Secure messages"), "Secure messages", MessageTable(summary.Messages),
            summary.Messages.ToList<Resource>()));
        return sections;
    }

    private static string GoalTable(List<GoalProgress> goals, string empty)
    {
        if (goals.Count == 0)
        {
            return $"<p class=\"muted\">{Html(empty)}</p>";
        }

        var html = new StringBuilder("<table><tr><th>Goal (own words)</th><th>Theme</th><th>Status</th><th>Progress (goal attainment, -2..+2)</th></tr>");
        foreach (var goal in goals)
        {
            var status = goal.Goal.LifecycleStatus?.GetLiteral() ?? "unknown";
            var achievement = goal.Goal.AchievementStatus?.Coding.FirstOrDefault()?.Display ?? goal.Goal.AchievementStatus?.Text;
            var ratings = goal.Ratings.Count == 0
                ? "no ratings yet"
                : string.Join(" → ", goal.Ratings.Select(r => $"{Signed(r.Level)} ({(r.Date is { } d ? Day(d) : "undated")})"))
                  + (goal.Change is { } change ? $"; change {Signed(change)}" : "");
            var history = goal.StatusHistory.Count > 1
                ? "<br/><span class=\"muted\">" + Html(string.Join(" → ", goal.StatusHistory.Select(s => $"{s.Achievement ?? s.Lifecycle} ({Day(s.When)})"))) + "</span>"
                : "";
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{Html(goal.Description)}</td><td>{Html(string.Join(", ", goal.Themes.Select(t => t.Display)))}</td>"
                + $"<td>{Html(status)}{(achievement is null ? "" : $", {Html(achievement)}")}{history}</td><td>{Html(ratings)}</td></tr>");
        }

        return html.Append("</table>").ToString();
    }

    private static string ScoreTable(IReadOnlyList<ScoreSeries> scores)
    {
        if (scores.Count == 0)
        {
            return "<p class=\"muted\">No scored questionnaires.</p>";
        }

        var html = new StringBuilder("<table><tr><th>Questionnaire</th><th>Score</th><th>Latest</th><th>Previous</th><th>Trend</th><th>All</th></tr>");
        foreach (var score in scores)
        {
            var previous = score.Previous is { } p ? $"{Number(p.Value)} ({Day(p.Authored)})" : "none";
            var trend = score.Trend is { } t ? $"{t} ({Signed(score.Latest.Value - score.Previous!.Value)})" : "first score";
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{Html(score.Title)}</td><td>{Html(score.ItemText)}</td><td>{Html($"{Number(score.Latest.Value)} ({Day(score.Latest.Authored)})")}</td>"
                + $"<td>{Html(previous)}</td><td>{Html(trend)}</td><td>{Html(string.Join(", ", score.Points.Select(x => Number(x.Value))))}</td></tr>");
        }

        return html.Append("</table>").ToString();
    }

    private static string ReferralTable(IReadOnlyList<ReferralView> referrals, IReadOnlyDictionary<string, int> closed)
    {
        var html = new StringBuilder();
        if (referrals.Count == 0)
        {
            html.Append("<p class=\"muted\">No open referrals.</p>");
        }
        else
        {
            html.Append("<table><tr><th>Referral</th><th>Status</th><th>Organisation</th><th>Task status</th><th>Last change</th></tr>");
            foreach (var referral in referrals)
            {
                var request = referral.Request;
                var label = $"{request.Code?.Coding.FirstOrDefault()?.Display ?? request.Code?.Text ?? "Referral"}, {request.AuthoredOn ?? "undated"}";
                if (referral.Tasks.Count == 0)
                {
                    html.Append(CultureInfo.InvariantCulture,
                        $"<tr><td>{Html(label)}</td><td>{Html(request.Status?.GetLiteral() ?? "unknown")}</td><td colspan=\"3\" class=\"muted\">not sent to an organisation yet</td></tr>");
                }

                foreach (var task in referral.Tasks)
                {
                    var state = task.Status?.GetLiteral() ?? "unknown";
                    var business = task.BusinessStatus?.Coding.FirstOrDefault()?.Display ?? task.BusinessStatus?.Text;
                    var reason = task.StatusReason?.Coding.FirstOrDefault()?.Display ?? task.StatusReason?.Text;
                    html.Append(CultureInfo.InvariantCulture,
                        $"<tr><td>{Html(label)}</td><td>{Html(request.Status?.GetLiteral() ?? "unknown")}</td><td>{Html(task.Owner?.Display ?? task.Owner?.Reference ?? "")}</td>"
                        + $"<td>{Html(state)}{(business is null ? "" : $" ({Html(business)})")}{(reason is null ? "" : $"; {Html(reason)}")}</td><td>{Html(task.LastModified ?? task.AuthoredOn ?? "")}</td></tr>");
                }
            }

            html.Append("</table>");
        }

        if (closed.Count > 0)
        {
            html.Append(CultureInfo.InvariantCulture,
                $"<p class=\"muted\">Closed referrals: {Html(string.Join(", ", closed.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Value} {c.Key}")))}.</p>");
        }

        return html.ToString();
    }

    private static string PatientTaskTable(IReadOnlyList<FhirTask> tasks)
    {
        if (tasks.Count == 0)
        {
            return "<p class=\"muted\">Nothing open.</p>";
        }

        var html = new StringBuilder("<table><tr><th>To do</th><th>Status</th><th>Asked by</th><th>Since</th></tr>");
        foreach (var task in tasks)
        {
            var what = task.Description ?? task.Code?.Coding.FirstOrDefault()?.Display ?? task.Code?.Text ?? "Task";
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{Html(what)}</td><td>{Html(task.Status?.GetLiteral() ?? "unknown")}</td><td>{Html(task.Requester?.Display ?? task.Requester?.Reference ?? "")}</td><td>{Html(task.AuthoredOn ?? "")}</td></tr>");
        }

        return html.Append("</table>").ToString();
    }

    private static string MessageTable(IReadOnlyList<Communication> messages)
    {
        if (messages.Count == 0)
        {
            return "<p class=\"muted\">No messages.</p>";
        }

        var html = new StringBuilder("<table><tr><th>Sent</th><th>From</th><th>To</th><th>About</th><th>Message</th></tr>");
        foreach (var message in messages)
        {
            var text = string.Join(" ", message.Payload.Select(p => p.Content as FhirString).OfType<FhirString>().Select(s => s.Value));
            html.Append(CultureInfo.InvariantCulture,
                $"<tr><td>{Html(message.Sent ?? "not sent")}</td><td>{Html(Who(message.Sender))}</td><td>{Html(string.Join(", ", message.Recipient.Select(Who)))}</td>"
                + $"<td>{Html(string.Join(", ", message.About.Select(a => a.Display ?? a.Reference)))}</td><td>{Html(text)}</td></tr>");
        }

        return html.Append("</table>").ToString();
    }

    private static string Who(ResourceReference? reference) => reference?.Display ?? reference?.Reference ?? "";

    private static Coding SectionCode(string code, string display) => new(WorkflowCanonicals.SummarySection, code, display);

    private static Narrative Narrative(string content) => new()
    {
        Status = Hl7.Fhir.Model.Narrative.NarrativeStatus.Generated,
        Div = $"<div xmlns=\"http://www.w3.org/1999/xhtml\">{content}</div>",
    };

    public static string PersonName(Patient patient)
    {
        var name = patient.Name.FirstOrDefault(n => n.Use == HumanName.NameUse.Official) ?? patient.Name.FirstOrDefault();
        return name is null ? $"Patient/{patient.Id}" : name.Text ?? string.Join(" ", name.Given.Append(name.Family).Where(s => !string.IsNullOrEmpty(s)));
    }

    private static string Instant(DateTimeOffset value) => value.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Day(DateTimeOffset value) => value.ToUniversalTime().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Signed(decimal value) => value > 0 ? "+" + Number(value) : Number(value);

    private static string Signed(int value) => value > 0 ? $"+{value}" : value.ToString(CultureInfo.InvariantCulture);

    private static string Number(decimal value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>Text for XHTML (and HTML): markup characters escaped.</summary>
    private static string Html(string? text) => WebUtility.HtmlEncode(text ?? "");
}
