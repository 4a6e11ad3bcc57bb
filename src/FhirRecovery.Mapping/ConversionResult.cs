using System.Security.Cryptography;
using System.Text;
using Hl7.Fhir.Model;

namespace FhirRecovery.Mapping;

/// <summary>
/// What a conversion produced: a transaction Bundle of conditional updates (<c>PUT Type?identifier=system|value</c>,
/// <c>urn:uuid</c> fullUrls referring to each other), ready for <c>POST [base]</c> or <c>$import-ehr</c>, and what the
/// mapper has to say about it (skipped resources, suggestions made, data it could not carry).
/// </summary>
public sealed record ConversionResult(Bundle Bundle, IReadOnlyList<OperationOutcome.IssueComponent> Issues)
{
    public IEnumerable<Resource> Resources => Bundle.Entry.Select(e => e.Resource).OfType<Resource>();

    public IEnumerable<T> All<T>() where T : Resource => Resources.OfType<T>();

    /// <summary>The issues as an OperationOutcome (for the Bundle's <c>issues</c> or a response).</summary>
    public OperationOutcome ToOutcome() => new() { Issue = Issues.Count == 0 ? [Information("Converted without remarks")] : Issues.ToList() };

    public static OperationOutcome.IssueComponent Information(string message, string? expression = null) =>
        Issue(OperationOutcome.IssueSeverity.Information, OperationOutcome.IssueType.Informational, message, expression);

    public static OperationOutcome.IssueComponent Warning(string message, string? expression = null) =>
        Issue(OperationOutcome.IssueSeverity.Warning, OperationOutcome.IssueType.Informational, message, expression);

    public static OperationOutcome.IssueComponent Issue(OperationOutcome.IssueSeverity severity, OperationOutcome.IssueType code, string message, string? expression)
    {
        var issue = new OperationOutcome.IssueComponent { Severity = severity, Code = code, Diagnostics = message };
        if (expression is not null)
        {
            issue.Expression = [expression];
        }

        return issue;
    }
}

/// <summary>Builds the transaction Bundle of one conversion; resources are keyed by their identifier for idempotent import.</summary>
public sealed class BundleAssembly
{
    private readonly Dictionary<string, Bundle.EntryComponent> _byFullUrl = new(StringComparer.Ordinal);

    public BundleAssembly(EhrProfile ehr, string source)
    {
        Ehr = ehr;
        Source = source;
    }

    public EhrProfile Ehr { get; }

    /// <summary>meta.source of every resource of this conversion.</summary>
    public string Source { get; }

    public Bundle Bundle { get; } = new() { Type = Bundle.BundleType.Transaction };

    public List<OperationOutcome.IssueComponent> Issues { get; } = [];

    /// <summary>
    /// Adds a resource under a conditional update on <paramref name="key"/> and returns a reference to it. The fullUrl is a
    /// name-based UUID of type and identifier, so converting the same input twice gives the same Bundle.
    /// </summary>
    public ResourceReference Add(Resource resource, Identifier key, string? profile, string? display = null)
    {
        var fullUrl = FullUrl(resource.TypeName, key);
        resource.Meta ??= new Meta();
        resource.Meta.Source = Source;
        if (profile is not null && !resource.Meta.Profile.Contains(profile))
        {
            resource.Meta.Profile = [.. resource.Meta.Profile, profile];
        }

        if (!resource.Meta.Tag.Any(t => t.System == RecoveryCanonicals.MappingTagSystem && t.Code == MappingTags.Converted))
        {
            resource.Meta.Tag.Add(MappingTags.Coding(MappingTags.Converted));
        }

        if (_byFullUrl.TryGetValue(fullUrl, out var existing))
        {
            // The same thing named twice in one input (a provider in two PRDs): the first one stands.
            return new ResourceReference(fullUrl, display);
        }

        var entry = new Bundle.EntryComponent
        {
            FullUrl = fullUrl,
            Resource = resource,
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = ConditionalUrl(resource.TypeName, key) },
        };
        Bundle.Entry.Add(entry);
        _byFullUrl[fullUrl] = entry;
        return new ResourceReference(fullUrl, display);
    }

    /// <summary>
    /// The resources of a conversion as they would be stored: ids from their urn:uuid fullUrls, references rewritten to
    /// Type/id (for exporting a conversion straight away, or validating references between its resources).
    /// </summary>
    public static List<Resource> Materialize(Bundle bundle)
    {
        var copy = (Bundle)bundle.DeepCopy();
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in copy.Entry.Where(e => e.Resource is not null && e.FullUrl is not null))
        {
            entry.Resource!.Id ??= entry.FullUrl!.StartsWith("urn:uuid:", StringComparison.Ordinal) ? entry.FullUrl[9..] : Guid.NewGuid().ToString();
            ids[entry.FullUrl!] = $"{entry.Resource.TypeName}/{entry.Resource.Id}";
        }

        foreach (var entry in copy.Entry.Where(e => e.Resource is not null))
        {
            RewriteReferences(entry.Resource!, ids);
        }

        return copy.Entry.Select(e => e.Resource).OfType<Resource>().ToList();
    }

    private static void RewriteReferences(Base node, Dictionary<string, string> ids)
    {
        foreach (var (_, value) in node.EnumerateElements())
        {
            foreach (var element in value is System.Collections.IEnumerable list and not string ? list.OfType<Base>() : value is Base single ? [single] : [])
            {
                if (element is ResourceReference { Reference: { } target } reference && ids.TryGetValue(target, out var local))
                {
                    reference.Reference = local;
                }

                if (element is not PrimitiveType)
                {
                    RewriteReferences(element, ids);
                }
            }
        }
    }

    public Resource? Find(string? fullUrl) => fullUrl is not null && _byFullUrl.TryGetValue(fullUrl, out var entry) ? entry.Resource : null;

    public ConversionResult ToResult() => new(Bundle, Issues);

    public static string ConditionalUrl(string type, Identifier key) =>
        $"{type}?identifier={Uri.EscapeDataString(EscapeToken(key.System))}|{Uri.EscapeDataString(EscapeToken(key.Value))}";

    /// <summary>FHIR search escaping of a token part: \ | , $ are escaped with a backslash.</summary>
    private static string EscapeToken(string? value) =>
        (value ?? "").Replace("\\", "\\\\").Replace("|", "\\|").Replace(",", "\\,").Replace("$", "\\$");

    public static string FullUrl(string type, Identifier key) => "urn:uuid:" + NameBasedUuid($"{type}|{key.System}|{key.Value}");

    /// <summary>A version-5 (SHA-1, name-based) UUID in the URL namespace: stable across runs and machines.</summary>
    public static Guid NameBasedUuid(string name)
    {
        Span<byte> namespaceBytes = stackalloc byte[16];
        // RFC 4122 URL namespace 6ba7b811-9dad-11d1-80b4-00c04fd430c8 in network order.
        ReadOnlySpan<byte> urlNamespace = [0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8];
        urlNamespace.CopyTo(namespaceBytes);
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

    /// <summary>An identifier minted by this service where the source gives none (namespaced under <see cref="RecoveryCanonicals.SidBase"/>).</summary>
    public static Identifier Minted(string kind, string value) => new($"{RecoveryCanonicals.SidBase}/{kind}", value);
}
