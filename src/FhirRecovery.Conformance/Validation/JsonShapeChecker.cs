using System.Text.Json;
using Hl7.Fhir.Introspection;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// Checks the JSON representation rules that a lenient POCO parse forgets: arrays where the element repeats and only
/// there, JSON value kinds of primitives, no nulls / empty objects / empty arrays / empty strings, no duplicate keys,
/// <c>_element</c> only for primitives, a known <c>resourceType</c>. Element names unknown to FHIR are left to the
/// profile walk (they survive the lenient parse as overflow).
/// </summary>
internal sealed class JsonShapeChecker
{
    private readonly ModelInspector _inspector = ModelInfo.ModelInspector;
    private readonly List<ValidationIssue> _issues;
    private readonly ReadOnlyMemory<byte> _source;
    private readonly Stack<HashSet<string>> _namesPool = new();
    private readonly List<(string Name, int Index)> _path = new(32);

    private JsonShapeChecker(List<ValidationIssue> issues, ReadOnlyMemory<byte> source)
    {
        _issues = issues;
        _source = source;
    }

    /// <summary>Reader options shared by this check and the parse, so both agree on depth limits.</summary>
    public static JsonReaderOptions ReaderOptions(int maxDepth) => new() { MaxDepth = maxDepth, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>
    /// Checks one resource document; false when it is not a resource at all (not an object, no or unknown resourceType).
    /// Malformed JSON raises <see cref="JsonException"/> (the caller reports it).
    /// </summary>
    /// <param name="source">The same document, to turn an error's byte offset into line and column (none when empty).</param>
    public static bool Check(ReadOnlySpan<byte> json, int maxDepth, List<ValidationIssue> issues, ReadOnlyMemory<byte> source = default)
    {
        var checker = new JsonShapeChecker(issues, source);
        var reader = new Utf8JsonReader(json, ReaderOptions(maxDepth));
        if (!reader.Read())
        {
            checker.Report(ref reader, "The content is empty");
            return false;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            checker.Report(ref reader, "A FHIR resource in JSON must be a JSON object");
            return false;
        }

        var isResource = checker.CheckResource(ref reader);

        // Anything after the resource is not JSON of one document: let the reader say so.
        while (reader.Read())
        {
        }

        return isResource;
    }

    private bool CheckResource(ref Utf8JsonReader reader)
    {
        var resourceType = FindResourceType(reader);
        if (resourceType is null)
        {
            Report(ref reader, "The JSON object has no 'resourceType' property, so it is not a FHIR resource");
            reader.Skip();
            return false;
        }

        var mapping = _inspector.FindClassMapping(resourceType);
        if (mapping is null || !mapping.IsResource || !string.Equals(mapping.Name, resourceType, StringComparison.Ordinal))
        {
            Report(ref reader, $"Unknown resource type '{resourceType}'");
            reader.Skip();
            return false;
        }

        _path.Add((resourceType, -1));
        CheckObject(ref reader, mapping, isResource: true);
        _path.RemoveAt(_path.Count - 1);
        return true;
    }

    /// <summary>Looks ahead (on a copy of the reader) for the resourceType property of the object the reader is on.</summary>
    private static string? FindResourceType(Utf8JsonReader look)
    {
        var depth = look.CurrentDepth;
        while (look.Read() && !(look.TokenType == JsonTokenType.EndObject && look.CurrentDepth == depth))
        {
            if (look.TokenType != JsonTokenType.PropertyName || look.CurrentDepth != depth + 1)
            {
                continue;
            }

            var isResourceType = look.ValueTextEquals("resourceType");
            look.Read();
            if (isResourceType)
            {
                return look.TokenType == JsonTokenType.String ? look.GetString() : null;
            }

            look.Skip();
        }

        return null;
    }

    /// <summary>Reader on StartObject; leaves it on the matching EndObject.</summary>
    private void CheckObject(ref Utf8JsonReader reader, ClassMapping mapping, bool isResource)
    {
        var depth = reader.CurrentDepth;
        // Property-name sets are reused across objects: one per nesting level in use, not one per object.
        var seen = _namesPool.Count > 0 ? _namesPool.Pop() : new HashSet<string>(StringComparer.Ordinal);
        Dictionary<string, string>? choicesSeen = null;
        Dictionary<string, PrimitiveArray>? primitiveArrays = null;
        var empty = true;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            empty = false;
            var name = reader.GetString()!;
            if (!seen.Add(name))
            {
                Report(ref reader, $"Duplicate JSON property '{name}'", name);
            }

            reader.Read();
            if (isResource && name == "resourceType")
            {
                continue;
            }

            if (name == "fhir_comments")
            {
                reader.Skip();
                continue;
            }

            var isExtensionPart = name.Length > 1 && name[0] == '_';
            var elementName = isExtensionPart ? name[1..] : name;
            var (property, type) = Resolve(mapping, elementName);
            if (property is null || type is null)
            {
                if (WrongCase(mapping, elementName) is { } correct)
                {
                    // The lenient parser would accept it under the right name, so the walk would never see it.
                    Report(ref reader, $"Unknown element '{name}': element names are case-sensitive (did you mean '{(isExtensionPart ? "_" : "")}{correct}'?)", name);
                }

                // Otherwise unknown to FHIR: the profile walk reports it with the rest of the element rules.
                reader.Skip();
                continue;
            }

            if (property.Choice == ChoiceType.DatatypeChoice && !isExtensionPart)
            {
                choicesSeen ??= new Dictionary<string, string>(StringComparer.Ordinal);
                if (choicesSeen.TryGetValue(property.Name, out var first) && first != name)
                {
                    Report(ref reader, $"'{name}' and '{first}' are both present: {property.Name}[x] takes one type only", name);
                }

                choicesSeen.TryAdd(property.Name, name);
            }

            if (isExtensionPart)
            {
                if (!type.IsFhirPrimitive)
                {
                    Report(ref reader, $"'{name}' is only allowed for primitive elements; '{elementName}' is a {type.Name}", name);
                    reader.Skip();
                    continue;
                }

                var extensionPart = CheckValues(ref reader, name, property.IsCollection, type, primitiveExtensionPart: true);
                Remember(ref primitiveArrays, elementName, extensionPart, isExtensionPart: true);
                continue;
            }

            var valuePart = CheckValues(ref reader, name, property.IsCollection, type, primitiveExtensionPart: false);
            if (type.IsFhirPrimitive)
            {
                Remember(ref primitiveArrays, elementName, valuePart, isExtensionPart: false);
            }
        }

        seen.Clear();
        _namesPool.Push(seen);

        if (empty && !isResource)
        {
            Report(ref reader, "A JSON object must not be empty: leave the element out instead");
        }

        if (primitiveArrays is not null)
        {
            CheckPrimitiveArrays(primitiveArrays);
        }
    }

