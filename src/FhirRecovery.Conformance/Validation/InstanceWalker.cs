using System.Collections;
using System.Globalization;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// Walks one resource's POCO tree against compiled StructureDefinitions: types, primitive formats, fixed and pattern
/// values, bindings, invariants, cardinality, slicing, extensions, references, contained resources and Bundle entries.
/// </summary>
internal sealed class InstanceWalker
{
    private const string CoreBase = "http://hl7.org/fhir/StructureDefinition/";
    private const int MaxResourceNesting = 32;

    private readonly ProfileValidator _validator;
    private readonly ValidationSession _session;
    private int _resourceDepth;

    public InstanceWalker(ProfileValidator validator, ValidationSession session)
    {
        _validator = validator;
        _session = session;
    }

    /// <summary>
    /// Validates a resource against its type's base definition, its <c>meta.profile</c>s and <paramref name="requestedProfiles"/>.
    /// A profile's snapshot holds every rule of the base, so when profiles apply the base walk is not repeated.
    /// </summary>
    public void ValidateResource(InstanceNode node, IReadOnlyList<string> requestedProfiles)
    {
        var resource = (Resource)node.Value;
        if (resource is DynamicResource || _validator.StructureForType(resource.TypeName) is not { } baseStructure)
        {
            Report(node, IssueSeverity.Error, IssueType.Structure, $"Unknown resource type '{resource.TypeName}'", IssueKind.Structure);
            return;
        }

        if (++_resourceDepth > MaxResourceNesting)
        {
            Report(node, IssueSeverity.Error, IssueType.TooCostly, $"Resources are nested more than {MaxResourceNesting} deep", IssueKind.Structure);
            _resourceDepth--;
            return;
        }

        try
        {
            var structures = new List<CompiledStructure>();
            // Profiles an ImplementationGuide loaded here declares global for this type apply to every such resource.
            var declared = (resource.Meta?.Profile.OfType<string>() ?? []).Concat(_validator.GlobalProfilesFor(resource.TypeName));
            foreach (var (canonical, requested) in requestedProfiles.Select(p => (p, true)).Concat(declared.Select(p => (p, false))))
            {
                if (string.IsNullOrEmpty(canonical) || structures.Any(s => s.Url == canonical))
                {
                    continue;
                }

                var profile = _validator.StructureFor(canonical);
                if (profile is null)
                {
                    Report(node, requested ? IssueSeverity.Error : IssueSeverity.Warning, IssueType.NotFound,
                        $"Profile '{canonical}' is unknown, so the resource could not be checked against it");
                    continue;
                }

                if (!IsTypeOrBase(profile.Type, resource))
                {
                    Report(node, IssueSeverity.Error, IssueType.Invalid,
                        $"Profile '{canonical}' is for {profile.Type}, not for {resource.TypeName}");
                    continue;
                }

                structures.Add(profile);
            }

            if (structures.Count == 0 || structures.All(s => s.Type != resource.TypeName))
            {
                structures.Insert(0, baseStructure);
            }

            foreach (var structure in structures)
            {
                ValidateElement(node, structure.Root, typeRule: null);
            }

            if (resource is Bundle)
            {
                BundleRules.Check(this, node, _session);
            }

            if (resource is StructureDefinition definition)
            {
                StructureDefinitionRules.Check(this, node, definition, _validator.Definitions);
            }
        }
        finally
        {
            _resourceDepth--;
        }
    }

    private static bool IsTypeOrBase(string profileType, Resource resource) =>
        profileType == resource.TypeName || profileType == "Resource" || (profileType == "DomainResource" && resource is DomainResource);

    /// <summary>Validates one element (already known to sit where <paramref name="rule"/> allows it) and its subtree.</summary>
    private void ValidateElement(InstanceNode node, ElementRule rule, TypeRule? typeRule)
    {
        var value = node.Value;
        node.DefinitionPath ??= rule.Path;
        var isRoot = rule.Structure?.Root == rule;

        if (!isRoot && value is Resource)
        {
            if (!_validator.Settings.ValidateContainedResources && node.ElementName == "contained")
            {
                return;
            }

            // contained, Bundle.entry.resource, Parameters.parameter.resource: a resource in its own right. When the
            // element's type lists profiles, the resource must conform to one of them.
            var profiles = typeRule?.Profiles.Where(p => !p.StartsWith(CoreBase, StringComparison.Ordinal)).ToList() ?? [];
            var allowedTypes = typeRule?.Profiles.Select(_validator.TypeOfProfile).OfType<string>().Distinct().ToList() ?? [];
            if (allowedTypes.Count > 0 && !allowedTypes.Contains(value.TypeName) && !allowedTypes.Contains("Resource"))
            {
                Report(node, IssueSeverity.Error, IssueType.Structure,
                    $"The type '{value.TypeName}' is not valid here - must be {string.Join(" or ", allowedTypes)}");
                return;
            }

            if (profiles.Count > 1 && CheckTypeProfiles(node, profiles) is { } fitting)
            {
                profiles = [fitting.Url];
            }
            else if (profiles.Count > 1)
            {
                profiles = [];
            }

            ValidateResource(node, profiles);
            return;
        }

        // ElementDefinition ids are paths, repeated by design in differential and snapshot.
        if (!isRoot && value is Element { ElementId: { } elementId } and not ElementDefinition && !node.Scope.ElementIds.TryAdd(elementId, value)
            && !ReferenceEquals(node.Scope.ElementIds[elementId], value))
        {
            Report(node, IssueSeverity.Error, IssueType.Invalid, $"Duplicate id value '{elementId}': element ids must be unique within a resource");
        }

        if (value is PrimitiveType primitive)
        {
            CheckPrimitive(node, primitive, rule);
        }

        if (rule.Fixed is { } fixedValue && !value.IsExactly(fixedValue))
        {
            Report(node, IssueSeverity.Error, IssueType.Value, $"Value must be exactly the fixed value {Describe(fixedValue)} (fixed by {rule.Id})");
        }

        if (rule.Pattern is { } pattern && !PatternMatcher.Matches(value, pattern))
        {
            Report(node, IssueSeverity.Error, IssueType.Value, $"Value does not match the pattern {Describe(pattern)} required by {rule.Id}");
        }

        if (rule.Binding is { } binding)
        {
            CheckBinding(node, value, binding);
        }

        if (value is Quantity quantity && (rule.MinValue is Quantity || rule.MaxValue is Quantity))
        {
            CheckQuantityRange(node, quantity, rule);
        }

        if (value is Attachment attachment)
        {
            CheckAttachmentSize(node, attachment);
        }

        EvaluateConstraints(node, rule.Constraints, skipKeys: null);

        // A primitive with neither extensions nor id (most elements) has no children to walk: only its type's invariants.
        if (value is PrimitiveType { HasElements: false, HasOverflow: false } bare)
        {
            if (_validator.StructureForType(value.TypeName) is { } primitiveType)
            {
                EvaluateConstraints(node, _validator.TypeOnlyConstraints(rule, primitiveType), skipKeys: null);
            }

            if (bare.JsonValue is null && !isRoot)
            {
                Report(node, IssueSeverity.Error, IssueType.Invariant, "ele-1: All FHIR elements must have a @value or children", IssueKind.Structure, "ele-1");
            }

            return;
        }

        // Children: those the snapshot lists here, else those of the type (or the type's profile) definition.
        var childSource = ChildRulesFor(node, rule, typeRule, out var typeStructure);
        if (typeStructure is not null)
        {
            EvaluateConstraints(node, _validator.TypeOnlyConstraints(rule, typeStructure), skipKeys: null);
            if (typeStructure.Root.Fixed is { } typeFixed && !value.IsExactly(typeFixed))
            {
                Report(node, IssueSeverity.Error, IssueType.Value, $"Value must be exactly the fixed value {Describe(typeFixed)}");
            }
        }

        // ele-1 (checked for every element, natively): a value, or children other than id.
        var hasContent = childSource is not null ? ValidateChildren(node, childSource) : HasValueOrChildren(value);
        if (!isRoot && !hasContent && value is not PrimitiveType { JsonValue: not null })
        {
            Report(node, IssueSeverity.Error, IssueType.Invariant, "ele-1: All FHIR elements must have a @value or children", IssueKind.Structure, "ele-1");
        }

        // The element's own children came from the snapshot, but its type names a profile: the value must conform
        // to that profile as well (e.g. Organization.meta typed Meta(some-meta-profile)).
        if (typeStructure is null && typeRule is { Profiles.Count: > 0 } && value is not Extension and not Resource
            && ConstrainedTypeProfiles(typeRule, value) is { Count: > 0 } constrainedProfiles
            && CheckTypeProfiles(node, constrainedProfiles) is { } fittingProfile)
        {
            ValidateElement(node, fittingProfile.Root, null);
        }

        if (value is Extension extension && typeStructure is not null && typeStructure.Type == "Extension" && typeStructure.IsConstraint)
        {
            CheckExtensionContext(node, extension, typeStructure);
            CheckContextInvariants(node, extension, typeStructure);
        }

        if (value is ResourceReference reference && typeRule is not null)
        {
            CheckReference(node, reference, typeRule);
        }

        if (value is Coding { System: { } system })
        {
            CheckCodingSystem(node, system);
        }
    }

