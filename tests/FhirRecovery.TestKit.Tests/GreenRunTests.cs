using System.Text.Json;
using System.Xml.Linq;
using FhirRecovery.TestKit.Model;
using FhirRecovery.TestKit.Reports;
using FhirRecovery.TestKit.Suites;

namespace FhirRecovery.TestKit.Tests;

/// <summary>
/// The whole kit against our server as CI runs it (SQLite, embedded authorization server): no test fails. The reports
/// land in artifacts/testkit/ at the repository root (JUnit XML for CI, HTML for people, JSON).
/// </summary>
public sealed class GreenRunTests
{
    [Fact]
    public async Task The_kit_passes_against_our_server_and_writes_well_formed_reports()
    {
        await using var server = await KitServer.StartAsync();
        var report = await KitRuns.RunAsync(server);

        Assert.True(report.Succeeded, KitRuns.Describe(report));
        // Bulk export comes from another branch: until the CapabilityStatement declares it, its suite skips with the reason.
        Assert.All(report.Results.Where(r => r.Outcome == TestOutcome.Skipped), r => Assert.Equal("bulk-export", r.Test.Suite));
        Assert.Equal(SuiteCatalog.Create().Sum(s => s.Tests.Count), report.Results.Count);

        var directory = Path.Combine(KitRuns.RepositoryRoot(), "artifacts", "testkit");
        var files = KitReportWriter.WriteAll(report, directory);
        Assert.All(files, f => Assert.True(File.Exists(f), f));

        var junit = XDocument.Load(Path.Combine(directory, KitReportWriter.JUnitFile));
        Assert.Equal("testsuites", junit.Root!.Name.LocalName);
        Assert.Equal(report.Results.Count, junit.Descendants("testcase").Count());
        Assert.Equal(report.Skipped, junit.Descendants("skipped").Count());
        Assert.Empty(junit.Descendants("failure"));

        var html = File.ReadAllText(Path.Combine(directory, KitReportWriter.HtmlFile));
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.EndsWith("</html>\n", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.All(report.Results, r => Assert.Contains($"id=\"{r.Test.Id}\"", html));

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, KitReportWriter.JsonFile)));
        Assert.Equal(report.Results.Count, json.RootElement.GetProperty("results").GetArrayLength());
        Assert.Equal(0, json.RootElement.GetProperty("failed").GetInt32());
    }
}
