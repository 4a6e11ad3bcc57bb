using Hl7.Fhir.Utility;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Xml;
using FhirRecovery.Conformance.Definitions;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Specification.Terminology;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Validation;

/// <summary>Options of the profile validator.</summary>
public sealed record ValidatorSettings
{
    /// <summary>
    /// Extensions whose definition cannot be found: an error by default (as in the HL7 reference validator), a warning
    /// when true. Unknown hl7.org extensions (other FHIR versions' definitions) are always only a warning.
    /// </summary>
    public bool AllowUnknownExtensions { get; init; }

    /// <summary>Deepest JSON nesting accepted; deeper documents are refused before parsing.</summary>
    public int MaxJsonDepth { get; init; } = 128;

    /// <summary>
    /// An invariant whose FHIRPath evaluates to nothing (e.g. comparing a date with a dateTime of another precision)
    /// fails when true — an invariant must evaluate to true, as the HL7 reference validator reads it.
    /// </summary>
    public bool EmptyInvariantResultFails { get; init; } = true;

    /// <summary>Extension urls starting with one of these may be used without a definition (e.g. a national namespace).</summary>
    public IReadOnlyList<string> AllowedExtensionDomains { get; init; } = [];

    /// <summary>When false, URLs in the example.org/com/net domains are errors (content meant for production).</summary>
    public bool AllowExampleUrls { get; init; } = true;

    /// <summary>Whether contained resources are validated (and dom-3 checked); on by default.</summary>
    public bool ValidateContainedResources { get; init; } = true;
}