    /// <summary>Nulls seen in an array of primitives or of their _element parts, to pair them up at the end of the object.</summary>
    private sealed class PrimitiveArray
    {
        public (int Length, List<int> Nulls)? Values { get; set; }

        public (int Length, List<int> Nulls)? Extensions { get; set; }
    }

    private static void Remember(ref Dictionary<string, PrimitiveArray>? arrays, string elementName, (int Length, List<int> Nulls)? part, bool isExtensionPart)
    {
        if (part is null)
        {
            return;
        }

        arrays ??= new Dictionary<string, PrimitiveArray>(StringComparer.Ordinal);
        if (!arrays.TryGetValue(elementName, out var entry))
        {
            arrays[elementName] = entry = new PrimitiveArray();
        }

        if (isExtensionPart)
        {
            entry.Extensions = part;
        }
        else
        {
            entry.Values = part;
        }
    }

    /// <summary>
    /// In "given": ["a", null] / "_given": [null, {...}] a null only holds a place: the other array must have something
    /// at that position, and both arrays must be equally long.
    /// </summary>
    private void CheckPrimitiveArrays(Dictionary<string, PrimitiveArray> arrays)
    {
        foreach (var (name, entry) in arrays)
        {
            if (entry.Values is { } values && entry.Extensions is { } extensions && values.Length != extensions.Length)
            {
                ReportAt($"'{name}' has {values.Length} values but '_{name}' has {extensions.Length}: the two arrays must line up", name, -1);
            }

            foreach (var index in entry.Values?.Nulls ?? [])
            {
                if (entry.Extensions is not { } other || other.Nulls.Contains(index) || index >= other.Length)
                {
                    ReportAt($"'{name}[{index}]' is null and '_{name}' has nothing at that position: a null only holds a place", name, index);
                }
            }

            foreach (var index in entry.Extensions?.Nulls ?? [])
            {
                if (entry.Values is not { } other || other.Nulls.Contains(index) || index >= other.Length)
                {
                    ReportAt($"'_{name}[{index}]' is null and '{name}' has nothing at that position: a null only holds a place", name, index);
                }
            }
        }
    }

