namespace FhirRecovery.Conformance.Validation;

/// <summary>
/// The narrative rules of R4 (txt-1: only basic XHTML, no scripts, event handlers or <c>javascript:</c> URLs; txt-2: some
/// text) on their own, without profile validation: for a server that must refuse unsafe narrative on every write, since
/// other systems display <c>text.div</c> as HTML.
/// </summary>
public static class NarrativeSafety
{
    /// <summary>A message for each rule <paramref name="xhtml"/> (a <c>Narrative.div</c>) breaks; empty when it is fine.</summary>
    public static IReadOnlyList<string> Check(string xhtml) => NarrativeValidator.Analyze(xhtml).Problems;
}
