using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// What kind of rule an issue comes from. The server answers <see cref="Structure"/> errors with 400 (the content is not
/// a well-formed FHIR resource) and <see cref="Profile"/> errors with 422 (well-formed, but breaks a rule).
/// </summary>
public enum IssueKind
{
    /// <summary>Syntax, unknown elements, wrong JSON/XML shape, wrong primitive format, wrong type.</summary>
    Structure,

    /// <summary>Cardinality, invariants, bindings, fixed/pattern values, slicing, references, extensions' definitions.</summary>
    Profile,
}

/// <summary>One finding of the validator, located by a FHIRPath expression.</summary>
public sealed record ValidationIssue(
    OperationOutcome.IssueSeverity Severity,
    OperationOutcome.IssueType Code,
    string Message,
    string? Expression,
    IssueKind Kind = IssueKind.Profile)
{
    /// <summary>Line and column in the source document, where known (JSON and XML syntax errors).</summary>
    public (long Line, long Column)? Position { get; init; }

    /// <summary>The rule's key, for invariants (e.g. "rg-1"), or a stable message id.</summary>
    public string? RuleId { get; init; }

    public bool IsError => Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal;

    public OperationOutcome.IssueComponent ToIssueComponent()
    {
        var component = new OperationOutcome.IssueComponent
        {
            Severity = Severity,
            Code = Code,
            Diagnostics = Message,
            Details = new CodeableConcept { Text = Message },
        };
        if (Expression is not null)
        {
            component.Expression = [Expression];
        }

        if (Position is { } position)
        {
            component.Extension.Add(new Extension("http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line", new Integer((int)Math.Min(position.Line, int.MaxValue))));
            component.Extension.Add(new Extension("http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col", new Integer((int)Math.Min(position.Column, int.MaxValue))));
        }

        return component;
    }
}

/// <summary>The verdict on one resource: its issues and (when it could be read) the parsed resource.</summary>
public sealed class ValidationResult
{
    public ValidationResult(IReadOnlyList<ValidationIssue> issues, Resource? resource)
    {
        Issues = issues;
        Resource = resource;
    }

    public IReadOnlyList<ValidationIssue> Issues { get; }

    /// <summary>The resource as read (leniently); null when the content could not be read at all.</summary>
    public Resource? Resource { get; }

    public bool HasErrors => Issues.Any(i => i.IsError);

    public bool HasStructuralErrors => Issues.Any(i => i.IsError && i.Kind == IssueKind.Structure);

    public OperationOutcome ToOperationOutcome()
    {
        var outcome = new OperationOutcome();
        foreach (var issue in Issues)
        {
            outcome.Issue.Add(issue.ToIssueComponent());
        }

        if (outcome.Issue.Count == 0)
        {
            // An empty OperationOutcome is invalid (issue is 1..*): say explicitly that all is well.
            outcome.Issue.Add(new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Information,
                Code = OperationOutcome.IssueType.Informational,
                Diagnostics = "No issues detected during validation",
                Details = new CodeableConcept { Text = "No issues detected during validation" },
            });
        }

        return outcome;
    }
}
