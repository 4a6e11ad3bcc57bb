using FhirRecovery.Cli;
using FhirRecovery.Cli.Verbs;
using FhirRecovery.Server.Faults;
using FhirRecovery.TestKit.Reports;

namespace FhirRecovery.TestKit.Tests;

/// <summary><c>fhir-recovery testkit</c> run in-process: list, run with Backend Services credentials, exit codes, reports.</summary>
public sealed class TestKitVerbTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fhirrecovery-testkit-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private (int Exit, string Out, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = CliApp.Run(args, CliConsole.Redirected(output, error, _directory));
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void List_shows_every_suite_and_test_with_its_requirement()
    {
        var (exit, output, _) = Run("testkit", "list");

        Assert.Equal(0, exit);
        foreach (var id in new[] { "cap-01", "prof-02", "srch-03", "wf-05", "qr-04", "smart-05", "bulk-03", "map-01" })
        {
            Assert.Contains(id, output);
        }

        Assert.Contains("requirement: ", output);
        Assert.Contains("https://hl7.org/fhir/uv/bulkdata/STU2/export.html", output);
    }

    [Fact]
    public void An_unknown_suite_or_half_credentials_are_usage_errors()
    {
        Assert.Equal(2, Run("testkit", "run", "--server", "http://localhost/fhir", "--suite", "nope").Exit);
        var (exit, _, error) = Run("testkit", "run", "--server", "http://localhost/fhir", "--client-id", "x");
        Assert.Equal(2, exit);
        Assert.Contains("--key", error);
    }

    [Fact]
    public async Task Run_authenticates_with_Backend_Services_and_exits_0_or_1_by_the_outcome()
    {
        File.WriteAllText(Path.Combine(_directory, "kit.jwk"), KitServer.PrivateJwk());
        string[] args = ["testkit", "run", "--server", KitServer.Audience, "--client-id", KitServer.ClientId, "--key", "kit.jwk", "--suite", "capability", "search", "--report", "reports"];

        await using (var healthy = await KitServer.StartAsync())
        {
            TestKitVerb.HttpHandlerOverride = healthy.Handler;
            var (exit, output, error) = Run(args);
            Assert.True(exit == 0, output + error);
            Assert.Contains("PASS cap-01", output);
            Assert.True(File.Exists(Path.Combine(_directory, "reports", KitReportWriter.JUnitFile)));
        }

        await using (var broken = await KitServer.StartAsync(nameof(FaultOptions.BrokenNextLink)))
        {
            TestKitVerb.HttpHandlerOverride = broken.Handler;
            var (exit, output, error) = Run(args);
            Assert.True(exit == 1, output + error);
            Assert.Contains("FAIL srch-03", output);
        }
    }
}
