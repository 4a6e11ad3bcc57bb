using System.Runtime.CompilerServices;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Terminology;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// The state of one validation call: the issues found so far and the nodes of contained resources and Bundle entries
/// (so references can be resolved inside the document being validated).
/// </summary>
internal sealed class ValidationSession
{
    private readonly HashSet<(OperationOutcome.IssueSeverity, OperationOutcome.IssueType, string, string?)> _seen = [];
    private readonly ConditionalWeakTable<ResourceScope, List<InstanceNode>> _contained = new();
    private readonly ConditionalWeakTable<ResourceScope, List<(string? FullUrl, InstanceNode Node)>> _entries = new();

    public ValidationSession(ProfileValidator validator)
    {
        Validator = validator;
    }

    public ProfileValidator Validator { get; }

    public List<ValidationIssue> Issues { get; } = [];

    /// <summary>When set, issues are collected here instead (trial validation of a slice or a type profile).</summary>
    public List<ValidationIssue>? Trial { get; set; }

    public ICodeValidationTerminologyService? FhirPathTerminology => Validator.FhirPathTerminology;

    public void Add(ValidationIssue issue)
    {
        if (Trial is { } trial)
        {
            trial.Add(issue);
            return;
        }

        // The same element can be reached through several profiles (meta.profile plus one asked for): report once.
        if (_seen.Add((issue.Severity, issue.Code, issue.Message, issue.Expression)))
        {
            Issues.Add(issue);
        }
    }

    public bool HasTrialErrors => Trial?.Any(i => i.IsError) == true;

    /// <summary>Nodes for the contained resources of <paramref name="scope"/>'s resource, made once.</summary>
    public List<InstanceNode> ContainedOf(ResourceScope scope) =>
        _contained.GetValue(scope, s =>
        {
            var nodes = new List<InstanceNode>();
            if (s.Resource is DomainResource { Contained: { Count: > 0 } contained })
            {
                for (var i = 0; i < contained.Count; i++)
                {
                    nodes.Add(s.Node.NestedResource(contained[i], "contained", i, isContained: true));
                }
            }

            return nodes;
        });

    /// <summary>Nodes for the entry resources of a Bundle, made once, with their fullUrls.</summary>
    public List<(string? FullUrl, InstanceNode Node)> EntriesOf(ResourceScope bundleScope) =>
        _entries.GetValue(bundleScope, s =>
        {
            var nodes = new List<(string?, InstanceNode)>();
            if (s.Resource is Bundle bundle)
            {
                for (var i = 0; i < bundle.Entry.Count; i++)
                {
                    var entry = bundle.Entry[i];
                    if (entry.Resource is null)
                    {
                        continue;
                    }

                    var entryNode = s.Node.Child(entry, "entry", "entry", i);
                    nodes.Add((entry.FullUrl, entryNode.NestedResource(entry.Resource, "resource", -1, isContained: false, entry.FullUrl)));
                }
            }

            return nodes;
        });

    /// <summary>
    /// Finds the entry of <paramref name="bundleScope"/> a reference points at: by fullUrl, or for a relative reference
    /// ("Patient/1") by resolving it against the base of the referring entry's fullUrl (or matching type and id).
    /// </summary>
    public InstanceNode? BundleEntryFor(ResourceScope bundleScope, string reference, ResourceScope from)
    {
        var entries = EntriesOf(bundleScope);
        foreach (var (fullUrl, node) in entries)
        {
            if (fullUrl == reference)
            {
                return node;
            }
        }

        if (reference.Contains(':', StringComparison.Ordinal))
        {
            // Absolute and urn: references match only by fullUrl (a version-specific one matches without its history part).
            var history = reference.IndexOf("/_history/", StringComparison.Ordinal);
            if (history > 0)
            {
                var unversioned = reference[..history];
                return entries.FirstOrDefault(e => e.FullUrl == unversioned).Node;
            }

            return null;
        }

        var relative = ReferenceParts.Parse(reference);
        if (relative.Type is null || relative.Id is null)
        {
            return null;
        }

        // A relative reference is resolved against the base of the referring entry's fullUrl: a URN fullUrl has no base,
        // so from there nothing is found by type and id. Without fullUrls (transactions) type and id is all there is.
        if (from.FullUrl is { } referringUrl && referringUrl.StartsWith("urn:", StringComparison.Ordinal))
        {
            return null;
        }

        var referringBase = ReferenceParts.BaseOf(from.FullUrl);
        foreach (var (fullUrl, node) in entries)
        {
            if (node.Value is not Resource resource || resource.TypeName != relative.Type || resource.Id != relative.Id
                || (relative.Version is { } version && resource.Meta?.VersionId != version))
            {
                continue;
            }

            if (referringBase is null ? fullUrl is null || !fullUrl.StartsWith("urn:", StringComparison.Ordinal) : ReferenceParts.BaseOf(fullUrl) == referringBase)
            {
                return node;
            }
        }

        return null;
    }
}

/// <summary>The parts of a literal reference ("Patient/1", "http://x/fhir/Patient/1/_history/2", "#c1", "urn:uuid:...").</summary>
internal readonly record struct ReferenceParts(string? Base, string? Type, string? Id, string? Version)
{
    public static ReferenceParts Parse(string reference)
    {
        if (reference.StartsWith('#') || reference.StartsWith("urn:", StringComparison.Ordinal))
        {
            return default;
        }

        var text = reference.AsSpan();
        var question = text.IndexOf('?');
        if (question >= 0)
        {
            text = text[..question];
        }

        // Only the last four slashes matter: [base/]Type/id[/_history/version]. Scanned from the end, without splitting.
        Span<int> slashes = stackalloc int[4];
        var count = 0;
        for (var i = text.Length - 1; i >= 0 && count < slashes.Length; i--)
        {
            if (text[i] == '/')
            {
                slashes[count++] = i;
            }
        }

        ReadOnlySpan<char> Segment(ReadOnlySpan<char> all, ReadOnlySpan<int> at, int fromEnd) =>
            all[(fromEnd < count ? at[fromEnd] + 1 : 0)..(fromEnd == 0 ? all.Length : at[fromEnd - 1])];

        string? version = null;
        var offset = 0;
        if (count >= 3 && Segment(text, slashes, 1).SequenceEqual("_history"))
        {
            version = Segment(text, slashes, 0).ToString();
            offset = 2;
        }

        if (offset + 1 > count)
        {
            return default;
        }

        var type = Segment(text, slashes, offset + 1);
        var id = Segment(text, slashes, offset);
        if (type.Length == 0 || !char.IsUpper(type[0]) || id.Length == 0)
        {
            return default;
        }

        var @base = offset + 1 < count ? text[..slashes[offset + 1]].ToString() : null;
        return new ReferenceParts(@base, type.ToString(), id.ToString(), version);
    }

    /// <summary>The service base of a RESTful fullUrl ("http://x/fhir" of "http://x/fhir/Patient/1"), else null.</summary>
    public static string? BaseOf(string? fullUrl) => fullUrl is null ? null : Parse(fullUrl).Base;
}
