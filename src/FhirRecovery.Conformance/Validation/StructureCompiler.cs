using System.Collections.Concurrent;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// Turns a StructureDefinition snapshot into a <see cref="CompiledStructure"/>: parent/child and slice links by element id,
/// cardinalities parsed, FHIRPath constraints compiled (once per distinct expression per process).
/// </summary>
internal sealed class StructureCompiler
{
    private const string FhirTypeExtension = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type";
    private const string SystemTypePrefix = "http://hl7.org/fhirpath/System.";

    private static readonly FhirPathCompiler Compiler = new(new SymbolTable().AddStandardFP().AddFhirExtensions());
    private static readonly ConcurrentDictionary<string, (CompiledExpression? Compiled, string? Error)> CompiledCache = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, FragmentInvariant?> FragmentCache = new(StringComparer.Ordinal);

    public static CompiledStructure Compile(StructureDefinition sd)
    {
        var elements = sd.Snapshot?.Element ?? [];
        if (elements.Count == 0)
        {
            throw new InvalidOperationException($"StructureDefinition '{sd.Url}' has no snapshot.");
        }

        var ids = AssignIds(elements);
        var byId = new Dictionary<string, ElementRule>(StringComparer.Ordinal);
        ElementRule? root = null;
        for (var i = 0; i < elements.Count; i++)
        {
            var ed = elements[i];
            var id = ids[i];
            var rule = CreateRule(ed, id);
            if (!byId.TryAdd(id, rule))
            {
                continue;
            }

            if (root is null)
            {
                root = rule;
                continue;
            }

            var lastDot = LastSegmentStart(id);
            var parentId = lastDot > 0 ? id[..(lastDot - 1)] : null;
            var lastSegment = id[lastDot..];
            var colon = lastSegment.IndexOf(':');
            if (colon >= 0)
            {
                // A slice: "Goal.category:domain" slices "Goal.category"; a re-slice "x:a/b" slices "x:a".
                var sliceName = lastSegment[(colon + 1)..];
                var slash = sliceName.LastIndexOf('/');
                var unslicedId = slash >= 0
                    ? (parentId is null ? "" : parentId + ".") + lastSegment[..colon] + ":" + sliceName[..slash]
                    : (parentId is null ? "" : parentId + ".") + lastSegment[..colon];
                if (byId.TryGetValue(unslicedId, out var unsliced))
                {
                    unsliced.Slicing ??= DefaultSlicing(unsliced);
                    unsliced.Slicing.Slices.Add(rule);
                    rule.SliceOf = unsliced;
                }

                continue;
            }

            if (parentId is not null && byId.TryGetValue(parentId, out var parent))
            {
                parent.Children.TryAdd(rule.Name, rule);
            }
        }

        if (root is null)
        {
            throw new InvalidOperationException($"StructureDefinition '{sd.Url}' has an empty snapshot.");
        }

        var structure = new CompiledStructure { Definition = sd, Root = root, ById = byId };
        foreach (var rule in byId.Values)
        {
            rule.Structure = structure;
        }

        return structure;
    }

    /// <summary>Index of the first character of the last id segment (segments split on '.' outside slice names).</summary>
    private static int LastSegmentStart(string id)
    {
        // Slice names may not contain '.', so the last '.' separates the last segment.
        var dot = id.LastIndexOf('.');
        return dot < 0 ? 0 : dot + 1;
    }

    /// <summary>Element ids as the snapshot gives them; synthesized from path and sliceName where a snapshot lacks them.</summary>
    private static string[] AssignIds(List<ElementDefinition> elements)
    {
        var ids = new string[elements.Count];
        var sliceContext = new Dictionary<string, string>(StringComparer.Ordinal); // path -> id of the slice currently open at that path
        for (var i = 0; i < elements.Count; i++)
        {
            var ed = elements[i];
            if (!string.IsNullOrEmpty(ed.ElementId))
            {
                ids[i] = ed.ElementId;
                continue;
            }

            var path = ed.Path ?? "";
            var dot = path.LastIndexOf('.');
            string baseId;
            if (dot < 0)
            {
                baseId = path;
            }
            else
            {
                var parentPath = path[..dot];
                var parentId = sliceContext.TryGetValue(parentPath, out var open) ? open : parentPath;
                baseId = parentId + path[dot..];
            }

            if (!string.IsNullOrEmpty(ed.SliceName))
            {
                baseId += ":" + ed.SliceName;
                sliceContext[path] = baseId;
            }
            else
            {
                sliceContext.Remove(path);
            }

            // Children of a new unsliced element must not inherit a previous slice context.
            foreach (var key in sliceContext.Keys.Where(k => k.StartsWith(path + ".", StringComparison.Ordinal)).ToList())
            {
                sliceContext.Remove(key);
            }

            ids[i] = baseId;
        }

        return ids;
    }

