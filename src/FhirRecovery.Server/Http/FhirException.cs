using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Http;

/// <summary>
/// A request the server cannot or will not carry out, with the HTTP status and the OperationOutcome to answer with.
/// Thrown by the interactions and turned into the response by <see cref="FhirErrorMiddleware"/> (or into a Bundle
/// entry's response in a batch).
/// </summary>
public sealed class FhirException : Exception
{
    public FhirException(int status, OperationOutcome outcome)
        : base(outcome.Issue.FirstOrDefault()?.Diagnostics ?? $"HTTP {status}")
    {
        Status = status;
        Outcome = outcome;
    }

    public FhirException(int status, OperationOutcome.IssueType code, string message, string? expression = null)
        : this(status, Outcomes.Error(code, message, expression))
    {
    }

    public int Status { get; }

    public OperationOutcome Outcome { get; }

    /// <summary>Headers to send with the error (e.g. the ETag of a deleted resource's last version).</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    public static FhirException BadRequest(string message, string? expression = null) =>
        new(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Invalid, message, expression);

    public static FhirException NotFound(string message) =>
        new(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound, message);

    public static FhirException Gone(string message) =>
        new(StatusCodes.Status410Gone, OperationOutcome.IssueType.Deleted, message);

    public static FhirException PreconditionFailed(string message) =>
        new(StatusCodes.Status412PreconditionFailed, OperationOutcome.IssueType.Conflict, message);

    public static FhirException Conflict(string message) =>
        new(StatusCodes.Status409Conflict, OperationOutcome.IssueType.Conflict, message);

    public static FhirException NotSupported(string message) =>
        new(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.NotSupported, message);
}

/// <summary>Builds the OperationOutcomes the server answers with.</summary>
public static class Outcomes
{
    public static OperationOutcome Error(OperationOutcome.IssueType code, string message, string? expression = null) =>
        Single(OperationOutcome.IssueSeverity.Error, code, message, expression);

    public static OperationOutcome Information(string message) =>
        Single(OperationOutcome.IssueSeverity.Information, OperationOutcome.IssueType.Informational, message, null);

    public static OperationOutcome Single(OperationOutcome.IssueSeverity severity, OperationOutcome.IssueType code, string message, string? expression)
    {
        var issue = new OperationOutcome.IssueComponent
        {
            Severity = severity,
            Code = code,
            Diagnostics = message,
            Details = new CodeableConcept { Text = message },
        };
        if (expression is not null)
        {
            issue.Expression = [expression];
        }

        return new OperationOutcome { Issue = [issue] };
    }
}