    /// <summary>Coding.system names a code system: an absolute URI, and not the canonical of a value set.</summary>
    private void CheckCodingSystem(InstanceNode node, string system)
    {
        if (AbsoluteUriHost(system) is null && !system.StartsWith("urn:", StringComparison.Ordinal))
        {
            Report(node, IssueSeverity.Error, IssueType.Invalid, $"Coding.system must be an absolute reference, not a local reference ('{system}')");
        }
        else if (_validator.IsValueSetNotCodeSystem(system))
        {
            Report(node, IssueSeverity.Error, IssueType.Invalid, $"The Coding references a value set, not a code system ('{system}')");
        }
    }

    /// <summary>ele-1: a value, or children other than <c>id</c> (an element holding only an id is empty).</summary>
    private static bool HasValueOrChildren(Base value)
    {
        if (value is PrimitiveType { JsonValue: not null })
        {
            return true;
        }

        foreach (var (name, _) in value.EnumerateElements())
        {
            if (name != "id")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Decides which rules the children of <paramref name="node"/> are checked against. Returns the structure entered
    /// when the children come from a type or type profile (its root constraints then apply too).
    /// </summary>
    private Dictionary<string, ElementRule>? ChildRulesFor(InstanceNode node, ElementRule rule, TypeRule? typeRule, out CompiledStructure? typeStructure)
    {
        typeStructure = null;
        if (rule.ContentReference is { } reference && rule.Structure is { } owner)
        {
            if (ContentReferenceTarget(owner, reference) is { } target)
            {
                return target.Children;
            }

            Report(node, IssueSeverity.Warning, IssueType.NotSupported,
                $"The content reference '{reference}' of {rule.Path} could not be resolved, so the content of this element was not checked");
            return null;
        }

        if (rule.HasChildren && (rule.IsChoice || rule.Types.Length > 1) && node.Value is not PrimitiveType)
        {
            // A snapshot lists only the children common to all types of a choice (id, extension): the rest come
            // from the definition of the type the instance has.
            typeStructure = TypeStructureFor(node, typeRule);
            return typeStructure is null ? rule.Children : _validator.MergedChildren(rule, typeStructure);
        }

        if (rule.HasChildren)
        {
            return rule.Children;
        }

        if (rule.SliceOf is { HasChildren: true } unsliced && node.Value is not Extension)
        {
            return unsliced.Children;
        }

        if (rule.Structure?.Root == rule && rule.Children.Count == 0)
        {
            return rule.Children;
        }

        typeStructure = TypeStructureFor(node, typeRule);
        if (typeStructure is null && node.Value is not PrimitiveType && node.Value.TypeName.Contains('.'))
        {
            // A backbone element whose rules could not be found: say so rather than pass its content unchecked.
            Report(node, IssueSeverity.Warning, IssueType.NotSupported, $"No definition of the content of {rule.Path} was found, so it was not checked");
        }

        return typeStructure?.Root.Children;
    }

    /// <summary>
    /// The element a contentReference names: "#Questionnaire.item" in the same structure, or "url#Questionnaire.item"
    /// (profiles' snapshots write the base's canonical) — the path is then looked up in this structure first, where
    /// the profile's own constraints are, and in the named structure otherwise.
    /// </summary>
    private ElementRule? ContentReferenceTarget(CompiledStructure owner, string reference)
    {
        var hash = reference.IndexOf('#');
        var path = hash >= 0 ? reference[(hash + 1)..] : reference;
        var inOwner = owner.ById.GetValueOrDefault(path) ?? owner.ById.Values.FirstOrDefault(r => r.Path == path && r.SliceName is null);
        if (inOwner is not null || hash <= 0)
        {
            return inOwner;
        }

        var other = _validator.StructureFor(reference[..hash]);
        return other?.ById.GetValueOrDefault(path);
    }

    /// <summary>
    /// The definition a value's content is checked against: an extension's own definition (from its url), else the
    /// element type's profile, else the core definition of the value's type.
    /// </summary>
    private CompiledStructure? TypeStructureFor(InstanceNode node, TypeRule? typeRule)
    {
        var value = node.Value;
        if (value is Extension extension)
        {
            if (extension.Url is { } extensionUrl && !IsAbsoluteUrl(extensionUrl) && node.Parent?.Value is not Extension)
            {
                Report(node, IssueSeverity.Error, IssueType.Invalid, $"Extension.url must be an absolute URL ('{extensionUrl}')");
                return _validator.StructureForType("Extension");
            }

            if (extension.Url is { } subUrl && !IsAbsoluteUrl(subUrl) && node.Parent?.Value is Extension { Url: { } parentUrl })
            {
                // A relative url names a sub-extension of the enclosing complex extension; it must be one it defines
                // (when that definition is known at all).
                if (typeRule?.Profiles.FirstOrDefault() is null && _validator.StructureFor(parentUrl) is not null)
                {
                    Report(node, IssueSeverity.Error, IssueType.Structure,
                        $"Sub-extension url '{subUrl}' is not defined by the extension {(node.Parent.Value as Extension)?.Url}");
                }

                return _validator.StructureForType("Extension");
            }

            var profile = typeRule?.Profiles.FirstOrDefault();
            var definitionUrl = profile ?? extension.Url;
            if (!string.IsNullOrEmpty(definitionUrl) && _validator.StructureFor(definitionUrl) is { } definition && definition.Type == "Extension")
            {
                if (profile is not null && extension.Url is { } url && DefinitionUrlOf(definition) is { } fixedUrl && fixedUrl != url)
                {
                    Report(node, IssueSeverity.Error, IssueType.Value, $"Extension url '{url}' does not match the expected '{fixedUrl}'");
                }

                return definition;
            }

            ReportUnknownExtension(node, extension);
            return _validator.StructureForType("Extension");
        }

        if (typeRule is { Profiles.Count: > 0 } && value is not Resource)
        {
            var constrained = ConstrainedTypeProfiles(typeRule, value);
            if (constrained.Count > 0)
            {
                return CheckTypeProfiles(node, constrained) ?? _validator.StructureForType(value.TypeName);
            }
        }

        return value.TypeName.Contains('.') ? null : _validator.StructureForType(value.TypeName);
    }

    private static bool IsExampleUrl(string url) =>
        AbsoluteUriHost(url) is { } host && (host is "example.org" or "example.com" or "example.net"
                                             || host.EndsWith(".example.org", StringComparison.Ordinal)
                                             || host.EndsWith(".example.com", StringComparison.Ordinal));

    private static bool IsAbsoluteUrl(string url) => AbsoluteUriHost(url) is not null || url.StartsWith("urn:", StringComparison.Ordinal);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string?> UriHosts = new(StringComparer.Ordinal);

    /// <summary>
    /// The host of an absolute URI ("" when it has none), or null when the text is not one. System.Uri is costly to
    /// build and the same few canonicals recur in every resource, so answers are kept (a bounded number: input can
    /// name endlessly many).
    /// </summary>
    private static string? AbsoluteUriHost(string url)
    {
        if (UriHosts.TryGetValue(url, out var known))
        {
            return known;
        }

        var host = Uri.TryCreate(url, UriKind.Absolute, out var parsed) ? parsed.Host : null;
        if (UriHosts.Count < 10_000)
        {
            UriHosts.TryAdd(url, host);
        }

        return host;
    }

    /// <summary>The type's profiles other than the plain core definition of the value's own type.</summary>
    private static List<string> ConstrainedTypeProfiles(TypeRule typeRule, Base value) =>
        typeRule.Profiles.Where(p => !p.StartsWith(CoreBase, StringComparison.Ordinal) || p[CoreBase.Length..] != value.TypeName).ToList();

    private static string? DefinitionUrlOf(CompiledStructure extensionDefinition) =>
        extensionDefinition.Root.Children.TryGetValue("url", out var url) ? (url.Fixed as FhirUri)?.Value ?? extensionDefinition.Url : extensionDefinition.Url;

    /// <summary>
    /// A value must conform to at least one of its type's profiles: try each, and return the one that fits (its issues
    /// are then reported by the normal walk), or report why none did.
    /// </summary>
    private CompiledStructure? CheckTypeProfiles(InstanceNode node, List<string> profiles)
    {
        var candidates = profiles.Select(p => (Url: p, Structure: _validator.StructureFor(p))).ToList();
        foreach (var (url, structure) in candidates.Where(c => c.Structure is null))
        {
            // The profile's author requires conformance to it: unable to check is not the same as conforming.
            Report(node, IssueSeverity.Error, IssueType.NotFound, $"Unknown profile {url}: the value must conform to it, but it could not be found");
        }

        var known = candidates.Where(c => c.Structure is not null).Select(c => c.Structure!).ToList();
        if (known.Count <= 1)
        {
            return known.FirstOrDefault();
        }

        foreach (var structure in known)
        {
            if (Conforms(node, structure))
            {
                return structure;
            }
        }

        Report(node, IssueSeverity.Error, IssueType.Structure,
            $"The value does not conform to any of the profiles {string.Join(", ", known.Select(k => k.Url))}");
        return null;
    }

    /// <summary>Validates a node against a structure without reporting; true when it has no errors.</summary>
    private bool Conforms(InstanceNode node, CompiledStructure structure)
    {
        var saved = _session.Trial;
        _session.Trial = [];
        try
        {
            if (node.Value is Resource)
            {
                ValidateResourceAgainst(node, structure);
            }
            else
            {
                ValidateElement(node, structure.Root, null);
            }

            return !_session.HasTrialErrors;
        }
        finally
        {
            _session.Trial = saved;
        }
    }

    private void ValidateResourceAgainst(InstanceNode node, CompiledStructure structure)
    {
        if (++_resourceDepth > MaxResourceNesting)
        {
            _resourceDepth--;
            return;
        }

        try
        {
            ValidateElement(node, structure.Root, null);
        }
        finally
        {
            _resourceDepth--;
        }
    }

    /// <summary>Validates the children of an element; returns whether it has any child other than id (for ele-1).</summary>
    private bool ValidateChildren(InstanceNode parent, Dictionary<string, ElementRule> rules)
    {
        var value = parent.Value;
        var hasContent = false;
        var isPrimitive = value is PrimitiveType;

        // Ask the POCO for each element the rules know (generated lookups, no enumerator per element); what the
        // lenient parse kept beyond them (overflow) is unknown and reported below.
        foreach (var rule in rules.Values)
        {
            if (isPrimitive && rule.Name == "value")
            {
                // A primitive's value is not a child element: its presence is ele-1's business, its format CheckPrimitive's.
                continue;
            }

            if (!value.TryGetValue(rule.Name, out var content) || content is null || content is IList { Count: 0 })
            {
                if (rule.RequiresPresence)
                {
                    ValidateOccurrences(parent, rule, NoNodes);
                }

                continue;
            }

            hasContent |= rule.Name != "id";
            var nodes = RentNodeList();
            if (content is IList list)
            {
                for (var i = 0; i < list.Count; i++)
                {
                    if (list[i] is Base item)
                    {
                        nodes.Add(MakeChild(parent, item, rule.Name, rule, i));
                    }
                }
            }
            else if (content is Base single)
            {
                nodes.Add(MakeChild(parent, single, rule.Name, rule, -1));
            }
            else
            {
                ReturnNodeList(nodes);
                continue;
            }

            ValidateOccurrences(parent, rule, nodes);
            ReturnNodeList(nodes);
        }

        if (value.HasOverflow)
        {
            hasContent |= ReportUnknownElements(parent, rules);
        }

        return hasContent;
    }

    private static readonly List<InstanceNode> NoNodes = [];

    // The walk makes a list of child nodes for every element; they are reused across the (recursive) walk.
    private readonly Stack<List<InstanceNode>> _nodeLists = new();

    private List<InstanceNode> RentNodeList() => _nodeLists.TryPop(out var list) ? list : new List<InstanceNode>(4);

    private void ReturnNodeList(List<InstanceNode> list)
    {
        list.Clear();
        _nodeLists.Push(list);
    }

    /// <summary>Elements the lenient parse kept that no rule knows; returns whether there were any.</summary>
    private bool ReportUnknownElements(InstanceNode parent, Dictionary<string, ElementRule> rules)
    {
        var any = false;
        foreach (var (name, content) in parent.Value.EnumerateElements())
        {
            if (content is null || rules.ContainsKey(name))
            {
                continue;
            }

            any = true;
            var items = content is IList list ? list.OfType<Base>().Select((item, i) => (item, i)) : content is Base single ? [(single, -1)] : [];
            foreach (var (item, index) in items)
            {
                var unknown = MakeChild(parent, item, name, null, index);
                Report(unknown, IssueSeverity.Error, IssueType.Structure,
                    $"Unknown element '{unknown.JsonName}' at {parent.Path} (not defined for {parent.Value.TypeName})", IssueKind.Structure);
            }
        }

        return any;
    }

    private InstanceNode MakeChild(InstanceNode parent, Base value, string elementName, ElementRule? rule, int index)
    {
        if (value is Resource resource && parent.Value is DomainResource && elementName == "contained")
        {
            var contained = _session.ContainedOf(parent.Scope);
            if (index >= 0 && index < contained.Count)
            {
                return contained[index];
            }

            return parent.NestedResource(resource, elementName, index, isContained: true);
        }

        if (value is Resource entryResource && parent.Value is Bundle.EntryComponent && parent.Scope is { Resource: Bundle } bundleScope)
        {
            foreach (var (_, node) in _session.EntriesOf(bundleScope))
            {
                if (ReferenceEquals(node.Value, entryResource))
                {
                    return node;
                }
            }
        }

        if (value is Resource nested)
        {
            return parent.NestedResource(nested, elementName, index, isContained: false);
        }

        var jsonName = rule?.IsChoice == true || (rule is null && value is DataType && parent.Value is not PrimitiveType && IsChoiceName(parent.Value, elementName))
            ? ChoiceJsonName(elementName, value.TypeName)
            : elementName;
        return parent.Child(value, elementName, jsonName, index);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Element, string Type), string> ChoiceJsonNames = new();

    /// <summary>"value" + "CodeableConcept": made once per pair (bounded, since unknown types come from the input).</summary>
    private static string ChoiceJsonName(string elementName, string typeName)
    {
        if (ChoiceJsonNames.TryGetValue((elementName, typeName), out var known))
        {
            return known;
        }

        var name = elementName + UpperFirst(typeName);
        if (ChoiceJsonNames.Count < 10_000)
        {
            ChoiceJsonNames.TryAdd((elementName, typeName), name);
        }

        return name;
    }

    private static bool IsChoiceName(Base parent, string elementName) =>
        ModelInfo.ModelInspector.FindClassMapping(parent.GetType())?.FindMappedElementByName(elementName)?.Choice == Hl7.Fhir.Introspection.ChoiceType.DatatypeChoice;

    private static string UpperFirst(string typeName) =>
        typeName.Length == 0 ? typeName : string.Concat(char.ToUpperInvariant(typeName[0]).ToString(), typeName.AsSpan(1));

    /// <summary>Cardinality, slicing and type of the values of one element.</summary>
    private void ValidateOccurrences(InstanceNode parent, ElementRule rule, List<InstanceNode> nodes)
    {
        if (nodes.Count < rule.Min)
        {
            Report(parent, IssueSeverity.Error, IssueType.Required,
                nodes.Count == 0
                    ? $"Missing required element {rule.Path} (minimum {rule.Min})"
                    : $"{rule.Path} has {nodes.Count} value(s), the minimum is {rule.Min}");
        }

        if (rule.Max is { } max && nodes.Count > max)
        {
            Report(parent, IssueSeverity.Error, IssueType.Structure,
                max == 0
                    ? $"{rule.Path} is not allowed here (maximum 0), found {nodes.Count}"
                    : $"{rule.Path} has {nodes.Count} values, the maximum is {max}");
        }

        if (nodes.Count == 0)
        {
            CheckRequiredSlices(parent, rule, []);
            return;
        }

        if (rule.Slicing is { Slices.Count: > 0 } slicing)
        {
            ValidateSliced(parent, rule, slicing, nodes);
            return;
        }

        foreach (var node in nodes)
        {
            ValidateTyped(node, rule);
        }
    }

    /// <summary>Checks the value's type against the element's allowed types, then validates it.</summary>
    private void ValidateTyped(InstanceNode node, ElementRule rule)
    {
        if (rule.Types.Length == 0)
        {
            ValidateElement(node, rule, null);
            return;
        }

        var typeRule = MatchType(rule, node.Value);
        if (typeRule is null)
        {
            // Valid FHIR that a profile narrowed away is a profile finding (422); a type FHIR itself forbids is structural (400).
            Report(node, IssueSeverity.Error, IssueType.Structure,
                $"Type '{DescribeType(node.Value)}' is not allowed for {rule.Path} (allowed: {string.Join(", ", rule.Types.Select(t => t.Code).Distinct())})",
                BaseModelAllows(node) ? IssueKind.Profile : IssueKind.Structure);
            return;
        }

        try
        {
            ValidateElement(node, rule, typeRule);
        }
        catch (Exception ex) when (ex is Hl7.Fhir.Validation.CodedValidationException or InvalidCastException or FormatException or OverflowException)
        {
            // A lenient parse keeps invalid values; Firely's typed accessors throw on them. Report and carry on.
            Report(node, IssueSeverity.Error, IssueType.Value, $"The value could not be interpreted: {ex.Message}", IssueKind.Structure);
        }
    }

    /// <summary>Whether the FHIR model itself allows the value's type for this element (so only a profile excluded it).</summary>
    private static bool BaseModelAllows(InstanceNode node)
    {
        if (node.Parent?.Value is not { } parent || node.Value is DynamicDataType or DynamicPrimitive)
        {
            return false;
        }

        var property = ModelInfo.ModelInspector.FindClassMapping(parent.GetType())?.FindMappedElementByName(node.ElementName);
        return property is not null && (property.FhirType.Any(t => t.IsInstanceOfType(node.Value)) || property.Choice == Hl7.Fhir.Introspection.ChoiceType.ResourceChoice);
    }

    private static string DescribeType(Base value) => value switch
    {
        DynamicDataType dynamic => dynamic.DynamicTypeName ?? "unknown",
        DynamicPrimitive primitive => primitive.DynamicTypeName ?? "unknown",
        _ => value.TypeName,
    };

    private static TypeRule? MatchType(ElementRule rule, Base value)
    {
        var typeName = value.TypeName;
        foreach (var type in rule.Types)
        {
            if (type.Code == typeName)
            {
                return type;
            }
        }

        foreach (var type in rule.Types)
        {
            var matches = type.Code switch
            {
                "Resource" => value is Resource,
                "DomainResource" => value is DomainResource,
                "BackboneElement" or "Element" => typeName.Contains('.') || type.Code == "Element",
                // Element.id and Extension.url are typed with FHIRPath system types in the snapshot.
                _ when type.IsSystemType => value is PrimitiveType,
                // Age, Distance, Duration, Count, MoneyQuantity, SimpleQuantity are constraints on Quantity.
                "Quantity" => value is Quantity,
                _ => false,
            };
            if (matches)
            {
                return type;
            }
        }

        return null;
    }

    private void ValidateSliced(InstanceNode parent, ElementRule rule, SlicingRule slicing, List<InstanceNode> nodes)
    {
        var assigned = new ElementRule?[nodes.Count];
        var lastSliceIndex = -1;
        var sawUnmatched = false;
        for (var i = 0; i < nodes.Count; i++)
        {
            var slice = MatchSlice(nodes[i], rule, slicing);
            assigned[i] = slice;
            if (slice is null)
            {
                sawUnmatched = true;
                if (slicing.Rules == ElementDefinition.SlicingRules.Closed)
                {
                    Report(nodes[i], IssueSeverity.Error, IssueType.Structure,
                        $"This element does not match any known slice of {rule.Id}, and the slicing is closed");
                }

                continue;
            }

            var sliceIndex = slicing.Slices.IndexOf(slice);
            if (slicing.Ordered && sliceIndex < lastSliceIndex)
            {
                Report(nodes[i], IssueSeverity.Error, IssueType.Structure,
                    $"The slices of {rule.Id} are ordered: slice '{slice.SliceName}' appears after '{slicing.Slices[lastSliceIndex].SliceName}'");
            }

            if (slicing.Rules == ElementDefinition.SlicingRules.OpenAtEnd && sawUnmatched)
            {
                Report(nodes[i], IssueSeverity.Error, IssueType.Structure,
                    $"Values that match no slice of {rule.Id} must come after all slices (openAtEnd); slice '{slice.SliceName}' follows one");
            }

            lastSliceIndex = Math.Max(lastSliceIndex, sliceIndex);
        }

        CheckRequiredSlices(parent, rule, assigned);
        for (var i = 0; i < nodes.Count; i++)
        {
            ValidateTyped(nodes[i], assigned[i] ?? rule);

            // A slice is a further constraint on the sliced element: its values must meet the unsliced element's rules
            // too (snapshots copy the base type's children into slices, not the profile's changes to them).
            // Extensions are exempt: their slices and the unsliced element both lead to the extension's definition.
            if (assigned[i] is { } slice && nodes[i].Value is not Extension && AddsToSlices(rule, slice))
            {
                ValidateTyped(nodes[i], rule);
            }
        }
    }

    /// <summary>
    /// Whether the unsliced element checks anything its slice does not already: own children, a fixed or pattern value,
    /// a binding, or an invariant the slice lacks.
    /// </summary>
    private static bool AddsToSlices(ElementRule unsliced, ElementRule slice) =>
        unsliced.HasChildren || unsliced.Fixed is not null || unsliced.Pattern is not null || unsliced.Binding is not null
        || unsliced.Constraints.Any(c => !ContainsKey(slice.Constraints, c.Key));

    private void CheckRequiredSlices(InstanceNode parent, ElementRule rule, ElementRule?[] assigned)
    {
        if (rule.Slicing is not { Slices.Count: > 0 } slicing)
        {
            return;
        }

        foreach (var slice in slicing.Slices)
        {
            var count = 0;
            foreach (var a in assigned)
            {
                if (a == slice)
                {
                    count++;
                }
            }

            if (count < slice.Min)
            {
                Report(parent, IssueSeverity.Error, IssueType.Required,
                    $"Slice '{slice.SliceName}' of {rule.Path} requires at least {slice.Min} value(s), found {count}");
            }

            if (slice.Max is { } max && count > max)
            {
                Report(parent, IssueSeverity.Error, IssueType.Structure,
                    $"Slice '{slice.SliceName}' of {rule.Path} allows at most {max} value(s), found {count}");
            }
        }
    }

    private ElementRule? MatchSlice(InstanceNode node, ElementRule rule, SlicingRule slicing)
    {
        foreach (var slice in slicing.Slices)
        {
            if (slicing.Discriminators.Length == 0)
            {
                // No discriminator: the only way to tell is to try the slice's rules.
                if (ConformsToRule(node, slice))
                {
                    return slice;
                }

                continue;
            }

            var all = true;
            foreach (var (type, path) in slicing.Discriminators)
            {
                if (!_validator.Discriminators.Matches(this, node, slice, type, path))
                {
                    all = false;
                    break;
                }
            }

            if (all)
            {
                return slice;
            }
        }

        return null;
    }

    internal bool ConformsToRule(InstanceNode node, ElementRule rule)
    {
        var saved = _session.Trial;
        _session.Trial = [];
        try
        {
            ValidateTyped(node, rule);
            return !_session.HasTrialErrors;
        }
        finally
        {
            _session.Trial = saved;
        }
    }

    internal bool ConformsToStructure(InstanceNode node, CompiledStructure structure) => Conforms(node, structure);

    private void CheckPrimitive(InstanceNode node, PrimitiveType primitive, ElementRule rule)
    {
        var raw = primitive.JsonValue;
        if (raw is null)
        {
            CheckMissingValue(node, primitive, rule);
            return;
        }

        var typeName = primitive is DynamicPrimitive dynamic ? dynamic.DynamicTypeName ?? primitive.TypeName : primitive.TypeName;
        var text = raw switch
        {
            string s => s,
            bool b => b ? "true" : "false",
            decimal d => d.ToString(CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => raw.ToString() ?? "",
        };

        if (typeName == "xhtml")
        {
            var findings = NarrativeValidator.Analyze(text);
            foreach (var message in findings.Problems)
            {
                Report(node, IssueSeverity.Error, IssueType.Value, message, IssueKind.Profile, "txt-1");
            }

            CheckNarrativeLinks(node, findings);
            return;
        }

        if (PrimitiveFormats.Check(typeName, text) is { } problem)
        {
            Report(node, IssueSeverity.Error, IssueType.Value, problem, IssueKind.Structure);
            return;
        }

        if (!_validator.Settings.AllowExampleUrls && typeName is "uri" or "url" or "canonical" && IsExampleUrl(text))
        {
            Report(node, IssueSeverity.Error, IssueType.BusinessRule, $"Example URLs are not allowed in this context ({text})");
        }

        if (rule.MinLength is { } minLength && text.Length < minLength)
        {
            Report(node, IssueSeverity.Error, IssueType.Value, $"The value is {text.Length} characters long; {rule.Path} requires at least {minLength}");
        }

        if (rule.MaxLength is { } maxLength && text.Length > maxLength)
        {
            Report(node, IssueSeverity.Error, IssueType.Value, $"The value is {text.Length} characters long; {rule.Path} allows at most {maxLength}");
        }

        if (rule.MinValue is not null || rule.MaxValue is not null)
        {
            CheckRange(node, primitive, rule);
        }
    }

    private void CheckQuantityRange(InstanceNode node, Quantity quantity, ElementRule rule)
    {
        if (rule.MinValue is Quantity min && QuantityComparison.Compare(quantity, min) is < 0)
        {
            Report(node, IssueSeverity.Error, IssueType.Value,
                $"The value in the instance ({quantity.Value} {quantity.Code ?? quantity.Unit}) is less than the minimum {min.Value} {min.Code ?? min.Unit} of {rule.Path}");
        }

        if (rule.MaxValue is Quantity max && QuantityComparison.Compare(quantity, max) is > 0)
        {
            Report(node, IssueSeverity.Error, IssueType.Value,
                $"The value in the instance ({quantity.Value} {quantity.Code ?? quantity.Unit}) is greater than the maximum {max.Value} {max.Code ?? max.Unit} of {rule.Path}");
        }
    }

    /// <summary>Attachment.size is the size of the decoded data.</summary>
    private void CheckAttachmentSize(InstanceNode node, Attachment attachment)
    {
        // Read the raw texts: the typed getters throw on invalid content (reported by the primitive checks).
        if (attachment.DataElement?.JsonValue is not string data || attachment.SizeElement?.JsonValue is not { } sizeValue
            || !long.TryParse(Convert.ToString(sizeValue, CultureInfo.InvariantCulture), out var size))
        {
            return;
        }

        var significant = data.Count(c => !char.IsWhiteSpace(c));
        var padding = data.TrimEnd().Reverse().TakeWhile(c => c == '=').Count();
        var decoded = significant / 4 * 3L - padding;
        if (significant % 4 == 0 && size != decoded)
        {
            Report(node, IssueSeverity.Error, IssueType.Value, $"Attachment.size is {size}, but the attached data is {decoded} bytes");
        }
    }

    /// <summary>
    /// A link inside the narrative ("#x") must land somewhere in this resource: an anchor (id/name) of the narrative,
    /// a contained resource, or an element id.
    /// </summary>
    private void CheckNarrativeLinks(InstanceNode node, NarrativeValidator.Findings findings)
    {
        if (findings.Links is not { Count: > 0 } links)
        {
            return;
        }

        var anchors = findings.Anchors ?? [];

        var resource = node.Scope.RootResourceScope.Resource;
        foreach (var link in links)
        {
            var target = link[1..];
            if (target.Length == 0 || anchors.Contains(target)
                || resource is DomainResource { Contained: var contained } && contained.Any(c => c.Id == target)
                || node.Scope.ElementIds.ContainsKey(target) || resource.Id == target)
            {
                continue;
            }

            Report(node, IssueSeverity.Error, IssueType.Value, $"Hyperlink '{link}' in the narrative does not resolve to an anchor, a contained resource or an element of this resource");
        }
    }

    /// <summary>A primitive with only extensions: allowed unless the profile demands a value (or one of its alternatives).</summary>
    private void CheckMissingValue(InstanceNode node, PrimitiveType primitive, ElementRule rule)
    {
        if (rule.MustHaveValue)
        {
            Report(node, IssueSeverity.Error, IssueType.Required,
                $"The element definition {rule.Path} in the profile {rule.Structure?.Url} requires that a value be present in this element");
        }
        else if (rule.ValueAlternatives.Count > 0 && !primitive.Extension.Any(e => rule.ValueAlternatives.Contains(e.Url)))
        {
            Report(node, IssueSeverity.Error, IssueType.Required,
                $"The element definition {rule.Path} requires that if a value is not present, one of the extensions {string.Join(", ", rule.ValueAlternatives)} must be present");
        }
    }

    private void CheckRange(InstanceNode node, PrimitiveType value, ElementRule rule)
    {
        var comparison = (Func<DataType, int?>)(bound => CompareValues(value, bound));
        if (rule.MinValue is { } min && comparison(min) is < 0)
        {
            Report(node, IssueSeverity.Error, IssueType.Value, $"The value {value} is below the minimum {Describe(min)} of {rule.Path}");
        }

        if (rule.MaxValue is { } max && comparison(max) is > 0)
        {
            Report(node, IssueSeverity.Error, IssueType.Value, $"The value {value} is above the maximum {Describe(max)} of {rule.Path}");
        }
    }

    private static int? CompareValues(PrimitiveType value, DataType bound)
    {
        static decimal? Number(object? o) => o switch
        {
            int i => i,
            long l => l,
            decimal d => d,
            string s when decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => null,
        };

        if (bound is PrimitiveType boundPrimitive)
        {
            var left = Number(value.JsonValue);
            var right = Number(boundPrimitive.JsonValue);
            if (left is not null && right is not null)
            {
                return left.Value.CompareTo(right.Value);
            }

            // Dates and times compare as FHIRPath does (Firely's types): across precisions where the shared part decides.
            if (FragmentInvariant.ComparableValue(value) is { } left2 && FragmentInvariant.ComparableValue(boundPrimitive) is { } right2
                && FragmentInvariant.CompareOrdered(left2, right2) is (true, { } order))
            {
                return order;
            }
        }

        return null;
    }

    private void CheckBinding(InstanceNode node, Base value, BindingRule binding)
    {
        if (binding.ValueSet is null || binding.Strength is not (BindingStrength.Required or BindingStrength.Extensible))
        {
            return;
        }

        var codes = _validator.Bindings;
        if (codes is null)
        {
            return;
        }

        var required = binding.Strength == BindingStrength.Required;
        CodeCheck result;
        switch (value)
        {
            case CodeableConcept concept:
                if (concept.Coding.Count == 0)
                {
                    if (required)
                    {
                        Report(node, IssueSeverity.Error, IssueType.CodeInvalid,
                            $"No code provided, and a code is required from the value set {binding.ValueSet}");
                    }

                    return;
                }

                result = CodeCheck.ForCodings(codes, binding.ValueSet, concept.Coding);
                break;
            case Coding coding:
                if (coding.Code is null)
                {
                    return;
                }

                result = codes.Check(binding.ValueSet, coding.System, coding.Code, coding.Display);
                break;
            case Quantity quantity:
                if (quantity.Code is null)
                {
                    return;
                }

                result = codes.Check(binding.ValueSet, quantity.System, quantity.Code, null);
                break;
            case PrimitiveType { JsonValue: string code } when value is Code or FhirString or FhirUri or Canonical or Id
                                                                  || value.TypeName == "code":
                result = codes.Check(binding.ValueSet, null, code, null);
                break;
            default:
                return;
        }

        switch (result.Outcome)
        {
            case CodeCheckOutcome.Invalid:
                Report(node, required ? IssueSeverity.Error : IssueSeverity.Warning, IssueType.CodeInvalid,
                    $"{result.Message ?? "The code is not in the value set"} (value set {binding.ValueSet}, binding {(required ? "required" : "extensible")})");
                break;
            case CodeCheckOutcome.Unknown when required:
                Report(node, IssueSeverity.Information, IssueType.NotSupported,
                    $"The code could not be checked against the value set {binding.ValueSet}: {result.Message}");
                break;
            case CodeCheckOutcome.Valid when result.Message is { } displayWarning:
                Report(node, IssueSeverity.Warning, IssueType.CodeInvalid, displayWarning);
                break;
        }
    }

    private void EvaluateConstraints(InstanceNode node, ConstraintRule[] constraints, ConstraintRule[]? skipKeys)
    {
        foreach (var constraint in constraints)
        {
            if (skipKeys is not null && ContainsKey(skipKeys, constraint.Key))
            {
                continue;
            }

            switch (constraint.Native)
            {
                case NativeInvariant.HasValueOrChildren:
                case NativeInvariant.NarrativeHtml:
                    // Checked for every element and every div by the walk itself.
                    continue;
                case NativeInvariant.NarrativePresent:
                    if (node.Scope.ContainerOfContained is null && node.Value is DomainResource { Text: var narrative } && string.IsNullOrEmpty(narrative?.Div))
                    {
                        ReportConstraint(node, constraint);
                    }

                    continue;
                case NativeInvariant.LocalReferenceResolves:
                    if (node.Value is ResourceReference { Reference: { } local } && local.StartsWith('#') && !LocalReferenceResolves(node, local))
                    {
                        ReportConstraint(node, constraint);
                    }

                    continue;
                case NativeInvariant.ContainedReferenced:
                    if (_validator.Settings.ValidateContainedResources)
                    {
                        CheckContainedReferenced(node, constraint);
                    }

                    continue;
                case NativeInvariant.ExtensionValueOrChildren:
                    if (node.Value is Extension ext && (ext.Extension.Count > 0) == (ext.Value is not null))
                    {
                        ReportConstraint(node, constraint);
                    }

                    continue;
            }

            if (constraint.Compiled is null)
            {
                if (constraint.CompileError is not null)
                {
                    Report(node, IssueSeverity.Warning, IssueType.NotSupported,
                        $"Constraint {constraint.Key} could not be compiled, so it was not checked: {constraint.CompileError}");
                }

                continue;
            }

            var emptyIs = !_validator.Settings.EmptyInvariantResultFails;
            bool satisfied;
            try
            {
                if (constraint.Fragment?.Evaluate(node.Value, node.Scope.Resource, emptyIs) is { } decided)
                {
                    if (!decided)
                    {
                        ReportConstraint(node, constraint);
                    }

                    continue;
                }

                satisfied = _validator.Settings.EmptyInvariantResultFails
                    ? constraint.Compiled.IsTrue(node.Poco, node.Scope.EvaluationContext)
                    : constraint.Compiled.Predicate(node.Poco, node.Scope.EvaluationContext);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Firely's evaluator throws for type errors in the expression or for unsupported functions.
                Report(node, IssueSeverity.Warning, IssueType.NotSupported,
                    $"Constraint {constraint.Key} could not be evaluated, so it was not checked: {ex.Message}");
                continue;
            }

            if (!satisfied)
            {
                ReportConstraint(node, constraint);
            }
        }
    }

    /// <summary>
    /// dom-3: each contained resource is referenced from elsewhere in the resource ("#id" in a Reference, a canonical
    /// or uri, or a link in the narrative) or refers to its container ("#").
    /// </summary>
    private void CheckContainedReferenced(InstanceNode node, ConstraintRule constraint)
    {
        if (node.Value is not DomainResource { Contained.Count: > 0 } resource)
        {
            return;
        }

        var local = new HashSet<string>(StringComparer.Ordinal);
        CollectLocalReferences(resource, local);
        foreach (var contained in resource.Contained)
        {
            if (contained.Id is { } id && local.Contains("#" + id))
            {
                continue;
            }

            var fromContained = new HashSet<string>(StringComparer.Ordinal);
            CollectLocalReferences(contained, fromContained);
            if (fromContained.Contains("#"))
            {
                continue;
            }

            Report(node, constraint.Severity, IssueType.Invariant,
                $"Constraint failed: {constraint.Key}: '{constraint.Human}' (contained resource '{contained.TypeName}/{contained.Id}' is not referenced)", IssueKind.Profile, constraint.Key);
        }
    }

    private static void CollectLocalReferences(Base value, HashSet<string> found)
    {
        foreach (var (_, content) in value.EnumerateElements())
        {
            if (content is IList list)
            {
                foreach (var item in list)
                {
                    Collect(item, found);
                }
            }
            else
            {
                Collect(content, found);
            }
        }

        static void Collect(object? item, HashSet<string> found)
        {
            switch (item)
            {
                case ResourceReference { Reference: { } reference } when reference.StartsWith('#'):
                    found.Add(reference);
                    break;
                case XHtml { Value: { } html }:
                    NarrativeValidator.CollectLocalLinks(html, found);
                    return;
                case PrimitiveType { JsonValue: string text } when item is FhirUri or Canonical or FhirUrl && text.StartsWith('#'):
                    found.Add(text);
                    return;
            }

            if (item is Base child and not PrimitiveType)
            {
                CollectLocalReferences(child, found);
            }
        }
    }

    /// <summary>"#" from a contained resource means its container; "#id" must name a contained resource of the root resource.</summary>
    private static bool LocalReferenceResolves(InstanceNode node, string reference)
    {
        if (reference == "#")
        {
            return node.Scope.ContainerOfContained is not null;
        }

        var id = reference[1..];
        return node.Scope.RootResourceScope.Resource is DomainResource root && root.Contained.Any(c => c.Id == id);
    }

    private static bool ContainsKey(ConstraintRule[] constraints, string key)
    {
        foreach (var c in constraints)
        {
            if (c.Key == key)
            {
                return true;
            }
        }

        return false;
    }

    private void ReportConstraint(InstanceNode node, ConstraintRule constraint) =>
        Report(node, constraint.Severity, IssueType.Invariant, $"Constraint failed: {constraint.Key}: '{constraint.Human}'", IssueKind.Profile, constraint.Key);

    private void ReportUnknownExtension(InstanceNode node, Extension extension)
    {
        var url = extension.Url;
        if (string.IsNullOrEmpty(url))
        {
            return;
        }

        var isModifier = node.ElementName == "modifierExtension";
        if (_validator.Settings.AllowedExtensionDomains.Any(d => url.StartsWith(d, StringComparison.Ordinal)))
        {
            return;
        }

        // hl7.org extensions of other FHIR versions (R5 backports) are known to the community even when not loaded here.
        // Example-domain extensions in example content are likewise tolerated (as the HL7 reference validator does).
        var isHl7 = url.StartsWith(CoreBase, StringComparison.Ordinal) || url.StartsWith("http://hl7.org/fhir/", StringComparison.Ordinal);
        var isExample = _validator.Settings.AllowExampleUrls && AbsoluteUriHost(url) is { } host
                        && (host == "example.org" || host.EndsWith(".example.org", StringComparison.Ordinal));
        var severity = isHl7 || isExample || _validator.Settings.AllowUnknownExtensions ? IssueSeverity.Warning : IssueSeverity.Error;
        Report(node, severity, IssueType.Structure,
            isModifier
                ? $"Unknown modifier extension '{url}': a modifier extension must be understood, so the resource cannot be processed safely"
                : $"Unknown extension '{url}': its definition could not be found, so its content was not checked");
    }

    private void CheckExtensionContext(InstanceNode node, Extension extension, CompiledStructure definition)
    {
        var contexts = definition.Definition.Context;
        if (contexts.Count == 0 || node.Parent is not { } host || IsCoreContextErratum(extension, host))
        {
            return;
        }

        // The path the host was validated against decides nearly always; the other names of the host are worked out
        // only when it does not.
        if (ContextAllows(contexts, host, host.DefinitionPath is { } definitionPath ? [definitionPath] : [])
            || ContextAllows(contexts, host, HostPaths(host)))
        {
            return;
        }

        Report(node, IssueSeverity.Error, IssueType.Structure,
            $"The extension '{extension.Url}' is not allowed on {host.DefinitionPath ?? host.Value.TypeName} (allowed contexts: {string.Join(", ", contexts.Select(c => c.Expression))})");
    }

    private bool ContextAllows(List<StructureDefinition.ContextComponent> contexts, InstanceNode host, List<string> hostPaths)
    {
        var hostType = host.Value.TypeName;
        foreach (var context in contexts)
        {
            var expression = context.Expression;
            if (expression is null)
            {
                continue;
            }

            switch (context.Type)
            {
                case StructureDefinition.ExtensionContextType.Element:
                    foreach (var path in hostPaths)
                    {
                        if (ElementContextMatches(expression, path, hostType, host.Value))
                        {
                            return true;
                        }
                    }

                    break;
                case StructureDefinition.ExtensionContextType.Extension:
                    // Allowed anywhere inside an extension with that url (on it, on its value, in its sub-extensions).
                    for (var ancestor = host; ancestor is not null && ancestor.Value is not Resource; ancestor = ancestor.Parent)
                    {
                        if (ancestor.Value is Extension { Url: { } url }
                            && expression.StartsWith(url, StringComparison.Ordinal) && (expression.Length == url.Length || expression[url.Length] == '#'))
                        {
                            return true;
                        }
                    }

                    break;
                case StructureDefinition.ExtensionContextType.Fhirpath:
                    if (FhirPathContextMatches(expression, host))
                    {
                        return true;
                    }

                    break;
            }
        }

        return false;
    }

    /// <summary>
    /// R4 declares structuredefinition-fhir-type for ElementDefinition.type.code, but R4's own snapshots put it on
    /// ElementDefinition.type (and the HL7 reference validator accepts that).
    /// </summary>
    private static bool IsCoreContextErratum(Extension extension, InstanceNode host) =>
        extension.Url == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type" && host.Value is ElementDefinition.TypeRefComponent;

    /// <summary>A FHIRPath context allows the extension on the elements the expression selects from the resource.</summary>
    private static bool FhirPathContextMatches(string expression, InstanceNode host)
    {
        var compiled = StructureCompiler.CompilePath(expression);
        if (compiled is null)
        {
            return true;
        }

        try
        {
            var resourceNode = host.Scope.Node;
            return compiled(new[] { resourceNode.Poco }, host.Scope.EvaluationContext).Any(n => ReferenceEquals(n.Poco, host.Value));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // An expression the evaluator cannot run does not let us decide: do not reject the extension.
            return true;
        }
    }

    /// <summary>StructureDefinition.contextInvariant: FHIRPath rules evaluated on the element the extension is on.</summary>
    private void CheckContextInvariants(InstanceNode node, Extension extension, CompiledStructure definition)
    {
        if (node.Parent is not { } host)
        {
            return;
        }

        foreach (var invariant in definition.Definition.ContextInvariant.OfType<string>())
        {
            var compiled = StructureCompiler.CompilePath(invariant);
            if (compiled is null)
            {
                continue;
            }

            bool ok;
            try
            {
                ok = compiled.IsTrue(host.Poco, host.Scope.EvaluationContext);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Report(node, IssueSeverity.Warning, IssueType.NotSupported, $"The context invariant '{invariant}' of {extension.Url} could not be evaluated: {ex.Message}");
                continue;
            }

            if (!ok)
            {
                Report(host, IssueSeverity.Error, IssueType.Invariant,
                    $"The extension {extension.Url} is not allowed here: its context invariant '{invariant}' is not met");
            }
        }
    }

    /// <summary>
    /// The element paths an extension's host can be named by: its definition path (e.g. "Patient.address.line") and
    /// its path within each enclosing datatype ("Address.line"), as extension contexts may use either.
    /// </summary>
    private static List<string> HostPaths(InstanceNode host)
    {
        var paths = new List<string>();
        if (host.DefinitionPath is { } definitionPath)
        {
            paths.Add(definitionPath);
        }

        var names = new List<string> { host.ElementName };
        for (var ancestor = host.Parent; ancestor is not null; ancestor = ancestor.Parent)
        {
            var type = ancestor.Value.TypeName;
            var isBackbone = type.Contains('.');
            if (ancestor.Value is Resource || !isBackbone)
            {
                var relative = string.Join('.', Enumerable.Reverse(names));
                paths.Add(type + "." + relative);
                if (ancestor.Value is Resource)
                {
                    // Elements inherited from the base resources can be named through them ("DomainResource.text").
                    paths.Add("Resource." + relative);
                    if (ancestor.Value is DomainResource)
                    {
                        paths.Add("DomainResource." + relative);
                    }

                    break;
                }
            }

            names.Add(ancestor.ElementName);
        }

        return paths;
    }

    private static bool ElementContextMatches(string expression, string hostPath, string hostType, Base host)
    {
        if (expression is "Element" or "Base")
        {
            return true;
        }

        if (expression == "Resource" && host is Resource || expression == "DomainResource" && host is DomainResource)
        {
            return true;
        }

        if (expression == "BackboneElement" && hostType.Contains('.'))
        {
            return true;
        }

        // "Goal", "Goal.target", "CodeableConcept", "Quantity" (any Quantity profile), or a path of a base type.
        var normalized = hostPath.Replace("[x]", "", StringComparison.Ordinal);
        return expression == hostPath || expression == normalized || expression == hostType
               || (expression == "Quantity" && host is Quantity)
               || expression.Replace("[x]", "", StringComparison.Ordinal) == normalized;
    }

    private void CheckReference(InstanceNode node, ResourceReference reference, TypeRule typeRule)
    {
        var literal = reference.Reference;
        var targets = typeRule.TargetProfiles;
        InstanceNode? resolved = null;
        string? targetType = null;
        if (!string.IsNullOrEmpty(literal))
        {
            resolved = node.Scope.ResolveReference(literal);
            if (literal.StartsWith('#') && resolved is null)
            {
                // A local reference to nothing is ref-1's finding.
                return;
            }

            targetType = resolved?.Value.TypeName ?? ReferenceParts.Parse(literal).Type;
        }

        targetType ??= reference.Type;
        if (reference.Type is { } declared && targetType is not null && declared != targetType && !declared.Contains(':'))
        {
            Report(node, IssueSeverity.Error, IssueType.Structure, $"Reference.type '{declared}' does not match the target type '{targetType}'");
        }

        if (targets.Count == 0 || targetType is null)
        {
            return;
        }

        var profiles = _validator.TargetTypes(typeRule);
        List<(string Url, string? Type)>? sameType = null;
        foreach (var profile in profiles)
        {
            if (profile.Type is null or "Resource" or "DomainResource")
            {
                return;
            }

            if (profile.Type == targetType)
            {
                (sameType ??= []).Add(profile);
            }
        }

        if (sameType is null)
        {
            Report(node, IssueSeverity.Error, IssueType.Structure,
                $"The reference target type '{targetType}' is not allowed for {node.DefinitionPath} (allowed target types: {string.Join(", ", profiles.Select(p => p.Type).Distinct())})");
            return;
        }

        // A target in the same document can be checked against the target profiles (one of them must fit).
        if (resolved is not null)
        {
            CheckReferenceTarget(node, literal, resolved, sameType);
        }
    }

    private void CheckReferenceTarget(InstanceNode node, string? literal, InstanceNode resolved, List<(string Url, string? Type)> sameType)
    {
        if (sameType.Any(p => p.Url.StartsWith(CoreBase, StringComparison.Ordinal)))
        {
            return;
        }

        var structures = sameType.Select(p => _validator.StructureFor(p.Url)).OfType<CompiledStructure>().ToList();
        if (structures.Count > 0 && !structures.Any(s => Conforms(resolved, s)))
        {
            Report(node, IssueSeverity.Error, IssueType.Structure,
                $"The reference target {literal} does not conform to the target profile(s) {string.Join(", ", structures.Select(s => s.Url))}");
        }
    }

    private static string Describe(Base value)
    {
        var text = value switch
        {
            PrimitiveType p => $"'{p}'",
            Coding c => $"{c.System}#{c.Code}",
            CodeableConcept cc => string.Join(", ", cc.Coding.Select(c => $"{c.System}#{c.Code}")),
            _ => value.TypeName,
        };
        return text.Length > 200 ? text[..197] + "..." : text;
    }

    internal void Report(InstanceNode node, IssueSeverity severity, IssueType code, string message, IssueKind kind = IssueKind.Profile, string? ruleId = null) =>
        _session.Add(new ValidationIssue(severity, code, message, node.Path, kind) { RuleId = ruleId });

    internal void ReportAt(string expression, IssueSeverity severity, IssueType code, string message) =>
        _session.Add(new ValidationIssue(severity, code, message, expression));
}
