using FhirRecovery.Conformance.Definitions;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Snapshot;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// A StructureDefinition being validated (an IG author's profile) must also make sense as a profile: its differential
/// has to produce a snapshot against its base. Firely's snapshot generator is run on a copy and its findings reported.
/// </summary>
internal static class StructureDefinitionRules
{
    /// <summary>A constraint cannot change a value its base fixes (it can only fix what is still open).</summary>
    private static void CheckFixedValuesAgainstBase(InstanceWalker walker, InstanceNode node, StructureDefinition definition, StructureDefinition baseDefinition)
    {
        var baseElements = baseDefinition.Snapshot?.Element.Where(e => e.ElementId is not null).GroupBy(e => e.ElementId!).ToDictionary(g => g.Key, g => g.First())
                           ?? [];
        var differential = definition.Differential!.Element;
        for (var i = 0; i < differential.Count; i++)
        {
            var element = differential[i];
            if (element.Fixed is not { } fixedValue || element.ElementId is not { } id || !baseElements.TryGetValue(id, out var baseElement)
                || baseElement.Fixed is not { } baseFixed || fixedValue.IsExactly(baseFixed))
            {
                continue;
            }

            walker.ReportAt($"{node.Path}.differential.element[{i}]", IssueSeverity.Error, IssueType.Value,
                $"{element.Path} is fixed to '{fixedValue}', but its base {baseDefinition.Url} already fixes it to '{baseFixed}'");
        }
    }

    public static void Check(InstanceWalker walker, InstanceNode node, StructureDefinition definition, DefinitionResolver definitions)
    {
        if (definition.Derivation != StructureDefinition.TypeDerivationRule.Constraint || definition.Differential?.Element is not { Count: > 0 }
            || string.IsNullOrEmpty(definition.BaseDefinition) || definitions.FindStructureDefinition(definition.BaseDefinition) is null)
        {
            return;
        }

        CheckFixedValuesAgainstBase(walker, node, definition, definitions.FindStructureDefinition(definition.BaseDefinition)!);

        var copy = (StructureDefinition)definition.DeepCopy();
        copy.Snapshot = null;
        OperationOutcome? outcome;
        try
        {
            var generator = new SnapshotGenerator(definitions, new SnapshotGeneratorSettings { GenerateElementIds = true });
            generator.UpdateAsync(copy).GetAwaiter().GetResult();
            outcome = generator.Outcome;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            walker.Report(node, IssueSeverity.Error, IssueType.Processing, $"Error generating the snapshot: {ex.Message}");
            return;
        }

        foreach (var issue in outcome?.Issue ?? [])
        {
            if (issue.Severity is IssueSeverity.Error or IssueSeverity.Fatal)
            {
                walker.Report(node, IssueSeverity.Error, IssueType.Processing, $"Error generating the snapshot: {issue.Details?.Text ?? issue.Diagnostics}");
            }
        }
    }
}
