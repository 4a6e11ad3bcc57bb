using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FhirRecovery.LoadTests;

/// <summary>
/// The server under test: this program's <c>serve</c> verb in a child process (the FHIR server's Program on one loopback
/// port, the hello-world on another), its output in a log file of the run folder. Killed at the end of its scenario.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task _logCopy;

    private ServerProcess(Process process, Task logCopy, Uri fhirBase, Uri hello, string logFile)
    {
        _process = process;
        _logCopy = logCopy;
        FhirBase = fhirBase;
        Hello = hello;
        LogFile = logFile;
    }

    /// <summary>The FHIR base, ending in "/" so relative URLs ("Goal/1") resolve under it.</summary>
    public Uri FhirBase { get; }

    public Uri Hello { get; }

    public string LogFile { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts the server with these configuration settings (Storage:*, Validation:Mode, ...) and waits for /readyz.</summary>
    public static async Task<ServerProcess> StartAsync(string folder, string name, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
    {
        var fhirPort = FreePort();
        var helloPort = FreePort();
        var start = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = folder,
        };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ServerProcess).Assembly.Location);
        }

        start.ArgumentList.Add(ServeCommand.Verb);
        start.ArgumentList.Add($"http://127.0.0.1:{helloPort}");
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{fhirPort}");
        // The server's appsettings.json is copied next to this program: the server runs with its shipped defaults.
        start.ArgumentList.Add("--contentRoot");
        start.ArgumentList.Add(AppContext.BaseDirectory);
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        var logFile = Path.Combine(folder, $"server-{name}.log");
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server process");
        var log = new FileStream(logFile, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, 1 << 16, useAsync: true);
        var logCopy = Task.WhenAll(process.StandardOutput.BaseStream.CopyToAsync(log), process.StandardError.BaseStream.CopyToAsync(log))
            .ContinueWith(_ => log.Dispose(), TaskScheduler.Default);
        var server = new ServerProcess(process, logCopy, new Uri($"http://127.0.0.1:{fhirPort}/fhir/"), new Uri($"http://127.0.0.1:{helloPort}/hello"), logFile);
        try
        {
            await server.WaitReadyAsync(cancellationToken);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        var ready = new Uri(FhirBase, "/readyz");
        while (true)
        {
            if (_process.HasExited)
            {
                await _logCopy;
                throw new InvalidOperationException($"the server exited ({_process.ExitCode}) while starting; see {LogFile}:\n{Tail(LogFile)}");
            }

            try
            {
                using var response = await client.GetAsync(ready, cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    using var hello = await client.GetAsync(Hello, cancellationToken);
                    hello.EnsureSuccessStatusCode();
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException($"the server was not ready after 5 minutes; see {LogFile}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    private static string Tail(string file)
    {
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var text = reader.ReadToEnd();
            return text.Length > 4000 ? text[^4000..] : text;
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Ends the server the hard way (what a crash or an OOM kill does; the stores must cope, and the runs do not need more).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            await _logCopy;
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
