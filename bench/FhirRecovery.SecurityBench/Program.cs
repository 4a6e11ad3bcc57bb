using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FhirRecovery.Conformance;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

// Read throughput with SMART security on (token validation, scope checks, the patient compartment) against the same
// read with security off (Auth:Mode=None), measured in one run: two servers in this process on one SQLite database,
// real HTTP over loopback, rounds alternating between them so drift on a shared machine hits both alike.
//
//   dotnet run -c Release --project bench/FhirRecovery.SecurityBench -- [--seconds 8] [--rounds 3] [--concurrency 16] [--warmup 15] [--output docs/benchmarks/issue-4-security.md]

namespace FhirRecovery.SecurityBench;

internal static class SecurityBench
{
    public static async Task<int> Main(string[] args)
    {
        var work = Directory.CreateTempSubdirectory("fhirrecovery-security-bench-").FullName;
        try
        {
            return await RunAsync(Args.Parse(args), args, work);
        }
        finally
        {
            // After the servers have stopped: their audit writers still use the folder until then.
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<int> RunAsync(Args options, string[] args, string work)
    {
        var root = Args.RepositoryRoot();
        // WebApplicationFactory looks for the server's content root (appsettings.json) through this variable outside test projects.
        Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_FHIRRECOVERY_SERVER", Path.Combine(root, "src", "FhirRecovery.Server"));
        var samples = Directory.CreateDirectory(Path.Combine(work, "samples")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(root, "samples", "data")).Where(f => Path.GetFileName(f) is var n && (n == "00-shared.json" || n.CompareTo("patient-0011") < 0)))
        {
            File.Copy(file, Path.Combine(samples, Path.GetFileName(file)));
        }

        const string Issuer = "https://bench.fhirrecovery.org";
        using var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa) { KeyId = "bench" };
        var jwks = Path.Combine(work, "jwks.json");
        var parameters = rsa.ExportParameters(false);
        File.WriteAllText(jwks, JsonSerializer.Serialize(new { keys = new[] { new { kty = "RSA", kid = "bench", use = "sig", n = Base64UrlEncoder.Encode(parameters.Modulus), e = Base64UrlEncoder.Encode(parameters.Exponent) } } }));

        var engine = ConformanceEngine.Create();
        var database = Path.Combine(work, "bench.db");
        var common = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "Sqlite",
            ["Storage:ConnectionString"] = $"Data Source={database}",
            ["Samples:Path"] = samples,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:Console:FormatterName"] = "simple",
            ["Audit:Enabled"] = options.Audit ? "true" : "false",
            ["Audit:JournalPath"] = Path.Combine(work, "audit"),
            ["Provenance:Enabled"] = "false",
        };

        Console.Error.WriteLine($"Starting servers (samples: {Directory.GetFiles(samples).Length} files) ...");
        await using var open = Host(common, new() { ["Auth:Mode"] = "None" }, engine, out var openPort);
        await WaitReadyAsync(openPort);
        await using var secured = Host(common, new()
        {
            ["Auth:Mode"] = "Smart",
            ["Auth:TrustedIssuers:0:Issuer"] = Issuer,
            ["Auth:TrustedIssuers:0:JwksPath"] = jwks,
            ["Samples:LoadWhenEmpty"] = "false",
        }, engine, out var securedPort);
        await WaitReadyAsync(securedPort);

        // What is read: the goals of one sample patient (patient context) by id, round robin.
        using var seedClient = new HttpClient { BaseAddress = new Uri($"http://localhost:{openPort}/fhir/") };
        var patient = "s42-p0001";
        var search = JsonDocument.Parse(await seedClient.GetStringAsync($"Goal?subject=Patient/{patient}&_count=50"));
        var goals = search.RootElement.GetProperty("entry").EnumerateArray().Select(e => e.GetProperty("resource").GetProperty("id").GetString()!).ToArray();
        Console.Error.WriteLine($"Reading {goals.Length} goals of Patient/{patient}; {options.Rounds} rounds × {options.Seconds} s × {options.Concurrency} clients per configuration");

