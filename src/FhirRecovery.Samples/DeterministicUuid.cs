using System.Security.Cryptography;
using System.Text;

namespace FhirRecovery.Samples;

/// <summary>
/// Name-based UUIDs (RFC 9562 version 5, SHA-1): the same name always gives the same UUID, so Bundle fullUrls are
/// reproducible where <see cref="Guid.NewGuid"/> would change on every run.
/// </summary>
public static class DeterministicUuid
{
    /// <summary>The namespace of FhirRecovery sample data (itself a v5 UUID of the IG's canonical base in the URL namespace).</summary>
    private static readonly Guid Namespace = Create(new Guid("6ba7b811-9dad-11d1-80b4-00c04fd430c8"), "https://fhirrecovery.org/fhir/samples");

    public static Guid For(string name) => Create(Namespace, name);

    /// <summary>The urn:uuid fullUrl of a resource of the sample set.</summary>
    public static string FullUrl(string resourceType, string id) => $"urn:uuid:{For($"{resourceType}/{id}")}";

    public static Guid Create(Guid @namespace, string name)
    {
        Span<byte> namespaceBytes = stackalloc byte[16];
        @namespace.TryWriteBytes(namespaceBytes, bigEndian: true, out _);
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[16 + nameBytes.Length];
        namespaceBytes.CopyTo(input);
        nameBytes.CopyTo(input, 16);

        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }
}
