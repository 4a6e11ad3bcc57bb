using System.CommandLine;
using System.Security.Cryptography;
using FhirRecovery.Server.Security.Clients;
using FhirRecovery.Server.Security.Storage;
using FhirRecovery.Storage;

namespace FhirRecovery.Cli.Verbs;

/// <summary>
/// <c>fhir-recovery clients add|list</c>: registers SMART clients of the embedded authorization server in the server's
/// database (the same tables, hashing and rules the server uses: the code is shared with it), so they work on every
/// server instance using that database, without a restart.
/// </summary>
internal sealed class ClientsVerb : ICliVerb
{
    public int Order => 60;

    public Command CreateCommand(CliConsole console)
    {
        var command = new Command("clients", "Register SMART on FHIR clients (apps, backend services) with the embedded authorization server.");
        command.Subcommands.Add(CreateAdd(console));
        command.Subcommands.Add(CreateList(console));
        command.SetAction(parsed =>
        {
            new System.CommandLine.Help.HelpAction().Invoke(parsed);
            return ExitCodes.UsageOrIo;
        });
        return command;
    }

    private static (Option<string> Provider, Option<string> ConnectionString) DatabaseOptions() => (
        new Option<string>("--storage-provider")
        {
            Description = "The server's Storage:Provider: Sqlite (default) or PostgreSQL.",
            DefaultValueFactory = _ => StorageOptions.SqliteProvider,
            HelpName = "provider",
        },
        new Option<string>("--connection-string")
        {
            Description = "The server's Storage:ConnectionString. Default: the embedded default, data/fhirrecovery.db under the current "
                          + "directory (the server run with 'dotnet run' keeps it in src/FhirRecovery.Server/data/).",
            DefaultValueFactory = _ => StorageOptions.DefaultSqliteConnectionString,
            HelpName = "connection",
        });

    private static Command CreateAdd(CliConsole console)
    {
        var clientId = new Argument<string>("client-id") { Description = "The client_id the app or service will use." };
        var name = new Option<string?>("--name") { Description = "Display name shown on the consent page.", HelpName = "text" };
        var redirects = new Option<string[]>("--redirect-uri")
        {
            Description = "Redirect URI of an app (repeatable); apps get authorization_code (PKCE) and refresh_token.",
            AllowMultipleArgumentsPerToken = false,
            HelpName = "uri",
        };
        var launch = new Option<string?>("--launch-uri") { Description = "The app's launch URL, for EHR launch (/smart/ehr-launch).", HelpName = "uri" };
        var scopes = new Option<string[]>("--scope")
        {
            Description = "A scope the client may be granted (repeatable), e.g. patient/*.rs, system/Goal.rs, launch/patient, offline_access. "
                          + "SMART scopes cover narrower ones. Default: any.",
            HelpName = "scope",
        };
        var jwks = new Option<string?>("--jwks")
        {
            Description = "JWKS file with the client's public key(s): a confidential asymmetric client (private_key_jwt), e.g. a SMART Backend Service.",
            HelpName = "file",
        };
        var secret = new Option<string?>("--secret") { Description = "Client secret of a confidential symmetric client (stored hashed).", HelpName = "secret" };
        var generate = new Option<bool>("--generate-secret") { Description = "Generate a client secret, print it once, store its hash." };
        var grants = new Option<string[]>("--grant-type")
        {
            Description = "authorization_code, refresh_token, client_credentials (repeatable). Default: from the client's kind.",
            HelpName = "grant",
        };
        var (provider, connection) = DatabaseOptions();
        var command = new Command("add",
            "Register (or replace) a client in the server's database. Public apps: --redirect-uri. Backend services: --jwks and system/ "
            + "scopes. Examples:\n"
            + "  fhir-recovery clients add my-app --redirect-uri http://localhost:8000/index.html --scope patient/*.rs --scope launch/patient\n"
            + "  fhir-recovery clients add nightly-export --jwks keys.public.json --scope system/*.rs")
        {
            clientId, name, redirects, launch, scopes, jwks, secret, generate, grants, provider, connection,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var generated = parsed.GetValue(generate) ? Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) : null;
            var registration = new ClientRegistration
            {
                ClientId = parsed.GetValue(clientId)!,
                DisplayName = parsed.GetValue(name),
                RedirectUris = [.. parsed.GetValue(redirects) ?? []],
                LaunchUri = parsed.GetValue(launch),
                Scopes = [.. parsed.GetValue(scopes) ?? []],
                GrantTypes = [.. parsed.GetValue(grants) ?? []],
                ClientSecret = generated ?? parsed.GetValue(secret),
            };
            if (parsed.GetValue(jwks) is { } jwksPath)
            {
                var path = console.FullPath(jwksPath);
                registration.Jwks = File.Exists(path) ? await File.ReadAllTextAsync(path, cancellationToken) : throw new CliUsageException($"JWKS file not found: {path}");
            }

            var problems = registration.Problems();
            if (problems.Count > 0)
            {
                throw new CliUsageException($"Client '{registration.ClientId}': {string.Join("; ", problems)}");
            }

            var registry = new ClientRegistry(Database(parsed.GetValue(provider)!, parsed.GetValue(connection)!, console));
            var stored = await registry.UpsertAsync(registration, cancellationToken);
            console.Out.WriteLine($"Registered {stored.ClientId} ({stored.ClientType}): grants {string.Join(", ", registration.EffectiveGrantTypes())}; "
                                  + $"scopes {(registration.Scopes.Count == 0 ? "any" : string.Join(' ', registration.Scopes))}.");
            if (generated is not null)
            {
                console.Out.WriteLine($"Client secret (shown once, stored only as a hash): {generated}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateList(CliConsole console)
    {
        var (provider, connection) = DatabaseOptions();
        var command = new Command("list", "List the registered clients.") { provider, connection };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var registry = new ClientRegistry(Database(parsed.GetValue(provider)!, parsed.GetValue(connection)!, console));
            foreach (var client in await registry.ListAsync(cancellationToken))
            {
                var grants = client.Permissions.Where(p => p.StartsWith("gt:", StringComparison.Ordinal)).Select(p => p[3..]);
                console.Out.WriteLine($"{client.ClientId}\t{client.ClientType}\t{string.Join(',', grants)}\t{string.Join(' ', client.RedirectUris)}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static AuthDatabase Database(string provider, string connectionString, CliConsole console)
    {
        if (provider is not (StorageOptions.SqliteProvider or StorageOptions.PostgreSqlProvider))
        {
            throw new CliUsageException($"--storage-provider must be {StorageOptions.SqliteProvider} or {StorageOptions.PostgreSqlProvider}");
        }

        if (provider == StorageOptions.SqliteProvider)
        {
            // A relative SQLite file is relative to where the command runs (the console's working directory).
            var builder = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString);
            builder.DataSource = console.FullPath(builder.DataSource);
            connectionString = builder.ToString();
        }

        return new AuthDatabase(new StorageOptions { Provider = provider, ConnectionString = connectionString });
    }
}
