using FhirRecovery.Server.Configuration;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Http;

/// <summary>Reads request bodies within <see cref="LimitOptions.MaxRequestBodyBytes"/> (413 beyond it).</summary>
public static class RequestBody
{
    public static async Task<byte[]> ReadAsync(HttpContext http)
    {
        var limit = http.RequestServices.GetRequiredService<IOptions<LimitOptions>>().Value.MaxRequestBodyBytes;
        var request = http.Request;
        if (request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        // Kestrel's own limit is set to the same value at start-up; the check here also covers chunked bodies and TestServer.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)Math.Min(length, limit) : 4096);
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                throw TooLarge(limit);
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Reads and parses a resource body (format from Content-Type).</summary>
    public static async Task<(Resource Resource, byte[] Bytes, FhirFormat Format)> ReadResourceAsync(HttpContext http)
    {
        var bytes = await ReadAsync(http);
        var format = FhirMediaTypes.RequestFormat(http.Request, bytes);
        return (FhirSerialization.Parse(bytes, format), bytes, format);
    }

    private static FhirException TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, OperationOutcome.IssueType.TooLong,
            $"The request body is larger than the {limit} bytes accepted (Limits:MaxRequestBodyBytes)");
}
