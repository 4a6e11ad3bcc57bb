using System.Collections;
using System.Collections.Concurrent;
using System.Text.Json;
using Hl7.Fhir.Introspection;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// Builds the POCOs of a resource from JSON exactly as Firely's lenient (Ostrich) deserializer does, for JSON that
/// is plainly right: known element names (choice names with a type the element allows), arrays where elements repeat
/// and only there, objects for complex types, primitives of their JSON kind, nested resources with a known
/// <c>resourceType</c>. At the first thing outside that (unknown or duplicate names, <c>_element</c>s, nulls, empty
/// arrays, objects or strings, escaped names...) it declines, and the caller takes the general way: the
/// <see cref="JsonShapeChecker"/> reports the oddity and Firely's reader decides how it is kept. So a document read
/// here has nothing the shape check would report (both are tested on all test data and on mutations of it).
/// </summary>
internal static class PocoJsonReader
{
    private static readonly ModelInspector Inspector = ModelInfo.ModelInspector;
    private static readonly ConcurrentDictionary<ClassMapping, Members> MembersByType = new();

    /// <summary>The resource, or null when the JSON is not of the plain shape this reader takes on.</summary>
    public static Resource? TryRead(ReadOnlySpan<byte> json, JsonReaderOptions options)
    {
        var reader = new Utf8JsonReader(json, options);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            var resource = ReadResource(ref reader);

            // One document: nothing may follow the resource.
            return resource is not null && !reader.Read() ? resource : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            // Malformed JSON, or text that is not valid UTF-8: the general way reports it.
            return null;
        }
    }

    /// <summary>Reads the resource object the reader is on (at its StartObject; on its EndObject afterwards).</summary>
    private static Resource? ReadResource(ref Utf8JsonReader reader)
    {
        if (ResourceTypeOf(reader) is not { } typeName
            || Inspector.FindClassMapping(typeName) is not { IsResource: true } mapping
            || !string.Equals(mapping.Name, typeName, StringComparison.Ordinal)
            || mapping.CreateInstance() is not Resource resource)
        {
            return null;
        }

        return ReadObjectInto(ref reader, resource, mapping, isResource: true) ? resource : null;
    }

    /// <summary>The resourceType of the object the reader is on, read ahead on a copy of the reader.</summary>
    private static string? ResourceTypeOf(Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1)
            {
                if (reader.ValueTextEquals("resourceType"u8))
                {
                    reader.Read();
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Read();
                reader.Skip();
            }
        }

        return null;
    }

    private static bool ReadObjectInto(ref Utf8JsonReader reader, Base target, ClassMapping mapping, bool isResource)
    {
        var members = MembersOf(mapping);
        Span<char> nameBuffer = stackalloc char[64];
        var any = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped || reader.ValueSpan.Length > nameBuffer.Length)
            {
                return false;
            }

            var utf8 = reader.ValueSpan;
            for (var i = 0; i < utf8.Length; i++)
            {
                if (utf8[i] >= 0x80)
                {
                    return false;
                }

                nameBuffer[i] = (char)utf8[i];
            }

            var name = nameBuffer[..utf8.Length];
            if (isResource && name.SequenceEqual("resourceType"))
            {
                reader.Read();
                continue;
            }

            if (!members.Lookup.TryGetValue(name, out var member))
            {
                return false;
            }

            // Two names for one element (repeated, or two choice types) are Firely's to reconcile.
            if (target.TryGetValue(member.ElementName, out var existing) && existing is not null and not IList { Count: 0 })
            {
                return false;
            }

            reader.Read();
            object? value;
            if (member.IsCollection)
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return false;
                }

                var list = member.ListMapping.CreateList();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (ReadValue(ref reader, member) is not { } item)
                    {
                        return false;
                    }

                    list.Add(item);
                }

                if (list.Count == 0)
                {
                    return false;
                }

                value = list;
            }
            else
            {
                value = ReadValue(ref reader, member);
                if (value is null)
                {
                    return false;
                }
            }

            target.SetValue(member.ElementName, value);
            any = true;
        }

        // An empty object (no elements) is reported by the shape check; Firely keeps it, so leave it to Firely.
        return reader.TokenType == JsonTokenType.EndObject && (any || isResource);
    }

    /// <summary>One value of an element; null to decline.</summary>
    private static Base? ReadValue(ref Utf8JsonReader reader, Member member)
    {
        if (member.IsResource)
        {
            return reader.TokenType == JsonTokenType.StartObject ? ReadResource(ref reader) : null;
        }

        var mapping = member.ValueMapping;
        if (member.Kind is { } kind)
        {
            if (ReadPrimitive(ref reader, kind, member.WholeNumber) is not { } raw || mapping.CreateInstance() is not PrimitiveType primitive)
            {
                return null;
            }

            primitive.JsonValue = raw;
            return primitive;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        var value = mapping.CreateInstance();
        return ReadObjectInto(ref reader, value, mapping, isResource: false) ? value : null;
    }

    /// <summary>
    /// A primitive's JSON value as Firely keeps it (strings, booleans, decimal for decimals, int for integers), when it
    /// is of the JSON kind its type asks for and not an empty string or a whole number written with a fraction.
    /// </summary>
    private static object? ReadPrimitive(ref Utf8JsonReader reader, JsonPrimitiveKind kind, bool wholeNumber)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String when kind == JsonPrimitiveKind.String && (reader.ValueSpan.Length > 0 || reader.ValueIsEscaped):
                return reader.GetString();
            case JsonTokenType.True when kind == JsonPrimitiveKind.Boolean:
                return true;
            case JsonTokenType.False when kind == JsonPrimitiveKind.Boolean:
                return false;
            case JsonTokenType.Number when kind == JsonPrimitiveKind.Number && !wholeNumber:
                return reader.TryGetDecimal(out var dec) ? dec : null;
            case JsonTokenType.Number when kind == JsonPrimitiveKind.Number && reader.ValueSpan.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0:
                return reader.TryGetInt32(out var i32) ? i32 : null;
            default:
                return null;
        }
    }

    private static Members MembersOf(ClassMapping mapping) =>
        MembersByType.TryGetValue(mapping, out var known) ? known : MembersByType.GetOrAdd(mapping, Members.For);

    /// <summary>How one JSON name maps onto an element: the element, the type of its values, whether it repeats.</summary>
    private sealed record Member(string ElementName, ClassMapping ValueMapping, ClassMapping ListMapping, bool IsCollection, bool IsResource)
    {
        /// <summary>For a primitive: the JSON kind its values must have (null for complex types and resources).</summary>
        public JsonPrimitiveKind? Kind { get; } = ValueMapping.IsFhirPrimitive && !IsResource ? PrimitiveFormats.JsonKindOf(ValueMapping.Name) : null;

        /// <summary>integer, positiveInt, unsignedInt: numbers without fraction or exponent, kept as int.</summary>
        public bool WholeNumber { get; } = ValueMapping.Name is "integer" or "positiveInt" or "unsignedInt";
    }

    /// <summary>The JSON names of a type's elements: plain names, and for choices the name with each allowed type.</summary>
    private sealed class Members
    {
        private readonly Dictionary<string, Member> _byName = new(StringComparer.Ordinal);

        private Members()
        {
            Lookup = _byName.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public Dictionary<string, Member>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }

        public static Members For(ClassMapping mapping)
        {
            var members = new Members();
            foreach (var property in mapping.PropertyMappings)
            {
                if (property.RepresentsValueElement || property.Name.StartsWith('_'))
                {
                    continue;
                }

                var listMapping = Inspector.FindOrImportClassMapping(property.ImplementingType);
                switch (property.Choice)
                {
                    case ChoiceType.None when listMapping is not null:
                        // A few elements are declared with an abstract type shared across FHIR versions (Meta.profile:
                        // PrimitiveType); their values are of the one type this version gives them.
                        var valueMapping = !property.ImplementingType.IsAbstract ? listMapping
                            : property.FhirType is [var single] ? Inspector.FindOrImportClassMapping(single) : null;
                        if (valueMapping is not null)
                        {
                            members._byName[property.Name] = new Member(property.Name, valueMapping, listMapping, property.IsCollection, IsResource: false);
                        }

                        break;
                    case ChoiceType.ResourceChoice when listMapping is not null:
                        members._byName[property.Name] = new Member(property.Name, listMapping, listMapping, property.IsCollection, IsResource: true);
                        break;
                    case ChoiceType.DatatypeChoice when listMapping is not null:
                        foreach (var type in property.FhirType)
                        {
                            // The suffix Firely would look up, resolved as Firely resolves it.
                            if (Inspector.GetFhirTypeNameForType(type) is not { Length: > 0 } typeName)
                            {
                                continue;
                            }

                            var suffix = char.ToUpperInvariant(typeName[0]) + typeName[1..];
                            if (Inspector.FindClassMapping(suffix) is { } choiceMapping)
                            {
                                members._byName[property.Name + suffix] = new Member(property.Name, choiceMapping, listMapping, property.IsCollection, IsResource: false);
                            }
                        }

                        break;
                }
            }

            return members;
        }
    }
}
