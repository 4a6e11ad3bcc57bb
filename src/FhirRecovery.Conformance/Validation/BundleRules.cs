using Hl7.Fhir.Model;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// The rules of the Bundle section of the specification that no invariant expresses: entry identities (fullUrl),
/// link relations, search results and, in documents and messages, references that must resolve inside the Bundle.
/// </summary>
internal static class BundleRules
{
    private static readonly HashSet<string> UniqueLinkRelations = new(StringComparer.Ordinal) { "self", "first", "previous", "next", "last" };

    public static void Check(InstanceWalker walker, InstanceNode bundleNode, ValidationSession session)
    {
        var bundle = (Bundle)bundleNode.Value;
        var type = bundle.Type;
        var isTransactionOrBatch = type is Bundle.BundleType.Transaction or Bundle.BundleType.Batch
            or Bundle.BundleType.TransactionResponse or Bundle.BundleType.BatchResponse;

        CheckLinks(walker, bundleNode, bundle);
        for (var i = 0; i < bundle.Entry.Count; i++)
        {
            var entry = bundle.Entry[i];
            var entryNode = bundleNode.Child(entry, "entry", "entry", i);
            if (entry.Resource is not { } resource)
            {
                continue;
            }

            if (string.IsNullOrEmpty(entry.FullUrl))
            {
                if (!isTransactionOrBatch)
                {
                    walker.Report(entryNode, IssueSeverity.Error, IssueType.Invalid,
                        "Except for transactions and batches, each entry in a Bundle must have a fullUrl which is the identity of the resource in the entry");
                }

                continue;
            }

            CheckFullUrl(walker, entryNode, entry.FullUrl, resource, isTransactionOrBatch);
            if (type == Bundle.BundleType.Searchset && string.IsNullOrEmpty(resource.Id) && resource is not OperationOutcome
                && entry.Search?.Mode is null or Bundle.SearchEntryMode.Match)
            {
                walker.Report(entryNode.Child(resource, "resource", "resource", -1), IssueSeverity.Error, IssueType.Invalid, "Search results must have ids");
            }
        }

        if (type is Bundle.BundleType.Document or Bundle.BundleType.Message)
        {
            CheckReferencesResolve(walker, bundleNode, session);
        }
    }

    private static void CheckLinks(InstanceWalker walker, InstanceNode bundleNode, Bundle bundle)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < bundle.Link.Count; i++)
        {
            var relation = bundle.Link[i].Relation;
            if (relation is not null && UniqueLinkRelations.Contains(relation) && !seen.Add(relation))
            {
                walker.Report(bundleNode.Child(bundle.Link[i], "link", "link", i), IssueSeverity.Error, IssueType.Invalid,
                    $"The link relationship type '{relation}' can only occur once");
            }
        }
    }

    private static void CheckFullUrl(InstanceWalker walker, InstanceNode entryNode, string fullUrl, Resource resource, bool isTransactionOrBatch)
    {
        var isAbsolute = Uri.TryCreate(fullUrl, UriKind.Absolute, out var uri) && !uri.IsFile;
        if (!isAbsolute)
        {
            walker.Report(entryNode, IssueSeverity.Error, IssueType.Invalid, $"The fullUrl must be an absolute URL (not '{fullUrl}')");
            return;
        }

        // Only a URL ending in a real resource type and an id "looks like" a RESTful identity.
        var parts = ReferenceParts.Parse(fullUrl);
        if (parts.Type is null || parts.Base is null || !ModelInfo.IsKnownResource(parts.Type)
            || isTransactionOrBatch && string.IsNullOrEmpty(resource.Id))
        {
            return;
        }

        if (string.IsNullOrEmpty(resource.Id))
        {
            walker.Report(entryNode, IssueSeverity.Error, IssueType.Invalid,
                $"The fullUrl '{fullUrl}' looks like a RESTful server URL, but the resource has no id");
        }
        else if (parts.Type != resource.TypeName || parts.Id != resource.Id)
        {
            walker.Report(entryNode, IssueSeverity.Error, IssueType.Invalid,
                $"The fullUrl '{fullUrl}' looks like a RESTful server URL, so it must end with the resource's type and id (/{resource.TypeName}/{resource.Id})");
        }
    }

    /// <summary>In documents and messages the Bundle is the unit of exchange: a relative reference must find its target in it.</summary>
    private static void CheckReferencesResolve(InstanceWalker walker, InstanceNode bundleNode, ValidationSession session)
    {
        foreach (var (_, entryNode) in session.EntriesOf(bundleNode.Scope))
        {
            foreach (var (reference, path) in References(entryNode.Value, entryNode.Path))
            {
                var literal = reference.Reference;
                if (string.IsNullOrEmpty(literal) || literal.StartsWith('#'))
                {
                    continue;
                }

                var isRelative = ReferenceParts.Parse(literal) is { Type: not null, Base: null };
                if (!isRelative && !literal.StartsWith("urn:", StringComparison.Ordinal))
                {
                    continue;
                }

                if (entryNode.Scope.ResolveReference(literal) is null)
                {
                    walker.ReportAt(path, IssueSeverity.Error, IssueType.NotFound,
                        $"Can't find '{literal}' in the bundle: references in a document or message must resolve inside it");
                }
                else if (isRelative && ReferenceParts.Parse(literal) is { Version: null } parts
                         && session.EntriesOf(bundleNode.Scope).Count(e => e.Node.Value is Resource r && r.TypeName == parts.Type && r.Id == parts.Id) > 1)
                {
                    walker.ReportAt(path, IssueSeverity.Error, IssueType.MultipleMatches,
                        $"Multiple matches in the bundle for the reference '{literal}': name the version (/_history/n)");
                }
            }
        }
    }

    /// <summary>Every Reference in a resource (not descending into contained resources), with its location.</summary>
    private static IEnumerable<(ResourceReference Reference, string Path)> References(Base value, string path)
    {
        foreach (var (name, content) in value.EnumerateElements())
        {
            if (name == "contained")
            {
                continue;
            }

            if (content is System.Collections.IList list)
            {
                for (var i = 0; i < list.Count; i++)
                {
                    foreach (var found in ReferencesIn(list[i], $"{path}.{name}[{i}]"))
                    {
                        yield return found;
                    }
                }
            }
            else
            {
                foreach (var found in ReferencesIn(content, $"{path}.{name}"))
                {
                    yield return found;
                }
            }
        }

        static IEnumerable<(ResourceReference, string)> ReferencesIn(object? item, string itemPath)
        {
            if (item is ResourceReference reference)
            {
                yield return (reference, itemPath);
            }

            if (item is Base child and not PrimitiveType and not Resource)
            {
                foreach (var found in References(child, itemPath))
                {
                    yield return found;
                }
            }
        }
    }
}
