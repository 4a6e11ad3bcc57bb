namespace FhirRecovery.Conformance.Definitions;

/// <summary>
/// What the index knows about one conformance resource without parsing it: enough to answer
/// "which resource has this canonical" and "which StructureDefinitions/SearchParameters exist for type X".
/// </summary>
public sealed record CanonicalEntry
{
    public required string ResourceType { get; init; }
    public string? Id { get; init; }
    public string? Url { get; init; }
    public string? Version { get; init; }
    public string? Name { get; init; }
    public string? Status { get; init; }

    /// <summary>The top-level <c>type</c>: StructureDefinition.type, or SearchParameter.type (token, reference, ...).</summary>
    public string? Type { get; init; }

    /// <summary>SearchParameter.code.</summary>
    public string? Code { get; init; }

    /// <summary>StructureDefinition.kind (primitive-type, complex-type, resource, logical).</summary>
    public string? Kind { get; init; }

    /// <summary>StructureDefinition.derivation (specialization, constraint).</summary>
    public string? Derivation { get; init; }

    public string? BaseDefinition { get; init; }

    /// <summary>SearchParameter.base.</summary>
    public IReadOnlyList<string> Base { get; init; } = [];

    /// <summary>Id of the package (or "hl7.fhir.r4.core") the resource came from.</summary>
    public required string PackageId { get; init; }

    internal ResourceLocation Location { get; init; } = null!;

    /// <summary>The source that indexed this entry (set when the source is built).</summary>
    internal DefinitionSource Source { get; set; } = null!;

    public string Key => Version is null ? Url ?? $"{ResourceType}/{Id}" : $"{Url}|{Version}";
}

/// <summary>Where the bytes of an indexed resource are, so it can be parsed only when first asked for.</summary>
internal abstract record ResourceLocation
{
    public abstract ReadOnlyMemory<byte> ReadBytes();

    /// <summary>A slice of a (large) file: the core bundles are indexed by offset and read on demand.</summary>
    internal sealed record FileSlice(string Path, long Offset, int Length) : ResourceLocation
    {
        public override ReadOnlyMemory<byte> ReadBytes()
        {
            using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.RandomAccess);
            stream.Seek(Offset, SeekOrigin.Begin);
            var buffer = new byte[Length];
            stream.ReadExactly(buffer);
            return buffer;
        }
    }

    internal sealed record InMemory(ReadOnlyMemory<byte> Bytes) : ResourceLocation
    {
        public override ReadOnlyMemory<byte> ReadBytes() => Bytes;
    }

    /// <summary>Already a POCO (loose files in XML, resources handed over by code).</summary>
    internal sealed record Parsed(Hl7.Fhir.Model.Resource Resource) : ResourceLocation
    {
        public override ReadOnlyMemory<byte> ReadBytes() => throw new NotSupportedException("Parsed resources have no bytes.");
    }
}
