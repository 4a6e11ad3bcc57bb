using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FhirRecovery.TestKit.Auth;

namespace FhirRecovery.TestKit.Tests;

/// <summary>The Backend Services client assertion: SMART's claims, and a signature the public key verifies (RS384, ES384).</summary>
public sealed class ClientAssertionTests
{
    private const string Endpoint = "https://auth.example/token";

    [Fact]
    public void An_EC_P384_key_signs_ES384_with_SMARTs_claims()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var p = ec.ExportParameters(true);
        var jwk = JsonSerializer.Serialize(new { kty = "EC", crv = "P-384", kid = "ec-1", x = B(p.Q.X), y = B(p.Q.Y), d = B(p.D) });

        var (header, payload, signature, signed) = Split(ClientAssertion.Create(jwk, "client-a", Endpoint, DateTimeOffset.UtcNow));

        Assert.Equal("ES384", header.GetProperty("alg").GetString());
        Assert.Equal("ec-1", header.GetProperty("kid").GetString());
        Assert.True(ec.VerifyData(signed, signature, HashAlgorithmName.SHA384));
        AssertSmartClaims(payload);
    }

    [Fact]
    public void An_RSA_key_in_a_JWKS_signs_RS384()
    {
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(true);
        var jwks = JsonSerializer.Serialize(new { keys = new[] { new { kty = "RSA", n = B(p.Modulus), e = B(p.Exponent), d = B(p.D), p = B(p.P), q = B(p.Q), dp = B(p.DP), dq = B(p.DQ), qi = B(p.InverseQ) } } });

        var (header, payload, signature, signed) = Split(ClientAssertion.Create(jwks, "client-a", Endpoint, DateTimeOffset.UtcNow));

        Assert.Equal("RS384", header.GetProperty("alg").GetString());
        Assert.True(rsa.VerifyData(signed, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1));
        AssertSmartClaims(payload);
    }

    [Fact]
    public void A_public_key_alone_is_refused()
    {
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        var jwk = JsonSerializer.Serialize(new { kty = "RSA", n = B(p.Modulus), e = B(p.Exponent) });

        Assert.Contains("no private key", Assert.Throws<ArgumentException>(() => ClientAssertion.Create(jwk, "c", Endpoint, DateTimeOffset.UtcNow)).Message);
    }

    private static void AssertSmartClaims(JsonElement payload)
    {
        Assert.Equal("client-a", payload.GetProperty("iss").GetString());
        Assert.Equal("client-a", payload.GetProperty("sub").GetString());
        Assert.Equal(Endpoint, payload.GetProperty("aud").GetString());
        Assert.False(string.IsNullOrEmpty(payload.GetProperty("jti").GetString()));
        var lifetime = payload.GetProperty("exp").GetInt64() - DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.InRange(lifetime, 1, 300); // SMART: no more than five minutes
    }

    private static (JsonElement Header, JsonElement Payload, byte[] Signature, byte[] Signed) Split(string jwt)
    {
        var parts = jwt.Split('.');
        Assert.Equal(3, parts.Length);
        return (JsonDocument.Parse(ClientAssertion.FromBase64Url(parts[0])).RootElement, JsonDocument.Parse(ClientAssertion.FromBase64Url(parts[1])).RootElement,
            ClientAssertion.FromBase64Url(parts[2]), Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]));
    }

    private static string B(byte[]? bytes) => ClientAssertion.Base64Url(bytes ?? []);
}
