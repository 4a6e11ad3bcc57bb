using System.Text;
using System.Text.Json;
using FhirRecovery.Samples;

namespace FhirRecovery.Cli.Verbs;

/// <summary>A resource read from an input, as its JSON text (sent unchanged) with what the loader needs to address it.</summary>
public sealed record LoadResource(string ResourceType, string? Id, ReadOnlyMemory<byte> Json, string Location);

/// <summary>One request the loader sends: a transaction (or a batch, when the input was one) Bundle, as bytes.</summary>
public sealed record LoadUnit(string Description, ReadOnlyMemory<byte> Body, int Entries, bool IsBatch, long InputBytes)
{
    /// <summary>The entries' resources (for --validate); empty for entries without a resource (DELETE, GET).</summary>
    public IReadOnlyList<LoadResource> Resources { get; init; } = [];
}

/// <summary>
/// Turns the inputs into requests, streaming:
/// <list type="bullet">
/// <item>transaction and batch Bundles are sent unchanged, whatever their size: splitting one would break its atomicity and
/// the urn:uuid references between its entries (a server that finds one too large says so, and the load stops);</item>
/// <item>everything else (single resources, NDJSON lines, entries of collection/searchset/history Bundles) is grouped into
/// transactions of at most <c>batchSize</c> PUTs (POST when a resource has no id), in input order; a group is cut early
/// when a resource repeats, because a transaction may change a resource only once: successive versions of a resource
/// go in successive transactions, so the server builds its history.</item>
/// </list>
/// Folders are read recursively (*.json, *.ndjson) in ordinal order of their paths, the order the sample sets are named
/// for (shared resources first, then each patient's enrolment and follow-ups; NDJSON types numbered in reference order).
/// </summary>
public sealed class LoadInputs(IReadOnlyList<string> paths, int batchSize)
{
    public static IReadOnlyList<string> Collect(IEnumerable<string> inputs, Func<string, string> fullPath)
    {
        var files = new List<string>();
        foreach (var input in inputs)
        {
            var path = fullPath(input);
            if (Directory.Exists(path))
            {
                var found = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Where(IsLoadable)
                    .OrderBy(f => Path.GetRelativePath(path, f).Replace('\\', '/'), StringComparer.Ordinal)
                    .ToList();
                if (found.Count == 0)
                {
                    throw new CliUsageException($"'{input}' has no .json or .ndjson files.");
                }

                files.AddRange(found);
            }
            else if (File.Exists(path))
            {
                files.Add(path);
            }
            else
            {
                throw new CliUsageException($"not found: '{input}'.");
            }
        }

        return files;
    }

    public long TotalBytes => paths.Sum(p => new FileInfo(p).Length);

    public IEnumerable<LoadUnit> Units()
    {
        var group = new Group(batchSize);
        foreach (var path in paths)
        {
            var name = Path.GetFileName(path);
            if (path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase))
            {
                var line = 0;
                foreach (var (text, bytes) in ReadLines(path))
                {
                    line++;
                    if (string.IsNullOrWhiteSpace(text))
                    {
                        continue;
                    }

                    var resource = Describe(Encoding.UTF8.GetBytes(text), $"{name}:{line}");
                    foreach (var unit in group.Add(resource, bytes))
                    {
                        yield return unit;
                    }
                }

                continue;
            }

            var content = File.ReadAllBytes(path);
            var (type, bundleType) = Peek(content, name);
            if (type == "Bundle" && bundleType is "transaction" or "batch")
            {
                foreach (var unit in group.Flush())
                {
                    yield return unit;
                }

                var entries = BundleResources(content, name);
                yield return new LoadUnit($"{name} ({bundleType})", content, entries.Count, bundleType == "batch", content.Length)
                {
                    Resources = entries.OfType<LoadResource>().ToList(),
                };
            }
            else if (type == "Bundle")
            {
                var entries = BundleResources(content, name).OfType<LoadResource>().ToList();
                for (var i = 0; i < entries.Count; i++)
                {
                    foreach (var unit in group.Add(entries[i], i == 0 ? content.Length : 0))
                    {
                        yield return unit;
                    }
                }
            }
            else
            {
                foreach (var unit in group.Add(Describe(content, name), content.Length))
                {
                    yield return unit;
                }
            }
        }

