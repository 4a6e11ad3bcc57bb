namespace FhirRecovery.Samples.Tests;

public class ReferenceTests
{
    /// <summary>
    /// Loading the files in name order, every reference points at a resource already loaded or in the same transaction:
    /// the enrolment Bundle holds what a patient's later Bundles refer to, and 00-shared.json the services.
    /// </summary>
    internal static void AssertReferencesResolve(SampleFiles files)
    {
        var loaded = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (name, bundle, json) in files.Files)
        {
            var here = bundle.Entry.Select(e => $"{e.Resource.TypeName}/{e.Resource.Id}").ToHashSet(StringComparer.Ordinal);
            var entries = json.RootElement.GetProperty("entry").EnumerateArray().ToList();
            foreach (var entry in entries)
            {
                foreach (var (path, reference) in SampleFiles.References(entry.GetProperty("resource"), entry.GetProperty("request").GetProperty("url").GetString()!))
                {
                    if (!here.Contains(reference) && !loaded.Contains(reference))
                    {
                        problems.Add($"{name}: {path} -> {reference} is not in the Bundle nor loaded before it");
                    }
                }

                // fullUrl and request agree with the resource (what a server checks in a transaction).
                var resource = entry.GetProperty("resource");
                var key = $"{resource.GetProperty("resourceType").GetString()}/{resource.GetProperty("id").GetString()}";
                Assert.Equal("PUT", entry.GetProperty("request").GetProperty("method").GetString());
                Assert.Equal(key, entry.GetProperty("request").GetProperty("url").GetString());
                Assert.Equal(DeterministicUuid.FullUrl(key.Split('/')[0], key.Split('/')[1]), entry.GetProperty("fullUrl").GetString());
            }

            Assert.Equal(here.Count, entries.Count); // no resource twice in one transaction
            loaded.UnionWith(here);
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(40)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void References_resolve_within_the_bundle_or_to_resources_loaded_before(bool pretty)
    {
        using var temp = new TempDirectory();
        SampleWriter.Write(new SampleRequest { Patients = 10, Seed = 31 }, temp.Path, SampleFormat.Bundle, pretty);

        AssertReferencesResolve(SampleFiles.Read(temp.Path));
    }

    [Fact]
    public void Ndjson_files_are_numbered_so_that_references_point_backwards()
    {
        using var temp = new TempDirectory();
        SampleWriter.Write(new SampleRequest { Patients = 6, Seed = 32 }, temp.Path, SampleFormat.Ndjson);

        var loaded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(temp.Path).Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllLines(file).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
            var here = lines.Select(r => $"{r.GetProperty("resourceType").GetString()}/{r.GetProperty("id").GetString()}").ToHashSet();
            foreach (var line in lines)
            {
                foreach (var (path, reference) in SampleFiles.References(line))
                {
                    Assert.True(loaded.Contains(reference) || here.Contains(reference), $"{Path.GetFileName(file)}: {path} -> {reference}");
                }
            }

            loaded.UnionWith(here);
        }

        Assert.Equal(11, Directory.EnumerateFiles(temp.Path).Count());
    }
}
