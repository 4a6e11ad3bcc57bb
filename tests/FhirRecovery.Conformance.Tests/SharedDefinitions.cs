using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Conformance.Validation;

namespace FhirRecovery.Conformance.Tests;

/// <summary>The core definitions and the recovery IG, indexed once for the whole test run (as a process would).</summary>
internal static class SharedDefinitions
{
    private static readonly Lazy<DefinitionSource> CoreSource = new(() => DefinitionSource.LoadCore());
    private static readonly Lazy<DefinitionSource> IgSource = new(() => DefinitionSource.LoadPackage(TestPaths.Profiles, "questionnaires"));
    private static readonly Lazy<DefinitionResolver> CoreAndIgResolver = new(() => new DefinitionResolver([IgSource.Value, CoreSource.Value]));
    private static readonly Lazy<ConformanceEngine> CoreAndIgEngine = new(() => ConformanceEngine.Create(CoreAndIgResolver.Value));

    public static DefinitionSource Core => CoreSource.Value;

    public static DefinitionSource Ig => IgSource.Value;

    /// <summary>Core plus the recovery IG.</summary>
    public static DefinitionResolver Resolver => CoreAndIgResolver.Value;

    public static ConformanceEngine Engine => CoreAndIgEngine.Value;

    public static ProfileValidator Validator => Engine.Validator;

    /// <summary>A validator as the product builds it (with local terminology) over other definitions.</summary>
    public static ProfileValidator CreateValidator(DefinitionResolver resolver, ValidatorSettings? settings = null) =>
        ConformanceEngine.Create(resolver, settings).Validator;
}
