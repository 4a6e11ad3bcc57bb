using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using FhirRecovery.Server.Http;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Interactions;

/// <summary>
/// A searchset as the store answered it: the Bundle without the stored resources, and the stored versions that go in.
/// In the common case (JSON, no subsetting) the stored JSON is written into the Bundle as it is, without parsing it
/// into POCOs and serializing it again; otherwise <see cref="ToBundle"/> makes the full POCO.
/// </summary>
public sealed class SearchBundle(Bundle shell, DateTimeOffset lastUpdated, IReadOnlyList<ResourceVersion?> stored)
{
    /// <summary>The Bundle with every entry's fullUrl and search mode; resources only for entries not from the store.</summary>
    public Bundle Shell { get; } = shell;

    /// <summary>
    /// The full Bundle, with <c>_elements</c> applied to the matches and, for its <c>Type.element</c> entries, to the
    /// included resources of that type (<c>_summary</c> is applied when serializing).
    /// </summary>
    public Bundle ToBundle(Subsetting subsetting)
    {
        for (var i = 0; i < stored.Count; i++)
        {
            if (stored[i] is { Json: { } json })
            {
                var resource = FhirSerialization.ParseStored(json);
                if (subsetting.ElementsFor(resource.TypeName, Shell.Entry[i].Search?.Mode == Bundle.SearchEntryMode.Match) is { } elements)
                {
                    resource = Subsetting.ApplyElements(resource, elements);
                }

                Shell.Entry[i].Resource = resource;
            }
        }

        return Shell;
    }

    /// <summary>Writes the Bundle as FHIR JSON, each stored resource copied verbatim.</summary>
    public async System.Threading.Tasks.Task WriteJsonAsync(Stream body, CancellationToken cancellationToken)
    {
        await using var writer = new Utf8JsonWriter(body, new JsonWriterOptions { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.WriteStartObject();
        writer.WriteString("resourceType", "Bundle");
        writer.WriteString("id", Shell.Id);
        writer.WriteStartObject("meta");
        writer.WriteString("lastUpdated", lastUpdated.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture));
        writer.WriteEndObject();
        writer.WriteString("type", "searchset");
        if (Shell.Total is { } total)
        {
            writer.WriteNumber("total", total);
        }

        writer.WriteStartArray("link");
        foreach (var link in Shell.Link)
        {
            writer.WriteStartObject();
            writer.WriteString("relation", link.Relation);
            writer.WriteString("url", link.Url);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (Shell.Entry.Count > 0)
        {
            writer.WriteStartArray("entry");
            for (var i = 0; i < Shell.Entry.Count; i++)
            {
                var entry = Shell.Entry[i];
                writer.WriteStartObject();
                writer.WriteString("fullUrl", entry.FullUrl);
                writer.WritePropertyName("resource");
                writer.WriteRawValue(stored[i]?.Json ?? FhirSerialization.SerializeToJson(entry.Resource!), skipInputValidation: true);
                writer.WriteStartObject("search");
                writer.WriteString("mode", entry.Search?.Mode switch
                {
                    Bundle.SearchEntryMode.Include => "include",
                    Bundle.SearchEntryMode.Outcome => "outcome",
                    _ => "match",
                });
                writer.WriteEndObject();
                writer.WriteEndObject();
                if (writer.BytesPending > 32 * 1024)
                {
                    await writer.FlushAsync(cancellationToken);
                }
            }

            writer.WriteEndArray();
        }

        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken);
    }
}
