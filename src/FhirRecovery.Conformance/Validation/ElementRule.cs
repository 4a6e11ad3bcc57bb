using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace FhirRecovery.Conformance.Validation;

/// <summary>A StructureDefinition snapshot compiled for validation: a tree of <see cref="ElementRule"/>s.</summary>
internal sealed class CompiledStructure
{
    public required StructureDefinition Definition { get; init; }

    public required ElementRule Root { get; init; }

    /// <summary>Rules by element id, for contentReference ("#Questionnaire.item") and discriminator walks.</summary>
    public required IReadOnlyDictionary<string, ElementRule> ById { get; init; }

    public string Url => Definition.Url ?? "";

    public string Type => Definition.Type ?? "";

    public bool IsConstraint => Definition.Derivation == StructureDefinition.TypeDerivationRule.Constraint;

    public override string ToString() => Url;
}

/// <summary>One ElementDefinition, with what validation needs precomputed.</summary>
internal sealed class ElementRule
{
    public required ElementDefinition Definition { get; init; }

    public required string Path { get; init; }

    public required string Id { get; init; }

    /// <summary>Element name without [x]: "category", "value" for value[x].</summary>
    public required string Name { get; init; }

    public bool IsChoice { get; init; }

    public string? SliceName { get; init; }

    public int Min { get; set; }

    /// <summary>Null means unbounded.</summary>
    public int? Max { get; set; }

    public TypeRule[] Types { get; set; } = [];

    public Base? Fixed { get; init; }

    public Base? Pattern { get; init; }

    public BindingRule? Binding { get; init; }

    public ConstraintRule[] Constraints { get; set; } = [];

    public int? MaxLength { get; init; }

    /// <summary>The minLength extension (core R4 extension on ElementDefinition).</summary>
    public int? MinLength { get; init; }

    /// <summary>R5 mustHaveValue (backported as an extension): a primitive here must carry a value, not only extensions.</summary>
    public bool MustHaveValue { get; init; }

    /// <summary>R5 valueAlternatives: the extensions that may stand in for a missing primitive value.</summary>
    public IReadOnlyList<string> ValueAlternatives { get; init; } = [];

    public DataType? MinValue { get; init; }

    public DataType? MaxValue { get; init; }

    public string? ContentReference { get; init; }

    public bool IsModifier { get; init; }

    /// <summary>Child rules by element name (choice elements under their name without [x]).</summary>
    public Dictionary<string, ElementRule> Children { get; } = new(StringComparer.Ordinal);

    /// <summary>Set when this element is sliced: the slicing rules and the slices, in definition order.</summary>
    public SlicingRule? Slicing { get; set; }

    /// <summary>The rule of the unsliced element when this rule is a slice.</summary>
    public ElementRule? SliceOf { get; set; }

    /// <summary>The structure this rule belongs to.</summary>
    public CompiledStructure? Structure { get; set; }

    public bool HasChildren => Children.Count > 0;

    /// <summary>The invariants of the type last met here that this element does not already carry (set by the validator).</summary>
    public TypeOnlyConstraintSet? TypeOnlyConstraints { get; set; }

    private bool? _requiresPresence;

    /// <summary>Whether an absence is an error: min ≥ 1, or a slice with min ≥ 1 (computed once the tree is complete).</summary>
    public bool RequiresPresence => _requiresPresence ??= Min > 0 || Slicing?.Slices.Any(s => s.Min > 0) == true;

    public override string ToString() => Id;
}

internal sealed record TypeRule(string Code, IReadOnlyList<string> Profiles, IReadOnlyList<string> TargetProfiles, IReadOnlyList<string> Aggregation)
{
    /// <summary>Typed with a FHIRPath system type in the snapshot (Element.id, Extension.url, Resource.id).</summary>
    public bool IsSystemType { get; init; }

    public override string ToString() => Code;
}

/// <summary>A type's root invariants minus an element's own, for that element (one object, so it is swapped whole).</summary>
internal sealed record TypeOnlyConstraintSet(CompiledStructure Type, ConstraintRule[] Constraints);

internal sealed record BindingRule(BindingStrength Strength, string? ValueSet, string? Description);

internal sealed class SlicingRule
{
    public required (ElementDefinition.DiscriminatorType Type, string Path)[] Discriminators { get; init; }

    public bool Ordered { get; init; }

    public ElementDefinition.SlicingRules Rules { get; init; }

    public List<ElementRule> Slices { get; } = [];
}

/// <summary>An invariant: a FHIRPath constraint compiled once, or a core invariant checked natively.</summary>
internal sealed class ConstraintRule
{
    public required string Key { get; init; }

    public required OperationOutcome.IssueSeverity Severity { get; init; }

    public required string Human { get; init; }

    public string? Expression { get; init; }

    public CompiledExpression? Compiled { get; init; }

    /// <summary>The same expression evaluated natively when it lies in the common fragment (see <see cref="FragmentInvariant"/>).</summary>
    public FragmentInvariant? Fragment { get; init; }

    /// <summary>Why the expression could not be compiled, when it could not.</summary>
    public string? CompileError { get; init; }

    /// <summary>Core invariants checked by the walk itself rather than by FHIRPath.</summary>
    public NativeInvariant Native { get; init; }

    public string? Source { get; init; }
}

internal enum NativeInvariant
{
    None,

    /// <summary>ele-1: all FHIR elements must have a @value or children (checked for every element during the walk).</summary>
    HasValueOrChildren,

    /// <summary>ext-1: must have either extensions or value[x], not both.</summary>
    ExtensionValueOrChildren,

    /// <summary>txt-1 / txt-2: narrative XHTML rules (htmlChecks(), which Firely's FHIRPath does not implement).</summary>
    NarrativeHtml,

    /// <summary>dom-3: contained resources are referenced (narrative links count, as in the HL7 reference validator).</summary>
    ContainedReferenced,

    /// <summary>ref-1: a local reference ("#id") points at a contained resource of the root resource ("#": the container).</summary>
    LocalReferenceResolves,

    /// <summary>dom-6: a resource should have a narrative — not asked of contained resources, which have none in R4.</summary>
    NarrativePresent,
}