    /// <summary>Checks an element's value(s); for an array of primitives, returns its length and the positions of nulls.</summary>
    private (int Length, List<int> Nulls)? CheckValues(ref Utf8JsonReader reader, string name, bool repeats, ClassMapping type, bool primitiveExtensionPart)
    {
        if (repeats)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                Report(ref reader, $"'{name}' repeats, so its value must be a JSON array", name);
                CheckValue(ref reader, name, -1, type, primitiveExtensionPart, allowNull: false);
                return null;
            }

            var index = 0;
            var nulls = new List<int>(0);
            var arrayDepth = reader.CurrentDepth;
            while (reader.Read() && !(reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == arrayDepth))
            {
                // In arrays of primitives, null keeps the positions of values and their _element extensions aligned
                // (checked against the other array at the end of the object).
                if (reader.TokenType == JsonTokenType.Null && type.IsFhirPrimitive)
                {
                    nulls.Add(index);
                }
                else
                {
                    CheckValue(ref reader, name, index, type, primitiveExtensionPart, allowNull: false);
                }

                index++;
            }

            if (index == 0)
            {
                Report(ref reader, $"The array '{name}' must not be empty: leave the element out instead", name);
            }

            return type.IsFhirPrimitive ? (index, nulls) : null;
        }

        if (reader.TokenType == JsonTokenType.StartArray)
        {
            Report(ref reader, $"'{name}' does not repeat, so its value must not be a JSON array", name);
            reader.Skip();
            return null;
        }

        CheckValue(ref reader, name, -1, type, primitiveExtensionPart, allowNull: false);
        return null;
    }

    private void CheckValue(ref Utf8JsonReader reader, string name, int index, ClassMapping type, bool primitiveExtensionPart, bool allowNull)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            if (!allowNull)
            {
                Report(ref reader, $"'{name}' must not be null", name, index);
            }

            return;
        }

        if (type.IsFhirPrimitive && !primitiveExtensionPart)
        {
            var expected = PrimitiveFormats.JsonKindOf(type.Name);
            var actual = reader.TokenType switch
            {
                JsonTokenType.String => JsonPrimitiveKind.String,
                JsonTokenType.Number => JsonPrimitiveKind.Number,
                JsonTokenType.True or JsonTokenType.False => JsonPrimitiveKind.Boolean,
                _ => (JsonPrimitiveKind?)null,
            };
            if (actual != expected)
            {
                var found = actual?.ToString().ToLowerInvariant() ?? (reader.TokenType == JsonTokenType.StartObject ? "object" : "array");
                Report(ref reader, $"The {type.Name} value of '{name}' must be a JSON {expected.ToString().ToLowerInvariant()}, not a JSON {found}", name, index);
                reader.Skip();
                return;
            }

            if (actual == JsonPrimitiveKind.Number && type.Name is "integer" or "positiveInt" or "unsignedInt"
                && (reader.ValueSpan.IndexOfAny((byte)'.', (byte)'e', (byte)'E') >= 0))
            {
                Report(ref reader, $"The {type.Name} value of '{name}' must be written as a whole number (no decimal point or exponent)", name, index);
            }

            if (actual == JsonPrimitiveKind.String && reader.ValueSpan.Length == 0 && !reader.ValueIsEscaped)
            {
                Report(ref reader, $"'{name}' must not be an empty string: leave the element out instead", name, index);
            }

            return;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            Report(ref reader, $"'{name}' must be a JSON object ({type.Name})", name, index);
            reader.Skip();
            return;
        }

        _path.Add((name, index));
        if (type.IsResource || type.NativeType == typeof(Resource))
        {
            _ = CheckResource(ref reader);
        }
        else
        {
            CheckObject(ref reader, type, isResource: false);
        }

        _path.RemoveAt(_path.Count - 1);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(ClassMapping, string), (PropertyMapping?, ClassMapping?)> Resolved = new();

    /// <summary>The property mapping and the type of its value for a JSON name, choice names ("valueString") included.</summary>
    private static (PropertyMapping? Property, ClassMapping? Type) Resolve(ClassMapping mapping, string name)
    {
        if (Resolved.TryGetValue((mapping, name), out var known))
        {
            return known;
        }

        // Only names FHIR knows are remembered: unknown ones come from input and must not grow the cache.
        var resolved = ResolveNow(mapping, name);
        if (resolved.Item1 is not null)
        {
            Resolved.TryAdd((mapping, name), resolved);
        }

        return resolved;
    }

    private static (PropertyMapping? Property, ClassMapping? Type) ResolveNow(ClassMapping mapping, string name)
    {
        var property = mapping.FindMappedElementByName(name);
        if (property is not null && string.Equals(property.Name, name, StringComparison.Ordinal))
        {
            // A choice element always carries its type in the JSON name.
            return property.Choice == ChoiceType.DatatypeChoice ? (null, null) : (property, TypeOf(property));
        }

        property = mapping.FindMappedElementByChoiceName(name);
        if (property is null || property.Choice != ChoiceType.DatatypeChoice || !name.StartsWith(property.Name, StringComparison.Ordinal))
        {
            return (null, null);
        }

        var suffix = name[property.Name.Length..];
        var type = property.FhirTypeMappings.FirstOrDefault(t => string.Equals(t.Name, suffix, StringComparison.OrdinalIgnoreCase)
                                                                  && char.IsUpper(suffix[0]));
        return type is null ? (null, null) : (property, type);
    }

    /// <summary>The correctly cased name when <paramref name="name"/> only differs from a known element (or choice) in case.</summary>
    private static string? WrongCase(ClassMapping mapping, string name)
    {
        foreach (var property in mapping.PropertyMappings)
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                // Exactly equal is not a case problem (a choice element without its type suffix): the walk reports it.
                return property.Name == name ? null : property.Name;
            }

            if (property.Choice == ChoiceType.DatatypeChoice && name.Length > property.Name.Length
                && name.StartsWith(property.Name, StringComparison.OrdinalIgnoreCase))
            {
                var suffix = name[property.Name.Length..];
                if (property.FhirTypeMappings.FirstOrDefault(t => string.Equals(t.Name, suffix, StringComparison.OrdinalIgnoreCase)) is { } type)
                {
                    return property.Name + char.ToUpperInvariant(type.Name[0]) + type.Name[1..];
                }
            }
        }

        return null;
    }

    private static ClassMapping? TypeOf(PropertyMapping property) =>
        property.FhirTypeMappings.Count > 0 ? property.FhirTypeMappings[0] : property.PropertyTypeMapping;

    private void Report(ref Utf8JsonReader reader, string message, string? name = null, int index = -1)
    {
        var expression = RenderPath(name, index);
        _issues.Add(new ValidationIssue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Structure, message, expression, IssueKind.Structure)
        {
            Position = _source.IsEmpty ? null : PositionOf(_source.Span, reader.TokenStartIndex),
        });
    }

    private void ReportAt(string message, string name, int index) =>
        _issues.Add(new ValidationIssue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Structure, message, RenderPath(name, index), IssueKind.Structure));

    private string? RenderPath(string? name, int index)
    {
        if (_path.Count == 0 && name is null)
        {
            return null;
        }

        var builder = new System.Text.StringBuilder();
        foreach (var (segment, segmentIndex) in _path)
        {
            AppendSegment(builder, segment, segmentIndex);
        }

        if (name is not null)
        {
            AppendSegment(builder, name, index);
        }

        return builder.ToString();

        static void AppendSegment(System.Text.StringBuilder builder, string segment, int segmentIndex)
        {
            if (builder.Length > 0 && !IsResourceTypeName(segment))
            {
                builder.Append('.');
            }
            else if (builder.Length > 0)
            {
                // A resource inside contained/entry: "Bundle.entry[0].resource" is followed by the resource's own elements.
                return;
            }

            builder.Append(segment);
            if (segmentIndex >= 0)
            {
                builder.Append('[').Append(segmentIndex).Append(']');
            }
        }
    }

    private static bool IsResourceTypeName(string segment) => segment.Length > 0 && char.IsUpper(segment[0]);

    /// <summary>Line and column (1-based) of a byte offset; only computed when an issue is reported.</summary>
    internal static (long Line, long Column) PositionOf(ReadOnlySpan<byte> source, long offset)
    {
        long line = 1, column = 1;
        var end = Math.Min(offset, source.Length);
        for (var i = 0; i < end; i++)
        {
            if (source[i] == (byte)'\n')
            {
                line++;
                column = 1;
            }
            else
            {
                column++;
            }
        }

        return (line, column);
    }
}
