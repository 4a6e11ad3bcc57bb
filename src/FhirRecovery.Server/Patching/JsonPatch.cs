using System.Text.Json;
using System.Text.Json.Nodes;
using FhirRecovery.Server.Http;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Patching;

/// <summary>
/// JSON Patch (RFC 6902: add, remove, replace, move, copy, test) applied to the resource's FHIR JSON; the result must
/// still parse as FHIR. Paths are JSON Pointers (RFC 6901).
/// </summary>
public sealed class JsonPatch : PatchDocument
{
    private readonly IReadOnlyList<Operation> _operations;

    private JsonPatch(IReadOnlyList<Operation> operations) => _operations = operations;

    private sealed record Operation(int Index, string Op, string Path, string? From, JsonNode? Value, bool HasValue);

    /// <summary>Reads a patch document: a JSON array of operation objects (400 when it is not one).</summary>
    public static JsonPatch Parse(ReadOnlySpan<byte> body)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (JsonException ex)
        {
            throw FhirException.BadRequest($"The JSON Patch document is not valid JSON: {ex.Message}");
        }

        if (root is not JsonArray array)
        {
            throw FhirException.BadRequest("A JSON Patch document is a JSON array of operations");
        }

        var operations = new List<Operation>();
        for (var i = 0; i < array.Count; i++)
        {
            if (array[i] is not JsonObject item)
            {
                throw FhirException.BadRequest($"JSON Patch operation {i} is not an object", $"[{i}]");
            }

            var op = Text(item, "op", i) ?? throw FhirException.BadRequest($"JSON Patch operation {i} has no 'op'", $"[{i}].op");
            if (op is not ("add" or "remove" or "replace" or "move" or "copy" or "test"))
            {
                throw FhirException.BadRequest($"JSON Patch operation {i}: unknown op '{op}'", $"[{i}].op");
            }

            var path = Text(item, "path", i) ?? throw FhirException.BadRequest($"JSON Patch operation {i} has no 'path'", $"[{i}].path");
            var from = Text(item, "from", i);
            if (op is "move" or "copy" && from is null)
            {
                throw FhirException.BadRequest($"JSON Patch operation {i} ({op}) has no 'from'", $"[{i}].from");
            }

            var hasValue = item.ContainsKey("value");
            if (op is "add" or "replace" or "test" && !hasValue)
            {
                throw FhirException.BadRequest($"JSON Patch operation {i} ({op}) has no 'value'", $"[{i}].value");
            }

            operations.Add(new Operation(i, op, path, from, item["value"]?.DeepClone(), hasValue));
        }

        return new JsonPatch(operations);
    }

    private static string? Text(JsonObject item, string name, int index) => item[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw FhirException.BadRequest($"JSON Patch operation {index}: '{name}' must be a string", $"[{index}].{name}"),
    };

    public override Resource Apply(ResourceVersion current)
    {
        var document = JsonNode.Parse(current.Json!)!;
        foreach (var operation in _operations)
        {
            document = ApplyOne(document, operation);
        }

        var bytes = JsonSerializer.SerializeToUtf8Bytes(document);
        try
        {
            return FhirSerialization.Parse(bytes, FhirFormat.Json);
        }
        catch (FhirException ex)
        {
            // The patch is well-formed, but what it makes is not a valid resource.
            throw new FhirException(StatusCodes.Status422UnprocessableEntity, ex.Outcome);
        }
    }

    private static JsonNode ApplyOne(JsonNode document, Operation operation)
    {
        switch (operation.Op)
        {
            case "add":
                return Add(document, operation.Path, operation.Value?.DeepClone(), operation);
            case "remove":
                Remove(document, operation.Path, operation);
                return document;
            case "replace":
                Remove(document, operation.Path, operation);
                return Add(document, operation.Path, operation.Value?.DeepClone(), operation);
            case "move":
            {
                if (operation.Path.StartsWith(operation.From! + "/", StringComparison.Ordinal))
                {
                    throw Failed(operation, $"cannot move '{operation.From}' into its own child '{operation.Path}'");
                }

                var value = Remove(document, operation.From!, operation);
                return Add(document, operation.Path, value, operation);
            }

            case "copy":
                return Add(document, operation.Path, Get(document, operation.From!, operation)?.DeepClone(), operation);
            default:
            {
                var actual = Get(document, operation.Path, operation);
                if (!JsonNode.DeepEquals(actual, operation.Value))
                {
                    throw Failed(operation, $"test failed: the value at '{operation.Path}' is {actual?.ToJsonString() ?? "null"}, not {operation.Value?.ToJsonString() ?? "null"}");
                }

                return document;
            }
        }
    }

    private static List<string> Tokens(string pointer, Operation operation)
    {
        if (pointer.Length == 0)
        {
            return [];
        }

        if (pointer[0] != '/')
        {
            throw FhirException.BadRequest($"JSON Patch operation {operation.Index}: '{pointer}' is not a JSON Pointer (it must start with '/')", $"[{operation.Index}].path");
        }

        return pointer[1..].Split('/').Select(t => t.Replace("~1", "/").Replace("~0", "~")).ToList();
    }

    private static JsonNode? Get(JsonNode document, string pointer, Operation operation)
    {
        JsonNode? node = document;
        foreach (var token in Tokens(pointer, operation))
        {
            node = node switch
            {
                JsonObject obj when obj.TryGetPropertyValue(token, out var child) => child,
                JsonArray array when int.TryParse(token, out var i) && i >= 0 && i < array.Count => array[i],
                _ => throw Failed(operation, $"path '{pointer}' does not exist"),
            };
        }

        return node;
    }

    private static (JsonNode Parent, string Last) Parent(JsonNode document, string pointer, Operation operation)
    {
        var tokens = Tokens(pointer, operation);
        if (tokens.Count == 0)
        {
            throw Failed(operation, "the whole resource cannot be replaced by a patch");
        }

        var parentPointer = pointer[..pointer.LastIndexOf('/')];
        var parent = Get(document, parentPointer, operation) ?? throw Failed(operation, $"path '{parentPointer}' is null");
        return (parent, tokens[^1]);
    }

    private static JsonNode Add(JsonNode document, string pointer, JsonNode? value, Operation operation)
    {
        var (parent, last) = Parent(document, pointer, operation);
        switch (parent)
        {
            case JsonObject obj:
                obj[last] = value;
                break;
            case JsonArray array when last == "-":
                array.Add(value);
                break;
            case JsonArray array when int.TryParse(last, out var i) && i >= 0 && i <= array.Count:
                array.Insert(i, value);
                break;
            default:
                throw Failed(operation, $"cannot add at '{pointer}'");
        }

        return document;
    }

    private static JsonNode? Remove(JsonNode document, string pointer, Operation operation)
    {
        var (parent, last) = Parent(document, pointer, operation);
        switch (parent)
        {
            case JsonObject obj when obj.TryGetPropertyValue(last, out var removed):
                obj.Remove(last);
                return removed;
            case JsonArray array when int.TryParse(last, out var i) && i >= 0 && i < array.Count:
            {
                var removed = array[i];
                array.RemoveAt(i);
                return removed;
            }

            default:
                throw Failed(operation, $"path '{pointer}' does not exist");
        }
    }

    private static FhirException Failed(Operation operation, string message) =>
        new(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.Processing,
            $"JSON Patch operation {operation.Index} ({operation.Op}): {message}", $"[{operation.Index}]");
}
