using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Model;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Cli.Validation;

/// <summary>Counts of one <c>validate</c> run.</summary>
internal sealed class ValidationTally
{
    public int Resources { get; set; }
    public int Failed { get; set; }
    public int Errors { get; set; }
    public int Warnings { get; set; }
    public int UnreadableInputs { get; set; }
    public TimeSpan Elapsed { get; set; }

    public int Passed => Resources - Failed;

    public double ResourcesPerSecond => Elapsed.TotalSeconds > 0 ? Resources / Elapsed.TotalSeconds : 0;

    public void Add(ValidationResult result)
    {
        Resources++;
        Errors += result.Issues.Count(i => i.IsError);
        Warnings += result.Issues.Count(i => i.Severity == IssueSeverity.Warning);
        if (result.HasErrors)
        {
            Failed++;
        }
    }

    public string Describe()
    {
        var text = $"{Resources} {Plural(Resources, "resource")} validated in {Elapsed.TotalSeconds:0.00} s ({ResourcesPerSecond:0} resources/s): "
                   + $"{Passed} passed, {Failed} failed; {Errors} {Plural(Errors, "error")}, {Warnings} {Plural(Warnings, "warning")}.";
        return UnreadableInputs > 0 ? $"{text} {UnreadableInputs} {Plural(UnreadableInputs, "input")} could not be read." : text;
    }

    private static string Plural(int count, string word) => count == 1 ? word : word + "s";
}

/// <summary>How the verdicts of <c>validate</c> are written.</summary>
internal interface IValidationReport
{
    void Verdict(InputResource input, ValidationResult result);

    /// <summary>An input that could not be read at all (I/O error, corrupt package).</summary>
    void Unreadable(string location, string message);

    void Summary(ValidationTally tally);
}

/// <summary>
/// Text: a verdict line per resource, then its issues as <c>severity  expression  message</c> (information only when
/// verbose), then a summary line.
/// </summary>
internal sealed class TextValidationReport(TextWriter output, bool verbose) : IValidationReport
{
    // A message can quote the offending value (a 50 MB string): the console gets a readable head of it.
    private const int MaxMessageLength = 2000;

    public void Verdict(InputResource input, ValidationResult result)
    {
        var shown = result.Issues.Where(i => verbose || i.Severity != IssueSeverity.Information).ToList();
        var errors = result.Issues.Count(i => i.IsError);
        var warnings = result.Issues.Count(i => i.Severity == IssueSeverity.Warning);
        var label = result.Resource is { } resource ? $"  {resource.TypeName}{(resource.Id is { } id ? "/" + id : "")}" : "";
        var counts = errors + warnings == 0 ? "" : $": {Count(errors, "error")}{(errors > 0 && warnings > 0 ? ", " : "")}{Count(warnings, "warning")}";
        output.WriteLine($"{(errors > 0 ? "FAIL" : "PASS")}  {input.Location}{label}{counts}");
        foreach (var issue in shown)
        {
            output.WriteLine($"  {SeverityText(issue.Severity),-7}  {Where(issue)}  {MessageOf(issue)}");
        }
    }

    public void Unreadable(string location, string message) => output.WriteLine($"FAIL  {location}: {message}");

    public void Summary(ValidationTally tally) => output.WriteLine(tally.Describe());

    private static string Count(int count, string word) => count == 0 ? "" : $"{count} {word}{(count == 1 ? "" : "s")}";

    private static string SeverityText(IssueSeverity severity) => severity.ToString().ToLowerInvariant();

    private static string Where(ValidationIssue issue) =>
        issue.Expression ?? (issue.Position is { } p ? $"line {p.Line}, col {p.Column}" : "-");

    private static string MessageOf(ValidationIssue issue)
    {
        var message = issue.Message.ReplaceLineEndings(" ");
        if (message.Length > MaxMessageLength)
        {
            message = message[..MaxMessageLength] + $"… ({message.Length:N0} characters)";
        }

        return issue.RuleId is { } rule && !message.Contains(rule, StringComparison.Ordinal) ? $"{message} [{rule}]" : message;
    }
}

/// <summary>
/// FHIR JSON: one OperationOutcome for a single input resource, else one OperationOutcome per line (NDJSON). Each
/// outcome and each of its issues carries the source in the extension <see cref="FileExtension"/> (valueString: the
/// path as given, <c>pkg.tgz!package/X.json</c> inside a package); for an NDJSON input the issues also carry
/// <see cref="LineExtension"/> with the line number in that file. The summary goes to stderr, so stdout is only JSON.
/// </summary>
internal sealed class JsonValidationReport(TextWriter output, TextWriter diagnostics, bool single) : IValidationReport
{
    /// <summary>As the HL7 reference validator marks which file an outcome is about.</summary>
    public const string FileExtension = "http://hl7.org/fhir/StructureDefinition/operationoutcome-file";

    /// <summary>The core R4 extension for the line of an issue.</summary>
    public const string LineExtension = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line";

    private const int MaxMessageLength = 100_000;

    public void Verdict(InputResource input, ValidationResult result)
    {
        var outcome = result.ToOperationOutcome();
        foreach (var issue in outcome.Issue)
        {
            if (issue.Diagnostics is { Length: > MaxMessageLength } long_)
            {
                issue.Diagnostics = long_[..MaxMessageLength] + "…";
                issue.Details = new CodeableConcept { Text = issue.Diagnostics };
            }
        }

        Write(Locate(outcome, input.File, input.Line));
    }

    public void Unreadable(string location, string message)
    {
        var outcome = new OperationOutcome
        {
            Issue =
            [
                new IssueComponent
                {
                    Severity = IssueSeverity.Fatal,
                    Code = IssueType.Exception,
                    Diagnostics = message,
                    Details = new CodeableConcept { Text = message },
                },
            ],
        };
        Write(Locate(outcome, location, null));
    }

    public void Summary(ValidationTally tally) => diagnostics.WriteLine(tally.Describe());

    private static OperationOutcome Locate(OperationOutcome outcome, string file, long? line)
    {
        outcome.Extension.Add(new Extension(FileExtension, new FhirString(file)));
        foreach (var issue in outcome.Issue)
        {
            issue.Extension.Insert(0, new Extension(FileExtension, new FhirString(file)));
            if (line is { } number)
            {
                // An NDJSON line is one JSON document: its line 1 is this line of the file.
                issue.Extension.RemoveAll(e => e.Url == LineExtension);
                issue.Extension.Insert(1, new Extension(LineExtension, new Integer((int)Math.Min(number, int.MaxValue))));
            }
        }

        return outcome;
    }

    private void Write(OperationOutcome outcome) => output.WriteLine(FhirJson.Serialize(outcome, pretty: single));
}
