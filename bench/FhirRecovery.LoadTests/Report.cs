using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace FhirRecovery.LoadTests;

/// <summary>The results as Markdown: written to stdout as each scenario ends, and kept whole for <c>--report</c>.</summary>
internal sealed class Report
{
    private readonly StringBuilder _all = new();
    private readonly StringBuilder _pending = new();

    public string Text => _all.ToString();

    public void Line(string text = "")
    {
        _all.AppendLine(text);
        _pending.AppendLine(text);
    }

    public void Flush(TextWriter writer)
    {
        writer.Write(_pending.ToString());
        writer.Flush();
        _pending.Clear();
    }

    public void Heading(LoadOptions options, string machine)
    {
        Line($"## Load run: {(options.Store == StoreKind.Sqlite ? "SQLite" : "PostgreSQL")}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Line();
        Line($"Machine: {machine}");
        Line($"Command: `{Environment.CommandLine}`");
        Line($"Warm-up {options.Warmup.TotalSeconds:N0} s, measured {options.Duration.TotalSeconds:N0} s per run; closed-loop clients (HttpClient, one "
             + "keep-alive HTTP/1.1 connection each); times from send to last body byte; percentiles by nearest rank over every request.");
    }

    public void Section(string title)
    {
        Line();
        Line($"### {title}");
        Line();
    }

    public void Runs(IReadOnlyList<RunResult> runs, bool perOperation, string units = "")
    {
        var withUnits = units.Length > 0;
        Line($"| run | clients | req/s |{(withUnits ? $" {units} |" : "")} p50 ms | p90 ms | p99 ms | max ms | errors | CPU busy (others) |");
        Line($"|---|---:|---:|{(withUnits ? "---:|" : "")}---:|---:|---:|---:|---:|---:|");
        foreach (var run in runs)
        {
            var cpu = run.MachineBusy is { } busy ? string.Create(CultureInfo.InvariantCulture, $"{busy:P0} ({run.OthersBusy:P0})") : "";
            Line(Row(run.Name, run.Clients, run.RequestsPerSecond, withUnits ? run.UnitsPerSecond : null, run.All, run.Errors) + $" {cpu} |");
            if (perOperation)
            {
                foreach (var operation in run.Operations)
                {
                    Line(Row($"  {operation.Operation}", null, operation.Count / run.Seconds, null, operation, null) + "  |");
                }
            }
        }

        foreach (var sample in runs.SelectMany(r => r.ErrorSamples).Take(5))
        {
            Line();
            Line($"error: {sample}");
        }
    }

    private static string Row(string name, int? clients, double rate, double? units, OperationStats stats, int? errors) =>
        string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {clients?.ToString(CultureInfo.InvariantCulture) ?? ""} | {rate:N0} |{(units is { } u ? $" {u:N0} |" : "")} {stats.P50:N2} | {stats.P90:N2} | {stats.P99:N2} | {stats.Max:N1} | {errors?.ToString(CultureInfo.InvariantCulture) ?? ""} |");

    public void Target(string target, bool met, string figure)
    {
        Line($"- {target}: **{(met ? "met" : "not met")}** — {figure}");
    }
}

/// <summary>What the figures were measured on.</summary>
internal static class Machine
{
    public static string Describe()
    {
        var cpu = ReadFirst("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memory = ReadFirst("/proc/meminfo", "MemTotal");
        var os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?[12..].Trim('"')
            : RuntimeInformation.OSDescription;
        var memoryText = memory is null ? "" : $", {long.Parse(memory.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture) / 1024 / 1024.0:N0} GiB RAM";
        return $"{cpu}, {Environment.ProcessorCount} logical cores{memoryText}; {os}; {RuntimeInformation.FrameworkDescription}; "
               + $"load generator, server and database on the same machine; load average at the start: {LoadAverage()}";
    }

    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static string? ReadFirst(string file, string key) =>
        File.Exists(file)
            ? File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
}
