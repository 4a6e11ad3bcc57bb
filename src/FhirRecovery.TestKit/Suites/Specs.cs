using FhirRecovery.TestKit.Model;

namespace FhirRecovery.TestKit.Suites;

/// <summary>Where the requirements the kit checks are written: the guide's canonical resources and the FHIR specifications.</summary>
internal static class Specs
{
    public const string Ig = "https://fhirrecovery.org/fhir";
    public const string Fhir = "http://hl7.org/fhir/R4";
    public const string Smart = "https://hl7.org/fhir/smart-app-launch/STU2";
    public const string Bulk = "https://hl7.org/fhir/uv/bulkdata/STU2";
    public const string Sdc = "http://hl7.org/fhir/uv/sdc/STU3";

    public static Requirement IgRule(string text, string path) => new(text, $"{Ig}/{path}");

    public static Requirement FhirRule(string text, string page) => new(text, $"{Fhir}/{page}");

    public static Requirement SmartRule(string text, string page) => new(text, $"{Smart}/{page}");

    public static Requirement BulkRule(string text, string page) => new(text, $"{Bulk}/{page}");

    public static string Profile(string name) => $"{Ig}/StructureDefinition/{name}";

    /// <summary>Whether the resource claims the guide's profile <paramref name="name"/> (any version) in meta.profile.</summary>
    public static bool Claims(Hl7.Fhir.Model.Resource resource, string name) =>
        resource.Meta?.Profile.Any(p => p is not null && p.Split('|')[0] == Profile(name)) == true;

    /// <summary>The guide's own definitions of one type (its canonical URLs start with the guide's base) as loaded in the engine.</summary>
    public static IEnumerable<T> IgDefinitions<T>(KitContext ctx) where T : Hl7.Fhir.Model.Resource =>
        ctx.Engine.Definitions.EntriesOf(typeof(T).Name).Where(e => e.Url?.StartsWith(Ig, StringComparison.Ordinal) == true)
            .Select(e => ctx.Engine.Definitions.Resolve(e)).OfType<T>();
}
