using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.Model;

namespace FhirRecovery.Storage.Terminology;

/// <summary>The search's terminology answered by the local <see cref="TerminologyService"/> (IG and core value sets/code systems).</summary>
public sealed class TerminologyCodeExpansion(TerminologyService terminology) : ICodeExpansion
{
    public IReadOnlySet<(string? System, string Code)>? Expand(string valueSetUrl) =>
        Collect(() => terminology.Expand(valueSetUrl));

    public IReadOnlySet<(string? System, string Code)>? Descendants(string system, string code) =>
        Collect(() => terminology.Expand(Filtered(system, code, FilterOperator.IsA)));

    public IReadOnlySet<(string? System, string Code)>? Ancestors(string system, string code) =>
        Collect(() => terminology.Expand(Filtered(system, code, FilterOperator.Generalizes)));

    private static ValueSet Filtered(string system, string code, FilterOperator op) => new()
    {
        Status = PublicationStatus.Active,
        Compose = new ValueSet.ComposeComponent
        {
            Include =
            [
                new ValueSet.ConceptSetComponent
                {
                    System = system,
                    Filter = [new ValueSet.FilterComponent { Property = "concept", Op = op, Value = code }],
                },
            ],
        },
    };

    private static IReadOnlySet<(string? System, string Code)>? Collect(Func<ValueSet> expand)
    {
        ValueSet expansion;
        try
        {
            expansion = expand();
        }
        catch (TerminologyException)
        {
            return null;
        }

        var codes = new HashSet<(string? System, string Code)>();
        void Walk(IEnumerable<ValueSet.ContainsComponent> contains)
        {
            foreach (var item in contains)
            {
                if (item.Code is { } c)
                {
                    codes.Add((item.System, c));
                }

                Walk(item.Contains);
            }
        }

        Walk(expansion.Expansion?.Contains ?? []);
        return codes;
    }
}
