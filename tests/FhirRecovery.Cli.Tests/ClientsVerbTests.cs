using FhirRecovery.Server.Security.Clients;
using FhirRecovery.Server.Security.Storage;
using FhirRecovery.Storage;

namespace FhirRecovery.Cli.Tests;

/// <summary><c>fhir-recovery clients add|list</c> writes the embedded authorization server's client table.</summary>
public sealed class ClientsVerbTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("fhirrecovery-clients-").FullName;

    private string Database => Path.Combine(_folder, "data", "fhirrecovery.db");

    [Fact]
    public async Task Adds_public_apps_and_backend_services_that_the_server_reads()
    {
        var app = CliRunner.Run(_folder, "clients", "add", "my-app", "--name", "My app", "--redirect-uri", "http://localhost:9000/cb",
            "--scope", "patient/*.rs", "--scope", "launch/patient");
        Assert.True(app.ExitCode == 0, app.ToString());
        var jwks = Path.Combine(_folder, "keys.json");
        await File.WriteAllTextAsync(jwks, """{"keys":[{"kty":"RSA","kid":"k1","use":"sig","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}]}""");
        var backend = CliRunner.Run(_folder, "clients", "add", "nightly", "--jwks", jwks, "--scope", "system/*.rs");
        Assert.True(backend.ExitCode == 0, backend.ToString());
        var secret = CliRunner.Run(_folder, "clients", "add", "reporting", "--generate-secret", "--scope", "system/Goal.rs");
        Assert.True(secret.ExitCode == 0, secret.ToString());
        var generated = secret.Out.Trim().Split('\n')[^1].Split(": ", 2)[1].Trim();

        var registry = new ClientRegistry(new AuthDatabase(new StorageOptions { ConnectionString = $"Data Source={Database}" }));
        var myApp = await registry.FindAsync("my-app");
        Assert.Equal("public", myApp!.ClientType);
        Assert.Equal(["http://localhost:9000/cb"], myApp.RedirectUris);
        Assert.Contains("ft:pkce", myApp.Requirements);
        Assert.Contains("gt:authorization_code", myApp.Permissions);
        var nightly = await registry.FindAsync("nightly");
        Assert.Equal("confidential", nightly!.ClientType);
        Assert.Contains("gt:client_credentials", nightly.Permissions);
        Assert.Contains("\"kid\":\"k1\"", nightly.JsonWebKeySet);
        var reporting = await registry.FindAsync("reporting");
        Assert.DoesNotContain(generated, reporting!.ClientSecret);
        Assert.True(ClientSecretHasher.Verify(generated, reporting.ClientSecret));

        var list = CliRunner.Run(_folder, "clients", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("my-app", list.Out);
        Assert.Contains("nightly", list.Out);
    }

    [Fact]
    public void Refuses_unusable_registrations_with_exit_code_2()
    {
        var noGrant = CliRunner.Run(_folder, "clients", "add", "nothing");
        Assert.Equal(2, noGrant.ExitCode);
        Assert.Contains("no grant type", noGrant.Error);
        var privateKey = Path.Combine(_folder, "private.json");
        File.WriteAllText(privateKey, """{"keys":[{"kty":"RSA","n":"x","e":"AQAB","d":"secret"}]}""");
        var leaked = CliRunner.Run(_folder, "clients", "add", "leaky", "--jwks", privateKey);
        Assert.Equal(2, leaked.ExitCode);
        Assert.Contains("private key", leaked.Error);
        Assert.False(leaked.HasStackTrace);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
