using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace FhirRecovery.Testing;

/// <summary>
/// A PostgreSQL server for integration tests, shared by the whole test run; each fixture gets its own database.
/// <list type="number">
/// <item>When <c>FHIRRECOVERY_TEST_POSTGRES</c> holds a connection string, that server is used (<c>skip</c> switches the
/// PostgreSQL tests off, reported as skipped).</item>
/// <item>Else, when PostgreSQL's server binaries are installed (<c>/usr/lib/postgresql/*/bin/initdb</c>), a private
/// cluster is created in a temporary folder and started on a free loopback port (as root, initdb and pg_ctl run as the
/// <c>postgres</c> OS user through runuser); it is stopped and removed when the test process ends.</item>
/// <item>Else the PostgreSQL tests are skipped with <see cref="SkipReason"/> (never passed silently).</item>
/// </list>
/// </summary>
public sealed class PostgreSqlServer
{
    public const string ConnectionStringVariable = "FHIRRECOVERY_TEST_POSTGRES";

    /// <summary>Set (to 1) in CI: a missing PostgreSQL then fails the tests instead of skipping them.</summary>
    public const string RequiredVariable = "FHIRRECOVERY_REQUIRE_POSTGRES";

    private static readonly Lazy<Task<PostgreSqlServer>> Shared = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly string _adminConnectionString;
    private readonly PrivateCluster? _cluster;

    private PostgreSqlServer(string adminConnectionString, PrivateCluster? cluster)
    {
        _adminConnectionString = adminConnectionString;
        _cluster = cluster;
    }

    /// <summary>Why PostgreSQL tests cannot run here, or null when they can (decided without starting anything).</summary>
    public static string? SkipReason
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(ConnectionStringVariable);
            if (string.Equals(configured, "skip", StringComparison.OrdinalIgnoreCase))
            {
                return $"PostgreSQL tests are switched off ({ConnectionStringVariable}=skip).";
            }

            if (!string.IsNullOrWhiteSpace(configured))
            {
                return null;
            }

            if (Environment.GetEnvironmentVariable(RequiredVariable) == "1")
            {
                // Required: run the tests, so that a missing server fails them loudly when they start it.
                return null;
            }

            if (FindBinaries() is null)
            {
                return $"PostgreSQL is not available: set {ConnectionStringVariable} to a connection string, or install the " +
                       "server binaries (apt-get install -y postgresql) so a private cluster can be started.";
            }

            if (IsRoot() && !UserExists("postgres"))
            {
                return "PostgreSQL binaries are installed but there is no 'postgres' OS user to run the private cluster as (initdb refuses root).";
            }

