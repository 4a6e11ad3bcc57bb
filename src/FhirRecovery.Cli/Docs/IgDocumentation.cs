using System.Text.Json;
using FhirRecovery.Cli.Packaging;
using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Definitions;
using Hl7.Fhir.Model;

namespace FhirRecovery.Cli.Docs;

/// <summary>
/// Generates the IG's Markdown documentation from its resources (as the engine indexes them) and its example files:
/// index.md, a page per profile and extension (<c>StructureDefinition-&lt;id&gt;.md</c>), code system, value set and
/// concept map, and search-parameters.md. Everything is sorted and nothing depends on the clock, so regenerating
/// unchanged resources gives identical files.
/// </summary>
internal sealed partial class IgDocumentation
{
    private readonly ConformanceEngine _engine;
    private readonly IgSource _ig;
    private readonly List<Resource> _resources;
    private readonly Dictionary<string, Resource> _byUrl = new(StringComparer.Ordinal);
    private readonly List<ExampleFile> _examples;
    private readonly List<ExampleFile> _invalidExamples;
    private string _outputDirectory = "";

    public IgDocumentation(ConformanceEngine engine, IgSource ig)
    {
        _engine = engine;
        _ig = ig;
        _resources = engine.Definitions.Entries
            .Where(e => e.PackageId == ig.PackageId)
            .Select(engine.Definitions.Resolve)
            .OfType<Resource>()
            .DistinctBy(r => $"{r.TypeName}/{r.Id}")
            .OrderBy(r => r.TypeName, StringComparer.Ordinal)
            .ThenBy(r => r.Id, StringComparer.Ordinal)
            .ToList();
        foreach (var resource in _resources)
        {
            if (resource is IVersionableConformanceResource { Url: { } url })
            {
                _byUrl.TryAdd(url, resource);
            }
        }

        _examples = ig.ExampleFiles().Select(ExampleFile.Read).ToList();
        _invalidExamples = ig.InvalidExampleFiles().Select(ExampleFile.Read).ToList();
    }

    private IEnumerable<StructureDefinition> Profiles =>
        _resources.OfType<StructureDefinition>().Where(sd => sd.Type != "Extension" && sd.Derivation == StructureDefinition.TypeDerivationRule.Constraint);

    private IEnumerable<StructureDefinition> Extensions => _resources.OfType<StructureDefinition>().Where(sd => sd.Type == "Extension");

    /// <summary>StructureDefinitions that are neither profiles nor extensions (logical models, new types).</summary>
    private IEnumerable<StructureDefinition> OtherStructures => _resources.OfType<StructureDefinition>().Except(Profiles).Except(Extensions);

    /// <summary>Writes every page; returns how many. Generated pages of resources no longer in the IG are removed.</summary>
    public int Write(string outputDirectory)
    {
        _outputDirectory = outputDirectory;
        Directory.CreateDirectory(outputDirectory);
        var pages = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["index.md"] = IndexPage(),
            ["search-parameters.md"] = SearchParametersPage(),
        };
        foreach (var sd in _resources.OfType<StructureDefinition>())
        {
            pages[PageOf(sd)] = sd.Type == "Extension" ? ExtensionPage(sd) : ProfilePage(sd);
        }

        foreach (var cs in _resources.OfType<CodeSystem>())
        {
            pages[PageOf(cs)] = CodeSystemPage(cs);
        }

        foreach (var vs in _resources.OfType<ValueSet>())
        {
            pages[PageOf(vs)] = ValueSetPage(vs);
        }

        foreach (var map in _resources.OfType<ConceptMap>())
        {
            pages[PageOf(map)] = ConceptMapPage(map);
        }

        foreach (var stale in Directory.EnumerateFiles(outputDirectory, "*.md").Where(f => !pages.ContainsKey(Path.GetFileName(f))))
        {
            if (File.ReadLines(stale).FirstOrDefault() == Markdown.GeneratedMarker)
            {
                File.Delete(stale);
            }
        }

        foreach (var (name, text) in pages)
        {
            var path = Path.Combine(outputDirectory, name);
            // Unchanged pages are left alone, so their timestamps say when they last changed.
            if (!File.Exists(path) || File.ReadAllText(path) != text)
            {
                File.WriteAllText(path, text);
            }
        }

