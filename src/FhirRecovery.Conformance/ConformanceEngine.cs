using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Conformance.Questionnaires;
using FhirRecovery.Conformance.Terminology;
using FhirRecovery.Conformance.Validation;

namespace FhirRecovery.Conformance;

/// <summary>Where the engine's definitions come from.</summary>
public sealed record ConformanceOptions
{
    /// <summary>Folder of the FHIR R4 core bundles; default: beside the assembly (restored from npm by the build).</summary>
    public string? CoreDirectory { get; init; }

    /// <summary>Folder of the recovery IG; default: beside the assembly (the repository's profiles/). Empty string: no IG.</summary>
    public string? IgDirectory { get; init; }

    /// <summary>More FHIR packages (.tgz or folders) or loose resource files to load; they take precedence over the IG and core.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    public ValidatorSettings Validator { get; init; } = new();
}

/// <summary>
/// The conformance engine of one process: definitions (core, IG, packages), local terminology and the profile
/// validator over them. Build it once (loading indexes the definitions; resources are parsed lazily) and share it.
/// </summary>
public sealed class ConformanceEngine
{
    private ConformanceEngine(DefinitionResolver definitions, TerminologyService terminology, ProfileValidator validator, QuestionnaireServices questionnaires)
    {
        Definitions = definitions;
        Terminology = terminology;
        Validator = validator;
        Questionnaires = questionnaires;
    }

    public DefinitionResolver Definitions { get; }

    public TerminologyService Terminology { get; }

    public ProfileValidator Validator { get; }

    /// <summary>SDC questionnaire behaviour; its response validator runs inside <see cref="Validator"/>.</summary>
    public QuestionnaireServices Questionnaires { get; }

    public static ConformanceEngine Create(ConformanceOptions? options = null)
    {
        options ??= new ConformanceOptions();
        var sources = new List<DefinitionSource>();
        foreach (var package in options.Packages)
        {
            sources.Add(LoadAny(package));
        }

        if (options.IgDirectory != "")
        {
            sources.Add(DefinitionSource.LoadRecoveryIg(options.IgDirectory));
        }

        sources.Add(DefinitionSource.LoadCore(options.CoreDirectory));
        return Create(new DefinitionResolver(sources), options.Validator);
    }

    /// <summary>An engine over definitions already assembled (tests, tools that load their own).</summary>
    public static ConformanceEngine Create(DefinitionResolver definitions, ValidatorSettings? settings = null)
    {
        var terminology = new TerminologyService(definitions);
        var bindings = new TerminologyBindingChecker(terminology);
        var validator = new ProfileValidator(
            definitions,
            bindings,
            new FhirPathTerminologyService(terminology),
            settings);
        var questionnaires = new QuestionnaireServices(definitions, bindings);
        validator.Checks.Add(questionnaires.ResponseValidator);
        return new ConformanceEngine(definitions, terminology, validator, questionnaires);
    }

    /// <summary>A package (.tgz or folder) or a loose resource file (JSON/XML, a Bundle of definitions allowed).</summary>
    public static DefinitionSource LoadAny(string path) =>
        File.Exists(path) && !path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase) && !path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase)
            ? DefinitionSource.FromFiles(Path.GetFileName(path), [path])
            : DefinitionSource.LoadPackage(path);
}
