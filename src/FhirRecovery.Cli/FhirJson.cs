using System.Text.Encodings.Web;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Cli;

/// <summary>FHIR JSON as the CLI writes it: the same bytes on every platform (fixed newline), non-ASCII kept readable.</summary>
internal static class FhirJson
{
    private static readonly JsonSerializerOptions Compact = Options(indented: false);
    private static readonly JsonSerializerOptions Indented = Options(indented: true);

    public static string Serialize(Resource resource, bool pretty) =>
        JsonSerializer.Serialize(resource, pretty ? Indented : Compact);

    public static byte[] SerializeToUtf8(Resource resource, bool pretty) =>
        JsonSerializer.SerializeToUtf8Bytes(resource, pretty ? Indented : Compact);

    private static JsonSerializerOptions Options(bool indented)
    {
        var options = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
        options.WriteIndented = indented;
        options.NewLine = "\n";
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        return options;
    }
}
