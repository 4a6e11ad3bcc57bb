using System.Collections;
using FhirRecovery.Server.Http;
using FhirRecovery.Storage;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Introspection;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;

namespace FhirRecovery.Server.Patching;

/// <summary>
/// FHIRPath Patch (FHIR R4 §3.1.0.8.3): a Parameters resource of <c>operation</c>s (add, insert, delete, replace, move)
/// applied to the POCO, locating elements with FHIRPath.
/// </summary>
public sealed class FhirPathPatch : PatchDocument
{
    private static readonly FhirPathCompiler Compiler = new(new SymbolTable().AddStandardFP().AddFhirExtensions());

    private readonly IReadOnlyList<Operation> _operations;

    private FhirPathPatch(IReadOnlyList<Operation> operations) => _operations = operations;

    private sealed record Operation(int Index, string Type, string Path, string? Name, object? Value, int? ValueIndex, int? Source, int? Destination)
    {
        public string Where => $"Parameters.parameter[{Index}]";
    }

    public static FhirPathPatch FromParameters(Parameters parameters)
    {
        var operations = new List<Operation>();
        for (var i = 0; i < parameters.Parameter.Count; i++)
        {
            var parameter = parameters.Parameter[i];
            if (parameter.Name != "operation")
            {
                throw FhirException.BadRequest($"FHIRPath Patch: parameter {i} is '{parameter.Name}', only 'operation' is allowed", $"Parameters.parameter[{i}].name");
            }

            var where = $"Parameters.parameter[{i}]";
            string? Text(string name) => parameter.Part.FirstOrDefault(p => p.Name == name)?.Value is PrimitiveType p ? p.ToString() : null;
            int? Number(string name) => parameter.Part.FirstOrDefault(p => p.Name == name)?.Value switch
            {
                null => null,
                Integer n => n.Value,
                PrimitiveType p when int.TryParse(p.ToString(), out var n) => n,
                _ => throw FhirException.BadRequest($"FHIRPath Patch operation {i}: '{name}' must be an integer", $"{where}.part"),
            };

            var type = Text("type") ?? throw FhirException.BadRequest($"FHIRPath Patch operation {i} has no type", $"{where}.part");
            if (type is not ("add" or "insert" or "delete" or "replace" or "move"))
            {
                throw FhirException.BadRequest($"FHIRPath Patch operation {i}: unknown type '{type}'", $"{where}.part");
            }

            var path = Text("path") ?? throw FhirException.BadRequest($"FHIRPath Patch operation {i} has no path", $"{where}.part");
            var valuePart = parameter.Part.FirstOrDefault(p => p.Name == "value");
            object? value = valuePart switch
            {
                null => null,
                { Value: { } v } => v,
                { Resource: { } r } => r,
                { Part.Count: > 0 } => new PartsValue(valuePart.Part),
                _ => null,
            };
            var operation = new Operation(i, type, path, Text("name"), value, Number("index"), Number("source"), Number("destination"));
            if (type is "add" or "insert" or "replace" && value is null)
            {
                throw FhirException.BadRequest($"FHIRPath Patch operation {i} ({type}) has no value", $"{where}.part");
            }

            if (type == "add" && operation.Name is null)
            {
                throw FhirException.BadRequest($"FHIRPath Patch operation {i} (add) has no name", $"{where}.part");
            }

            if (type == "insert" && operation.ValueIndex is null || type == "move" && (operation.Source is null || operation.Destination is null))
            {
                throw FhirException.BadRequest($"FHIRPath Patch operation {i} ({type}) lacks its index/source/destination", $"{where}.part");
            }

            operations.Add(operation);
        }

        return new FhirPathPatch(operations);
    }

