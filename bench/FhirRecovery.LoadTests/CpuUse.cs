using System.Globalization;

namespace FhirRecovery.LoadTests;

/// <summary>
/// How busy the machine was during a measured window, and how much of that was this run (the load generator, the server,
/// PostgreSQL): the box is shared, and a figure taken while something else used the CPUs must say so. From /proc (Linux);
/// elsewhere nothing is reported.
/// </summary>
internal sealed class CpuUse
{
    private readonly int[] _pids;
    private (long Total, long Busy) _system;
    private Dictionary<int, long> _own = [];

    private CpuUse(int[] pids) => _pids = pids;

    /// <summary>Starts counting for this process, the server process and the PostgreSQL cluster this process started.</summary>
    public static CpuUse Start(int serverPid)
    {
        var use = new CpuUse([Environment.ProcessId, serverPid]);
        use._system = SystemTicks();
        use._own = use.OwnTicks();
        return use;
    }

    /// <summary>Machine busy % and the share of it that was not this run, over the elapsed window (both of all cores).</summary>
    public (double Busy, double Others)? Stop()
    {
        var system = SystemTicks();
        var own = OwnTicks();
        var total = system.Total - _system.Total;
        if (total <= 0)
        {
            return null;
        }

        // Processes that ended during the window are not counted (their ticks are gone); new ones count from zero.
        var mine = own.Sum(p => p.Value - _own.GetValueOrDefault(p.Key));
        var busy = (double)(system.Busy - _system.Busy) / total;
        return (busy, Math.Clamp(busy - ((double)mine / total), 0, 1));
    }

    private Dictionary<int, long> OwnTicks()
    {
        var ticks = new Dictionary<int, long>();
        foreach (var pid in _pids.Concat(OurPostgres()))
        {
            if (ProcessTicks(pid) is { } value)
            {
                ticks[pid] = value;
            }
        }

        return ticks;
    }

    /// <summary>
    /// The postgres processes of the private cluster this process started (FhirRecovery.Testing's PostgreSqlServer writes
    /// the owning process id into the cluster folder): its postmaster, found by that folder on its command line, and the
    /// postmaster's children. Other test runs' clusters on the same box are not ours.
    /// </summary>
    private static IEnumerable<int> OurPostgres()
    {
        if (!Directory.Exists("/proc"))
        {
            return [];
        }

        var postgres = new List<(int Pid, int Parent, string CommandLine)>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(folder), out var pid) && Read(Path.Combine(folder, "comm"))?.Trim() == "postgres"
                && Read(Path.Combine(folder, "stat")) is { } stat)
            {
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                postgres.Add((pid, parent, Read(Path.Combine(folder, "cmdline"))?.Replace('\0', ' ') ?? ""));
            }
        }

        var masters = postgres.Where(p => IsOurCluster(p.CommandLine)).Select(p => p.Pid).ToHashSet();
        return postgres.Where(p => masters.Contains(p.Pid) || masters.Contains(p.Parent)).Select(p => p.Pid);
    }

    private static bool IsOurCluster(string commandLine)
    {
        var at = commandLine.IndexOf("fhirrecovery-testing-pg-", StringComparison.Ordinal);
        if (at < 0)
        {
            return false;
        }

        var start = commandLine.LastIndexOf(' ', at) + 1;
        var end = commandLine.IndexOf('/', at);
        var folder = commandLine[start..(end < 0 ? commandLine.Length : end)];
        return Read(Path.Combine(folder, "owner"))?.Trim() == Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>utime + stime of a process (and of its threads), in clock ticks; null when it is gone.</summary>
    private static long? ProcessTicks(int pid)
    {
        var stat = Read($"/proc/{pid}/stat");
        if (stat is null)
        {
            return null;
        }

        // The command name is in parentheses and may hold spaces: fields are counted after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static (long Total, long Busy) SystemTicks()
    {
        var line = Read("/proc/stat")?.Split('\n')[0];
        if (line is null)
        {
            return (0, 0);
        }

        var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var total = values.Sum();
        return (total, total - values[3] - values[4]); // idle, iowait
    }

    private static string? Read(string file)
    {
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
