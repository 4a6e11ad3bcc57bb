using Hl7.Fhir.Model;

namespace FhirRecovery.Mapping;

/// <summary>Input that cannot be converted (malformed, or missing what the target profiles need); the issues name the place.</summary>
public sealed class MappingException(IReadOnlyList<OperationOutcome.IssueComponent> issues)
    : Exception(string.Join("; ", issues.Select(i => i.Expression.FirstOrDefault() is { } where ? $"{where}: {i.Diagnostics}" : i.Diagnostics)))
{
    public MappingException(string message, string? expression)
        : this([ConversionResult.Issue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Invalid, message, expression)])
    {
    }

    public IReadOnlyList<OperationOutcome.IssueComponent> Issues { get; } = issues;

    public OperationOutcome ToOutcome() => new() { Issue = Issues.ToList() };

    /// <summary>The v2 errors as OperationOutcome issues (expression: segment-field, e.g. <c>RF1-10</c>).</summary>
    public static MappingException From(Hl7v2.Hl7v2Exception exception) =>
        new(exception.Errors.Select(e => ConversionResult.Issue(OperationOutcome.IssueSeverity.Error,
            e.Code == Hl7v2.Hl7ErrorCodes.RequiredFieldMissing ? OperationOutcome.IssueType.Required : OperationOutcome.IssueType.Invalid,
            $"HL7 v2 error {e.Code} ({Hl7v2.Hl7ErrorCodes.Display(e.Code)}): {e}", e.Location?.ToString())).ToList());
}
