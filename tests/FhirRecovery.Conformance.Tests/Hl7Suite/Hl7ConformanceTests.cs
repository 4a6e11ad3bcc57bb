using System.Text;
using System.Text.RegularExpressions;
using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Conformance.Validation;
using Xunit.Abstractions;

namespace FhirRecovery.Conformance.Tests.Hl7Suite;

/// <summary>
/// The validator's verdicts on the HL7 FHIR validator test cases agree with the HL7 Java reference validator on at
/// least 90% of them, and every case where they differ is listed, with its cause, in docs/conformance.md.
/// </summary>
public sealed class Hl7ConformanceTests(ITestOutputHelper output)
{
    [Fact]
    public void Verdicts_agree_with_the_HL7_reference_validator_on_at_least_90_percent_of_the_test_cases()
    {
        var results = RunAll();
        var agreed = results.Count(r => r.Agrees);
        var rate = (double)agreed / results.Count;
        output.WriteLine($"Agreement: {agreed}/{results.Count} = {rate:P1}");
        foreach (var result in results.Where(r => !r.Agrees))
        {
            foreach (var step in result.Steps.Where(s => !s.Agrees))
            {
                output.WriteLine($"DISAGREE {result.Name} [{result.Module}] {step.Step}: expected {(step.ExpectedErrors ? "errors" : "no errors")}, got {(step.ActualErrors ? "errors" : "none")}");
                foreach (var message in step.Messages)
                {
                    output.WriteLine("    " + message);
                }
            }
        }

        WriteReport(results);
        Assert.True(rate >= 0.90, $"Verdicts agree on {rate:P1} of the HL7 test cases; at least 90% is required.");
    }

    [Fact]
    public void Every_disagreement_with_the_reference_validator_is_documented_in_docs_conformance_md_and_nothing_else()
    {
        var results = RunAll();
        var disagreeing = results.Where(r => !r.Agrees).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var documented = DocumentedDisagreements();
        var undocumented = disagreeing.Except(documented).Order().ToList();
        var stale = documented.Except(disagreeing).Order().ToList();
        Assert.True(undocumented.Count == 0, "Disagreements not listed in docs/conformance.md: " + string.Join(", ", undocumented));
        Assert.True(stale.Count == 0, "Listed in docs/conformance.md but now agreeing (remove them): " + string.Join(", ", stale));
    }

    private static readonly Lazy<IReadOnlyList<Hl7CaseResult>> Results = new(() =>
    {
        var core = SharedDefinitions.Core;
        var runner = new Hl7TestCaseRunner(TestPaths.Hl7TestCases, core, (resolver, settings) => SharedDefinitions.CreateValidator(resolver, settings));
        // FHIRRECOVERY_HL7_CASES=name1,name2 runs only those cases (for investigating a disagreement).
        var only = Environment.GetEnvironmentVariable("FHIRRECOVERY_HL7_CASES")?.Split(',', StringSplitOptions.RemoveEmptyEntries);
        return runner.Cases()
            .Where(c => only is null || only.Contains(c.GetProperty("name").GetString()))
            .Select(runner.Run).ToList();
    });

    private static IReadOnlyList<Hl7CaseResult> RunAll() => Results.Value;

    private static HashSet<string> DocumentedDisagreements()
    {
        var path = Path.Combine(TestPaths.Docs, "conformance.md");
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return names;
        }

        foreach (var line in File.ReadLines(path))
        {
            var match = Regex.Match(line, @"^\|\s*`([^`]+)`\s*\|");
            if (match.Success)
            {
                names.Add(match.Groups[1].Value);
            }
        }

        return names;
    }

    private static void WriteReport(IReadOnlyList<Hl7CaseResult> results)
    {
        var report = new StringBuilder();
        report.AppendLine("| case | module | step | reference | ours | agrees | first issues |");
        report.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var result in results)
        {
            foreach (var step in result.Steps)
            {
                var issues = string.Join("<br>", step.Messages.Take(3)).Replace("|", "\\|", StringComparison.Ordinal);
                report.AppendLine($"| {result.Name} | {result.Module} | {step.Step} | {(step.ExpectedErrors ? "errors" : "valid")} | {(step.ActualErrors ? "errors" : "valid")} | {(step.Agrees ? "yes" : "NO")} | {issues} |");
            }
        }

        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "hl7-conformance-report.md"), report.ToString());
    }
}