    public override Resource Apply(ResourceVersion current)
    {
        var resource = FhirSerialization.ParseStored(current.Json!);
        foreach (var operation in _operations)
        {
            try
            {
                ApplyOne(resource, operation);
            }
            catch (Exception ex) when (ex is InvalidCastException or ArgumentException or InvalidOperationException or KeyNotFoundException)
            {
                // Firely refuses the value for that element (wrong type, bad literal): the patch cannot be applied.
                throw Failed(operation, ex.Message);
            }
        }

        // Round trip through the strict parser: whatever the patch made must be well-formed FHIR (e.g. a code in its value set).
        try
        {
            return FhirSerialization.Parse(FhirSerialization.SerializeToJson(resource), FhirFormat.Json);
        }
        catch (FhirException ex)
        {
            throw new FhirException(StatusCodes.Status422UnprocessableEntity, ex.Outcome);
        }
    }

    private static void ApplyOne(Resource resource, Operation operation)
    {
        switch (operation.Type)
        {
            case "add":
            {
                var target = Single(resource, operation.Path, operation, allowNone: false)!;
                var mapping = Property(target.Poco, operation.Name!, operation);
                var value = Convert(operation.Value!, mapping, operation);
                if (mapping.IsCollection)
                {
                    ListOf(target.Poco, mapping).Add(value);
                }
                else if (target.Poco.TryGetValue(mapping.Name, out var existing) && existing is not null)
                {
                    throw Failed(operation, $"'{operation.Path}' already has a {operation.Name}; use replace");
                }
                else
                {
                    target.Poco.SetValue(mapping.Name, value);
                }

                break;
            }

            case "insert":
            case "move":
            {
                var (container, mapping) = Collection(resource, operation);
                var list = ListOf(container, mapping);
                if (operation.Type == "insert")
                {
                    if (operation.ValueIndex < 0 || operation.ValueIndex > list.Count)
                    {
                        throw Failed(operation, $"index {operation.ValueIndex} is outside the {list.Count} elements of '{operation.Path}'");
                    }

                    list.Insert(operation.ValueIndex!.Value, Convert(operation.Value!, mapping, operation));
                }
                else
                {
                    if (operation.Source < 0 || operation.Source >= list.Count || operation.Destination < 0 || operation.Destination >= list.Count)
                    {
                        throw Failed(operation, $"source {operation.Source} or destination {operation.Destination} is outside the {list.Count} elements of '{operation.Path}'");
                    }

                    var item = list[operation.Source!.Value];
                    list.RemoveAt(operation.Source.Value);
                    list.Insert(operation.Destination!.Value, item);
                }

                break;
            }

            case "delete":
            {
                // Deleting something that is not there is not an error (the spec: "no change").
                if (Single(resource, operation.Path, operation, allowNone: true) is { } node)
                {
                    Detach(node, operation);
                }

                break;
            }

            case "replace":
            {
                var node = Single(resource, operation.Path, operation, allowNone: false)!;
                var parent = node.Parent?.Poco ?? throw Failed(operation, "the resource itself cannot be replaced");
                var mapping = Property(parent, node.Name!, operation);
                var value = Convert(operation.Value!, mapping, operation);
                if (node.Index is { } index && mapping.IsCollection)
                {
                    ListOf(parent, mapping)[index] = value;
                }
                else
                {
                    parent.SetValue(mapping.Name, value);
                }

                break;
            }
        }
    }

    private static PocoNode? Single(Resource resource, string path, Operation operation, bool allowNone)
    {
        List<PocoNode> nodes;
        try
        {
            nodes = Compiler.Compile(path)(resource.ToPocoNode(), new FhirEvaluationContext()).ToList();
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or InvalidCastException
                                       or Hl7.FhirPath.Sprache.ParseException)
        {
            throw FhirException.BadRequest($"FHIRPath Patch operation {operation.Index}: '{path}' is not a usable FHIRPath expression: {ex.Message}", $"{operation.Where}.part");
        }

        return nodes.Count switch
        {
            0 when allowNone => null,
            0 => throw Failed(operation, $"'{path}' matches nothing"),
            1 => nodes[0],
            _ => throw Failed(operation, $"'{path}' matches {nodes.Count} elements; it must match one"),
        };
    }

