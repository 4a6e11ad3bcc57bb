using System.Globalization;
using Hl7.Fhir.Model;

namespace FhirRecovery.Samples;

/// <summary>Small builders for the FHIR elements every generated resource uses (references, narrative, dates).</summary>
internal static class FhirBuild
{
    public static ResourceReference Ref(string type, string id, string? display = null) =>
        new($"{type}/{id}") { Display = display };

    public static Meta Profile(string canonical) => new() { Profile = [canonical] };

    /// <summary>Generated narrative: one paragraph per text (escaped), the first optionally with a bold label.</summary>
    public static Narrative Narrative(string? label, params string[] paragraphs)
    {
        var body = new System.Text.StringBuilder();
        for (var i = 0; i < paragraphs.Length; i++)
        {
            body.Append("<p>");
            if (i == 0 && label is not null)
            {
                body.Append("<b>").Append(Escape(label)).Append("</b>: ");
            }

            body.Append(Escape(paragraphs[i])).Append("</p>");
        }

        return new Narrative
        {
            Status = Hl7.Fhir.Model.Narrative.NarrativeStatus.Generated,
            Div = $"<div xmlns=\"http://www.w3.org/1999/xhtml\">{body}</div>",
        };
    }

    /// <summary>XHTML text content: only the characters that must be escaped (apostrophes and quotes stay readable).</summary>
    public static string Escape(string text) => text.Replace("&", "&amp;", StringComparison.Ordinal)
        .Replace("<", "&lt;", StringComparison.Ordinal)
        .Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>A FHIR dateTime in UTC with seconds ("2025-03-04T10:15:00Z"): fixed format, so output bytes never vary.</summary>
    public static string DateTime(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Date(DateTime utc) => utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>"3 March 2025": for narratives.</summary>
    public static string Readable(DateTime utc) => utc.ToString("d MMMM yyyy", CultureInfo.InvariantCulture);

    public static Extension Extension(string url, DataType value) => new(url, value);

    public static Extension Complex(string url, params (string Url, DataType? Value)[] parts)
    {
        var extension = new Extension { Url = url };
        foreach (var (partUrl, value) in parts)
        {
            if (value is not null)
            {
                extension.Extension.Add(new Extension(partUrl, value));
            }
        }

        return extension;
    }

    public static Annotation Note(ResourceReference? author, DateTime? time, string text) => new()
    {
        Author = author,
        Time = time is { } t ? DateTime(t) : null,
        Text = text,
    };
}
