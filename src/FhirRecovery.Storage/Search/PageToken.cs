using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FhirRecovery.Storage.Search;

/// <summary>
/// Where a page starts: the sort values and key of the row just before it (keyset paging, so writes between page
/// requests neither skip nor repeat resources), the direction, and the search it belongs to (its parameters travel in
/// the token, so a link carrying only the token still works).
/// </summary>
internal sealed record PageCursor
{
    [JsonPropertyName("k")]
    public required string Kind { get; init; }

    [JsonPropertyName("f")]
    public required bool Forward { get; init; }

    [JsonPropertyName("v")]
    public required IReadOnlyList<object?> Values { get; init; }

    [JsonPropertyName("r")]
    public required long Key { get; init; }

    [JsonPropertyName("h")]
    public required string Hash { get; init; }

    [JsonPropertyName("p")]
    public IReadOnlyList<string[]>? Parameters { get; init; }
}

/// <summary>Encodes page cursors as opaque tokens signed with HMAC-SHA256, so a changed token is refused, not obeyed.</summary>
internal sealed class PageTokenCodec(byte[] key)
{
    private const int MacLength = 16;

    public string Encode(PageCursor cursor)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(cursor);
        var mac = HMACSHA256.HashData(key, payload).AsSpan(0, MacLength);
        return Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(mac);
    }

    public PageCursor Decode(string token, string expectedKind)
    {
        var dot = token.IndexOf('.');
        try
        {
            if (dot > 0)
            {
                var payload = Base64Url.DecodeFromChars(token.AsSpan(0, dot));
                var mac = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
                var expected = HMACSHA256.HashData(key, payload).AsSpan(0, MacLength);
                if (CryptographicOperations.FixedTimeEquals(mac, expected)
                    && JsonSerializer.Deserialize<PageCursor>(payload) is { } cursor && cursor.Kind == expectedKind)
                {
                    return cursor with { Values = cursor.Values.Select(Unwrap).ToArray() };
                }
            }
        }
        catch (FormatException)
        {
        }
        catch (JsonException)
        {
        }

        throw new SearchException("_page", "The page token is not valid (altered, truncated or from another server).");
    }

    private static object? Unwrap(object? value) => value switch
    {
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(),
        JsonElement { ValueKind: JsonValueKind.Number } e when e.TryGetInt64(out var l) => l,
        JsonElement { ValueKind: JsonValueKind.Number } e => e.GetDouble(),
        JsonElement => null,
        _ => value,
    };

    /// <summary>A digest of what identifies a search, to refuse a token used with other parameters.</summary>
    public static string Digest(params IEnumerable<string?>[] parts)
    {
        var builder = new StringBuilder();
        foreach (var part in parts.SelectMany(p => p))
        {
            builder.Append(part?.Length ?? -1).Append(':').Append(part).Append('|');
        }

        return Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(builder.ToString())).AsSpan(0, 12));
    }
}