    /// <summary>The list an insert/move works on: <c>path</c> is "X.y" — the element X and its repeating child y.</summary>
    private static (Base Container, PropertyMapping Mapping) Collection(Resource resource, Operation operation)
    {
        var dot = operation.Path.LastIndexOf('.');
        var name = dot < 0 ? null : operation.Path[(dot + 1)..];
        if (name is null || !name.All(c => char.IsLetterOrDigit(c) || c == '_'))
        {
            throw Failed(operation, $"'{operation.Path}' must end in the name of a repeating element");
        }

        var container = Single(resource, operation.Path[..dot], operation, allowNone: false)!;
        var mapping = Property(container.Poco, name, operation);
        if (!mapping.IsCollection)
        {
            throw Failed(operation, $"'{operation.Path}' does not repeat");
        }

        return (container.Poco, mapping);
    }

    private static void Detach(PocoNode node, Operation operation)
    {
        var parent = node.Parent?.Poco ?? throw Failed(operation, "the resource itself cannot be deleted by a patch");
        var mapping = Property(parent, node.Name!, operation);
        if (node.Index is { } index && mapping.IsCollection)
        {
            ListOf(parent, mapping).RemoveAt(index);
        }
        else
        {
            parent.SetValue(mapping.Name, null);
        }
    }

    private static PropertyMapping Property(Base owner, string name, Operation operation)
    {
        var classMapping = ModelInfo.ModelInspector.FindClassMapping(owner.GetType())
                           ?? throw Failed(operation, $"no element '{name}' on {owner.TypeName}");
        return classMapping.FindMappedElementByName(name)
               ?? classMapping.FindMappedElementByChoiceName(name)
               ?? throw Failed(operation, $"{owner.TypeName} has no element '{name}'");
    }

    private static IList ListOf(Base owner, PropertyMapping mapping)
    {
        if (owner.TryGetValue(mapping.Name, out var existing) && existing is IList list)
        {
            return list;
        }

        var created = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(mapping.ImplementingType))!;
        owner.SetValue(mapping.Name, created);
        return created;
    }

    /// <summary>Makes the given value fit the element: a code given as valueCode into Code&lt;T&gt;, parts into a backbone element.</summary>
    private static Base Convert(object value, PropertyMapping mapping, Operation operation)
    {
        var target = mapping.ImplementingType;
        if (target.IsInstanceOfType(value))
        {
            return (Base)value;
        }

        if (value is PrimitiveType primitive && typeof(PrimitiveType).IsAssignableFrom(target) && !target.IsAbstract)
        {
            var converted = (PrimitiveType)Activator.CreateInstance(target)!;
            converted.JsonValue = primitive.JsonValue;
            return converted;
        }

        if (value is PartsValue parts && typeof(Base).IsAssignableFrom(target) && !target.IsAbstract)
        {
            var element = (Base)Activator.CreateInstance(target)!;
            foreach (var part in parts.Parts)
            {
                var childMapping = Property(element, part.Name ?? "", operation);
                object? child = (object?)part.Value ?? (object?)part.Resource ?? (part.Part.Count > 0 ? new PartsValue(part.Part) : null);
                if (child is null)
                {
                    continue;
                }

                var converted = Convert(child, childMapping, operation);
                if (childMapping.IsCollection)
                {
                    ListOf(element, childMapping).Add(converted);
                }
                else
                {
                    element.SetValue(childMapping.Name, converted);
                }
            }

            return element;
        }

        throw Failed(operation, $"a {(value as Base)?.TypeName ?? "complex value"} cannot be put into {mapping.DeclaringClass.Name}.{mapping.Name}");
    }

    private static FhirException Failed(Operation operation, string message) =>
        new(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.Processing,
            $"FHIRPath Patch operation {operation.Index} ({operation.Type} {operation.Path}): {message}", operation.Where);

    /// <summary>A complex value given as parts (backbone elements have no value[x] type of their own).</summary>
    private sealed record PartsValue(List<Parameters.ParameterComponent> Parts);
}
