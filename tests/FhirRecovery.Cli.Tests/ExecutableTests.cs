using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Cli.Tests;

/// <summary>The built tool as users run it: a separate process, the real console, the definitions copied beside it.</summary>
public class ExecutableTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void The_tool_prints_help_and_its_version()
    {
        var help = CliRunner.RunProcess(_temp.Path, Bound, "--help");
        var version = CliRunner.RunProcess(_temp.Path, Bound, "--version");

        Assert.Equal(0, help.ExitCode);
        Assert.Contains("fhir-recovery [command] [options]", help.Out);
        Assert.Equal(0, version.ExitCode);
        Assert.Equal(CliApp.Version, version.Out.Trim());
    }

    [Fact]
    public void The_tool_exits_0_1_and_2()
    {
        _temp.File("valid.json", Resources.ValidPatient());
        _temp.File("invalid.json", Resources.InvalidPatient());

        Assert.Equal(0, CliRunner.RunProcess(_temp.Path, Bound, "validate", "valid.json").ExitCode);
        Assert.Equal(1, CliRunner.RunProcess(_temp.Path, Bound, "validate", "valid.json", "invalid.json").ExitCode);
        var missing = CliRunner.RunProcess(_temp.Path, Bound, "validate", "missing.json");
        Assert.Equal(2, missing.ExitCode);
        Assert.False(missing.HasStackTrace, missing.ToString());
    }

    [Fact]
    public void The_tool_validates_the_ig_examples_with_the_ig_shipped_beside_it()
    {
        var result = CliRunner.RunProcess(_temp.Path, Bound, "validate", TestPaths.Examples);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public void The_tool_writes_only_json_to_stdout_in_json_mode()
    {
        _temp.File("bulk.ndjson", $"{Resources.ValidPatient("a")}\n{Resources.InvalidPatient("b")}\n");

        var result = CliRunner.RunProcess(_temp.Path, Bound, "validate", "bulk.ndjson", "--format", "json");

        Assert.Equal(1, result.ExitCode);
        var outcomes = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => new FhirJsonDeserializer().Deserialize<OperationOutcome>(line))
            .ToList();
        Assert.Equal(2, outcomes.Count);
        Assert.Contains("2 resources validated", result.Error);
    }
}
