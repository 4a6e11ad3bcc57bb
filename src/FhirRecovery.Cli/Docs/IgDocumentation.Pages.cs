using System.Text.Json;
using FhirRecovery.Conformance.Definitions;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Cli.Docs;

internal sealed partial class IgDocumentation
{
    private static readonly JsonSerializerOptions ValueJson = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);

    private string IndexPage()
    {
        var guide = _resources.OfType<ImplementationGuide>().FirstOrDefault();
        var page = new Markdown(guide?.Title ?? _ig.PackageId);
        page.Paragraph(guide?.Description);
        page.Table(["", ""],
        [
            ["Package", Markdown.Code($"{_ig.PackageId}#{_ig.Version}")],
            ["Canonical", Markdown.Code(guide?.Url)],
            ["FHIR version", Markdown.Cell(string.Join(", ", guide?.FhirVersionElement.Select(v => v.JsonValue as string) ?? []))],
            ["Package file", $"{Markdown.Code($"{_ig.PackageId}-{_ig.Version}.tgz")}, written by {Markdown.Code("fhir-recovery ig pack")}"],
        ]);

        page.Heading("Profiles");
        page.Table(["Profile", "Type", "Purpose"],
            Profiles.Select(sd => (IReadOnlyList<string>)[Markdown.Link(TitleOf(sd), PageOf(sd)), Markdown.Code(sd.Type), Summary(sd.Description)]));

        page.Heading("Extensions");
        page.Table(["Extension", "Context", "Value", "Purpose"],
            Extensions.Select(sd => (IReadOnlyList<string>)[
                Markdown.Link(TitleOf(sd), PageOf(sd)),
                Markdown.Cell(string.Join(", ", sd.Context.Select(c => c.Expression))),
                Markdown.Cell(ExtensionValueTypes(sd)),
                Summary(sd.Description),
            ]));

        if (OtherStructures.Any())
        {
            page.Heading("Other structure definitions");
            page.Table(["Definition", "Kind", "Purpose"],
                OtherStructures.Select(sd => (IReadOnlyList<string>)[Markdown.Link(TitleOf(sd), PageOf(sd)), Markdown.Cell(sd.KindElement?.JsonValue as string), Summary(sd.Description)]));
        }

        page.Heading("Code systems");
        page.Table(["Code system", "Concepts", "Purpose"],
            _resources.OfType<CodeSystem>().Select(cs => (IReadOnlyList<string>)[Markdown.Link(TitleOf(cs), PageOf(cs)), Flatten(cs.Concept).Count().ToString(), Summary(cs.Description)]));

        page.Heading("Value sets");
        page.Table(["Value set", "Purpose"],
            _resources.OfType<ValueSet>().Select(vs => (IReadOnlyList<string>)[Markdown.Link(TitleOf(vs), PageOf(vs)), Summary(vs.Description)]));

        page.Heading("Concept maps");
        page.Table(["Concept map", "Source", "Target", "Purpose"],
            _resources.OfType<ConceptMap>().Select(map => (IReadOnlyList<string>)[
                Markdown.Link(TitleOf(map), PageOf(map)), LinkTo(ScopeOf(map.Source)), LinkTo(ScopeOf(map.Target)), Summary(map.Description),
            ]));

        page.Heading("Search parameters");
        page.Paragraph($"{SearchParameters.Count()} search parameters; see {Markdown.Link("search parameters", "search-parameters.md")}.");
        page.Table(["Code", "Resource", "Type", "Description"],
            SearchParameters.Select(sp => (IReadOnlyList<string>)[Markdown.Code(sp.Code), Markdown.Cell(BasesOf(sp)), Markdown.Cell(sp.TypeElement?.JsonValue as string), Summary(sp.Description)]));

        var questionnaires = _resources.OfType<Questionnaire>().ToList();
        if (questionnaires.Count > 0)
        {
            page.Heading("Questionnaires");
            page.Table(["Questionnaire", "Canonical", "Purpose"],
                questionnaires.Select(q => (IReadOnlyList<string>)[Markdown.Cell(TitleOf(q)), Markdown.Code(q.Url), Summary(q.Description)]));
        }

        page.Heading("Examples");
        page.Table(["Example", "Resource", "Profile"],
            _examples.Select(e => (IReadOnlyList<string>)[LinkToFile(e.Path), Markdown.Code(e.Label), string.Join(", ", e.Profiles.Select(LinkTo))]));

        page.Heading("Invalid examples");
        page.Paragraph("Each breaks one rule; validating it must produce the error shown (issue[0] of its .outcome.json).");
        page.Table(["Example", "Profile", "Expected error"],
            _invalidExamples.Select(e => (IReadOnlyList<string>)[LinkToFile(e.Path), string.Join(", ", e.Profiles.Select(LinkTo)), e.Expected?.Describe() ?? "(no .outcome.json)"]));
        return page.ToString();
    }

    private IEnumerable<SearchParameter> SearchParameters =>
        _resources.OfType<SearchParameter>().OrderBy(sp => BasesOf(sp), StringComparer.Ordinal).ThenBy(sp => sp.Code, StringComparer.Ordinal);

    private static string BasesOf(SearchParameter sp) => string.Join(", ", sp.BaseElement.Select(b => b.JsonValue as string));

    private static string? ScopeOf(DataType? scope) => (scope as Canonical)?.Value ?? (scope as FhirUri)?.Value;

    private string ProfilePage(StructureDefinition sd)
    {
        var page = new Markdown($"{TitleOf(sd)} ({sd.Id})");
        Header(page, sd,
            ("Type", Markdown.Code(sd.Type)),
            ("Base", LinkTo(sd.BaseDefinition)),
            ("Kind", Markdown.Cell(sd.KindElement?.JsonValue as string)));

        page.Heading("Purpose");
        page.Paragraph(sd.Description);
        page.Paragraph(sd.Purpose);

        KeyElements(page, sd);
        Bindings(page, sd);
        Invariants(page, sd);

        var extensions = Differential(sd).Where(e => e.Path?.EndsWith(".extension", StringComparison.Ordinal) == true || e.Path?.EndsWith(".modifierExtension", StringComparison.Ordinal) == true)
            .SelectMany(e => e.Type.SelectMany(t => t.Profile).Select(p => (Element: e, Profile: p)))
            .ToList();
        page.Heading("Extensions used");
        if (extensions.Count == 0)
        {
            page.Paragraph("None.");
        }
        else
        {
            page.Table(["Element", "Extension", "Card.", "Meaning"],
                extensions.Select(x => (IReadOnlyList<string>)[Markdown.Code(x.Element.ElementId ?? x.Element.Path), LinkTo(x.Profile), Cardinality(sd, x.Element), Markdown.Cell(x.Element.Short)]));
        }

        page.Heading("Search parameters");
        var searchParameters = SearchParameters.Where(sp => sp.BaseElement.Any(b => b.JsonValue as string == sd.Type)).ToList();
        if (searchParameters.Count == 0)
        {
            page.Paragraph($"The IG defines none on {sd.Type}; the core {sd.Type} search parameters apply.");
        }
        else
        {
            page.Paragraph($"Defined by this IG on {sd.Type}, besides the core {sd.Type} search parameters:");
            page.Table(["Code", "Type", "Expression", "Description"],
                searchParameters.Select(sp => (IReadOnlyList<string>)[Markdown.Code(sp.Code), Markdown.Cell(sp.TypeElement?.JsonValue as string), Markdown.Code(sp.Expression), Markdown.Cell(sp.Description)]));
        }

        Examples(page, sd);
        return page.ToString();
    }

    private string ExtensionPage(StructureDefinition sd)
    {
        var page = new Markdown($"Extension: {TitleOf(sd)} ({sd.Id})");
        Header(page, sd,
            ("Context", Markdown.Cell(string.Join(", ", sd.Context.Select(c => $"{c.Type?.ToString().ToLowerInvariant()}: {c.Expression}")))),
            ("Value", Markdown.Cell(ExtensionValueTypes(sd))));

        page.Heading("Purpose");
        page.Paragraph(sd.Description);
        page.Paragraph(sd.Purpose);

        var parts = Differential(sd)
            .Where(e => e.Path == "Extension.extension" && e.SliceName is not null)
            .ToList();
        if (parts.Count > 0)
        {
            page.Heading("Parts (sub-extensions)");
            page.Table(["Part", "Card.", "Value", "Meaning"],
                parts.Select(part =>
                {
                    var value = Differential(sd).FirstOrDefault(e => e.ElementId == $"{part.ElementId}.value[x]");
                    return (IReadOnlyList<string>)[Markdown.Code(part.SliceName), Cardinality(sd, part), value is null ? "" : TypesOf(value), Markdown.Cell(part.Short ?? part.Definition)];
                }));
        }

        KeyElements(page, sd);
        Bindings(page, sd);
        Invariants(page, sd);

        var users = Profiles.Concat(Extensions)
            .Where(p => Differential(p).Any(e => e.Type.Any(t => t.Profile.Any(x => DefinitionResolver.SplitCanonical(x ?? "").Url == sd.Url))))
            .ToList();
        page.Heading("Used by");
        page.Paragraph(users.Count == 0 ? "No profile of this IG uses it." : string.Join(", ", users.Select(u => Markdown.Link(TitleOf(u), PageOf(u)))));
        Examples(page, sd);
        return page.ToString();
    }

    private static List<ElementDefinition> Differential(StructureDefinition sd) => sd.Differential?.Element ?? [];

    private void KeyElements(Markdown page, StructureDefinition sd)
    {
        // The root element only restates the type; what the profile changes is below it.
        var elements = Differential(sd).Where(e => e.Path?.Contains('.') == true).ToList();
        page.Heading("Key elements");
        if (elements.Count == 0)
        {
            page.Paragraph("The profile changes no element.");
            return;
        }

        page.Paragraph("The elements this definition constrains (its differential), with the cardinality that results.");
        page.Table(["Element", "Card.", "Must support", "Type", "Fixed / pattern", "Meaning"],
            elements.Select(e => (IReadOnlyList<string>)[
                Markdown.Code(e.ElementId ?? e.Path),
                Cardinality(sd, e),
                e.MustSupport == true ? "yes" : "",
                TypesOf(e),
                FixedOrPattern(e),
                Markdown.Cell(e.Short),
            ]));

        var sliced = elements.Where(e => e.Slicing is not null).ToList();
        if (sliced.Count == 0)
        {
            return;
        }

        page.Heading("Slicing", 3);
        foreach (var element in sliced)
        {
            var slicing = element.Slicing!;
            var discriminators = string.Join(", ", slicing.Discriminator.Select(d => $"{d.Type?.ToString().ToLowerInvariant()} {Markdown.Code(d.Path)}"));
            page.Line($"**{Markdown.Code(element.ElementId ?? element.Path)}**: discriminator {discriminators}; "
                      + $"rules {Markdown.Code(slicing.Rules?.ToString().ToLowerInvariant())}{(slicing.Ordered == true ? ", ordered" : "")}."
                      + (string.IsNullOrWhiteSpace(slicing.Description) ? "" : " " + Markdown.Text(slicing.Description)));
            page.Line();
            var slices = elements.Where(e => e.Path == element.Path && e.SliceName is not null && e.ElementId?.StartsWith((element.ElementId ?? element.Path) + ":", StringComparison.Ordinal) == true
                                             && !e.SliceName.Contains('/')).ToList();
            if (slices.Count > 0)
            {
                page.Table(["Slice", "Card.", "Type", "Fixed / pattern", "Meaning"],
                    slices.Select(s => (IReadOnlyList<string>)[Markdown.Code(s.SliceName), Cardinality(sd, s), TypesOf(s), FixedOrPattern(s), Markdown.Cell(s.Short)]));
            }
        }
    }

    private void Bindings(Markdown page, StructureDefinition sd)
    {
        var bound = Differential(sd).Where(e => e.Binding is not null).ToList();
        page.Heading("Bindings");
        if (bound.Count == 0)
        {
            page.Paragraph("No binding is added or changed.");
            return;
        }

        page.Table(["Element", "Strength", "Value set", "Description"],
            bound.Select(e => (IReadOnlyList<string>)[
                Markdown.Code(e.ElementId ?? e.Path),
                Markdown.Cell(e.Binding!.Strength?.ToString().ToLowerInvariant()),
                LinkTo(e.Binding.ValueSet),
                Markdown.Cell(e.Binding.Description),
            ]));
    }

    private static void Invariants(Markdown page, StructureDefinition sd)
    {
        var constraints = Differential(sd).SelectMany(e => e.Constraint.Select(c => (Element: e, Constraint: c))).ToList();
        page.Heading("Invariants");
        if (constraints.Count == 0)
        {
            page.Paragraph("None added (the base definition's invariants apply).");
            return;
        }

        page.Table(["Key", "On", "Severity", "Rule", "Expression"],
            constraints.Select(x => (IReadOnlyList<string>)[
                Markdown.Code(x.Constraint.Key),
                Markdown.Code(x.Element.ElementId ?? x.Element.Path),
                Markdown.Cell(x.Constraint.Severity?.ToString().ToLowerInvariant()),
                Markdown.Cell(x.Constraint.Human),
                Markdown.Code(x.Constraint.Expression),
            ]));
    }

    private void Examples(Markdown page, StructureDefinition sd)
    {
        var valid = _examples.Where(e => e.Claims(sd.Url)).ToList();
        var shipped = _resources.OfType<Questionnaire>().Where(q => q.Meta?.Profile.Any(p => DefinitionResolver.SplitCanonical(p ?? "").Url == sd.Url) == true).ToList();
        var invalid = _invalidExamples.Where(e => e.Claims(sd.Url)).ToList();
        page.Heading("Examples");
        if (valid.Count + shipped.Count + invalid.Count == 0)
        {
            page.Paragraph("No example claims this definition in meta.profile.");
            return;
        }

        if (valid.Count > 0)
        {
            page.Paragraph("Valid (validate with no error):");
            page.Table(["Example", "Resource"], valid.Select(e => (IReadOnlyList<string>)[LinkToFile(e.Path), Markdown.Code(e.Label)]));
        }

        if (shipped.Count > 0)
        {
            page.Paragraph("Shipped with the guide:");
            page.Table(["Resource", "Canonical"], shipped.Select(q => (IReadOnlyList<string>)[Markdown.Cell(TitleOf(q)), Markdown.Code(q.Url)]));
        }

        if (invalid.Count > 0)
        {
            page.Paragraph("Invalid (each must fail with the error shown):");
            page.Table(["Example", "Expected error"], invalid.Select(e => (IReadOnlyList<string>)[LinkToFile(e.Path), e.Expected?.Describe() ?? "(no .outcome.json)"]));
        }
    }

    private string Cardinality(StructureDefinition sd, ElementDefinition differential)
    {
        var snapshot = SnapshotOf(sd)?.FirstOrDefault(e => e.ElementId == differential.ElementId);
        var min = snapshot?.Min ?? differential.Min;
        var max = snapshot?.Max ?? differential.Max;
        return min is null && max is null ? "" : $"{min?.ToString() ?? "?"}..{max ?? "?"}";
    }

    private List<ElementDefinition>? SnapshotOf(StructureDefinition sd)
    {
        try
        {
            return sd.Url is null ? null : _engine.Definitions.FindStructureDefinition(sd.Url)?.Snapshot?.Element;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Without a snapshot the page still shows the differential's own cardinalities.
            return null;
        }
    }

    private string TypesOf(ElementDefinition element) =>
        string.Join(", ", element.Type.Select(t =>
        {
            var profiles = t.Profile.Select(LinkTo).ToList();
            var targets = t.TargetProfile.Select(LinkTo).ToList();
            var text = Markdown.Code(t.Code);
            if (profiles.Count > 0)
            {
                text += $" ({string.Join(", ", profiles)})";
            }

            if (targets.Count > 0)
            {
                text += $" → {string.Join(" \\| ", targets)}";
            }

            return text;
        }));

    private static string ExtensionValueTypes(StructureDefinition sd)
    {
        var value = sd.Differential?.Element.FirstOrDefault(e => e.Path == "Extension.value[x]");
        return value switch
        {
            { Max: "0" } => "complex (parts)",
            { Type.Count: > 0 } => string.Join(", ", value.Type.Select(t => t.Code)),
            _ => "",
        };
    }

    private static string FixedOrPattern(ElementDefinition element) =>
        element.Fixed is { } fixedValue ? "fixed " + RenderValue(fixedValue)
        : element.Pattern is { } pattern ? "pattern " + RenderValue(pattern)
        : "";

    private static string RenderValue(DataType value) => value switch
    {
        Coding coding => Markdown.Code(CodingText(coding)),
        CodeableConcept concept => string.Join(" + ", concept.Coding.Select(c => Markdown.Code(CodingText(c)))
            .Concat(concept.Text is null ? [] : [Markdown.Code(concept.Text)])),
        PrimitiveType primitive => Markdown.Code(primitive.JsonValue switch
        {
            bool b => b ? "true" : "false",
            null => "",
            var other => Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture),
        }),
        _ => Markdown.Code(JsonSerializer.Serialize(value, value.GetType(), ValueJson)),
    };

    private static string CodingText(Coding coding) =>
        $"{coding.System}{(coding.Code is null ? "" : "#" + coding.Code)}{(coding.Display is null ? "" : $" \"{coding.Display}\"")}";

    private static IEnumerable<(CodeSystem.ConceptDefinitionComponent Concept, int Depth)> Flatten(IEnumerable<CodeSystem.ConceptDefinitionComponent> concepts, int depth = 0)
    {
        foreach (var concept in concepts)
        {
            yield return (concept, depth);
            foreach (var child in Flatten(concept.Concept, depth + 1))
            {
                yield return child;
            }
        }
    }

    private string CodeSystemPage(CodeSystem cs)
    {
        var page = new Markdown($"Code system: {TitleOf(cs)} ({cs.Id})");
        Header(page, cs,
            ("Content", Markdown.Cell(cs.ContentElement?.JsonValue as string)),
            ("Case sensitive", cs.CaseSensitive?.ToString().ToLowerInvariant()),
            ("Hierarchy", Markdown.Cell(cs.HierarchyMeaningElement?.JsonValue as string)),
            ("All codes", LinkTo(cs.ValueSet)));
        page.Heading("Purpose");
        page.Paragraph(cs.Description);
        page.Paragraph(cs.Purpose);
        if (!string.IsNullOrWhiteSpace(cs.Copyright))
        {
            page.Heading("Copyright");
            page.Paragraph(cs.Copyright);
        }

        var concepts = Flatten(cs.Concept).ToList();
        page.Heading($"Concepts ({concepts.Count})");
        foreach (var (concept, depth) in concepts)
        {
            var notSelectable = concept.Property.Any(p => p.Code == "notSelectable" && p.Value is FhirBoolean { Value: true }) ? " (abstract)" : "";
            var definition = string.IsNullOrWhiteSpace(concept.Definition) ? "" : $": {Markdown.Text(concept.Definition.ReplaceLineEndings(" "))}";
            page.Line($"{new string(' ', depth * 2)}- {Markdown.Code(concept.Code)} **{Markdown.Text(concept.Display)}**{notSelectable}{definition}");
        }

        page.Line();
        var valueSets = _resources.OfType<ValueSet>()
            .Where(vs => vs.Compose?.Include.Concat(vs.Compose.Exclude).Any(i => i.System == cs.Url) == true)
            .ToList();
        page.Heading("Value sets drawing on it");
        page.Paragraph(valueSets.Count == 0 ? "None in this IG." : string.Join(", ", valueSets.Select(vs => Markdown.Link(TitleOf(vs), PageOf(vs)))));
        return page.ToString();
    }

    private string ValueSetPage(ValueSet vs)
    {
        var page = new Markdown($"Value set: {TitleOf(vs)} ({vs.Id})");
        Header(page, vs);
        page.Heading("Purpose");
        page.Paragraph(vs.Description);
        page.Paragraph(vs.Purpose);

        page.Heading("Definition");
        if (vs.Compose is null)
        {
            page.Paragraph("No compose: the value set is defined by its expansion only.");
        }
        else
        {
            foreach (var (label, rules) in new[] { ("Include", vs.Compose.Include), ("Exclude", vs.Compose.Exclude) })
            {
                foreach (var rule in rules)
                {
                    page.Line($"- {label} {ComposeRule(rule)}");
                }
            }

            page.Line();
        }

        page.Heading("Expansion");
        var local = vs.Compose?.Include.All(i => i.System is null || _byUrl.ContainsKey(i.System)) == true;
        if (!local)
        {
            page.Paragraph("Not expanded here: it draws on code systems outside this IG (e.g. SNOMED CT), which a terminology server expands.");
            return page.ToString();
        }

        ValueSet expanded;
        try
        {
            expanded = _engine.Terminology.Expand(vs);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            page.Paragraph($"Could not be expanded: {ex.Message}");
            return page.ToString();
        }

        var contains = FlattenExpansion(expanded.Expansion?.Contains ?? []).ToList();
        page.Paragraph($"{contains.Count(c => c.Entry.Code is not null)} codes.");
        page.Table(["Code", "Display", "System"],
            contains.Select(c => (IReadOnlyList<string>)[
                new string('\u00a0', c.Depth * 2) + Markdown.Code(c.Entry.Code) + (c.Entry.Abstract == true ? " (abstract)" : ""),
                Markdown.Cell(c.Entry.Display),
                LinkTo(c.Entry.System),
            ]));
        return page.ToString();
    }

    private string ComposeRule(ValueSet.ConceptSetComponent rule)
    {
        var parts = new List<string>();
        if (rule.System is not null)
        {
            parts.Add($"codes from {LinkTo(rule.System)}{(rule.Version is null ? "" : $" version {Markdown.Code(rule.Version)}")}");
        }

        if (rule.Concept.Count > 0)
        {
            parts.Add("only " + string.Join(", ", rule.Concept.Select(c => $"{Markdown.Code(c.Code)}{(c.Display is null ? "" : $" ({Markdown.Text(c.Display)})")}")));
        }

        if (rule.Filter.Count > 0)
        {
            parts.Add("where " + string.Join(" and ", rule.Filter.Select(f => $"{Markdown.Code(f.Property)} {f.OpElement?.JsonValue as string} {Markdown.Code(f.Value)}")));
        }

        if (rule.ValueSetElement.Count > 0)
        {
            parts.Add("in " + string.Join(" and ", rule.ValueSetElement.Select(v => LinkTo(v.Value))));
        }

        return string.Join(", ", parts);
    }

    private static IEnumerable<(ValueSet.ContainsComponent Entry, int Depth)> FlattenExpansion(IEnumerable<ValueSet.ContainsComponent> contains, int depth = 0)
    {
        foreach (var entry in contains)
        {
            yield return (entry, depth);
            foreach (var child in FlattenExpansion(entry.Contains, depth + 1))
            {
                yield return child;
            }
        }
    }

    private string ConceptMapPage(ConceptMap map)
    {
        var page = new Markdown($"Concept map: {TitleOf(map)} ({map.Id})");
        Header(page, map, ("Source", LinkTo(ScopeOf(map.Source))), ("Target", LinkTo(ScopeOf(map.Target))));
        page.Heading("Purpose");
        page.Paragraph(map.Description);
        page.Paragraph(map.Purpose);
        foreach (var group in map.Group)
        {
            page.Heading($"From {group.Source} to {group.Target}", 3);
            page.Table(["Source code", "Relationship", "Target code", "Comment"],
                group.Element.SelectMany(e => e.Target.Count == 0
                    ? [(IReadOnlyList<string>)[Markdown.Code(e.Code) + " " + Markdown.Cell(e.Display), "(no target)", "", ""]]
                    : e.Target.Select(t => (IReadOnlyList<string>)[
                        $"{Markdown.Code(e.Code)} {Markdown.Cell(e.Display)}",
                        Markdown.Cell(t.EquivalenceElement?.JsonValue as string),
                        $"{Markdown.Code(t.Code)} {Markdown.Cell(t.Display)}",
                        Markdown.Cell(t.Comment),
                    ])));
        }

        return page.ToString();
    }

    private string SearchParametersPage()
    {
        var page = new Markdown("Search parameters");
        page.Paragraph("The search parameters this IG defines, besides the core ones of each resource type.");
        foreach (var group in SearchParameters.GroupBy(BasesOf))
        {
            page.Heading(group.Key);
            page.Table(["Code", "Type", "Expression", "Canonical", "Description"],
                group.Select(sp => (IReadOnlyList<string>)[
                    Markdown.Code(sp.Code),
                    Markdown.Cell(sp.TypeElement?.JsonValue as string),
                    Markdown.Code(sp.Expression),
                    Markdown.Code(sp.Url),
                    Markdown.Cell(sp.Description),
                ]));
        }

        return page.ToString();
    }
}
