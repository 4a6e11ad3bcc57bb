using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// Decides whether a value belongs to a slice by the slicing's discriminators (value, pattern, exists, type, profile),
/// following the discriminator path through the slice's element definitions, type profiles, extension definitions
/// and, for <c>resolve()</c>, reference targets.
/// </summary>
internal sealed class SliceDiscriminators(ProfileValidator validator)
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<Base, Base, List<Base>?>?> NativePaths = new(StringComparer.Ordinal);

    // Discriminator definitions depend only on the slice and the path: found once, not per value tested.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(ElementRule Slice, string Path), ElementRule?> _definitions = new();

    public bool Matches(InstanceWalker walker, InstanceNode node, ElementRule slice, ElementDefinition.DiscriminatorType type, string path)
    {
        if (type == ElementDefinition.DiscriminatorType.Type && path.EndsWith("resolve()", StringComparison.Ordinal))
        {
            return ReferenceTargetTypeMatches(node, slice, path);
        }

        if (!_definitions.TryGetValue((slice, path), out var definition))
        {
            definition = _definitions.GetOrAdd((slice, path), FindDefinition(slice, path));
        }

        // Each kind in its own method: lambdas capturing locals would otherwise cost an allocation on every call.
        // The selected values are scratch lists, valid while this scope lasts.
        using var scratch = FragmentInvariant.EnterScratch();
        return type switch
        {
            ElementDefinition.DiscriminatorType.Value or ElementDefinition.DiscriminatorType.Pattern =>
                MatchesValue(definition, SelectBases(node, path), type == ElementDefinition.DiscriminatorType.Value),
            ElementDefinition.DiscriminatorType.Exists => MatchesExists(definition, SelectBases(node, path)),
            ElementDefinition.DiscriminatorType.Type => definition is not null && MatchesType(definition, SelectBases(node, path)),
            ElementDefinition.DiscriminatorType.Profile => definition is not null && MatchesProfile(walker, node, definition, path),
            _ => false,
        };
    }

    private bool MatchesValue(ElementRule? definition, List<Base> values, bool exact)
    {
        if (definition is null)
        {
            return false;
        }

        if (definition.Max == 0)
        {
            // The slice forbids the element: it matches the values that leave it out.
            return values.Count == 0;
        }

        if (definition.Fixed is { } fixedValue)
        {
            foreach (var v in values)
            {
                if (exact ? v.IsExactly(fixedValue) : PatternMatcher.Matches(v, fixedValue))
                {
                    return true;
                }
            }

            return false;
        }

        if (definition.Pattern is { } pattern)
        {
            foreach (var v in values)
            {
                if (PatternMatcher.Matches(v, pattern))
                {
                    return true;
                }
            }

            return false;
        }

        // R4 also lets a value discriminator point at an element with a required binding.
        if (definition.Binding is { Strength: BindingStrength.Required, ValueSet: { } valueSet } && validator.Bindings is { } bindings)
        {
            foreach (var v in values)
            {
                if (InValueSet(bindings, valueSet, v))
                {
                    return true;
                }
            }

            return false;
        }

        // The slice sets no value at this path (e.g. it leaves a sub-code open): it does not constrain it.
        return true;
    }

    private static bool MatchesExists(ElementRule? definition, List<Base> values)
    {
        if (definition is null || definition.Max == 0)
        {
            return values.Count == 0;
        }

        return definition.Min <= 0 || values.Count > 0;
    }

    private static bool MatchesType(ElementRule definition, List<Base> values)
    {
        if (values.Count == 0)
        {
            return definition.Min == 0;
        }

        var codes = EffectiveTypes(definition).ToHashSet(StringComparer.Ordinal);
        return values.All(v => codes.Contains(v.TypeName) || (v is Resource && codes.Contains("Resource")));
    }

    private bool MatchesProfile(InstanceWalker walker, InstanceNode node, ElementRule definition, string path)
    {
        // Only profile discriminators validate the selected values, so only they need instance nodes.
        var nodes = SelectValues(node, path);
        var isResolve = path.EndsWith("resolve()", StringComparison.Ordinal);
        var profiles = definition.Types.SelectMany(t => isResolve ? t.TargetProfiles : t.Profiles).Distinct().ToList();
        if (profiles.Count == 0)
        {
            // The slice puts no profile on this path, so it does not tell slices apart.
            return true;
        }

        if (nodes.Count == 0)
        {
            return definition.Min == 0;
        }

        // The value must at least be of one of the slice's types before its profiles are considered.
        var allowedTypes = isResolve
            ? profiles.Select(validator.TypeOfProfile).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : definition.Types.Select(t => t.Code).ToHashSet(StringComparer.Ordinal);
        if (allowedTypes.Count > 0 && !allowedTypes.Contains("Resource")
            && nodes.Any(v => !allowedTypes.Contains(v.Value.TypeName)))
        {
            return false;
        }

        var structures = profiles.Select(validator.StructureFor).OfType<CompiledStructure>().ToList();
        if (structures.Count == 0)
        {
            // None of the slice's profiles is available here: the discriminator cannot tell, so it does not exclude.
            return true;
        }

        return nodes.All(v => structures.Any(s => walker.ConformsToStructure(v, s)));
    }

    /// <summary>
    /// A type discriminator through resolve(): the referenced resource's type (from the resolved target, or else from
    /// the literal reference) must be one of the slice's target profiles' types.
    /// </summary>
    private bool ReferenceTargetTypeMatches(InstanceNode node, ElementRule slice, string path)
    {
        var referencePath = path[..^"resolve()".Length].TrimEnd('.');
        var referenceRule = referencePath is "" or "$this" ? slice : FindDefinition(slice, referencePath);
        if (referenceRule is null)
        {
            return false;
        }

        var allowed = referenceRule.Types.SelectMany(t => t.TargetProfiles).Select(validator.TypeOfProfile).OfType<string>().ToHashSet(StringComparer.Ordinal);
        if (allowed.Count == 0 || allowed.Contains("Resource"))
        {
            return true;
        }

        var references = referencePath is "" or "$this" ? [node] : SelectValues(node, referencePath);
        if (references.Count == 0)
        {
            return referenceRule.Min == 0;
        }

        return references.All(r => r.Value is ResourceReference { Reference: { } literal }
                                   && (node.Scope.ResolveReference(literal)?.Value.TypeName ?? ReferenceParts.Parse(literal).Type) is { } target
                                   && allowed.Contains(target));
    }

    /// <summary>
    /// The types a choice element really allows: a profile that sets min 1 on a type slice of a single-valued choice
    /// ("content[x]:contentString") has fixed the type, even though the element's type list still names them all.
    /// </summary>
    internal static IEnumerable<string> EffectiveTypes(ElementRule rule)
    {
        if (rule.IsChoice && rule.Max == 1 && rule.Slicing?.Slices.FirstOrDefault(s => s.Min >= 1 && s.Types.Length > 0) is { } forced)
        {
            return forced.Types.Select(t => t.Code);
        }

        return rule.Types.Select(t => t.Code);
    }

    private static bool InValueSet(IBindingChecker bindings, string valueSet, Base value) => value switch
    {
        Coding c when c.Code is not null => bindings.Check(valueSet, c.System, c.Code, null).Outcome == CodeCheckOutcome.Valid,
        CodeableConcept cc => cc.Coding.Any(c => c.Code is not null && bindings.Check(valueSet, c.System, c.Code, null).Outcome == CodeCheckOutcome.Valid),
        PrimitiveType { JsonValue: string code } => bindings.Check(valueSet, null, code, null).Outcome == CodeCheckOutcome.Valid,
        _ => false,
    };

    /// <summary>The values a discriminator path selects, as plain values (no instance nodes): the common, cheap case.</summary>
    private List<Base> SelectBases(InstanceNode node, string path)
    {
        if (path == "$this")
        {
            return [node.Value];
        }

        var expression = path.StartsWith("$this.", StringComparison.Ordinal) ? path[6..] : path;
        if (!path.EndsWith("resolve()", StringComparison.Ordinal)
            && NativePaths.GetOrAdd(expression, FragmentInvariant.TryCompilePath) is { } native
            && native(node.Value, node.Scope.Resource) is { } selected)
        {
            return selected;
        }

        return SelectValues(node, path).Select(v => v.Value).ToList();
    }

    /// <summary>The values the discriminator path selects from <paramref name="node"/>.</summary>
    private List<InstanceNode> SelectValues(InstanceNode node, string path)
    {
        if (path == "$this")
        {
            return [node];
        }

        if (path.EndsWith("resolve()", StringComparison.Ordinal))
        {
            var referencePath = path[..^"resolve()".Length].TrimEnd('.');
            var references = referencePath is "" or "$this" ? [node] : SelectValues(node, referencePath);
            return references
                .Select(r => r.Value is ResourceReference reference ? node.Scope.ResolveReference(reference.Reference) : null)
                .OfType<InstanceNode>()
                .ToList();
        }

        var expression = path.StartsWith("$this.", StringComparison.Ordinal) ? path[6..] : path;

        // Most discriminator paths are member paths: select natively, without building Firely nodes.
        using var scratch = FragmentInvariant.EnterScratch();
        if (NativePaths.GetOrAdd(expression, FragmentInvariant.TryCompilePath) is { } native
            && native(node.Value, node.Scope.Resource) is { } selected)
        {
            var elementName = expression[(expression.LastIndexOf('.') + 1)..];
            var nodes = new List<InstanceNode>(selected.Count);
            for (var i = 0; i < selected.Count; i++)
            {
                nodes.Add(selected[i] is Resource resource
                    ? node.NestedResource(resource, elementName, i, isContained: false)
                    : node.Child(selected[i], elementName, elementName, i));
            }

            return nodes;
        }

        var compiled = StructureCompiler.CompilePath(expression);
        if (compiled is null)
        {
            return [];
        }

        try
        {
            return compiled(new[] { node.Poco }, node.Scope.EvaluationContext)
                .Where(p => p.Poco is not null)
                .Select((p, i) => p.Poco is Resource resource
                    ? node.NestedResource(resource, p.Name ?? "resource", i, isContained: false)
                    : node.Child(p.Poco, p.Name ?? "value", p.Name ?? "value", i, p))
                .ToList();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A path the evaluator cannot follow on this value selects nothing.
            return [];
        }
    }

    /// <summary>The element definition at a discriminator path, starting from a slice.</summary>
    private ElementRule? FindDefinition(ElementRule slice, string path)
    {
        ElementRule? current = slice;
        foreach (var segment in Segments(path))
        {
            if (current is null)
            {
                return null;
            }

            if (segment == "$this")
            {
                continue;
            }

            if (segment.StartsWith("extension(", StringComparison.Ordinal))
            {
                var url = Argument(segment);
                var extensionRule = Child(current, "extension");
                current = extensionRule?.Slicing?.Slices.FirstOrDefault(s =>
                              s.Types.Any(t => t.Profiles.Contains(url)) ||
                              (s.Children.TryGetValue("url", out var u) && (u.Fixed as FhirUri)?.Value == url))
                          ?? validator.StructureFor(url)?.Root;
                continue;
            }

            if (segment.StartsWith("ofType(", StringComparison.Ordinal))
            {
                var typeName = Argument(segment);
                current = current.Slicing?.Slices.FirstOrDefault(s => s.Types.Length == 1 && s.Types[0].Code == typeName) ?? current;
                continue;
            }

            if (segment == "resolve()")
            {
                var target = current.Types.SelectMany(t => t.TargetProfiles).FirstOrDefault();
                current = target is null ? null : validator.StructureFor(target)?.Root;
                continue;
            }

            current = Child(current, segment.Replace("[x]", "", StringComparison.Ordinal));
        }

        return current;
    }

    private ElementRule? Child(ElementRule rule, string name)
    {
        if (rule.Children.TryGetValue(name, out var child))
        {
            return child;
        }

        if (rule.SliceOf?.Children.TryGetValue(name, out var unsliced) == true && rule.Types.All(t => t.Profiles.Count == 0))
        {
            return unsliced;
        }

        var type = rule.Types.FirstOrDefault();
        if (type is null)
        {
            return null;
        }

        var structure = type.Profiles.Count > 0 ? validator.StructureFor(type.Profiles[0]) : validator.StructureForType(type.Code);
        return structure?.Root.Children.GetValueOrDefault(name);
    }

    private static string Argument(string segment)
    {
        var open = segment.IndexOf('(');
        var close = segment.LastIndexOf(')');
        return segment[(open + 1)..close].Trim().Trim('\'', '"');
    }

    /// <summary>Splits a simple FHIRPath on dots outside parentheses and quotes.</summary>
    private static List<string> Segments(string path)
    {
        var segments = new List<string>();
        var depth = 0;
        var quoted = false;
        var start = 0;
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '\'')
            {
                quoted = !quoted;
            }
            else if (!quoted && c == '(')
            {
                depth++;
            }
            else if (!quoted && c == ')')
            {
                depth--;
            }
            else if (!quoted && depth == 0 && c == '.')
            {
                segments.Add(path[start..i]);
                start = i + 1;
            }
        }

        segments.Add(path[start..]);
        return segments;
    }
}
