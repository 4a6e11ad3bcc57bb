using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Terminology;
using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Search;
using FhirRecovery.Storage.Terminology;

namespace FhirRecovery.Storage.Tests.Infrastructure;

/// <summary>Core + IG definitions, loaded once per test run (loading them is the slow part, not the stores).</summary>
public static class SharedDefinitions
{
    private static readonly Lazy<ConformanceEngine> LazyEngine = new(() => ConformanceEngine.Create());
    private static readonly Lazy<SearchParameterRegistry> LazyRegistry = new(() => new SearchParameterRegistry(Engine.Definitions));
    private static readonly Lazy<CompartmentDefinitions> LazyCompartments = new(() => new CompartmentDefinitions(Engine.Definitions));
    private static readonly Lazy<ICodeExpansion> LazyTerminology = new(() => new TerminologyCodeExpansion(new TerminologyService(Engine.Definitions)));

    public static ConformanceEngine Engine => LazyEngine.Value;

    public static SearchParameterRegistry Registry => LazyRegistry.Value;

    public static CompartmentDefinitions Compartments => LazyCompartments.Value;

    public static ICodeExpansion Terminology => LazyTerminology.Value;
}
