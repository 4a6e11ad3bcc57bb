using System.Text.RegularExpressions;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>
/// Evaluates ValueSet.compose.include.filter on an indexed code system. Besides the properties a CodeSystem declares, these
/// property names are understood: <c>concept</c>/<c>code</c> (the code), <c>display</c>, <c>definition</c>, the hierarchy
/// (<c>parent</c>, <c>child</c>, <c>subsumedBy</c> and properties with the standard parent/child uri, including nesting),
/// and the derived <c>inactive</c>, <c>notSelectable</c> and <c>status</c>.
/// </summary>
internal static class ConceptFilter
{
    public static HashSet<ConceptInfo> Apply(CodeSystemInfo cs, ValueSet.FilterComponent filter, TimeSpan regexTimeout, ICollection<string> warnings)
    {
        var property = filter.Property;
        var op = filter.Op;
        var value = filter.Value;
        if (string.IsNullOrEmpty(property) || op is null || value is null)
        {
            throw TerminologyException.Invalid($"A filter on '{cs.Url}' lacks its property, op or value.");
        }

        var result = new HashSet<ConceptInfo>(ReferenceEqualityComparer.Instance);
        switch (op.Value)
        {
            case FilterOperator.IsA:
            case FilterOperator.DescendentOf:
            case FilterOperator.IsNotA:
            case FilterOperator.Generalizes:
                ApplyHierarchy(cs, op.Value, value, result, warnings);
                return result;
            case FilterOperator.Exists:
                var mustExist = ParseBoolean(value, filter);
                foreach (var c in cs.Concepts)
                {
                    if (Values(cs, c, property).Any() == mustExist)
                    {
                        result.Add(c);
                    }
                }

                return result;
            case FilterOperator.Equal:
            {
                var comparer = ComparerFor(cs, property);
                WarnIfUnknownProperty(cs, property, warnings);
                foreach (var c in cs.Concepts)
                {
                    if (Values(cs, c, property).Any(v => comparer.Equals(v, value)))
                    {
                        result.Add(c);
                    }
                }

                return result;
            }
            case FilterOperator.In:
            case FilterOperator.NotIn:
            {
                WarnIfUnknownProperty(cs, property, warnings);
                var set = new HashSet<string>(value.Split(',').Select(v => v.Trim()).Where(v => v.Length > 0), ComparerFor(cs, property));
                var wantIn = op.Value == FilterOperator.In;
                foreach (var c in cs.Concepts)
                {
                    if (Values(cs, c, property).Any(set.Contains) == wantIn)
                    {
                        result.Add(c);
                    }
                }

                return result;
            }
            case FilterOperator.Regex:
            {
                WarnIfUnknownProperty(cs, property, warnings);
                Regex regex;
                try
                {
                    // FHIR regex filters match the whole value, as the HL7 tooling does.
                    regex = new Regex($"^(?:{value})$", RegexOptions.CultureInvariant, regexTimeout);
                }
                catch (ArgumentException ex)
                {
                    throw TerminologyException.Invalid($"The regex filter '{value}' on '{cs.Url}' is not a valid regular expression: {ex.Message}");
                }

                try
                {
                    foreach (var c in cs.Concepts)
                    {
                        if (Values(cs, c, property).Any(regex.IsMatch))
                        {
                            result.Add(c);
                        }
                    }
                }
                catch (RegexMatchTimeoutException)
                {
                    throw TerminologyException.TooCostly($"The regex filter '{value}' on '{cs.Url}' took too long to evaluate.");
                }

                return result;
            }
            default:
                throw TerminologyException.NotSupported($"Filter operator '{filter.OpElement?.JsonValue}' is not supported.");
        }
    }

    private static void ApplyHierarchy(CodeSystemInfo cs, FilterOperator op, string value, HashSet<ConceptInfo> result, ICollection<string> warnings)
    {
        var concept = cs.Find(value);
        if (concept is null)
        {
            warnings.Add($"The filter value '{value}' is not a code of '{cs.Url}'.");
            if (op == FilterOperator.IsNotA)
            {
                result.UnionWith(cs.Concepts);
            }

            return;
        }

        switch (op)
        {
            case FilterOperator.IsA:
                result.Add(concept);
                result.UnionWith(CodeSystemInfo.Descendants(concept));
                break;
            case FilterOperator.DescendentOf:
                result.UnionWith(CodeSystemInfo.Descendants(concept));
                break;
            case FilterOperator.Generalizes:
                result.Add(concept);
                result.UnionWith(CodeSystemInfo.Ancestors(concept));
                break;
            case FilterOperator.IsNotA:
                var excluded = new HashSet<ConceptInfo>(CodeSystemInfo.Descendants(concept), ReferenceEqualityComparer.Instance) { concept };
                result.UnionWith(cs.Concepts.Where(c => !excluded.Contains(c)));
                break;
        }
    }

    private static IEnumerable<string> Values(CodeSystemInfo cs, ConceptInfo concept, string property)
    {
        switch (property)
        {
            case "code" or "concept":
                yield return concept.Code;
                yield break;
            case "display":
                if (concept.Display is { } d)
                {
                    yield return d;
                }

                yield break;
            case "definition":
                if (concept.Definition is { } def)
                {
                    yield return def;
                }

                yield break;
        }

        if (cs.IsParentProperty(property))
        {
            foreach (var p in concept.Parents)
            {
                yield return p.Code;
            }

            yield break;
        }

        if (cs.IsChildProperty(property))
        {
            foreach (var c in concept.Children)
            {
                yield return c.Code;
            }

            yield break;
        }

        var any = false;
        foreach (var p in concept.Properties)
        {
            if (p.Code == property && CodeSystemInfo.ValueText(p.Value) is { } text)
            {
                any = true;
                yield return text;
            }
        }

        if (any)
        {
            yield break;
        }

        // Derived values for the standard status properties where a concept does not state them (most concepts of the v3
        // code systems declare "status" but only carry it when deprecated or retired).
        switch (property)
        {
            case "inactive":
                yield return concept.Inactive ? "true" : "false";
                break;
            case "notSelectable" or "abstract":
                yield return concept.Abstract ? "true" : "false";
                break;
            case "status":
                yield return concept.Status ?? (concept.Inactive ? "inactive" : "active");
                break;
        }
    }

    private static StringComparer ComparerFor(CodeSystemInfo cs, string property) =>
        property is "code" or "concept" || cs.IsParentProperty(property) || cs.IsChildProperty(property)
            ? cs.CodeComparer
            : StringComparer.Ordinal;

    private static bool ParseBoolean(string value, ValueSet.FilterComponent filter) => value switch
    {
        "true" => true,
        "false" => false,
        _ => throw TerminologyException.Invalid($"The 'exists' filter on '{filter.Property}' needs the value true or false, not '{value}'."),
    };

    private static void WarnIfUnknownProperty(CodeSystemInfo cs, string property, ICollection<string> warnings)
    {
        if (property is "code" or "concept" or "display" or "definition" or "inactive" or "notSelectable" or "abstract" or "status"
            || cs.IsParentProperty(property) || cs.IsChildProperty(property) || cs.PropertyDefinitions.ContainsKey(property))
        {
            return;
        }

        warnings.Add($"The filter property '{property}' is not defined by code system '{cs.Url}'.");
    }
}
