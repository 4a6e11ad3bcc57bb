using System.Collections;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace FhirRecovery.Storage.Indexing;

/// <summary>
/// A search parameter expression that is a union of plain element paths (<c>AuditEvent.agent.who</c>), each optionally
/// ending in <c>.where(resolve() is Patient)</c>, walked straight over the POCO. Most core parameters are of this
/// form, and the FHIRPath engine (compiled, but generic: nodes, closures, iterators per step) was more than half of the
/// cost of a write's indexing. Anything else keeps the FHIRPath evaluation; the equivalence of both on every example
/// resource is tested. The patient compartment check walks the same paths over stored JSON.
/// </summary>
public sealed partial class PocoPath
{
    private readonly string[] _segments;
    private readonly string? _resolvesTo;

    /// <summary>The element names after the resource type (<c>subject</c> of <c>Goal.subject</c>).</summary>
    public IReadOnlyList<string> Segments => _segments;

    /// <summary>The resource type of <c>.where(resolve() is Type)</c>, or null when the path has none.</summary>
    public string? ResolvesTo => _resolvesTo;

    private PocoPath(string[] segments, string? resolvesTo)
    {
        _segments = segments;
        _resolvesTo = resolvesTo;
    }

    /// <summary>The paths of <paramref name="branches"/> (the expression's union branches for <paramref name="resourceType"/>), or null when one is not a plain path.</summary>
    internal static PocoPath[]? TryCreate(IReadOnlyList<string> branches, string resourceType)
    {
        var paths = new PocoPath[branches.Count];
        for (var i = 0; i < branches.Count; i++)
        {
            var branch = branches[i].Trim();
            while (branch.Length > 1 && branch[0] == '(' && branch[^1] == ')' && branch.IndexOf(')') == branch.Length - 1)
            {
                branch = branch[1..^1].Trim();
            }

            var match = Plain().Match(branch);
            if (!match.Success)
            {
                return null;
            }

            var head = match.Groups["head"].Value;
            if (head != resourceType && head is not ("Resource" or "DomainResource"))
            {
                return null;
            }

            var resolvesTo = match.Groups["resolves"].Success ? match.Groups["resolves"].Value : null;
            if (resolvesTo is "Resource" or "DomainResource")
            {
                return null;
            }

            paths[i] = new PocoPath(match.Groups["segment"].Captures.Select(c => c.Value).ToArray(), resolvesTo);
        }

        return paths;
    }

    /// <summary>
    /// The values the union of <paramref name="paths"/> selects in <paramref name="resource"/>, in FHIRPath order (a
    /// union drops repeated values), or null when a value is of a form only FHIRPath answers (resolve() of a non-Reference).
    /// </summary>
    internal static List<Base>? Select(IReadOnlyList<PocoPath> paths, Resource resource)
    {
        var values = new List<Base>();
        foreach (var path in paths)
        {
            if (!path.Walk(resource, resource, 0, values))
            {
                return null;
            }
        }

        if (paths.Count > 1 && values.Count > 1)
        {
            for (var i = values.Count - 1; i > 0; i--)
            {
                for (var j = 0; j < i; j++)
                {
                    if (values[j].IsExactly(values[i]))
                    {
                        values.RemoveAt(i);
                        break;
                    }
                }
            }
        }

        return values;
    }

    private bool Walk(Resource root, object? value, int depth, List<Base> output)
    {
        switch (value)
        {
            case null:
                return true;
            case Base element when depth == _segments.Length:
                return Collect(root, element, output);
            case Base element:
                return !element.TryGetValue(_segments[depth], out var child) || Walk(root, child, depth + 1, output);
            case IEnumerable list and not string:
                foreach (var item in list)
                {
                    if (!Walk(root, item, depth, output))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false; // a raw value where an element was expected: not a plain path after all
        }
    }

    private bool Collect(Resource root, Base element, List<Base> output)
    {
        if (_resolvesTo is null)
        {
            output.Add(element);
            return true;
        }

        if (element is not ResourceReference reference)
        {
            return false;
        }

        if (reference.Reference is { } text && TargetType(text) == _resolvesTo)
        {
            output.Add(element);
        }

        return true;

        // What resolve() gives the FHIRPath evaluation of the indexer (see SearchIndexer.Resolve): for a local reference
        // a stub of its type, for a contained one that resource; nothing for a reference whose type cannot be told.
        string? TargetType(string text) => text.StartsWith('#')
            ? (root as DomainResource)?.Contained.FirstOrDefault(c => c.Id == text[1..])?.TypeName
            : ReferenceParts.Parse(text).TargetType ?? ReferenceParts.TypeOfAbsolute(text);
    }

    // Type.name.name... with an optional trailing where(resolve() is Type).
    [GeneratedRegex(@"^(?<head>[A-Z][A-Za-z]*)(?:\.(?<segment>[a-z][A-Za-z0-9]*))+(?:\.where\(\s*resolve\(\)\s+is\s+(?<resolves>[A-Z][A-Za-z]*)\s*\))?$")]
    private static partial Regex Plain();
}