    private static SlicingRule DefaultSlicing(ElementRule unsliced) => new()
    {
        // Snapshots sometimes list extension slices without a slicing entry; FHIR's default for extensions is by url.
        Discriminators = unsliced.Name is "extension" or "modifierExtension"
            ? [(ElementDefinition.DiscriminatorType.Value, "url")]
            : [],
        Rules = ElementDefinition.SlicingRules.Open,
    };

    private static ElementRule CreateRule(ElementDefinition ed, string id)
    {
        var path = ed.Path ?? "";
        var last = path[(path.LastIndexOf('.') + 1)..];
        var isChoice = last.EndsWith("[x]", StringComparison.Ordinal);
        var rule = new ElementRule
        {
            Definition = ed,
            Path = path,
            Id = id,
            Name = isChoice ? last[..^3] : last,
            IsChoice = isChoice,
            SliceName = ed.SliceName,
            Min = ed.Min ?? 0,
            Max = ParseMax(ed.Max),
            Fixed = ed.Fixed,
            Pattern = ed.Pattern,
            Binding = ed.Binding is { Strength: { } strength } binding ? new BindingRule(strength, binding.ValueSet, binding.Description) : null,
            MaxLength = ed.MaxLength,
            MinLength = ed.GetExtensionValue<Integer>("http://hl7.org/fhir/StructureDefinition/minLength")?.Value,
            MustHaveValue = ed.GetExtensionValue<FhirBoolean>("http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.mustHaveValue")?.Value == true,
            ValueAlternatives = ed.GetExtensions("http://hl7.org/fhir/5.0/StructureDefinition/extension-ElementDefinition.valueAlternatives")
                .Select(e => (e.Value as Canonical)?.Value).OfType<string>().ToList(),
            MinValue = ed.MinValue,
            MaxValue = ed.MaxValue,
            ContentReference = ed.ContentReference,
            IsModifier = ed.IsModifier == true,
        };
        rule.Types = ed.Type.Select(ToTypeRule).Where(t => t.Code.Length > 0).ToArray();
        rule.Constraints = ed.Constraint.Select(CompileConstraint).ToArray();
        if (ed.Slicing is { } slicing)
        {
            rule.Slicing = new SlicingRule
            {
                Discriminators = slicing.Discriminator
                    .Where(d => d.Type is not null && d.Path is not null)
                    .Select(d => (d.Type!.Value, d.Path!))
                    .ToArray(),
                Ordered = slicing.Ordered == true,
                Rules = slicing.Rules ?? ElementDefinition.SlicingRules.Open,
            };
        }

        return rule;
    }

    private static int? ParseMax(string? max) =>
        max is null or "*" ? null : int.TryParse(max, out var value) ? value : null;

    private static TypeRule ToTypeRule(ElementDefinition.TypeRefComponent type)
    {
        var code = type.Code ?? "";
        var isSystemType = code.StartsWith(SystemTypePrefix, StringComparison.Ordinal);
        if (isSystemType)
        {
            // Element.id, Extension.url and primitive values carry a FHIRPath system type; the FHIR type is in an extension.
            code = type.GetExtensionValue<FhirUrl>(FhirTypeExtension)?.Value
                   ?? type.GetExtensionValue<FhirUri>(FhirTypeExtension)?.Value
                   ?? code[SystemTypePrefix.Length..] switch
                   {
                       "String" => "string",
                       "Boolean" => "boolean",
                       "Integer" => "integer",
                       "Decimal" => "decimal",
                       "Date" => "date",
                       "DateTime" => "dateTime",
                       "Time" => "time",
                       _ => "string",
                   };
        }

        return new TypeRule(
            code,
            type.Profile.OfType<string>().ToList(),
            type.TargetProfile.OfType<string>().ToList(),
            type.AggregationElement.Select(a => a.JsonValue as string).OfType<string>().ToList())
        {
            IsSystemType = isSystemType,
        };
    }

