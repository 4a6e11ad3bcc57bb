using FhirRecovery.TestKit.Model;
using FhirRecovery.TestKit.Running;

namespace FhirRecovery.TestKit.Tests;

/// <summary>Runs the kit against a server and describes the result for assertion messages.</summary>
internal static class KitRuns
{
    public static Task<KitReport> RunAsync(KitServer server, params string[] suites) =>
        new TestKitRunner(server.Settings(suites), engine: () => KitServer.Engine.Value).RunAsync();

    public static IReadOnlyList<string> Failed(KitReport report) =>
        report.Results.Where(r => r.Outcome == TestOutcome.Failed).Select(r => r.Test.Id).ToList();

    public static string Describe(KitReport report) => string.Join("\n", report.Results.Select(r =>
        $"{r.Outcome,-7} {r.Test.Id} {r.Message}" + (r.Outcome == TestOutcome.Failed && r.Exchanges.Count > 0
            ? $"\n        last: {r.Exchanges[^1].Method} {r.Exchanges[^1].Url} → {r.Exchanges[^1].Status} {KitContext.Excerpt(r.Exchanges[^1].ResponseBody, 400)}"
            : "")));

    /// <summary>The repository root (where FhirRecovery.sln is), for the CI artifacts folder.</summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "FhirRecovery.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("FhirRecovery.sln not found above " + AppContext.BaseDirectory);
    }
}
