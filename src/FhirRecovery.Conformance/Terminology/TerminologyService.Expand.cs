using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Terminology;

public sealed partial class TerminologyService
{
    private const string UnclosedExtension = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed";

    /// <summary>
    /// ValueSet $expand of a value set known to the resolver (<c>url</c> or <c>url|version</c>). Throws
    /// <see cref="TerminologyException"/>: not-found (unknown value set, or one it imports, or a code system without content),
    /// too-costly (more than <see cref="TerminologyOptions.MaxExpansionSize"/> codes, or a grammar-based system), invalid
    /// (import cycle, bad filter).
    /// </summary>
    public ValueSet Expand(string canonical, ExpansionOptions? options = null)
    {
        var cached = GetValueSet(canonical);
        return BuildExpansion(cached, options ?? ExpansionOptions.Default);
    }

    /// <summary>$expand of a value set given as a resource (it may import value sets known to the resolver).</summary>
    public ValueSet Expand(ValueSet valueSet, ExpansionOptions? options = null) =>
        BuildExpansion(GetValueSet(valueSet), options ?? ExpansionOptions.Default);

    private ValueSet BuildExpansion(CachedValueSet cached, ExpansionOptions options)
    {
        if (cached.Set is not { } set)
        {
            throw cached.Error!;
        }

        var source = cached.ValueSet!;
        if (options.Offset < 0 || options.Count < 0)
        {
            throw TerminologyException.Invalid("offset and count must not be negative.");
        }

        var unclosed = CheckEnumerable(set, source);
        var members = set.YesMembers.Where(m =>
            !(options.ActiveOnly && m.Inactive) && !(options.ExcludeNotForUI && m.Abstract)).ToList();
        if (!string.IsNullOrWhiteSpace(options.Filter))
        {
            var matcher = new TextFilter(options.Filter);
            members = members.Where(m => matcher.Matches(m)).ToList();
        }

        var total = members.Count;
        var available = Math.Max(0, total - options.Offset);
        var take = options.Count ?? available;
        if (Math.Min(take, available) > Options.MaxExpansionSize)
        {
            throw TerminologyException.TooCostly(
                $"The expansion of value set '{ValueSetLabel(source)}' has {total} codes, more than the limit of {Options.MaxExpansionSize}: use count and offset to page, or a filter.");
        }

        var page = members.Skip(options.Offset).Take(take).ToList();
        var nested = !options.ExcludeNested && options.Offset == 0 && options.Count is null && string.IsNullOrWhiteSpace(options.Filter);

        var result = (ValueSet)source.DeepCopy();
        result.Text = null;
        var expansion = new ValueSet.ExpansionComponent
        {
            Identifier = $"urn:uuid:{Guid.NewGuid()}",
            TimestampElement = new FhirDateTime(DateTimeOffset.UtcNow),
            Total = total,
            Offset = options.Offset != 0 || options.Count is not null ? options.Offset : null,
        };

        AddParameters(expansion, options, set);
        if (unclosed)
        {
            expansion.Extension.Add(new Extension(UnclosedExtension, new FhirBoolean(true)));
        }

        expansion.Contains = nested ? Nest(page, options) : page.Select(m => ToContains(m, options)).ToList();
        result.Expansion = expansion;
        return result;
    }

    /// <summary>
    /// Fails when the value set has codes that cannot be enumerated; returns true when it is only "unclosed" (code systems with
    /// fragment/example content: the known codes are listed, and the expansion is marked as not closed).
    /// </summary>
    private bool CheckEnumerable(MembershipSet set, ValueSet source)
    {
        if (set.Other == Tv.Maybe)
        {
            throw TerminologyException.NotFound(set.OtherReason ?? $"Value set '{ValueSetLabel(source)}' imports a value set that is not known.");
        }

        var unclosed = false;
        foreach (var part in set.Systems.Values)
        {
            var open = part.IfValid != Tv.No || part.IfInvalid != Tv.No;
            if (!open)
            {
                continue;
            }

            switch (part.Info?.Kind)
            {
                case CodeSystemKind.Partial:
                    unclosed = true;
                    break;
                case CodeSystemKind.Grammar:
                    throw TerminologyException.TooCostly(
                        $"Value set '{ValueSetLabel(source)}' includes codes of {part.Info.Name} ({part.System}), which is defined by a grammar and cannot be enumerated.");
                default:
                    throw part.Info?.Resource is null && !WellKnownExternalSystems.ContainsKey(part.System)
                        ? TerminologyException.NotFound(part.Reason ?? $"Code system '{part.System}' is not known.")
                        : TerminologyException.NotSupported($"Value set '{ValueSetLabel(source)}' cannot be expanded locally. {part.Reason}");
            }
        }

        return unclosed;
    }

