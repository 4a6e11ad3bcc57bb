using FhirRecovery.Server.Configuration;
using FhirRecovery.Storage;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Http;

/// <summary>What the client asked for in the <c>Prefer</c> header's <c>return</c>.</summary>
public enum PreferReturn
{
    Representation,
    Minimal,
    OperationOutcome,
}

/// <summary>
/// The request-wide FHIR settings: base URL, the negotiated response format, <c>_pretty</c>, <c>Prefer</c>, and
/// <c>_summary</c>/<c>_elements</c>. Worked out once per request and kept in <see cref="HttpContext.Items"/>.
/// </summary>
public sealed class FhirRequestContext
{
    private static readonly object Key = new();

    private FhirRequestContext(HttpContext http)
    {
        var request = http.Request;
        var options = http.RequestServices.GetRequiredService<IOptions<FhirServerOptions>>().Value;
        BaseUrl = (options.PublicBaseUrl ?? $"{request.Scheme}://{request.Host}{request.PathBase}/fhir").TrimEnd('/');
        Pretty = request.Query.TryGetValue("_pretty", out var pretty) && string.Equals(pretty.LastOrDefault(), "true", StringComparison.OrdinalIgnoreCase);

        foreach (var preference in request.Headers["Prefer"].SelectMany(h => (h ?? "").Split([',', ';'], StringSplitOptions.TrimEntries)))
        {
            var parts = preference.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2)
            {
                continue;
            }

            var value = parts[1].Trim('"');
            switch (parts[0].ToLowerInvariant())
            {
                case "return":
                    Return = value.ToLowerInvariant() switch
                    {
                        "minimal" => PreferReturn.Minimal,
                        "operationoutcome" => PreferReturn.OperationOutcome,
                        "representation" => PreferReturn.Representation,
                        _ => Return,
                    };
                    break;
                case "handling":
                    Handling = value.Equals("strict", StringComparison.OrdinalIgnoreCase) ? SearchHandling.Strict : SearchHandling.Lenient;
                    break;
            }
        }
    }

    public string BaseUrl { get; }

    public bool Pretty { get; }

    /// <summary>Null when the client did not say (each interaction has its own default).</summary>
    public PreferReturn? Return { get; }

    public SearchHandling Handling { get; } = SearchHandling.Lenient;

    /// <summary>The response format; negotiation failures (406) surface when first asked.</summary>
    public FhirFormat Format { get; private set; }

    public static FhirRequestContext Get(HttpContext http)
    {
        if (http.Items.TryGetValue(Key, out var existing) && existing is FhirRequestContext context)
        {
            return context;
        }

        context = new FhirRequestContext(http);
        http.Items[Key] = context;
        context.Format = FhirMediaTypes.NegotiateResponse(http.Request);
        return context;
    }

    /// <summary>The format to write an error in, even when negotiation itself failed (then JSON).</summary>
    public static FhirFormat ErrorFormat(HttpContext http)
    {
        try
        {
            return Get(http).Format;
        }
        catch (FhirException)
        {
            return FhirFormat.Json;
        }
    }

    public string Url(string relative) => $"{BaseUrl}/{relative}";
}
