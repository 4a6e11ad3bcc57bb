using System.Text.Json;

namespace FhirRecovery.Cli.Tests;

public class IgDocsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private CliResult Docs(string output) => CliRunner.Run(_temp.Path, "ig", "docs", "--source", TestPaths.Profiles, "--output", output);

    private static IEnumerable<JsonElement> StructureDefinitions() =>
        Directory.EnumerateFiles(TestPaths.Profiles, "StructureDefinition-*.json")
            .Select(f => JsonDocument.Parse(File.ReadAllBytes(f)).RootElement);

    [Fact]
    public void Docs_writes_a_page_for_every_profile_and_extension_linked_from_the_index()
    {
        var result = Docs("docs");

        Assert.True(result.ExitCode == 0, result.ToString());
        var index = File.ReadAllText(_temp.Combine("docs", "index.md"));
        foreach (var sd in StructureDefinitions())
        {
            var page = $"StructureDefinition-{sd.GetProperty("id").GetString()}.md";
            Assert.True(File.Exists(_temp.Combine("docs", page)), $"{page} is missing");
            Assert.Contains($"({page})", index);
        }
    }

    [Fact]
    public void Docs_profile_pages_show_purpose_elements_bindings_invariants_and_examples()
    {
        Docs("docs");

        foreach (var sd in StructureDefinitions().Where(sd => sd.GetProperty("type").GetString() != "Extension"))
        {
            var text = File.ReadAllText(_temp.Combine("docs", $"StructureDefinition-{sd.GetProperty("id").GetString()}.md"));
            foreach (var heading in new[] { "## Purpose", "## Key elements", "## Bindings", "## Invariants", "## Extensions used", "## Search parameters", "## Examples" })
            {
                Assert.Contains(heading, text);
            }

            foreach (var element in sd.GetProperty("differential").GetProperty("element").EnumerateArray())
            {
                foreach (var constraint in element.TryGetProperty("constraint", out var list) ? list.EnumerateArray() : default)
                {
                    Assert.Contains($"`{constraint.GetProperty("key").GetString()}`", text);
                }
            }
        }
    }

    [Fact]
    public void Docs_list_invalid_examples_with_the_error_they_must_produce()
    {
        Docs("docs");

        var index = File.ReadAllText(_temp.Combine("docs", "index.md"));
        foreach (var outcome in Directory.EnumerateFiles(TestPaths.InvalidExamples, "*.outcome.json"))
        {
            var example = Path.GetFileName(outcome).Replace(".outcome.json", ".json");
            Assert.Contains($"`{example}`", index);
            var issue = JsonDocument.Parse(File.ReadAllBytes(outcome)).RootElement.GetProperty("issue")[0];
            Assert.Contains($"`{issue.GetProperty("code").GetString()}`", index);
        }
    }

    [Fact]
    public void Docs_code_system_pages_list_their_concepts()
    {
        Docs("docs");

        foreach (var file in Directory.EnumerateFiles(TestPaths.Profiles, "CodeSystem-*.json"))
        {
            var cs = JsonDocument.Parse(File.ReadAllBytes(file)).RootElement;
            var text = File.ReadAllText(_temp.Combine("docs", $"CodeSystem-{cs.GetProperty("id").GetString()}.md"));
            foreach (var concept in cs.TryGetProperty("concept", out var concepts) ? concepts.EnumerateArray() : default)
            {
                Assert.Contains($"- `{concept.GetProperty("code").GetString()}`", text);
            }
        }
    }

    [Fact]
    public void Docs_regenerate_identically()
    {
        Docs("first");
        Docs("second");

        var first = Directory.EnumerateFiles(_temp.Combine("first")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(first, Directory.EnumerateFiles(_temp.Combine("second")).Select(Path.GetFileName).Order().ToList());
        foreach (var name in first)
        {
            Assert.Equal(File.ReadAllText(_temp.Combine("first", name!)), File.ReadAllText(_temp.Combine("second", name!)));
        }
    }

    [Fact]
    public void The_committed_docs_ig_are_what_the_profiles_generate()
    {
        // The same layout as the repository (profiles/ beside docs/ig/), so the pages' relative links come out the same.
        CopyDirectory(TestPaths.Profiles, _temp.Combine("repo", "profiles"));
        var result = CliRunner.Run(_temp.Path, "ig", "docs", "--source", _temp.Combine("repo", "profiles"), "--output", _temp.Combine("repo", "docs", "ig"));
        Assert.True(result.ExitCode == 0, result.ToString());

        // docs/ig is read by people browsing the repository: a profile change without regenerated pages misleads them.
        var committed = Path.Combine(TestPaths.RepositoryRoot, "docs", "ig");
        var fresh = _temp.Combine("repo", "docs", "ig");
        var stale = Directory.EnumerateFiles(fresh).Select(Path.GetFileName).Order()
            .Where(name => !File.Exists(Path.Combine(committed, name!))
                           || File.ReadAllText(Path.Combine(committed, name!)) != File.ReadAllText(Path.Combine(fresh, name!)))
            .ToList();
        Assert.True(stale.Count == 0, $"docs/ig is out of date ({string.Join(", ", stale)}): run `fhir-recovery ig docs` from the repository root");
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [Fact]
    public void Docs_remove_generated_pages_of_resources_that_are_gone_but_keep_other_files()
    {
        _temp.File("docs/StructureDefinition-removed-profile.md", Cli.Docs.Markdown.GeneratedMarker + "\n# old\n");
        _temp.File("docs/notes.md", "# hand-written notes\n");

        Docs("docs");

        Assert.False(File.Exists(_temp.Combine("docs", "StructureDefinition-removed-profile.md")));
        Assert.True(File.Exists(_temp.Combine("docs", "notes.md")));
    }
}
