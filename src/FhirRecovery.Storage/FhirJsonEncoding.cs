using System.Text.Encodings.Web;

namespace FhirRecovery.Storage;

/// <summary>How FHIR JSON strings are escaped, in what is stored and in every answer.</summary>
/// <remarks>
/// System.Text.Json's default encoder escapes '+', '&lt;', '&gt;', '&amp;', apostrophes and all non-ASCII as \uXXXX
/// (<c>2024-05-01T10:00:00\u002B02:00</c>), which is valid JSON but reads unlike any other FHIR server and doubles the
/// size of non-English text. Only JSON's own rules are applied here ('"', '\', control characters). That escaping was
/// never what keeps HTML safe: clients decode the string anyway. Narrative XHTML is checked on write by the validator,
/// the server's HTML pages encode with an HTML encoder, and FHIR answers carry <c>X-Content-Type-Options: nosniff</c>
/// so a browser never renders JSON as a page.
/// </remarks>
public static class FhirJsonEncoding
{
    public static JavaScriptEncoder Encoder => JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
}
