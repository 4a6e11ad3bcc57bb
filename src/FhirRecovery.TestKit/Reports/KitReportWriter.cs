using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using FhirRecovery.TestKit.Model;

namespace FhirRecovery.TestKit.Reports;

/// <summary>
/// The run's reports: JUnit XML (for CI), a self-contained HTML page (pass/fail/skip per test, with its requests and
/// answers), and JSON (for other tools).
/// </summary>
public static class KitReportWriter
{
    public const string JUnitFile = "testkit-junit.xml";
    public const string HtmlFile = "testkit-report.html";
    public const string JsonFile = "testkit-report.json";

    /// <summary>Writes the three reports into <paramref name="directory"/> (created if needed); their paths.</summary>
    public static IReadOnlyList<string> WriteAll(KitReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        var files = new (string Name, string Content)[]
        {
            (JUnitFile, JUnit(report)),
            (HtmlFile, Html(report)),
            (JsonFile, Json(report)),
        };
        foreach (var (name, content) in files)
        {
            File.WriteAllText(Path.Combine(directory, name), content, new UTF8Encoding(false));
        }

        return files.Select(f => Path.Combine(directory, f.Name)).ToList();
    }

    public static string JUnit(KitReport report)
    {
        static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
        var suites = new XElement("testsuites",
            new XAttribute("name", "FhirRecovery test kit"),
            new XAttribute("tests", report.Results.Count),
            new XAttribute("failures", report.Failed),
            new XAttribute("skipped", report.Skipped),
            new XAttribute("time", Seconds(report.Duration)));
        foreach (var suite in report.Results.GroupBy(r => r.Test.Suite))
        {
            var element = new XElement("testsuite",
                new XAttribute("name", suite.Key),
                new XAttribute("tests", suite.Count()),
                new XAttribute("failures", suite.Count(r => r.Outcome == TestOutcome.Failed)),
                new XAttribute("errors", 0),
                new XAttribute("skipped", suite.Count(r => r.Outcome == TestOutcome.Skipped)),
                new XAttribute("time", Seconds(TimeSpan.FromTicks(suite.Sum(r => r.Duration.Ticks)))),
                new XAttribute("timestamp", report.Started.UtcDateTime.ToString("s", CultureInfo.InvariantCulture)),
                new XElement("properties", new XElement("property", new XAttribute("name", "server"), new XAttribute("value", report.Server))));
            foreach (var result in suite)
            {
                var testcase = new XElement("testcase",
                    new XAttribute("classname", $"testkit.{suite.Key}"),
                    new XAttribute("name", $"{result.Test.Id} {result.Test.Description}"),
                    new XAttribute("time", Seconds(result.Duration)));
                switch (result.Outcome)
                {
                    case TestOutcome.Failed:
                        testcase.Add(new XElement("failure", new XAttribute("message", Xml(result.Message ?? "failed")),
                            Xml($"{result.Message}\nRequirement: {result.Test.Requirement.Text} ({result.Test.Requirement.Url})\n{Exchanges(result, 3)}")));
                        break;
                    case TestOutcome.Skipped:
                        testcase.Add(new XElement("skipped", new XAttribute("message", Xml(result.Message ?? "skipped"))));
                        break;
                }

                element.Add(testcase);
            }

            suites.Add(element);
        }

        return new XDocument(new XDeclaration("1.0", "utf-8", null), suites).Declaration + "\n" + suites;
    }