    /// <summary>
    /// R4 core invariants whose published expression is wrong, with the correction later FHIR versions made
    /// (the HL7 reference validator applies the same corrections).
    /// </summary>
    private static readonly Dictionary<(string Key, string Expression), string> CoreErrata = new()
    {
        // ref-1 rejects "#", the reference from a contained resource to its container, which R4 allows (fixed in R5),
        // and gives no answer for a Reference without a literal reference.
        [("ref-1", "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))")] =
            "reference.exists() implies (reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids')) or (reference = '#' and %rootResource != %resource))",

        // que-12 counts "more than two" where one more than one enableWhen needs enableBehavior (corrected in R4B).
        [("que-12", "enableWhen.count() > 2 implies enableBehavior.exists()")] = "enableWhen.count() >= 2 implies enableBehavior.exists()",

        // que-7 tests the FHIRPath system type Boolean, which a FHIR boolean answer is not in FHIRPath's type system.
        [("que-7", "operator = 'exists' implies (answer is Boolean)")] = "operator = 'exists' implies (answer is boolean)",
    };

    /// <summary>
    /// The "name usable as an identifier" invariants of the R4 conformance resources (vsd-0, que-0, sdf-0, ...) give no
    /// answer when there is no name, and match anywhere in it; the HL7 reference validator reads them as below.
    /// </summary>
    private const string R4NameInvariant = "name.matches('[A-Z]([A-Za-z0-9_]){0,254}')";

    private static ConstraintRule CompileConstraint(ElementDefinition.ConstraintComponent constraint)
    {
        var key = constraint.Key ?? "(no key)";
        var expression = constraint.Expression;
        var isR4Ref1 = key == "ref-1" && expression is not null && CoreErrata.ContainsKey((key, expression));
        if (expression is not null && CoreErrata.TryGetValue((key, expression), out var corrected))
        {
            expression = corrected;
        }
        else if (expression == R4NameInvariant)
        {
            expression = "name.exists() implies name.matches('^[A-Z]([A-Za-z0-9_]){0,254}$')";
        }

        var native = (key, expression) switch
        {
            ("ele-1", _) when expression?.Contains("hasValue()") == true => NativeInvariant.HasValueOrChildren,
            ("ext-1", "extension.exists() != value.exists()") => NativeInvariant.ExtensionValueOrChildren,
            ("txt-1" or "txt-2", "htmlChecks()") => NativeInvariant.NarrativeHtml,
            ("dom-3", _) when expression?.StartsWith("contained.where(((", StringComparison.Ordinal) == true => NativeInvariant.ContainedReferenced,
            ("ref-1", _) when isR4Ref1 => NativeInvariant.LocalReferenceResolves,
            ("dom-6", "text.`div`.exists()") => NativeInvariant.NarrativePresent,
            _ => NativeInvariant.None,
        };

        CompiledExpression? compiled = null;
        string? error = null;
        if (native == NativeInvariant.None && !string.IsNullOrWhiteSpace(expression))
        {
            (compiled, error) = CompiledCache.GetOrAdd(expression, static text =>
            {
                try
                {
                    return (Compiler.Compile(text), null);
                }
                catch (Exception ex)
                {
                    return (null, ex.Message);
                }
            });
        }

        return new ConstraintRule
        {
            Fragment = native == NativeInvariant.None && compiled is not null ? FragmentCache.GetOrAdd(expression!, FragmentInvariant.TryCompile) : null,
            Key = key,
            Severity = constraint.Severity == ConstraintSeverity.Warning
                ? OperationOutcome.IssueSeverity.Warning
                : OperationOutcome.IssueSeverity.Error,
            Human = constraint.Human ?? "",
            Expression = expression,
            Compiled = compiled,
            CompileError = error,
            Native = native,
            Source = constraint.Source,
        };
    }

    /// <summary>Compiles a FHIRPath expression used by slicing discriminators (paths such as "coding.system" or "extension('x').value").</summary>
    public static CompiledExpression? CompilePath(string expression) =>
        CompiledCache.GetOrAdd(expression, static text =>
        {
            try
            {
                return (Compiler.Compile(text), null);
            }
            catch (Exception ex)
            {
                return (null, ex.Message);
            }
        }).Compiled;
}
