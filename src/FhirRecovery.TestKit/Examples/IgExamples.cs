using System.Reflection;
using System.Text.RegularExpressions;
using FhirRecovery.TestKit.Running;
using Hl7.Fhir.Model;

namespace FhirRecovery.TestKit.Examples;

/// <summary>An example of the guide, ready to send: its ids (and every reference between examples) made unique to the run.</summary>
public sealed record IgExample(string FileName, Resource Resource)
{
    public string Type => Resource.TypeName;

    public string Id => Resource.Id ?? "";

    public string Reference => $"{Type}/{Id}";

    public IReadOnlyList<string> Profiles => Resource.Meta?.Profile.OfType<string>().ToList() ?? [];
}

/// <summary>
/// The guide's examples (profiles/examples, embedded in the kit). Their ids are suffixed with the run id so a run never
/// meets an earlier run's versions (a completed Task cannot be created again), and references between them follow.
/// </summary>
public static partial class IgExamples
{
    private static readonly Assembly Kit = typeof(IgExamples).Assembly;

    public static IReadOnlyList<string> FileNames { get; } =
        Kit.GetManifestResourceNames().Where(n => n.StartsWith("examples/", StringComparison.Ordinal)).Select(n => n["examples/".Length..]).OfType<string>().Order(StringComparer.Ordinal).ToList();

    public static string Text(string resourceName)
    {
        using var stream = Kit.GetManifestResourceStream(resourceName) ?? throw new InvalidOperationException($"the kit lacks its resource {resourceName}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Every example, with ids and references made unique by <paramref name="runId"/>.</summary>
    public static IReadOnlyList<IgExample> ForRun(string runId)
    {
        var texts = FileNames.ToDictionary(f => f, f => Text("examples/" + f), StringComparer.Ordinal);
        var ids = texts.Keys.Select(f => Path.GetFileNameWithoutExtension(f).Split('-', 2)).Select(p => (Type: p[0], Id: p[1])).ToList();
        var renamed = ids.ToDictionary(i => $"{i.Type}/{i.Id}", i => $"{i.Type}/{UniqueId(i.Id, runId)}", StringComparer.Ordinal);
        return texts.Select(pair =>
        {
            var text = ReferencePattern().Replace(pair.Value, m => renamed.TryGetValue(m.Groups[1].Value, out var to) ? $"\"{to}\"" : m.Value);
            var resource = FhirJsonText.Parse<Resource>(text);
            resource.Id = UniqueId(resource.Id ?? Path.GetFileNameWithoutExtension(pair.Key).Split('-', 2)[1], runId);
            return new IgExample(pair.Key, resource);
        }).ToList();
    }

    /// <summary>An id within FHIR's 64 characters, unique to the run.</summary>
    public static string UniqueId(string id, string runId)
    {
        var unique = $"{id}-{runId}";
        return unique.Length <= 64 ? unique : unique[^64..];
    }

    [GeneratedRegex("\"([A-Z][A-Za-z]+/[A-Za-z0-9\\-\\.]{1,64})\"")]
    private static partial Regex ReferencePattern();
}