        foreach (var unit in group.Flush())
        {
            yield return unit;
        }
    }

    private static bool IsLoadable(string path) =>
        path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase);

    /// <summary>Lines with their byte length (for progress), read one at a time: an NDJSON file may be larger than memory.</summary>
    private static IEnumerable<(string Text, long Bytes)> ReadLines(string path)
    {
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16);
        while (reader.ReadLine() is { } line)
        {
            yield return (line, Encoding.UTF8.GetByteCount(line) + 1);
        }
    }

    private static (string Type, string? BundleType) Peek(byte[] content, string location)
    {
        try
        {
            using var document = JsonDocument.Parse(content, new JsonDocumentOptions { MaxDepth = 256 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("resourceType", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw new CliUsageException($"{location}: not a FHIR JSON resource (no resourceType).");
            }

            var bundleType = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            return (type.GetString()!, bundleType);
        }
        catch (JsonException ex)
        {
            throw new CliUsageException($"{location}: not valid JSON: {ex.Message}", ex);
        }
    }

    private static List<LoadResource?> BundleResources(byte[] content, string location)
    {
        using var document = JsonDocument.Parse(content, new JsonDocumentOptions { MaxDepth = 256 });
        var result = new List<LoadResource?>();
        if (!document.RootElement.TryGetProperty("entry", out var entries) || entries.ValueKind != JsonValueKind.Array)
        {
            return result;
        }

        var index = 0;
        foreach (var entry in entries.EnumerateArray())
        {
            result.Add(entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("resource", out var resource)
                ? Describe(Encoding.UTF8.GetBytes(resource.GetRawText()), $"{location}#entry[{index}]")
                : null);
            index++;
        }

        return result;
    }

    private static LoadResource Describe(byte[] json, string location)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            string? type = null;
            string? id = null;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new CliUsageException($"{location}: not a FHIR JSON resource (not an object).");
            }

            // Only the top level: resourceType and id may come anywhere among the properties.
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var property = reader.GetString();
                reader.Read();
                if (property == "resourceType" && reader.TokenType == JsonTokenType.String)
                {
                    type = reader.GetString();
                }
                else if (property == "id" && reader.TokenType == JsonTokenType.String)
                {
                    id = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            return type is null
                ? throw new CliUsageException($"{location}: not a FHIR JSON resource (no resourceType).")
                : new LoadResource(type, id, json, location);
        }
        catch (JsonException ex)
        {
            throw new CliUsageException($"{location}: not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Resources waiting to be sent as one transaction.</summary>
    private sealed class Group(int size)
    {
        private readonly List<LoadResource> _resources = [];
        private readonly HashSet<string> _targets = new(StringComparer.Ordinal);
        private long _inputBytes;

        public IEnumerable<LoadUnit> Add(LoadResource resource, long inputBytes)
        {
            var target = resource.Id is null ? null : $"{resource.ResourceType}/{resource.Id}";
            if (_resources.Count >= size || (target is not null && _targets.Contains(target)))
            {
                foreach (var unit in Flush())
                {
                    yield return unit;
                }
            }

            _resources.Add(resource);
            _inputBytes += inputBytes;
            if (target is not null)
            {
                _targets.Add(target);
            }
        }

        public IEnumerable<LoadUnit> Flush()
        {
            if (_resources.Count == 0)
            {
                yield break;
            }

            var first = _resources[0].Location;
            var last = _resources[^1].Location;
            var unit = new LoadUnit(first == last ? first : $"{first} .. {last}", Transaction(_resources), _resources.Count, false, _inputBytes)
            {
                Resources = _resources.ToList(),
            };
            _resources.Clear();
            _targets.Clear();
            _inputBytes = 0;
            yield return unit;
        }

        /// <summary>The resources' JSON is copied in unchanged (no parse and re-serialize that could alter content).</summary>
        private static byte[] Transaction(List<LoadResource> resources)
        {
            using var buffer = new MemoryStream();
            buffer.Write("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["u8);
            for (var i = 0; i < resources.Count; i++)
            {
                var resource = resources[i];
                if (i > 0)
                {
                    buffer.Write(","u8);
                }

                // PUT with the id is idempotent: re-running a load gives the same result. Without an id, POST (a
                // fresh urn:uuid each run, so such resources are created again on a re-run).
                var (fullUrl, method, url) = resource.Id is { } id
                    ? (DeterministicUuid.FullUrl(resource.ResourceType, id), "PUT", $"{resource.ResourceType}/{id}")
                    : ($"urn:uuid:{Guid.NewGuid()}", "POST", resource.ResourceType);
                buffer.Write(Encoding.UTF8.GetBytes($"{{\"fullUrl\":{JsonSerializer.Serialize(fullUrl)},\"resource\":"));
                buffer.Write(resource.Json.Span);
                buffer.Write(Encoding.UTF8.GetBytes($",\"request\":{{\"method\":\"{method}\",\"url\":{JsonSerializer.Serialize(url)}}}}}"));
            }

            buffer.Write("]}"u8);
            return buffer.ToArray();
        }
    }
}
