using System.Text.Json;

namespace FhirRecovery.Conformance.Definitions;

/// <summary>
/// Indexes FHIR JSON without building resources: one pass of <see cref="Utf8JsonReader"/> over a single resource,
/// a Bundle (its entry[].resource) or a bare JSON array of resources, recording each resource's summary fields and
/// byte range. Parsing into POCOs happens later, only for the resources somebody asks for.
/// </summary>
internal static class ResourceScanner
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 512, CommentHandling = JsonCommentHandling.Skip };

    /// <summary>Scans <paramref name="json"/>; <paramref name="locate"/> turns a byte range into a location.</summary>
    public static List<CanonicalEntry> Scan(ReadOnlySpan<byte> json, string packageId, Func<long, int, ResourceLocation> locate)
    {
        var found = new List<CanonicalEntry>();
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read())
        {
            return found;
        }

        if (reader.TokenType == JsonTokenType.StartArray)
        {
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                ScanResourceOrBundle(ref reader, packageId, locate, found);
            }
        }
        else if (reader.TokenType == JsonTokenType.StartObject)
        {
            ScanResourceOrBundle(ref reader, packageId, locate, found);
        }

        return found;
    }

    /// <summary>Reader is on StartObject of a resource; leaves it on the matching EndObject.</summary>
    private static void ScanResourceOrBundle(ref Utf8JsonReader reader, string packageId, Func<long, int, ResourceLocation> locate, List<CanonicalEntry> found)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        var start = reader.TokenStartIndex;
        var depth = reader.CurrentDepth;
        string? resourceType = null, id = null, url = null, version = null, name = null, status = null, type = null, kind = null,
            derivation = null, baseDefinition = null, code = null;
        List<string>? bases = null;
        var nested = new List<CanonicalEntry>();

        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            var property = reader.GetString();
            reader.Read();
            switch (property)
            {
                case "resourceType": resourceType = StringOrSkip(ref reader); break;
                case "id": id = StringOrSkip(ref reader); break;
                case "url": url = StringOrSkip(ref reader); break;
                case "version": version = StringOrSkip(ref reader); break;
                case "name": name = StringOrSkip(ref reader); break;
                case "status": status = StringOrSkip(ref reader); break;
                case "type": type = StringOrSkip(ref reader); break;
                case "kind": kind = StringOrSkip(ref reader); break;
                case "derivation": derivation = StringOrSkip(ref reader); break;
                case "baseDefinition": baseDefinition = StringOrSkip(ref reader); break;
                case "code": code = StringOrSkip(ref reader); break;
                case "base":
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        bases = [];
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            if (reader.TokenType == JsonTokenType.String)
                            {
                                bases.Add(reader.GetString()!);
                            }
                            else
                            {
                                reader.Skip();
                            }
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }

                    break;
                case "entry" when reader.TokenType == JsonTokenType.StartArray:
                    ScanBundleEntries(ref reader, packageId, locate, nested);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (resourceType == "Bundle")
        {
            found.AddRange(nested);
            return;
        }

        if (resourceType is null)
        {
            return;
        }

        var length = checked((int)(reader.BytesConsumed - start));
        found.Add(new CanonicalEntry
        {
            ResourceType = resourceType,
            Id = id,
            Url = url,
            Version = version,
            Name = name,
            Status = status,
            Type = type,
            Kind = kind,
            Derivation = derivation,
            BaseDefinition = baseDefinition,
            Code = code,
            Base = bases ?? (IReadOnlyList<string>)[],
            PackageId = packageId,
            Location = locate(start, length),
        });
    }

    private static void ScanBundleEntries(ref Utf8JsonReader reader, string packageId, Func<long, int, ResourceLocation> locate, List<CanonicalEntry> found)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            var entryDepth = reader.CurrentDepth;
            while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == entryDepth))
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }

                var isResource = reader.ValueTextEquals("resource");
                reader.Read();
                if (isResource)
                {
                    ScanResourceOrBundle(ref reader, packageId, locate, found);
                }
                else
                {
                    reader.Skip();
                }
            }
        }
    }

    private static string? StringOrSkip(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        reader.Skip();
        return null;
    }
}
