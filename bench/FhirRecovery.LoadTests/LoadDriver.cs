using System.Diagnostics;
using System.Net;

namespace FhirRecovery.LoadTests;

/// <summary>The answer to one timed request: status, headers worth keeping, and the body (read completely).</summary>
internal readonly record struct Answer(HttpStatusCode Status, string? Location, string? ETag, byte[] Body);

/// <summary>
/// One client of a run. Its loop calls <see cref="SendAsync"/> back to back (a closed loop: the next request leaves when
/// the answer is in). Each request is timed from before SendAsync to the last byte of the body; only requests that start
/// and end inside the measured window are recorded.
/// </summary>
internal sealed class Worker(int index, HttpClient client, LoadWindow window)
{
    private readonly Dictionary<string, List<long>> _times = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _units = new(StringComparer.Ordinal);

    public int Index { get; } = index;

    public Random Random { get; } = new(1000 + index);

    public HttpClient Client { get; } = client;

    public bool Stopping => window.Stopping;

    public IReadOnlyDictionary<string, List<long>> Times => _times;

    /// <summary>Units of work (resources of a transaction; 1 per request otherwise) of the recorded requests, per operation.</summary>
    public IReadOnlyDictionary<string, long> Units => _units;

    public List<string> Errors { get; } = [];

    public int ErrorCount { get; private set; }

    /// <summary>Sends, reads the whole body, records the time under <paramref name="operation"/>; null when the status is unexpected.</summary>
    public async Task<Answer?> SendAsync(string operation, HttpRequestMessage request, HttpStatusCode expected, int units = 1)
    {
        var started = Stopwatch.GetTimestamp();
        Answer answer;
        try
        {
            using var response = await Client.SendAsync(request, HttpCompletionOption.ResponseContentRead);
            var body = await response.Content.ReadAsByteArrayAsync();
            answer = new Answer(response.StatusCode, response.Headers.Location?.OriginalString, response.Headers.ETag?.ToString(), body);
        }
        catch (HttpRequestException ex)
        {
            Fail(operation, $"{request.Method} {request.RequestUri}: {ex.Message}");
            return null;
        }
        finally
        {
            request.Dispose();
        }

        var ended = Stopwatch.GetTimestamp();
        if (answer.Status != expected)
        {
            Fail(operation, $"{request.Method} {request.RequestUri} answered {(int)answer.Status}: {System.Text.Encoding.UTF8.GetString(answer.Body.AsSpan(0, Math.Min(400, answer.Body.Length)))}");
            return null;
        }

        if (window.Contains(started, ended))
        {
            if (!_times.TryGetValue(operation, out var list))
            {
                _times[operation] = list = new List<long>(1 << 14);
            }

            list.Add(ended - started);
            _units[operation] = _units.GetValueOrDefault(operation) + units;
        }

        return answer;
    }

    private void Fail(string operation, string message)
    {
        ErrorCount++;
        if (Errors.Count < 5)
        {
            Errors.Add($"{operation}: {message}");
        }
    }
}

/// <summary>The measured window of a run, in Stopwatch timestamps.</summary>
internal sealed class LoadWindow
{
    private long _start = long.MaxValue;
    private long _end = long.MaxValue;
    private volatile bool _stopping;

    public bool Stopping => _stopping;

    public double Seconds => (double)(_end - _start) / Stopwatch.Frequency;

    public bool Contains(long started, long ended) => started >= Volatile.Read(ref _start) && ended <= Volatile.Read(ref _end);

    public void Open() => Volatile.Write(ref _start, Stopwatch.GetTimestamp());

    public void Close()
    {
        Volatile.Write(ref _end, Stopwatch.GetTimestamp());
        _stopping = true;
    }
}

/// <summary>Runs N workers for warm-up + duration and merges what they recorded.</summary>
internal static class LoadDriver
{
    /// <summary>An HttpClient as a load client should be: one connection per worker, kept open, nothing between it and the socket.</summary>
    public static HttpClient CreateClient(int connections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
        UseProxy = false,
        UseCookies = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(10),
    })
    {
        Timeout = TimeSpan.FromMinutes(2),
    };

    public static async Task<RunResult> RunAsync(string name, ServerProcess server, int clients, TimeSpan warmup, TimeSpan duration,
        Func<Worker, Task> loop, CancellationToken cancellationToken)
    {
        using var client = CreateClient(clients);
        var window = new LoadWindow();
        var workers = Enumerable.Range(0, clients).Select(i => new Worker(i, client, window)).ToList();
        var tasks = workers.Select(w => Task.Run(async () =>
        {
            while (!w.Stopping && !cancellationToken.IsCancellationRequested)
            {
                await loop(w);
            }
        }, cancellationToken)).ToList();

        await Task.Delay(warmup, cancellationToken);
        window.Open();
        var cpu = CpuUse.Start(server.ProcessId);
        await Task.Delay(duration, cancellationToken);
        window.Close();
        var machine = cpu.Stop();
        await Task.WhenAll(tasks);

        var merged = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        foreach (var worker in workers)
        {
            foreach (var (operation, times) in worker.Times)
            {
                if (!merged.TryGetValue(operation, out var list))
                {
                    merged[operation] = list = [];
                }

                list.AddRange(times);
            }
        }

        return new RunResult(name, clients, window.Seconds,
            merged.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => OperationStats.From(kv.Key, kv.Value)).ToList(),
            OperationStats.From("all", merged.Values.SelectMany(v => v).ToList()),
            workers.Sum(w => w.Units.Values.Sum()),
            workers.Sum(w => w.ErrorCount),
            workers.SelectMany(w => w.Errors).Take(5).ToList())
        {
            MachineBusy = machine?.Busy,
            OthersBusy = machine?.Others,
        };
    }
}

/// <summary>What one run measured.</summary>
internal sealed record RunResult(string Name, int Clients, double Seconds, IReadOnlyList<OperationStats> Operations, OperationStats All,
    long Units, int Errors, IReadOnlyList<string> ErrorSamples)
{
    public double RequestsPerSecond => All.Count / Seconds;

    /// <summary>Resources per second (transactions count their entries; other requests count 1).</summary>
    public double UnitsPerSecond => Units / Seconds;

    /// <summary>Share of all cores busy during the window (Linux), and the share used by processes other than this run's.</summary>
    public double? MachineBusy { get; init; }

    public double? OthersBusy { get; init; }
}

/// <summary>Count and latency percentiles of one operation (nearest rank over every recorded request).</summary>
internal sealed record OperationStats(string Operation, int Count, double P50, double P90, double P99, double Max, double Mean)
{
    public static OperationStats From(string operation, List<long> ticks)
    {
        if (ticks.Count == 0)
        {
            return new OperationStats(operation, 0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        var sorted = ticks.ToArray();
        Array.Sort(sorted);
        double Ms(long t) => t * 1000.0 / Stopwatch.Frequency;
        double Percentile(double p) => Ms(sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)]);
        return new OperationStats(operation, sorted.Length, Percentile(50), Percentile(90), Percentile(99), Ms(sorted[^1]), Ms((long)sorted.Average()));
    }
}
