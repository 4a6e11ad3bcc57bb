using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Conformance.Validation;

namespace FhirRecovery.Conformance.Tests;

/// <summary>The core definitions and the recovery IG, indexed once for the whole test run (as a process would).</summary>
internal static class SharedDefinitions
{
    private static readonly Lazy<DefinitionSource> CoreSource = new(() => DefinitionSource.LoadCore());
    private static readonly Lazy<DefinitionSource> IgSource = new(() => DefinitionSource.LoadPackage(TestPaths.Profiles, "questionnaires"));
    private static readonly Lazy<DefinitionResolver> CoreAndIgResolver = new(() => new DefinitionResolver([IgSource.Value, CoreSource.Value]));
    private static readonly Lazy<ProfileValidator> CoreAndIgValidator = new(() => CreateValidator(CoreAndIgResolver.Value));

    public static DefinitionSource Core => CoreSource.Value;

    public static DefinitionSource Ig => IgSource.Value;

    /// <summary>Core plus the recovery IG.</summary>
    public static DefinitionResolver Resolver => CoreAndIgResolver.Value;

    public static ProfileValidator Validator => CoreAndIgValidator.Value;

    public static ProfileValidator CreateValidator(DefinitionResolver resolver, ValidatorSettings? settings = null) => new(resolver, settings: settings);
}