    private static void AddParameters(ValueSet.ExpansionComponent expansion, ExpansionOptions options, MembershipSet set)
    {
        void Add(string name, DataType value) => expansion.Parameter.Add(new ValueSet.ParameterComponent { Name = name, Value = value });

        if (!string.IsNullOrWhiteSpace(options.Filter))
        {
            Add("filter", new FhirString(options.Filter));
        }

        if (options.Offset != 0)
        {
            Add("offset", new Integer(options.Offset));
        }

        if (options.Count is { } count)
        {
            Add("count", new Integer(count));
        }

        if (options.ActiveOnly)
        {
            Add("activeOnly", new FhirBoolean(true));
        }

        if (options.ExcludeNotForUI)
        {
            Add("excludeNotForUI", new FhirBoolean(true));
        }

        if (options.IncludeDesignations)
        {
            Add("includeDesignations", new FhirBoolean(true));
        }

        if (options.DisplayLanguage is { } language)
        {
            Add("displayLanguage", new Code(language));
        }

        if (!options.ExcludeNested)
        {
            Add("excludeNested", new FhirBoolean(false));
        }

        foreach (var used in set.UsedCodeSystems)
        {
            Add("used-codesystem", new FhirUri(used));
        }

        foreach (var warning in set.Warnings)
        {
            Add("warning", new FhirString(warning));
        }
    }

    private ValueSet.ContainsComponent ToContains(Member member, ExpansionOptions options)
    {
        var contains = new ValueSet.ContainsComponent
        {
            System = member.System,
            Version = member.Version,
            Code = member.Code,
            Display = member.Display,
        };
        if (member.Abstract)
        {
            contains.Abstract = true;
        }

        if (member.Inactive)
        {
            contains.Inactive = true;
        }

        if (options.DisplayLanguage is { } language && member.Concept is { } concept)
        {
            var info = ResolveCodeSystem(member.System, null, null);
            var inLanguage = DisplayIn(concept, language, info.Resource?.Language);
            if (inLanguage != concept.Display)
            {
                contains.Display = inLanguage;
            }
            else if (member.ValueSetDesignations.FirstOrDefault(d => LanguageMatches(d.Language, language)) is { Value: { } vsDisplay })
            {
                contains.Display = vsDisplay;
            }
        }

        if (options.IncludeDesignations)
        {
            foreach (var d in member.Concept?.Designations ?? [])
            {
                contains.Designation.Add(new ValueSet.DesignationComponent { Language = d.Language, Use = d.Use, Value = d.Value });
            }

            foreach (var d in member.ValueSetDesignations)
            {
                if (!contains.Designation.Any(x => x.Language == d.Language && x.Value == d.Value))
                {
                    contains.Designation.Add((ValueSet.DesignationComponent)d.DeepCopy());
                }
            }
        }

        return contains;
    }

    /// <summary>Nests each code under its first parent that is also in the expansion; codes without one stay at the top.</summary>
    private List<ValueSet.ContainsComponent> Nest(List<Member> members, ExpansionOptions options)
    {
        var byConcept = new Dictionary<ConceptInfo, (Member Member, ValueSet.ContainsComponent Contains)>(ReferenceEqualityComparer.Instance);
        var components = new List<(Member Member, ValueSet.ContainsComponent Contains)>(members.Count);
        foreach (var m in members)
        {
            var c = (m, ToContains(m, options));
            components.Add(c);
            if (m.Concept is not null)
            {
                byConcept.TryAdd(m.Concept, c);
            }
        }

        var chosenParent = new Dictionary<ConceptInfo, ConceptInfo>(ReferenceEqualityComparer.Instance);
        var roots = new List<ValueSet.ContainsComponent>();
        foreach (var (member, contains) in components)
        {
            var concept = member.Concept;
            var parent = concept?.Parents.FirstOrDefault(p => byConcept.ContainsKey(p) && !WouldCycle(chosenParent, p, concept!));
            if (parent is null)
            {
                roots.Add(contains);
                continue;
            }

            chosenParent[concept!] = parent;
            byConcept[parent].Contains.Contains.Add(contains);
        }

        return roots;
    }

    private static bool WouldCycle(Dictionary<ConceptInfo, ConceptInfo> chosenParent, ConceptInfo parent, ConceptInfo child)
    {
        for (var p = parent; p is not null; p = chosenParent.GetValueOrDefault(p))
        {
            if (ReferenceEquals(p, child))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The $expand text filter: the text starts the code, or each of its words starts a word of the display or a designation.</summary>
    private sealed class TextFilter(string filter)
    {
        private readonly string _text = filter.Trim();
        private readonly string[] _words = Words(filter);

        public bool Matches(Member m)
        {
            if (m.Code.StartsWith(_text, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            return Texts(m).Any(t =>
            {
                var words = Words(t);
                return _words.All(w => words.Any(x => x.StartsWith(w, StringComparison.OrdinalIgnoreCase)));
            });
        }

        private static IEnumerable<string> Texts(Member m)
        {
            if (m.Display is not null)
            {
                yield return m.Display;
            }

            if (m.Concept is { } c)
            {
                if (c.Display is not null && c.Display != m.Display)
                {
                    yield return c.Display;
                }

                foreach (var d in c.Designations)
                {
                    if (d.Value is not null)
                    {
                        yield return d.Value;
                    }
                }
            }

            foreach (var d in m.ValueSetDesignations)
            {
                if (d.Value is not null)
                {
                    yield return d.Value;
                }
            }
        }

        private static string[] Words(string s) =>
            s.Split(s.Where(ch => !char.IsLetterOrDigit(ch)).Distinct().ToArray(), StringSplitOptions.RemoveEmptyEntries);
    }
}
