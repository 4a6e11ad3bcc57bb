using System.Text.Json;
using Hl7.Fhir.Model;

namespace FhirRecovery.Samples.Tests;

/// <summary>A written set read back: its transaction Bundles in load order (ordinal file-name order, as loaders read them).</summary>
internal sealed class SampleFiles
{
    private SampleFiles(List<(string Name, Bundle Bundle, JsonDocument Json)> files)
    {
        Files = files;
    }

    public List<(string Name, Bundle Bundle, JsonDocument Json)> Files { get; }

    public IEnumerable<Resource> Versions => Files.SelectMany(f => f.Bundle.Entry.Select(e => e.Resource));

    /// <summary>The last version of each resource.</summary>
    public IReadOnlyList<Resource> Latest => Versions
        .GroupBy(r => $"{r.TypeName}/{r.Id}")
        .Select(g => g.Last())
        .ToList();

    public static SampleFiles Read(string directory)
    {
        var files = Directory.EnumerateFiles(directory, "*.json")
            .OrderBy(Path.GetFileName, StringComparer.Ordinal)
            .Select(path =>
            {
                var bytes = File.ReadAllBytes(path);
                return (Path.GetFileName(path), (Bundle)SampleJson.Parse(bytes), JsonDocument.Parse(bytes));
            })
            .ToList();
        return new SampleFiles(files);
    }

    /// <summary>Every Reference.reference string in a JSON element, with its path.</summary>
    public static IEnumerable<(string Path, string Reference)> References(JsonElement element, string path = "")
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "reference" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        yield return (path, property.Value.GetString()!);
                    }
                    else
                    {
                        foreach (var found in References(property.Value, $"{path}.{property.Name}"))
                        {
                            yield return found;
                        }
                    }
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var found in References(item, $"{path}[{i++}]"))
                    {
                        yield return found;
                    }
                }

                break;
        }
    }
}
