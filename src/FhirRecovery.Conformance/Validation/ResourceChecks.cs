using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// A rule about a whole resource that StructureDefinitions cannot express (e.g. a QuestionnaireResponse against its
/// Questionnaire). The profile validator runs every registered check after its walk, on the resource validated and on
/// the resources nested in it (Bundle entries, contained resources, Parameters), so <c>$validate</c>, validation on write
/// and the CLI all apply it.
/// </summary>
public interface IResourceCheck
{
    /// <summary>Whether the check has anything to say about this resource; asked for every resource, so keep it cheap.</summary>
    bool AppliesTo(Resource resource);

    /// <summary>Adds the findings about <paramref name="resource"/> to <paramref name="issues"/>.</summary>
    /// <param name="location">FHIRPath of the resource in the document validated ("QuestionnaireResponse",
    /// "Bundle.entry[2].resource"); issue expressions start with it.</param>
    void Check(Resource resource, string location, ICollection<ValidationIssue> issues);
}

/// <summary>
/// The checks a <see cref="ProfileValidator"/> runs beyond its StructureDefinitions. Register them while the engine is
/// built (before validation starts); the list is copied on write, so validations in flight never see it change.
/// </summary>
public sealed class ResourceChecks
{
    private const int MaxNesting = 32;
    private IResourceCheck[] _checks = [];
    private readonly Lock _gate = new();

    public IReadOnlyList<IResourceCheck> All => _checks;

    public void Add(IResourceCheck check)
    {
        lock (_gate)
        {
            _checks = [.. _checks, check];
        }
    }

    /// <summary>Runs the checks on <paramref name="resource"/> and the resources nested in it.</summary>
    internal void Run(Resource resource, string location, Action<ValidationIssue> report)
    {
        var checks = _checks;
        if (checks.Length == 0)
        {
            return;
        }

        var issues = new List<ValidationIssue>();
        Visit(checks, resource, location, issues, 0);
        foreach (var issue in issues)
        {
            report(issue);
        }
    }

    private static void Visit(IResourceCheck[] checks, Resource resource, string location, List<ValidationIssue> issues, int depth)
    {
        if (depth > MaxNesting)
        {
            // The walk has already reported the nesting; nothing more to check down there.
            return;
        }

        foreach (var check in checks)
        {
            if (!check.AppliesTo(resource))
            {
                continue;
            }

            try
            {
                check.Check(resource, location, issues);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException and not StackOverflowException)
            {
                // A check that cannot finish must not hide the walk's findings: say so, where.
                issues.Add(new ValidationIssue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Exception,
                    $"The {check.GetType().Name} check could not be completed: {ex.GetType().Name}: {ex.Message}", location));
            }
        }

        switch (resource)
        {
            case Bundle bundle:
                for (var i = 0; i < bundle.Entry.Count; i++)
                {
                    if (bundle.Entry[i].Resource is { } entry)
                    {
                        Visit(checks, entry, $"{location}.entry[{i}].resource", issues, depth + 1);
                    }
                }

                break;
            case Parameters parameters:
                VisitParameters(checks, parameters.Parameter, $"{location}.parameter", issues, depth);
                break;
        }

        if (resource is DomainResource { Contained.Count: > 0 } domain)
        {
            for (var i = 0; i < domain.Contained.Count; i++)
            {
                Visit(checks, domain.Contained[i], $"{location}.contained[{i}]", issues, depth + 1);
            }
        }
    }

    private static void VisitParameters(IResourceCheck[] checks, List<Parameters.ParameterComponent> parameters, string prefix, List<ValidationIssue> issues, int depth)
    {
        for (var i = 0; i < parameters.Count; i++)
        {
            if (parameters[i].Resource is { } nested)
            {
                Visit(checks, nested, $"{prefix}[{i}].resource", issues, depth + 1);
            }

            if (parameters[i].Part.Count > 0)
            {
                VisitParameters(checks, parameters[i].Part, $"{prefix}[{i}].part", issues, depth + 1);
            }
        }
    }
}
