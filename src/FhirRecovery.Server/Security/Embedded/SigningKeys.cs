using System.Security.Cryptography;
using FhirRecovery.Server.Security.Storage;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace FhirRecovery.Server.Security.Embedded;

/// <summary>
/// The embedded server's keys: one RSA key signs access and identity tokens (RS256), another encrypts authorization codes
/// and refresh tokens. From PEM files when configured (<c>Auth:Embedded:SigningKeyPath</c>, <c>EncryptionKeyPath</c>),
/// else kept in the shared database: created by the first instance, read by every other, so tokens signed by one
/// instance validate at all of them and survive restarts.
/// </summary>
public sealed class SigningKeys(IOptions<AuthOptions> options, AuthDatabase database, IHostEnvironment environment)
{
    private readonly Lazy<RsaSecurityKey> _signing = new(() => Load(options.Value.Embedded.SigningKeyPath, "smart_signing_key", database, environment));
    private readonly Lazy<RsaSecurityKey> _encryption = new(() => Load(options.Value.Embedded.EncryptionKeyPath, "smart_encryption_key", database, environment));

    public RsaSecurityKey Signing => _signing.Value;

    public RsaSecurityKey Encryption => _encryption.Value;

    private static RsaSecurityKey Load(string? path, string name, AuthDatabase database, IHostEnvironment environment)
    {
        string pem;
        if (!string.IsNullOrWhiteSpace(path))
        {
            var full = Path.IsPathRooted(path) ? path : Path.Combine(environment.ContentRootPath, path);
            pem = File.ReadAllText(full);
        }
        else
        {
            // Options are built synchronously; this runs once per process.
            pem = database.GetOrCreateKeyAsync(name, () =>
            {
                using var rsa = RSA.Create(2048);
                return rsa.ExportRSAPrivateKeyPem();
            }).GetAwaiter().GetResult();
        }

        var key = RSA.Create();
        key.ImportFromPem(pem);
        var parameters = key.ExportParameters(false);
        // The key id is derived from the public key, so every instance names the same key alike.
        var kid = Base64UrlEncoder.Encode(SHA256.HashData([.. parameters.Modulus!, .. parameters.Exponent!]))[..16];
        return new RsaSecurityKey(key) { KeyId = kid };
    }
}
