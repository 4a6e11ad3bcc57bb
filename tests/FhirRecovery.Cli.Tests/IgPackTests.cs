using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using FhirRecovery.Conformance.Definitions;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Cli.Tests;

/// <summary>One pack of the repository's IG, shared by the tests that only read it.</summary>
public sealed class PackedIg : IDisposable
{
    public PackedIg()
    {
        Result = CliRunner.Run(Temp.Path, "ig", "pack", "--source", TestPaths.Profiles, "--output", "out");
        Package = Directory.EnumerateFiles(Temp.Combine("out"), "*.tgz").SingleOrDefault() ?? "";
        Files = Package.Length == 0 ? [] : ReadTarball(Package);
    }

    public TempDirectory Temp { get; } = new();

    public CliResult Result { get; }

    public string Package { get; }

    public IReadOnlyDictionary<string, byte[]> Files { get; }

    public static Dictionary<string, byte[]> ReadTarball(string path)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            using var buffer = new MemoryStream();
            entry.DataStream?.CopyTo(buffer);
            files.Add(entry.Name, buffer.ToArray());
        }

        return files;
    }

    public void Dispose() => Temp.Dispose();
}

public class IgPackTests(PackedIg packed) : IClassFixture<PackedIg>
{
    private static readonly FhirJsonDeserializer Json = new(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));

    private string ManifestVersion =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Profiles, "package.json"))).RootElement.GetProperty("version").GetString()!;

    [Fact]
    public void Pack_writes_the_package_named_by_id_and_version()
    {
        Assert.True(packed.Result.ExitCode == 0, packed.Result.ToString());
        Assert.Equal($"fhirrecovery.ig-{ManifestVersion}.tgz", Path.GetFileName(packed.Package));
        Assert.Contains("Wrote", packed.Result.Out);
    }

    [Fact]
    public void Pack_lays_the_package_out_as_the_npm_package_spec_says()
    {
        Assert.Equal(File.ReadAllBytes(Path.Combine(TestPaths.Profiles, "package.json")), packed.Files["package/package.json"]);
        Assert.Contains("package/.index.json", packed.Files.Keys);
        Assert.Contains("package/example/.index.json", packed.Files.Keys);
        Assert.All(packed.Files.Keys, name => Assert.StartsWith("package/", name));
        foreach (var (name, bytes) in packed.Files.Where(f => f.Key.EndsWith(".json") && !f.Key.EndsWith("package.json") && !f.Key.EndsWith(".index.json")))
        {
            var resource = Json.DeserializeResource(System.Text.Encoding.UTF8.GetString(bytes));
            Assert.Equal($"{resource.TypeName}-{resource.Id}.json", Path.GetFileName(name));
        }
    }

    [Fact]
    public void Pack_indexes_every_resource_with_the_fields_of_index_version_1()
    {
        foreach (var folder in new[] { "package/", "package/example/" })
        {
            using var index = JsonDocument.Parse(packed.Files[folder + ".index.json"]);
            Assert.Equal(1, index.RootElement.GetProperty("index-version").GetInt32());
            var entries = index.RootElement.GetProperty("files").EnumerateArray().ToList();
            var inFolder = packed.Files.Keys
                .Where(k => k.StartsWith(folder) && !k[folder.Length..].Contains('/') && k.EndsWith(".json") && !k.EndsWith("package.json") && !k.EndsWith(".index.json"))
                .Select(k => k[folder.Length..])
                .Order(StringComparer.Ordinal)
                .ToList();
            Assert.Equal(inFolder, entries.Select(e => e.GetProperty("filename").GetString() ?? "").ToList());
            foreach (var entry in entries)
            {
                Assert.False(string.IsNullOrEmpty(entry.GetProperty("resourceType").GetString()));
                Assert.False(string.IsNullOrEmpty(entry.GetProperty("id").GetString()));
                if (entry.GetProperty("resourceType").GetString() == "StructureDefinition")
                {
                    Assert.True(entry.TryGetProperty("url", out _));
                    Assert.True(entry.TryGetProperty("kind", out _));
                    Assert.True(entry.TryGetProperty("type", out _));
                }
            }
        }
    }

    [Fact]
    public void Pack_includes_the_definitions_questionnaires_and_valid_examples_but_no_invalid_ones()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.Profiles, "questionnaires"), "*.json"))
        {
            Assert.Contains($"package/{Path.GetFileName(file)}", packed.Files.Keys);
        }

        var sdCount = Directory.EnumerateFiles(TestPaths.Profiles, "StructureDefinition-*.json").Count();
        Assert.Equal(sdCount, packed.Files.Keys.Count(k => k.StartsWith("package/StructureDefinition-")));
        Assert.Equal(Directory.EnumerateFiles(TestPaths.Examples, "*.json").Count(), packed.Files.Keys.Count(k => k.StartsWith("package/example/") && !k.EndsWith(".index.json")));
        var invalidIds = Directory.EnumerateFiles(TestPaths.InvalidExamples, "*.json")
            .Where(f => !f.EndsWith(".outcome.json"))
            .Select(f => JsonDocument.Parse(File.ReadAllBytes(f)).RootElement.TryGetProperty("id", out var id) ? id.GetString() : null)
            .OfType<string>();
        foreach (var id in invalidIds)
        {
            Assert.DoesNotContain(packed.Files.Keys, k => k.StartsWith("package/example/") && k.EndsWith($"-{id}.json"));
        }
    }

    [Fact]
    public void Pack_includes_structure_definitions_with_snapshots_holding_every_base_element()
    {
        var definitions = packed.Files
            .Where(f => f.Key.StartsWith("package/StructureDefinition-"))
            .Select(f => (StructureDefinition)Json.DeserializeResource(System.Text.Encoding.UTF8.GetString(f.Value)))
            .ToList();
        var core = DefinitionResolver.CreateWithCore();
        Assert.NotEmpty(definitions);
        foreach (var sd in definitions)
        {
            Assert.True(sd.Snapshot?.Element.Count > 0, $"{sd.Url} has no snapshot");
            var baseDefinition = definitions.FirstOrDefault(d => d.Url == sd.BaseDefinition) ?? core.FindStructureDefinition(sd.BaseDefinition!);
            Assert.NotNull(baseDefinition);
            var paths = sd.Snapshot!.Element.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
            var missing = baseDefinition!.Snapshot!.Element.Select(e => e.Path).Where(p => !paths.Contains(p)).Distinct().ToList();
            Assert.True(missing.Count == 0, $"{sd.Url} misses base elements: {string.Join(", ", missing)}");
        }
    }

    [Fact]
    public void Pack_round_trips_every_example_validates_with_only_the_package_loaded()
    {
        var result = CliRunner.Run(packed.Temp.Path, "validate", "--no-ig", "--load", packed.Package, TestPaths.Examples);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public void Pack_round_trips_invalid_examples_still_fail_with_only_the_package_loaded()
    {
        var invalid = Directory.EnumerateFiles(TestPaths.InvalidExamples, "*.json").Where(f => !f.EndsWith(".outcome.json")).ToList();
        var result = CliRunner.Run(packed.Temp.Path, ["validate", "--no-ig", "--load", packed.Package, .. invalid]);

        Assert.Equal(1, result.ExitCode);
        Assert.DoesNotContain("PASS", result.Out);
        Assert.Contains($"{invalid.Count} failed", result.Out);
    }

    [Fact]
    public void Without_the_package_and_the_ig_the_examples_do_not_validate()
    {
        // Shows the round trip above passes because of the package, not because the IG slipped in.
        var result = CliRunner.Run(packed.Temp.Path, "validate", "--no-ig", TestPaths.Examples);

        Assert.Equal(1, result.ExitCode);
    }

    [Fact]
    public void Pack_twice_gives_the_same_bytes()
    {
        var again = CliRunner.Run(packed.Temp.Path, "ig", "pack", "--source", TestPaths.Profiles, "--output", "again");

        Assert.Equal(0, again.ExitCode);
        Assert.Equal(File.ReadAllBytes(packed.Package), File.ReadAllBytes(packed.Temp.Combine("again", Path.GetFileName(packed.Package))));
    }

    [Fact]
    public void Pack_by_the_built_tool_gives_the_same_bytes_as_in_process()
    {
        // A separate process generates every snapshot afresh: the output must not depend on what a process did before.
        var result = CliRunner.RunProcess(packed.Temp.Path, TimeSpan.FromSeconds(120), "ig", "pack", "--source", TestPaths.Profiles, "--output", "by-process");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(File.ReadAllBytes(packed.Package), File.ReadAllBytes(packed.Temp.Combine("by-process", Path.GetFileName(packed.Package))));
    }

    [Fact]
    public void Pack_exits_1_when_a_profile_cannot_be_parsed()
    {
        using var temp = new TempDirectory();
        temp.File("ig/package.json", """{ "name": "broken.ig", "version": "1.0.0" }""");
        temp.File("ig/StructureDefinition-broken.json", """{ "resourceType": "StructureDefinition", "id": "broken", "kind": "not-a-kind" }""");

        var result = CliRunner.Run(temp.Path, "ig", "pack", "--source", "ig", "--output", "out");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("StructureDefinition-broken.json", result.Error);
        Assert.False(File.Exists(temp.Combine("out", "broken.ig-1.0.0.tgz")));
        Assert.False(result.HasStackTrace, result.ToString());
    }

    [Fact]
    public void Pack_exits_2_when_the_source_is_not_an_ig()
    {
        using var temp = new TempDirectory();
        Directory.CreateDirectory(temp.Combine("nothing"));

        var result = CliRunner.Run(temp.Path, "ig", "pack", "--source", "nothing");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("package.json", result.Error);
    }
}
