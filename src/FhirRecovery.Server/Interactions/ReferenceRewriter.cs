using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Interactions;

/// <summary>Visits every Reference.reference and uri-typed value of a resource (contained resources included), to rewrite them.</summary>
public static class ReferenceRewriter
{
    /// <summary>
    /// Calls <paramref name="rewriteReference"/> with each Reference.reference and <paramref name="rewriteUri"/> with each
    /// uri-typed value that is a URN (where transaction fullUrls such as <c>urn:uuid:</c> can appear); a non-null answer
    /// replaces the value.
    /// </summary>
    public static void Rewrite(Base node, Func<string, string?> rewriteReference, Func<string, string?>? rewriteUri = null)
    {
        foreach (var (_, value) in node.EnumerateElements())
        {
            switch (value)
            {
                case Base child:
                    Visit(child, rewriteReference, rewriteUri);
                    break;
                case System.Collections.IEnumerable list and not string:
                    foreach (var item in list)
                    {
                        if (item is Base element)
                        {
                            Visit(element, rewriteReference, rewriteUri);
                        }
                    }

                    break;
            }
        }
    }

    private static void Visit(Base element, Func<string, string?> rewriteReference, Func<string, string?>? rewriteUri)
    {
        switch (element)
        {
            case ResourceReference { Reference: { } target } reference:
                if (rewriteReference(target) is { } replaced)
                {
                    reference.Reference = replaced;
                }

                break;
            case FhirUri { Value: { } uri } uriElement:
                if (uri.StartsWith("urn:", StringComparison.Ordinal) && rewriteUri?.Invoke(uri) is { } newUri)
                {
                    uriElement.Value = newUri;
                }

                return;
            case PrimitiveType:
                return;
        }

        Rewrite(element, rewriteReference, rewriteUri);
    }
}