/// <summary>
/// Validates any FHIR R4 resource against the base specification, its <c>meta.profile</c>s and profiles asked for,
/// using the StructureDefinitions of a <see cref="DefinitionResolver"/>. Thread-safe; compiled definitions are cached for
/// the life of the validator, so keep one per process.
/// </summary>
public sealed class ProfileValidator
{
    private static readonly FhirJsonDeserializer LenientJson = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));
    private static readonly FhirXmlDeserializer LenientXml = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));

    private readonly ConcurrentDictionary<string, Lazy<CompiledStructure?>> _structures = new(StringComparer.Ordinal);

    public ProfileValidator(
        DefinitionResolver definitions,
        IBindingChecker? bindings = null,
        ICodeValidationTerminologyService? fhirPathTerminology = null,
        ValidatorSettings? settings = null)
    {
        Definitions = definitions;
        Bindings = bindings;
        FhirPathTerminology = fhirPathTerminology;
        Settings = settings ?? new ValidatorSettings();
        Discriminators = new SliceDiscriminators(this);
        _globalProfiles = new Lazy<ILookup<string, string>>(LoadGlobalProfiles);
    }

    public DefinitionResolver Definitions { get; }

    public ValidatorSettings Settings { get; }

    internal IBindingChecker? Bindings { get; }

    internal ICodeValidationTerminologyService? FhirPathTerminology { get; }

    internal SliceDiscriminators Discriminators { get; }

    /// <summary>Rules beyond the StructureDefinitions, run after the walk (e.g. a QuestionnaireResponse against its Questionnaire).</summary>
    public ResourceChecks Checks { get; } = new();

    /// <summary>Validates a resource that is already a POCO (no JSON/XML representation checks).</summary>
    public ValidationResult Validate(Resource resource, IEnumerable<string>? profiles = null)
    {
        var session = new ValidationSession(this);
        Walk(resource, profiles, session);
        return new ValidationResult(session.Issues, resource);
    }

    /// <summary>
    /// Reads a resource from JSON or XML (<paramref name="format"/> or sniffed from the content), checks its
    /// representation, and validates it.
    /// </summary>
    public ValidationResult Validate(ReadOnlyMemory<byte> content, ResourceFormat format = ResourceFormat.Unknown, IEnumerable<string>? profiles = null)
    {
        var session = new ValidationSession(this);
        var readIssues = new List<ValidationIssue>();
        var resource = Read(content, format, readIssues);

        // Through the session, so a finding of the representation check and of the walk is reported once.
        foreach (var issue in readIssues)
        {
            session.Add(issue);
        }

        if (resource is not null)
        {
            Walk(resource, profiles, session);
        }

        return new ValidationResult(session.Issues, resource);
    }

    /// <summary>Reads leniently (so the walk can report every problem at once), adding representation problems to <paramref name="issues"/>.</summary>
    public Resource? Read(ReadOnlyMemory<byte> content, ResourceFormat format, List<ValidationIssue> issues)
    {
        if (format == ResourceFormat.Unknown)
        {
            format = SniffFormat(content.Span);
        }

        return format switch
        {
            ResourceFormat.Json => ReadJson(content, issues),
            ResourceFormat.Xml => ReadXml(content, issues),
            _ => Fatal(issues, "The content is neither JSON nor XML"),
        };
    }

    public static ResourceFormat SniffFormat(ReadOnlySpan<byte> content)
    {
        // Skip a UTF-8 byte order mark and leading whitespace.
        if (content.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            content = content[3..];
        }

        foreach (var b in content)
        {
            switch (b)
            {
                case (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n':
                    continue;
                case (byte)'{' or (byte)'[':
                    return ResourceFormat.Json;
                case (byte)'<':
                    return ResourceFormat.Xml;
                default:
                    return ResourceFormat.Unknown;
            }
        }

        return ResourceFormat.Unknown;
    }

    private Resource? ReadJson(ReadOnlyMemory<byte> content, List<ValidationIssue> issues)
    {
        var span = content.Span;
        if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            span = span[3..];
        }

        // The plain JSON of nearly all resources is read directly (several times faster), and has nothing the shape
        // check would report. The rest is shape-checked and read by Firely's lenient reader, which keeps its oddities.
        if (PocoJsonReader.TryRead(span, JsonShapeChecker.ReaderOptions(Settings.MaxJsonDepth)) is { } plain)
        {
            return plain;
        }

        bool isResource;
        try
        {
            var bom = content.Length - span.Length;
            isResource = JsonShapeChecker.Check(span, Settings.MaxJsonDepth, issues, content[bom..]);
        }
        catch (JsonException ex)
        {
            // System.Text.Json says "maximum configured depth" for nesting beyond MaxDepth; "depth to be zero" is truncation.
            var depth = ex.Message.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase);
            issues.Add(new ValidationIssue(IssueSeverity.Fatal, depth ? IssueType.TooCostly : IssueType.Structure,
                depth
                    ? $"The JSON is nested deeper than the {Settings.MaxJsonDepth} levels accepted (line {ex.LineNumber + 1})"
                    : $"The content is not valid JSON: {ex.Message}",
                null, IssueKind.Structure)
            {
                Position = ex.LineNumber is { } line ? (line + 1, (ex.BytePositionInLine ?? 0) + 1) : null,
            });
            return null;
        }

        if (!isResource)
        {
            return null;
        }

        var reader = new Utf8JsonReader(span, JsonShapeChecker.ReaderOptions(Settings.MaxJsonDepth));
        try
        {
            return LenientJson.DeserializeResource(ref reader);
        }
        catch (DeserializationFailedException ex)
        {
            return ex.PartialResult as Resource;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // As for XML: the lenient reader's failures on odd shapes come as various exception types.
            return Fatal(issues, $"The resource could not be read: {ex.Message}");
        }
    }

    private Resource? ReadXml(ReadOnlyMemory<byte> content, List<ValidationIssue> issues)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersFromEntities = 0,
            IgnoreWhitespace = false,
        };

        // A first pass refuses DTDs and malformed XML before anything is built from it.
        try
        {
            using var check = XmlReader.Create(new MemoryStream(content.ToArray()), settings);
            while (check.Read())
            {
                // Firely's XML reader recurses per element: refuse deep nesting before it can exhaust the stack.
                if (check.Depth > Settings.MaxJsonDepth)
                {
                    var position = (IXmlLineInfo)check;
                    issues.Add(new ValidationIssue(IssueSeverity.Fatal, IssueType.TooCostly,
                        $"The XML is nested deeper than the {Settings.MaxJsonDepth} levels accepted (line {position.LineNumber})", null, IssueKind.Structure)
                    {
                        Position = (position.LineNumber, position.LinePosition),
                    });
                    return null;
                }
            }
        }
        catch (XmlException ex)
        {
            issues.Add(new ValidationIssue(IssueSeverity.Fatal, IssueType.Structure,
                ex.Message.Contains("DTD", StringComparison.OrdinalIgnoreCase)
                    ? $"XML with a DTD is not accepted (DTD processing is disabled for security): {ex.Message}"
                    : $"The content is not well-formed XML: {ex.Message}",
                null, IssueKind.Structure)
            {
                // The DTD refusal comes before any position is known; report none rather than 0:0.
                Position = ex.LineNumber > 0 ? (ex.LineNumber, ex.LinePosition) : null,
            });
            return null;
        }

        try
        {
            using var reader = XmlReader.Create(new MemoryStream(content.ToArray()), settings);
            reader.MoveToContent();
            if (reader.NamespaceURI != "http://hl7.org/fhir")
            {
                return Fatal(issues, $"The root element <{reader.Name}> is not in the FHIR namespace (http://hl7.org/fhir)");
            }

            if (ModelInfo.ModelInspector.FindClassMapping(reader.LocalName) is not { IsResource: true } mapping || mapping.Name != reader.LocalName)
            {
                return Fatal(issues, $"Unknown resource type '{reader.LocalName}'");
            }

            using (var shape = XmlReader.Create(new MemoryStream(content.ToArray()), settings))
            {
                shape.MoveToContent();
                XmlShapeChecker.Check(shape, issues);
            }

            LenientXml.TryDeserializeResource(reader, out var resource, out _);
            return resource;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Firely's lenient XML reader can fail on odd shapes (e.g. child elements inside a primitive) with
            // unrelated exception types: whatever it throws, the content could not be read.
            return Fatal(issues, $"The resource could not be read: {ex.Message}");
        }
    }

    private static Resource? Fatal(List<ValidationIssue> issues, string message)
    {
        issues.Add(new ValidationIssue(IssueSeverity.Fatal, IssueType.Structure, message, null, IssueKind.Structure));
        return null;
    }

    private void Walk(Resource resource, IEnumerable<string>? profiles, ValidationSession session)
    {
        var walker = new InstanceWalker(this, session);
        var root = InstanceNode.ForRoot(resource, null, session);
        try
        {
            walker.ValidateResource(root, profiles?.ToList() ?? []);
            Checks.Run(resource, root.Path, session.Add);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException and not StackOverflowException)
        {
            // Never let one odd instance take the caller down: say validation did not finish, and why.
            session.Add(new ValidationIssue(IssueSeverity.Fatal, IssueType.Exception,
                $"Validation could not be completed: {ex.GetType().Name}: {ex.Message}", resource.TypeName));
        }
    }

    /// <summary>The compiled definition of a canonical (snapshot generated on first use), or null when unknown.</summary>
    internal CompiledStructure? StructureFor(string canonical) =>
        (_structures.TryGetValue(canonical, out var known) ? known : _structures.GetOrAdd(canonical, url => new Lazy<CompiledStructure?>(() =>
        {
            StructureDefinition? sd;
            try
            {
                sd = Definitions.FindStructureDefinition(url);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A profile whose snapshot cannot be generated counts as not available (the caller reports it unknown).
                return null;
            }

            if (sd?.Snapshot?.Element is not { Count: > 0 })
            {
                return null;
            }

            // Compiled rules hang on the definition itself, so validators sharing a definition source share them.
            lock (sd)
            {
                if (sd.Annotation<CompiledStructure>() is { } compiled)
                {
                    return compiled;
                }

                compiled = StructureCompiler.Compile(sd);
                sd.AddAnnotation(compiled);
                return compiled;
            }
        }))).Value;

    private readonly ConcurrentDictionary<(ElementRule, CompiledStructure), Dictionary<string, ElementRule>> _mergedChildren = new();

    /// <summary>A choice element's own child rules laid over those of the instance's type, made once per pair.</summary>
    internal Dictionary<string, ElementRule> MergedChildren(ElementRule rule, CompiledStructure typeStructure) =>
        _mergedChildren.TryGetValue((rule, typeStructure), out var known) ? known : _mergedChildren.GetOrAdd((rule, typeStructure), key =>
        {
            var merged = new Dictionary<string, ElementRule>(key.Item2.Root.Children, StringComparer.Ordinal);
            foreach (var (name, child) in key.Item1.Children)
            {
                merged[name] = child;
            }

            return merged;
        });

    private readonly Lazy<ILookup<string, string>> _globalProfiles;
    private readonly ConcurrentDictionary<string, bool> _valueSetNotCodeSystem = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<TypeRule, IReadOnlyList<(string Url, string? Type)>> _targetTypes = new(ReferenceEqualityComparer.Instance);

    /// <summary>A Coding.system that is the canonical of a value set and of no code system (a common mistake).</summary>
    internal bool IsValueSetNotCodeSystem(string system)
    {
        if (_valueSetNotCodeSystem.TryGetValue(system, out var known))
        {
            return known;
        }

        var answer = Definitions.FindEntry(system) is { ResourceType: "ValueSet" } && !IsCodeSystem(system);

        // Bounded: the systems of real data are few, but input could name endlessly many.
        if (_valueSetNotCodeSystem.Count < MaxCachedSystems)
        {
            _valueSetNotCodeSystem[system] = answer;
        }

        return answer;
    }

    private const int MaxCachedSystems = 10_000;

    private bool IsCodeSystem(string url) => Definitions.EntriesOf("CodeSystem").Any(e => e.Url == url);

    /// <summary>The target profiles of a Reference type with the resource type each constrains, worked out once.</summary>
    internal IReadOnlyList<(string Url, string? Type)> TargetTypes(TypeRule typeRule) =>
        _targetTypes.TryGetValue(typeRule, out var known) ? known : _targetTypes.GetOrAdd(typeRule, rule => rule.TargetProfiles.Select(t => (t, TypeOfProfile(t))).ToList());

    /// <summary>ImplementationGuide.global profiles of the loaded guides (the core has none).</summary>
    internal IEnumerable<string> GlobalProfilesFor(string resourceType) => _globalProfiles.Value[resourceType];

    private ILookup<string, string> LoadGlobalProfiles() =>
        Definitions.EntriesOf("ImplementationGuide")
            .Where(e => e.PackageId != DefinitionSource.CorePackageId)
            .Select(Definitions.Resolve)
            .OfType<ImplementationGuide>()
            .SelectMany(ig => ig.Global)
            .Where(g => g.Type is not null && g.Profile is not null)
            .ToLookup(g => g.Type!.Value.GetLiteral(), g => g.Profile!);

    private readonly ConcurrentDictionary<string, CompiledStructure?> _typeStructures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(ElementRule, CompiledStructure), ConstraintRule[]> _typeOnlyConstraints = new();

    internal CompiledStructure? StructureForType(string typeName) =>
        _typeStructures.TryGetValue(typeName, out var known)
            ? known
            : _typeStructures.GetOrAdd(typeName, name => StructureFor(DefinitionResolver.CoreStructureDefinitionBase + name));

    /// <summary>The invariants of a type's root that the element's own definition does not already carry.</summary>
    internal ConstraintRule[] TypeOnlyConstraints(ElementRule rule, CompiledStructure typeStructure)
    {
        // An element nearly always meets values of one type: the last answer is kept on the rule itself.
        if (rule.TypeOnlyConstraints is { } last && ReferenceEquals(last.Type, typeStructure))
        {
            return last.Constraints;
        }

        var constraints = _typeOnlyConstraints.GetOrAdd((rule, typeStructure), key =>
            key.Item2.Root.Constraints.Where(c => key.Item1.Constraints.All(own => own.Key != c.Key)).ToArray());
        rule.TypeOnlyConstraints = new TypeOnlyConstraintSet(typeStructure, constraints);
        return constraints;
    }

    /// <summary>The type a profile constrains (from the index, without parsing), or null when unknown.</summary>
    internal string? TypeOfProfile(string canonical)
    {
        if (canonical.StartsWith(DefinitionResolver.CoreStructureDefinitionBase, StringComparison.Ordinal))
        {
            var name = canonical[DefinitionResolver.CoreStructureDefinitionBase.Length..];
            if (ModelInfo.ModelInspector.FindClassMapping(name) is { } mapping && mapping.Name == name)
            {
                return name;
            }
        }

        return Definitions.FindEntry(canonical)?.Type;
    }
}