    public static string Json(KitReport report) => JsonSerializer.Serialize(new
    {
        server = report.Server,
        started = report.Started,
        durationSeconds = report.Duration.TotalSeconds,
        passed = report.Passed,
        failed = report.Failed,
        skipped = report.Skipped,
        results = report.Results.Select(r => new
        {
            id = r.Test.Id,
            suite = r.Test.Suite,
            description = r.Test.Description,
            requirement = new { text = r.Test.Requirement.Text, url = r.Test.Requirement.Url },
            outcome = r.Outcome.ToString().ToLowerInvariant(),
            message = r.Message,
            durationMs = Math.Round(r.Duration.TotalMilliseconds, 1),
            exchanges = r.Exchanges.Select(e => new { method = e.Method, url = e.Url, status = e.Status, request = e.RequestBody, response = e.ResponseBody, ms = Math.Round(e.Milliseconds, 1) }),
        }),
    }, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    public static string Html(KitReport report)
    {
        static string E(string? text) => WebUtility.HtmlEncode(text ?? "");
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>FhirRecovery test kit report</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35em;text-align:left;vertical-align:top}")
            .Append(".passed{color:#176e2c}.failed{color:#b3261e;font-weight:bold}.skipped{color:#8a6d00}pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:.5em;max-height:20em;overflow:auto;font-size:.85em}")
            .Append("summary{cursor:pointer}.badge{display:inline-block;padding:.1em .5em;border-radius:.3em;background:#eee;margin-right:.5em}</style></head><body>\n")
            .Append($"<h1>FhirRecovery test kit</h1><p>Server <code>{E(report.Server)}</code>, started {E(report.Started.ToString("u", CultureInfo.InvariantCulture))}, {report.Duration.TotalSeconds:0.0} s.</p>\n")
            .Append($"<p><span class=\"badge passed\">{report.Passed} passed</span><span class=\"badge failed\">{report.Failed} failed</span><span class=\"badge skipped\">{report.Skipped} skipped</span></p>\n");
        foreach (var suite in report.Results.GroupBy(r => r.Test.Suite))
        {
            html.Append($"<h2>{E(suite.Key)}</h2><table><tr><th>id</th><th>outcome</th><th>test</th><th>requirement</th></tr>\n");
            foreach (var result in suite)
            {
                var outcome = result.Outcome.ToString().ToLowerInvariant();
                html.Append($"<tr id=\"{E(result.Test.Id)}\"><td>{E(result.Test.Id)}</td><td class=\"{outcome}\">{outcome}</td><td>{E(result.Test.Description)}");
                if (result.Message is not null)
                {
                    html.Append($"<div class=\"{outcome}\">{E(result.Message)}</div>");
                }

                if (result.Exchanges.Count > 0)
                {
                    html.Append($"<details><summary>{result.Exchanges.Count} request(s)</summary>");
                    foreach (var exchange in result.Exchanges)
                    {
                        html.Append($"<p><code>{E(exchange.Method)} {E(exchange.Url)}</code> → {exchange.Status?.ToString(CultureInfo.InvariantCulture) ?? "no answer"} ({exchange.Milliseconds:0} ms)</p>");
                        if (exchange.RequestBody is { Length: > 0 } request)
                        {
                            html.Append($"<pre>{E(request)}</pre>");
                        }

                        if (exchange.ResponseBody is { Length: > 0 } response)
                        {
                            html.Append($"<pre>{E(response)}</pre>");
                        }
                    }

                    html.Append("</details>");
                }

                html.Append($"</td><td><a href=\"{E(result.Test.Requirement.Url)}\">{E(result.Test.Requirement.Text)}</a></td></tr>\n");
            }

            html.Append("</table>\n");
        }

        return html.Append("</body></html>\n").ToString();
    }

    /// <summary>The last few exchanges of a test, as text (for the JUnit failure body).</summary>
    private static string Exchanges(TestResult result, int last) =>
        string.Join("\n", result.Exchanges.TakeLast(last).Select(e => $"{e.Method} {e.Url} → {e.Status}\n{Model.KitContext.Excerpt(e.ResponseBody, 600)}"));

    /// <summary>Removes characters XML 1.0 cannot carry (control characters from a server's answer).</summary>
    private static string Xml(string text) => new(text.Where(XmlConvertible).ToArray());

    private static bool XmlConvertible(char c) => c is '\t' or '\n' or '\r' || (c >= ' ' && c != '\uFFFE' && c != '\uFFFF');
}
