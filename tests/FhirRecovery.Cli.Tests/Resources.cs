using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace FhirRecovery.Cli.Tests;

/// <summary>Small resources written by the tests themselves, so they do not depend on the IG's examples changing.</summary>
internal static class Resources
{
    private const string Narrative = "\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">A patient</div>\"}";

    public static string ValidPatient(string id = "p1") =>
        $"{{\"resourceType\":\"Patient\",\"id\":\"{id}\",{Narrative},\"gender\":\"female\",\"birthDate\":\"1980-02-03\"}}";

    /// <summary>An error: "robot" is not in the required administrative-gender value set.</summary>
    public static string InvalidPatient(string id = "p2") =>
        $"{{\"resourceType\":\"Patient\",\"id\":\"{id}\",{Narrative},\"gender\":\"robot\"}}";

    public static string PatientWithoutBirthDate(string id = "p3") =>
        $"{{\"resourceType\":\"Patient\",\"id\":\"{id}\",{Narrative},\"gender\":\"male\"}}";

    public static string ValidPatientXml =>
        "<Patient xmlns=\"http://hl7.org/fhir\"><id value=\"x1\"/><text><status value=\"generated\"/>"
        + "<div xmlns=\"http://www.w3.org/1999/xhtml\">A patient</div></text><gender value=\"other\"/></Patient>";

    public const string BirthDateProfileUrl = "http://example.org/fhir/StructureDefinition/patient-with-birth-date";

    /// <summary>A profile of this test suite: a Patient must give a birth date.</summary>
    public static string BirthDateProfile =>
        $$"""
          {
            "resourceType": "StructureDefinition",
            "id": "patient-with-birth-date",
            "url": "{{BirthDateProfileUrl}}",
            "version": "1.0.0",
            "name": "PatientWithBirthDate",
            "status": "active",
            "fhirVersion": "4.0.1",
            "kind": "resource",
            "abstract": false,
            "type": "Patient",
            "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
            "derivation": "constraint",
            "differential": { "element": [
              { "id": "Patient", "path": "Patient" },
              { "id": "Patient.birthDate", "path": "Patient.birthDate", "min": 1 }
            ] }
          }
          """;

    public const string PackageManifest = """{ "name": "example.birthdate", "version": "1.0.0", "fhirVersions": ["4.0.1"] }""";

    /// <summary>A FHIR NPM package (.tgz) holding <see cref="BirthDateProfile"/>.</summary>
    public static string WritePackage(string path)
    {
        using var stream = File.Create(path);
        using var gzip = new GZipStream(stream, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Ustar);
        foreach (var (name, text) in new[]
                 {
                     ("package/package.json", PackageManifest),
                     ("package/StructureDefinition-patient-with-birth-date.json", BirthDateProfile),
                 })
        {
            tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
        }

        return path;
    }
}
