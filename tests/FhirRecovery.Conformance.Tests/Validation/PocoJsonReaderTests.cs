using System.Collections;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>
/// The direct JSON reader must build exactly what Firely's lenient reader builds, and only for documents the shape
/// check finds nothing wrong with; everything else it must leave to them (decline).
/// </summary>
public sealed class PocoJsonReaderTests
{
    private static readonly JsonReaderOptions Options = JsonShapeChecker.ReaderOptions(1000);
    private static readonly FhirJsonDeserializer Firely = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));

    [Fact]
    public void Every_example_sample_and_HL7_test_document_is_read_as_Firely_reads_it_or_declined()
    {
        var documents = TestDocuments().ToList();
        var accepted = documents.Count(document => CheckAgainstFirely(document.Name, document.Json));

        // Nearly all of them are plain: the direct way must be the one taken, not an unused branch.
        Assert.True(accepted > documents.Count * 9 / 10, $"only {accepted} of {documents.Count} documents were read directly");
    }

    [Fact]
    public void Mutated_documents_are_read_as_Firely_reads_them_or_declined()
    {
        var random = new Random(20261124);
        var accepted = 0;
        var declined = 0;
        foreach (var (name, json) in TestDocuments().Where(d => d.Name.Contains("examples") || d.Name.Contains("samples")))
        {
            for (var i = 0; i < 10; i++)
            {
                var mutated = Mutate(json, random);
                if (CheckAgainstFirely($"{name} (mutation {i})", mutated))
                {
                    accepted++;
                }
                else
                {
                    declined++;
                }
            }
        }

        Assert.True(accepted > 0 && declined > 0, $"accepted {accepted}, declined {declined}: the mutations should exercise both ways");
    }

    [Fact]
    public void The_implementation_guide_examples_are_read_directly()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.Profiles, "examples"), "*.json"))
        {
            Assert.True(PocoJsonReader.TryRead(File.ReadAllBytes(file), Options) is not null, file);
        }
    }

    [Theory]
    [InlineData("""{"resourceType":"Goal","lifecycleStatus":"active","_lifecycleStatus":{"id":"x"}}""")]
    [InlineData("""{"resourceType":"Goal","lifecycleStatus":null}""")]
    [InlineData("""{"resourceType":"Goal","category":[]}""")]
    [InlineData("""{"resourceType":"Goal","description":{}}""")]
    [InlineData("""{"resourceType":"Goal","lifecycleStatus":""}""")]
    [InlineData("""{"resourceType":"Goal","lifecycleStatus":"active","lifecycleStatus":"proposed"}""")]
    [InlineData("""{"resourceType":"Goal","LifecycleStatus":"active"}""")]
    [InlineData("""{"resourceType":"Goal","colour":"blue"}""")]
    [InlineData("""{"resourceType":"Goal","category":{"text":"x"}}""")]
    [InlineData("""{"resourceType":"Goal","description":[{"text":"x"}]}""")]
    [InlineData("""{"resourceType":"Goal","startDate":"2026-01-01","startCodeableConcept":{"text":"x"}}""")]
    [InlineData("""{"resourceType":"Goal","lifecycleStatus":true}""")]
    [InlineData("""{"resourceType":"Goal","target":[{"detailInteger":1.5}]}""")]
    [InlineData("""{"resourceType":"Goal","target":[{"detailInteger":"1"}]}""")]
    [InlineData("""{"resourceType":"Goal","\u006cifecycleStatus":"active"}""")]
    [InlineData("""{"resourceType":"goal"}""")]
    [InlineData("""{"resourceType":"Goal"} trailing""")]
    [InlineData("""{"lifecycleStatus":"active"}""")]
    [InlineData("""[]""")]
    public void Anything_outside_the_plain_shape_is_declined(string json) =>
        Assert.Null(PocoJsonReader.TryRead(Encoding.UTF8.GetBytes(json), Options));

    [Fact]
    public void Choice_types_contained_resources_and_typed_primitives_are_read()
    {
        var json = """
            {"resourceType":"Goal","id":"g1","meta":{"profile":["https://fhirrecovery.org/fhir/StructureDefinition/recovery-goal"]},
             "contained":[{"resourceType":"Patient","id":"p","active":true}],
             "lifecycleStatus":"active","description":{"text":"Sing"},"subject":{"reference":"#p"},
             "target":[{"detailQuantity":{"value":1.50,"unit":"h"},"dueDate":"2026-12-01"},{"detailInteger":3}],
             "extension":[{"url":"https://fhirrecovery.org/fhir/StructureDefinition/x","valueBoolean":false}]}
            """;

        var goal = Assert.IsType<Goal>(PocoJsonReader.TryRead(Encoding.UTF8.GetBytes(json), Options));

        Assert.Equal("https://fhirrecovery.org/fhir/StructureDefinition/recovery-goal", Assert.Single(goal.Meta!.Profile));
        Assert.IsType<Patient>(Assert.Single(goal.Contained));
        Assert.Equal(1.50m, Assert.IsType<Quantity>(goal.Target[0].Detail).Value);
        Assert.Equal("1.50", Assert.IsType<Quantity>(goal.Target[0].Detail).Value?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(3, Assert.IsType<Integer>(goal.Target[1].Detail).Value);
        Assert.Equal(false, Assert.IsType<FhirBoolean>(goal.Extension[0].Value).Value);
        CheckAgainstFirely("choice types", json);
    }

    /// <summary>True when read directly (then equal to Firely and shape-clean, or the test fails); false when declined.</summary>
    private static bool CheckAgainstFirely(string name, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var direct = PocoJsonReader.TryRead(bytes, Options);
        if (direct is null)
        {
            return false;
        }

        var shapeIssues = new List<ValidationIssue>();
        Assert.True(JsonShapeChecker.Check(bytes, 1000, shapeIssues), $"{name}: read directly, but the shape check finds no resource");
        Assert.True(shapeIssues.Count == 0, $"{name}: read directly, but the shape check reports {string.Join("; ", shapeIssues.Select(i => i.Message))}");

        Resource? firely;
        try
        {
            var reader = new Utf8JsonReader(bytes, Options);
            firely = Firely.DeserializeResource(ref reader);
        }
        catch (DeserializationFailedException ex)
        {
            firely = ex.PartialResult as Resource;
        }

        Assert.NotNull(firely);
        Assert.Null(Difference(direct, firely, direct.TypeName));
        return true;
    }

    /// <summary>The first difference in types, element names, order, counts or primitive JSON values (type included).</summary>
    private static string? Difference(Base x, Base y, string path)
    {
        if (x.GetType() != y.GetType())
        {
            return $"{path}: {x.GetType().Name} vs {y.GetType().Name}";
        }

        if (x is PrimitiveType px && y is PrimitiveType py
            && (!Equals(px.JsonValue, py.JsonValue) || px.JsonValue?.GetType() != py.JsonValue?.GetType()))
        {
            return $"{path}: {px.JsonValue} ({px.JsonValue?.GetType().Name}) vs {py.JsonValue} ({py.JsonValue?.GetType().Name})";
        }

        var left = x.EnumerateElements().ToList();
        var right = y.EnumerateElements().ToList();
        if (!left.Select(e => e.Key).SequenceEqual(right.Select(e => e.Key)))
        {
            return $"{path}: elements {string.Join(",", left.Select(e => e.Key))} vs {string.Join(",", right.Select(e => e.Key))}";
        }

        for (var i = 0; i < left.Count; i++)
        {
            var at = $"{path}.{left[i].Key}";
            switch (left[i].Value, right[i].Value)
            {
                case (IList l, IList r):
                    if (l.Count != r.Count)
                    {
                        return $"{at}: {l.Count} vs {r.Count} values";
                    }

                    for (var k = 0; k < l.Count; k++)
                    {
                        if (Difference((Base)l[k]!, (Base)r[k]!, $"{at}[{k}]") is { } inList)
                        {
                            return inList;
                        }
                    }

                    break;
                case (Base l, Base r):
                    if (Difference(l, r, at) is { } inValue)
                    {
                        return inValue;
                    }

                    break;
                case var (l, r) when l?.GetType() != r?.GetType():
                    return $"{at}: {l?.GetType().Name} vs {r?.GetType().Name}";
            }
        }

        return null;
    }

    private static IEnumerable<(string Name, string Json)> TestDocuments()
    {
        var roots = new[] { Path.Combine(TestPaths.Profiles, "examples"), Path.Combine(TestPaths.RepositoryRoot, "samples", "data"), TestPaths.Hl7TestCases };
        foreach (var root in roots)
        {
            foreach (var file in Directory.EnumerateFiles(root, "*.json", SearchOption.AllDirectories))
            {
                yield return (file, File.ReadAllText(file));
            }
        }
    }

    /// <summary>One random change of the kind real input gets wrong: nulls, empties, case, arrays, kinds, duplicates.</summary>
    private static string Mutate(string json, Random random)
    {
        var root = JsonNode.Parse(json)!;
        var places = new List<(JsonNode Parent, string? Key, int Index, JsonNode? Node)>();
        Collect(root, places);
        var (parent, key, index, node) = places[random.Next(places.Count)];

        void Set(JsonNode? value)
        {
            if (parent is JsonObject obj)
            {
                obj[key!] = value;
            }
            else
            {
                ((JsonArray)parent)[index] = value;
            }
        }

        switch (random.Next(12))
        {
            case 0: Set(null); break;
            case 1: Set(""); break;
            case 2 when parent is JsonObject renamed && key is { Length: > 0 }:
                renamed.Remove(key);
                renamed[char.IsUpper(key[0]) ? key.ToLowerInvariant() : char.ToUpperInvariant(key[0]) + key[1..]] = node?.DeepClone();
                break;
            case 3: Set(new JsonArray(node?.DeepClone())); break;
            case 4 when node is JsonArray { Count: > 0 } array: Set(array[0]?.DeepClone()); break;
            case 5: Set(JsonValue.Create(12)); break;
            case 6 when parent is JsonObject withExtension && key is not null: withExtension["_" + key] = new JsonObject { ["id"] = "x" }; break;
            case 7 when parent is JsonObject withUnknown: withUnknown["unknownThing"] = 1; break;
            case 8: Set(new JsonArray()); break;
            case 9: Set(new JsonObject()); break;
            case 10: Set(JsonValue.Create(1.5m)); break;
            case 11:
                var text = root.ToJsonString();
                var at = text.IndexOf("\"status\":", StringComparison.Ordinal);
                var end = at > 0 ? text.IndexOf(',', at) : -1;
                return end > at ? text[..end] + "," + text[at..end] + text[end..] : text;
        }

        return root.ToJsonString();
    }

    private static void Collect(JsonNode? node, List<(JsonNode Parent, string? Key, int Index, JsonNode? Node)> places)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj.ToList())
                {
                    places.Add((obj, key, -1, value));
                    Collect(value, places);
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    places.Add((array, null, i, array[i]));
                    Collect(array[i], places);
                }

                break;
        }
    }
}