            return null;
        }
    }

    /// <summary>The shared server, started on first use.</summary>
    public static Task<PostgreSqlServer> GetAsync() => Shared.Value;

    /// <summary>Creates an empty database and answers its connection string.</summary>
    public async Task<PostgreSqlDatabase> CreateDatabaseAsync(string prefix = "fhirrecovery_test")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)].ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(_adminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = name };
        return new PostgreSqlDatabase(this, name, builder.ConnectionString);
    }

    internal async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<PostgreSqlServer> StartAsync()
    {
        if (Environment.GetEnvironmentVariable(ConnectionStringVariable) is { Length: > 0 } external)
        {
            // Databases are created next to the one named in the connection string.
            return new PostgreSqlServer(external, null);
        }

        if (SkipReason is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        PrivateCluster.RemoveAbandoned(FindBinaries()!);
        var cluster = await PrivateCluster.StartAsync(FindBinaries()!);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Stop();
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = cluster.Port,
            Username = "postgres",
            Database = "postgres",
            Pooling = true,
            MaxPoolSize = 50,
            Timeout = 30,
        }.ConnectionString;
        return new PostgreSqlServer(connectionString, cluster);
    }

    private static string? FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return null;
        }

        return Directory.EnumerateDirectories(root)
            .Select(d => Path.Combine(d, "bin"))
            .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")))
            .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var version) ? version : 0)
            .FirstOrDefault();
    }

    internal static bool IsRoot() => Environment.UserName == "root";

    private static bool UserExists(string user) =>
        File.Exists("/etc/passwd") && File.ReadLines("/etc/passwd").Any(line => line.StartsWith(user + ":", StringComparison.Ordinal));

    /// <summary>A cluster in a temporary folder, owned by the postgres OS user when the tests run as root.</summary>
    private sealed class PrivateCluster
    {
        private const string FolderPrefix = "fhirrecovery-testing-pg-";
        private const string OwnerFile = "owner";

        private readonly string _binaries;
        private readonly string _folder;
        private int _stopped;

        private PrivateCluster(string binaries, string folder, int port)
        {
            _binaries = binaries;
            _folder = folder;
            Port = port;
        }

        public int Port { get; }

        private string DataDirectory => Path.Combine(_folder, "data");

        public static async Task<PrivateCluster> StartAsync(string binaries)
        {
            var folder = Path.Combine(Path.GetTempPath(), $"{FolderPrefix}{Guid.NewGuid():N}");
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var cluster = new PrivateCluster(binaries, folder, FreePort());
            try
            {
                if (IsRoot())
                {
                    await RunAsync("chown", ["-R", "postgres:postgres", folder], asPostgres: false);
                }

                await RunAsync(Path.Combine(binaries, "initdb"),
                    ["-D", cluster.DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"], IsRoot());

                // Durability is not what these tests are about: fsync off keeps them fast.
                var options = $"-p {cluster.Port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off " +
                              "-c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB";
                await RunAsync(Path.Combine(binaries, "pg_ctl"),
                    ["-D", cluster.DataDirectory, "-o", options, "-l", Path.Combine(folder, "server.log"), "-w", "-t", "60", "start"], IsRoot());
                return cluster;
            }
            catch
            {
                cluster.Stop();
                throw;
            }
        }

        public void Stop()
        {
            if (Interlocked.Exchange(ref _stopped, 1) == 1)
            {
                return;
            }

            try
            {
                if (Directory.Exists(Path.Combine(DataDirectory, "base")))
                {
                    RunAsync(Path.Combine(_binaries, "pg_ctl"), ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], IsRoot())
                        .GetAwaiter().GetResult();
                }
            }
            catch (InvalidOperationException)
            {
                // Already stopped.
            }
            finally
            {
                DeleteFolder(_folder);
            }
        }

        /// <summary>
        /// Removes clusters left behind by test runs that ended before cleaning up (the test host's process tree is often
        /// killed at the end of a run): those whose owning test process is gone. Their server is stopped first if it
        /// still runs. Only folders this class made (with its owner file) are touched.
        /// </summary>
        public static void RemoveAbandoned(string binaries)
        {
            foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
            {
                var ownerFile = Path.Combine(folder, OwnerFile);
                if (!File.Exists(ownerFile) || (int.TryParse(File.ReadAllText(ownerFile).Trim(), out var owner) && IsAlive(owner)))
                {
                    continue;
                }

                var pidFile = Path.Combine(folder, "data", "postmaster.pid");
                if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault()?.Trim(), out var postmaster) && IsAlive(postmaster))
                {
                    try
                    {
                        RunAsync(Path.Combine(binaries, "pg_ctl"), ["-D", Path.Combine(folder, "data"), "-m", "immediate", "-w", "stop"], IsRoot())
                            .GetAwaiter().GetResult();
                    }
                    catch (InvalidOperationException)
                    {
                        continue;
                    }
                }

                DeleteFolder(folder);
            }
        }

        private static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");

        private static void DeleteFolder(string folder)
        {
            // The postmaster may still be removing its files for a moment after pg_ctl returns.
            for (var attempt = 0; attempt < 5 && Directory.Exists(folder); attempt++)
            {
                try
                {
                    Directory.Delete(folder, recursive: true);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Thread.Sleep(200);
                }
            }
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        private static async Task RunAsync(string program, IReadOnlyList<string> arguments, bool asPostgres)
        {
            var start = new ProcessStartInfo(asPostgres ? "runuser" : program)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            if (asPostgres)
            {
                foreach (var argument in new[] { "-u", "postgres", "--", program })
                {
                    start.ArgumentList.Add(argument);
                }
            }

            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}");
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await output} {await error}");
            }
        }
    }
}

/// <summary>One database of the shared test server; dropped on dispose.</summary>
public sealed class PostgreSqlDatabase(PostgreSqlServer server, string name, string connectionString) : IAsyncDisposable
{
    public string Name { get; } = name;

    public string ConnectionString { get; } = connectionString;

    public async ValueTask DisposeAsync() => await server.DropDatabaseAsync(Name);
}
