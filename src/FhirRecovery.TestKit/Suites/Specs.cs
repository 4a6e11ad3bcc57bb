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
}