        return pages.Count;
    }

    private static string PageOf(Resource resource) => $"{resource.TypeName}-{resource.Id}.md";

    private static string TitleOf(Resource resource) => resource switch
    {
        StructureDefinition { Title: { Length: > 0 } title } => title,
        CodeSystem { Title: { Length: > 0 } title } => title,
        ValueSet { Title: { Length: > 0 } title } => title,
        ConceptMap { Title: { Length: > 0 } title } => title,
        Questionnaire { Title: { Length: > 0 } title } => title,
        ImplementationGuide { Title: { Length: > 0 } title } => title,
        IVersionableConformanceResource c when !string.IsNullOrWhiteSpace(c.Name) => c.Name,
        _ => resource.Id ?? resource.TypeName,
    };

    /// <summary>A link to a canonical: its page when the IG defines it, else the canonical itself.</summary>
    private string LinkTo(string? canonical)
    {
        if (string.IsNullOrEmpty(canonical))
        {
            return "";
        }

        var (url, _) = DefinitionResolver.SplitCanonical(canonical);
        if (_byUrl.TryGetValue(url, out var local) && local.TypeName is "StructureDefinition" or "CodeSystem" or "ValueSet" or "ConceptMap")
        {
            return Markdown.Link(TitleOf(local), PageOf(local));
        }

        if (url.StartsWith(DefinitionResolver.CoreStructureDefinitionBase, StringComparison.Ordinal))
        {
            return Markdown.Link(url[DefinitionResolver.CoreStructureDefinitionBase.Length..], url);
        }

        return url.StartsWith("http", StringComparison.Ordinal) ? Markdown.Link(Markdown.Code(canonical), url) : Markdown.Code(canonical);
    }

    /// <summary>A link from a page to a source file (an example), relative so it works in the repository and on a forge.</summary>
    private string LinkToFile(string file) =>
        Markdown.Link(Markdown.Code(Path.GetFileName(file)), Path.GetRelativePath(_outputDirectory, file).Replace('\\', '/'));

    private static Markdown Header(Markdown page, Resource resource, params (string Name, string? Value)[] extra)
    {
        var rows = new List<IReadOnlyList<string>>();
        if (resource is IVersionableConformanceResource c)
        {
            rows.Add(["Canonical", Markdown.Code(c.Url)]);
            rows.Add(["Id", Markdown.Code(resource.Id)]);
            rows.Add(["Name", Markdown.Cell(c.Name)]);
            rows.Add(["Version", Markdown.Cell(c.Version)]);
            rows.Add(["Status", Markdown.Cell(c.Status?.ToString().ToLowerInvariant())]);
        }

        rows.AddRange(extra.Where(e => !string.IsNullOrEmpty(e.Value)).Select(e => (IReadOnlyList<string>)[e.Name, e.Value!]));
        return page.Table(["", ""], rows);
    }

    private static string DescriptionOf(Resource resource) => resource switch
    {
        StructureDefinition sd => sd.Description ?? "",
        CodeSystem cs => cs.Description ?? "",
        ValueSet vs => vs.Description ?? "",
        ConceptMap map => map.Description ?? "",
        SearchParameter sp => sp.Description ?? "",
        Questionnaire q => q.Description ?? "",
        _ => "",
    };

    private static string? PurposeOf(Resource resource) => resource switch
    {
        StructureDefinition sd => sd.Purpose,
        CodeSystem cs => cs.Purpose,
        ValueSet vs => vs.Purpose,
        ConceptMap map => map.Purpose,
        SearchParameter sp => sp.Purpose,
        Questionnaire q => q.Purpose,
        _ => null,
    };

    /// <summary>The first sentence of a description, for index tables.</summary>
    private static string Summary(string? description)
    {
        if (string.IsNullOrWhiteSpace(description))
        {
            return "";
        }

        var text = description.ReplaceLineEndings(" ").Trim();
        var end = text.IndexOf(". ", StringComparison.Ordinal);
        return Markdown.Cell(end > 0 ? text[..(end + 1)] : text);
    }

    /// <summary>An example or invalid example of the IG, read as plain JSON (an invalid one need not parse as FHIR).</summary>
    private sealed record ExampleFile(string Path, string ResourceType, string? Id, IReadOnlyList<string> Profiles, ExpectedIssue? Expected)
    {
        public string Label => Id is null ? ResourceType : $"{ResourceType}/{Id}";

        public static ExampleFile Read(string path)
        {
            string resourceType = "?";
            string? id = null;
            var profiles = new List<string>();
            try
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(path));
                var root = document.RootElement;
                resourceType = root.TryGetProperty("resourceType", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "?";
                id = root.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
                if (root.TryGetProperty("meta", out var meta) && meta.TryGetProperty("profile", out var list) && list.ValueKind == JsonValueKind.Array)
                {
                    profiles.AddRange(list.EnumerateArray().Where(p => p.ValueKind == JsonValueKind.String).Select(p => p.GetString()!));
                }
            }
            catch (JsonException)
            {
                // An example that is not JSON is still listed (by file name); its page entry shows no type.
            }

            return new ExampleFile(path, resourceType, id, profiles, ExpectedIssue.Read(path));
        }

        /// <summary>Whether the example claims <paramref name="url"/> (ignoring a |version).</summary>
        public bool Claims(string? url) => url is not null && Profiles.Any(p => DefinitionResolver.SplitCanonical(p).Url == url);
    }

    /// <summary>issue[0] of an invalid example's <c>.outcome.json</c>: the error the example must produce.</summary>
    private sealed record ExpectedIssue(string? Severity, string? Code, string? Expression, string? Diagnostics)
    {
        public static ExpectedIssue? Read(string examplePath)
        {
            var outcomePath = System.IO.Path.ChangeExtension(examplePath, null) + ".outcome.json";
            if (!File.Exists(outcomePath))
            {
                return null;
            }

            try
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(outcomePath));
                if (!document.RootElement.TryGetProperty("issue", out var issues) || issues.ValueKind != JsonValueKind.Array || issues.GetArrayLength() == 0)
                {
                    return null;
                }

                var issue = issues[0];
                string? Text(string name) => issue.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                var expression = issue.TryGetProperty("expression", out var e) && e.ValueKind == JsonValueKind.Array && e.GetArrayLength() > 0
                    ? e[0].GetString()
                    : null;
                return new ExpectedIssue(Text("severity"), Text("code"), expression, Text("diagnostics"));
            }
            catch (JsonException)
            {
                return null;
            }
        }

        public string Describe() =>
            $"{Severity ?? "error"} {Markdown.Code(Code)}{(Expression is null ? "" : " at " + Markdown.Code(Expression))}"
            + (Diagnostics is null ? "" : $": {Markdown.Cell(Diagnostics)}");
    }
}
