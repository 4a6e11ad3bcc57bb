using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Definitions;

/// <summary>
/// Puts a differential's top-level element blocks in the order of the base definition before snapshot generation.
/// Firely's generator appends an element that comes out of order instead of merging it (so "Patient.identifier 1..*"
/// listed after Patient.birthDate would be lost); the HL7 tooling sorts the differential first, and so do we.
/// A block is a child of the root with everything under it (its slices and their children stay together).
/// </summary>
internal static class DifferentialOrder
{
    public static void Sort(StructureDefinition sd, StructureDefinition? baseDefinition)
    {
        var elements = sd.Differential?.Element;
        var baseElements = baseDefinition?.Snapshot?.Element;
        if (elements is not { Count: > 1 } || baseElements is not { Count: > 0 })
        {
            return;
        }

        var basePosition = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < baseElements.Count; i++)
        {
            basePosition.TryAdd(baseElements[i].Path ?? "", i);
        }

        var root = elements[0].Path?.Split('.')[0];
        var blocks = new List<(int Position, List<ElementDefinition> Elements)>();
        foreach (var element in elements)
        {
            var path = element.Path ?? "";
            var segments = path.Split('.');
            if (segments.Length <= 2 || blocks.Count == 0)
            {
                blocks.Add((PositionOf(path, basePosition, root), [element]));
            }
            else
            {
                blocks[^1].Elements.Add(element);
            }
        }

        var sorted = blocks.Select((block, index) => (block, index))
            .OrderBy(b => b.block.Position).ThenBy(b => b.index)
            .SelectMany(b => b.block.Elements)
            .ToList();
        if (!sorted.SequenceEqual(elements))
        {
            sd.Differential!.Element = sorted;
        }
    }

    /// <summary>Position of a root child in the base snapshot ("valueQuantity" counts as "value[x]"); unknown paths go last.</summary>
    private static int PositionOf(string path, Dictionary<string, int> basePosition, string? root)
    {
        if (path == root)
        {
            return -1;
        }

        if (basePosition.TryGetValue(path, out var position))
        {
            return position;
        }

        foreach (var (candidate, index) in basePosition)
        {
            if (candidate.EndsWith("[x]", StringComparison.Ordinal) && path.StartsWith(candidate[..^3], StringComparison.Ordinal)
                && !path[(candidate.Length - 3)..].Contains('.'))
            {
                return index;
            }
        }

        return int.MaxValue;
    }
}
