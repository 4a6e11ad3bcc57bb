using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>
/// A terminology request that cannot be answered: unknown resource, missing or bad parameter, too large an expansion.
/// Carries the OperationOutcome to send back; <see cref="StatusCode"/> is the HTTP status the issue type suggests.
/// </summary>
public sealed class TerminologyException : Exception
{
    public TerminologyException(OperationOutcome.IssueType issueType, string message, OperationOutcome.IssueSeverity severity = OperationOutcome.IssueSeverity.Error)
        : base(message)
    {
        IssueType = issueType;
        Outcome = new OperationOutcome
        {
            Issue =
            [
                new OperationOutcome.IssueComponent
                {
                    Severity = severity,
                    Code = issueType,
                    Diagnostics = message,
                },
            ],
        };
    }

    public OperationOutcome.IssueType IssueType { get; }

    public OperationOutcome Outcome { get; }

    /// <summary>404 for unknown resources, 400 for bad or missing input, 422 for requests that are valid but cannot be done.</summary>
    public int StatusCode => IssueType switch
    {
        OperationOutcome.IssueType.NotFound => 404,
        OperationOutcome.IssueType.Required or OperationOutcome.IssueType.Invalid or OperationOutcome.IssueType.Value
            or OperationOutcome.IssueType.Structure => 400,
        _ => 422,
    };

    public static TerminologyException NotFound(string message) => new(OperationOutcome.IssueType.NotFound, message);

    public static TerminologyException Required(string message) => new(OperationOutcome.IssueType.Required, message);

    public static TerminologyException Invalid(string message) => new(OperationOutcome.IssueType.Invalid, message);

    public static TerminologyException TooCostly(string message) => new(OperationOutcome.IssueType.TooCostly, message);

    public static TerminologyException NotSupported(string message) => new(OperationOutcome.IssueType.NotSupported, message);
}