/// <summary>Answers "is this code in that value set" for bindings. Implemented over the local terminology service.</summary>
public interface IBindingChecker
{
    CodeCheck Check(string valueSet, string? system, string code, string? display);
}

public enum CodeCheckOutcome
{
    Valid,
    Invalid,

    /// <summary>Cannot be decided locally (e.g. SNOMED CT, LOINC: no content here).</summary>
    Unknown,
}

/// <summary>The answer of a binding check; on Valid, a message means a display warning.</summary>
public readonly record struct CodeCheck(CodeCheckOutcome Outcome, string? Message = null)
{
    /// <summary>
    /// A CodeableConcept is valid when any of its codings (those with a code) is; unknown when none is valid but some
    /// cannot be decided. A loop, not a query: this runs for every coded element.
    /// </summary>
    public static CodeCheck ForCodings(IBindingChecker codes, string valueSet, List<Coding> codings)
    {
        CodeCheck? unknown = null;
        CodeCheck? invalid = null;
        foreach (var coding in codings)
        {
            if (coding.Code is null)
            {
                continue;
            }

            var check = codes.Check(valueSet, coding.System, coding.Code, coding.Display);
            switch (check.Outcome)
            {
                case CodeCheckOutcome.Valid:
                    return check;
                case CodeCheckOutcome.Unknown:
                    unknown ??= check;
                    break;
                default:
                    invalid ??= check;
                    break;
            }
        }

        return unknown ?? invalid ?? new CodeCheck(CodeCheckOutcome.Invalid, "No coding is in the value set");
    }
}
