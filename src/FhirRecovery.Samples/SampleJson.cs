using System.Text.Encodings.Web;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Samples;

/// <summary>
/// FHIR JSON as the sample files hold it: Firely's serializer with a fixed newline and readable non-ASCII, so the bytes
/// are the same on every platform (the same settings as the CLI's output).
/// </summary>
public static class SampleJson
{
    private static readonly JsonSerializerOptions Compact = Options(indented: false);
    private static readonly JsonSerializerOptions Indented = Options(indented: true);

    public static byte[] Serialize(Resource resource, bool pretty) => JsonSerializer.SerializeToUtf8Bytes(resource, pretty ? Indented : Compact);

    public static string SerializeToString(Resource resource, bool pretty = false) => JsonSerializer.Serialize(resource, pretty ? Indented : Compact);

    public static T Parse<T>(string json) where T : Resource => JsonSerializer.Deserialize<T>(json, Compact)!;

    public static Resource Parse(ReadOnlySpan<byte> json) => JsonSerializer.Deserialize<Resource>(json, Compact)!;

    private static JsonSerializerOptions Options(bool indented)
    {
        var options = new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector);
        options.WriteIndented = indented;
        options.NewLine = "\n";
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        return options;
    }
}
