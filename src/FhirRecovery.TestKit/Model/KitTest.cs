namespace FhirRecovery.TestKit.Model;

/// <summary>The rule of the guide or of a FHIR specification a test checks, with where it is written.</summary>
public sealed record Requirement(string Text, string Url);

/// <summary>One test of a suite: a stable id (<c>cap-01</c>), what it does, the requirement it checks, and its body.</summary>
public sealed record KitTest(string Id, string Suite, string Description, Requirement Requirement, Func<KitContext, Task> Body);

public enum TestOutcome
{
    Passed,
    Failed,
    Skipped,
}

/// <summary>One HTTP request of a test and its answer, excerpted for the reports.</summary>
public sealed record RecordedExchange(string Method, string Url, string? RequestBody, int? Status, string? ResponseBody, double Milliseconds);

public sealed record TestResult(KitTest Test, TestOutcome Outcome, string? Message, TimeSpan Duration, IReadOnlyList<RecordedExchange> Exchanges);

/// <summary>A whole run: what was tested, when, and every result in run order.</summary>
public sealed record KitReport(string Server, DateTimeOffset Started, TimeSpan Duration, IReadOnlyList<TestResult> Results)
{
    public int Passed => Results.Count(r => r.Outcome == TestOutcome.Passed);

    public int Failed => Results.Count(r => r.Outcome == TestOutcome.Failed);

    public int Skipped => Results.Count(r => r.Outcome == TestOutcome.Skipped);

    public bool Succeeded => Failed == 0;
}

/// <summary>Thrown by a test's body: the server broke the requirement.</summary>
public sealed class TestFailedException(string message) : Exception(message);

/// <summary>Thrown by a test's body: the test cannot run here (no credentials, the server does not declare the feature).</summary>
public sealed class TestSkippedException(string reason) : Exception(reason);
