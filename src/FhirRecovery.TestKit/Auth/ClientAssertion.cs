using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FhirRecovery.TestKit.Auth;

/// <summary>
/// The signed JWT a SMART Backend Services client authenticates with (<c>private_key_jwt</c>): iss = sub = client id,
/// aud = the token endpoint, a unique jti, at most five minutes to live; RS384 for an RSA key, ES384 for a P-384 key
/// (ES256 for P-256), as SMART App Launch 2.0 "Client Authentication: Asymmetric" requires.
/// </summary>
public static class ClientAssertion
{
    public static string Create(string privateJwk, string clientId, string tokenEndpoint, DateTimeOffset now)
    {
        var key = PrivateKey(privateJwk);
        var header = new JsonObject { ["alg"] = Algorithm(key), ["typ"] = "JWT" };
        if (key["kid"]?.GetValue<string>() is { } kid)
        {
            header["kid"] = kid;
        }

        var payload = new JsonObject
        {
            ["iss"] = clientId,
            ["sub"] = clientId,
            ["aud"] = tokenEndpoint,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(4).ToUnixTimeSeconds(),
        };
        var signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        return signingInput + "." + Base64Url(Sign(key, Encoding.ASCII.GetBytes(signingInput)));
    }

    /// <summary>The private key of a JWK, or the first private key of a JWKS.</summary>
    private static JsonObject PrivateKey(string jwk)
    {
        var node = JsonNode.Parse(jwk) as JsonObject ?? throw new ArgumentException("the key file is not a JSON object (a JWK or JWKS)");
        var keys = node["keys"] is JsonArray array ? array.OfType<JsonObject>() : [node];
        return keys.FirstOrDefault(k => k["d"] is not null)
               ?? throw new ArgumentException("the key file holds no private key (a JWK with 'd')");
    }

    private static string Algorithm(JsonObject key) => (string?)key["kty"] switch
    {
        "RSA" => "RS384",
        "EC" => (string?)key["crv"] switch
        {
            "P-384" => "ES384",
            "P-256" => "ES256",
            var crv => throw new ArgumentException($"EC curve '{crv}' is not supported (P-384 for ES384, or P-256)"),
        },
        var kty => throw new ArgumentException($"key type '{kty}' is not supported (RSA for RS384, EC P-384 for ES384)"),
    };

    private static byte[] Sign(JsonObject key, byte[] data)
    {
        if ((string?)key["kty"] == "RSA")
        {
            using var rsa = RSA.Create(new RSAParameters
            {
                Modulus = Bytes(key, "n"), Exponent = Bytes(key, "e"), D = Bytes(key, "d"), P = Bytes(key, "p"), Q = Bytes(key, "q"),
                DP = Bytes(key, "dp"), DQ = Bytes(key, "dq"), InverseQ = Bytes(key, "qi"),
            });
            return rsa.SignData(data, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1);
        }

        var p384 = (string?)key["crv"] == "P-384";
        using var ec = ECDsa.Create(new ECParameters
        {
            Curve = p384 ? ECCurve.NamedCurves.nistP384 : ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Bytes(key, "x"), Y = Bytes(key, "y") },
            D = Bytes(key, "d"),
        });
        // JWS wants the raw r||s form, which is what SignData gives by default (IEEE P1363).
        return ec.SignData(data, p384 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256);
    }

    private static byte[] Bytes(JsonObject key, string name) =>
        key[name]?.GetValue<string>() is { } value ? FromBase64Url(value) : throw new ArgumentException($"the private key lacks '{name}'");

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] FromBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded.PadRight(padded.Length + (4 - padded.Length % 4) % 4, '='));
    }
}