        string Token(int port, string scopes, string? patientContext) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = $"http://localhost:{port}/fhir",
            Claims = patientContext is null
                ? new Dictionary<string, object> { ["scope"] = scopes, ["client_id"] = "bench" }
                : new Dictionary<string, object> { ["scope"] = scopes, ["client_id"] = "bench", ["patient"] = patientContext },
            Expires = DateTime.UtcNow.AddHours(2),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });

        var configurations = new (string Name, int Port, string? Token)[]
        {
            ("auth off (Auth:Mode=None)", openPort, null),
            ("SMART patient/Goal.rs, patient in context", securedPort, Token(securedPort, "launch/patient patient/Goal.rs", patient)),
            ("SMART system/*.rs (backend service)", securedPort, Token(securedPort, "system/*.rs", null)),
        };

        if (args.Contains("--cpu-profile"))
        {
            // Repeats alternate the order of the configurations, so JIT and tiering costs do not all fall on the first ones.
            for (var repeat = 0; repeat < 4; repeat++)
            {
                foreach (var configuration in repeat % 2 == 0 ? configurations : configurations.Reverse())
                {
                    using var client = new HttpClient { BaseAddress = new Uri($"http://localhost:{configuration.Port}/fhir/") };
                    if (configuration.Token is not null)
                    {
                        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", configuration.Token);
                    }

                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    var watch = Stopwatch.StartNew();
                    const int count = 2000;
                    for (var i = 0; i < count; i++)
                    {
                        using var response = await client.GetAsync($"Goal/{goals[i % goals.Length]}");
                        response.EnsureSuccessStatusCode();
                    }

                    var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                    Console.Error.WriteLine($"{configuration.Name}: {used.TotalMilliseconds * 1000 / count:F0} us CPU/read, {watch.Elapsed.TotalMilliseconds * 1000 / count:F0} us wall/read");
                }
            }

            return 0;
        }

        // Warm-up: JIT (tiered compilation keeps recompiling hot code for 20-30 s under load), connection pools, caches.
        foreach (var configuration in configurations)
        {
            await LoadAsync(configuration.Port, configuration.Token, goals, options.Concurrency, TimeSpan.FromSeconds(options.Warmup));
        }

        var results = configurations.ToDictionary(c => c.Name, _ => new List<double>());
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var configuration in round % 2 == 1 ? configurations : configurations.Reverse())
            {
                var (requests, failures) = await LoadAsync(configuration.Port, configuration.Token, goals, options.Concurrency, TimeSpan.FromSeconds(options.Seconds));
                if (failures > 0)
                {
                    throw new InvalidOperationException($"{configuration.Name}: {failures} requests failed");
                }

                var perSecond = requests / options.Seconds;
                results[configuration.Name].Add(perSecond);
                Console.Error.WriteLine($"round {round}: {configuration.Name}: {perSecond:F0} reads/s");
            }
        }

        var baseline = Median(results[configurations[0].Name]);
        var report = new StringBuilder();
        report.AppendLine("# Issue 4: read throughput with SMART security on vs off");
        report.AppendLine();
        report.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd} with `dotnet run -c Release --project bench/FhirRecovery.SecurityBench{(options.Audit ? "" : " -- --no-audit")}` "
                          + $"on this project's machine ({Environment.ProcessorCount} cores, shared with other work). One process, two servers on one SQLite database "
                          + $"(samples: 10 patients), real HTTP over loopback, {options.Concurrency} concurrent clients, {options.Warmup} s of warm-up per configuration, then {options.Rounds} rounds of {options.Seconds} s "
                          + "per configuration, alternating; median of the rounds. Each request is `GET /fhir/Goal/{id}` of one sample patient's goals.");
        report.AppendLine();
        report.AppendLine($"Audit: {(options.Audit ? "on in both servers (every read journaled and written as an AuditEvent)" : "off in both servers")}; Provenance off (reads only).");
        report.AppendLine();
        report.AppendLine("| configuration | " + string.Join(" | ", Enumerable.Range(1, options.Rounds).Select(r => $"round {r} (reads/s)")) + " | median | vs auth off |");
        report.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", options.Rounds)) + "---:|---:|");
        foreach (var configuration in configurations)
        {
            var values = results[configuration.Name];
            report.AppendLine($"| {configuration.Name} | {string.Join(" | ", values.Select(v => v.ToString("F0", CultureInfo.InvariantCulture)))} | "
                              + $"{Median(values).ToString("F0", CultureInfo.InvariantCulture)} | {(Median(values) / baseline).ToString("P1", CultureInfo.InvariantCulture)} |");
        }

        var worst = configurations.Skip(1).Min(c => Median(results[c.Name]) / baseline);
        report.AppendLine();
        report.AppendLine($"Target: ≥ 85% of the auth-off throughput. Result: {worst.ToString("P1", CultureInfo.InvariantCulture)} for the slower secured configuration — "
                          + (worst >= 0.85 ? "**met**." : "**not met**."));
        report.AppendLine();
        report.AppendLine("What the secured requests do on top: the bearer token found in the cache of validated tokens (its RS256 signature, issuer, "
                          + "audience and lifetime are checked on its first use; it is kept until its exp, at most 5 minutes), the scope check for the "
                          + "interaction (middleware), and in the store decorator the grant lookup and, for the patient-context token, the compartment "
                          + "membership of the goal read from its stored JSON (no extra database query).");
        Console.WriteLine(report.ToString());
        if (options.Output is { } output)
        {
            var path = Path.IsPathRooted(output) ? output : Path.Combine(root, output);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, report.ToString());
            Console.Error.WriteLine($"Wrote {path}");
        }

        return worst >= 0.85 ? 0 : 1;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static WebApplicationFactory<global::Program> Host(Dictionary<string, string?> common, Dictionary<string, string?> own, ConformanceEngine engine, out int port)
    {
        port = FreePort();
        var settings = new Dictionary<string, string?>(common) { ["urls"] = $"http://localhost:{port}" };
        foreach (var (name, value) in own)
        {
            settings[name] = value;
        }

        var factory = new WebApplicationFactory<global::Program>().WithWebHostBuilder(host =>
        {
            foreach (var (name, value) in settings)
            {
                host.UseSetting(name, value);
            }

            host.ConfigureTestServices(services => services.AddSingleton(engine));
        });
        factory.UseKestrel();
        factory.StartServer();
        return factory;
    }

    private static async Task WaitReadyAsync(int port)
    {
        using var http = new HttpClient();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromMinutes(5))
        {
            try
            {
                if ((await http.GetAsync($"http://localhost:{port}/readyz")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The server on port {port} did not become ready");
    }

    private static async Task<(long Requests, long Failures)> LoadAsync(int port, string? token, string[] goals, int concurrency, TimeSpan duration)
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://localhost:{port}/fhir/") };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
        long requests = 0;
        long failures = 0;
        var stop = DateTime.UtcNow + duration;
        var workers = Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var i = worker;
            while (DateTime.UtcNow < stop)
            {
                using var response = await client.GetAsync($"Goal/{goals[i++ % goals.Length]}", HttpCompletionOption.ResponseContentRead);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref requests);
                }
                else
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        await Task.WhenAll(workers);
        return (requests, failures);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal sealed record Args(int Seconds, int Rounds, int Concurrency, bool Audit, string? Output, int Warmup)
{
    public static Args Parse(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        return new Args(
            int.Parse(Value("--seconds") ?? "8", CultureInfo.InvariantCulture),
            int.Parse(Value("--rounds") ?? "3", CultureInfo.InvariantCulture),
            int.Parse(Value("--concurrency") ?? "16", CultureInfo.InvariantCulture),
            !args.Contains("--no-audit"),
            Value("--output"),
            int.Parse(Value("--warmup") ?? "15", CultureInfo.InvariantCulture));
    }

    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "FhirRecovery.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Run from within the repository");
    }
}
