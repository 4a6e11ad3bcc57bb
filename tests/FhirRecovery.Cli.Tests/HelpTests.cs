using System.CommandLine;

namespace FhirRecovery.Cli.Tests;

public class HelpTests
{
    /// <summary>Every verb and sub-verb, found from the command tree so verbs added later are covered too.</summary>
    public static TheoryData<string> Verbs() => new(VerbPaths());

    private static List<string> VerbPaths()
    {
        var data = new List<string>();
        var root = CliApp.CreateRootCommand(CliConsole.Redirected(TextWriter.Null, TextWriter.Null));
        void Walk(Command command, string path)
        {
            data.Add(path);
            foreach (var sub in command.Subcommands)
            {
                Walk(sub, path.Length == 0 ? sub.Name : $"{path} {sub.Name}");
            }
        }

        Walk(root, "");
        return data;
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public void Help_works_for_every_verb(string verb)
    {
        var args = verb.Split(' ', StringSplitOptions.RemoveEmptyEntries).Append("--help").ToArray();
        var result = CliRunner.RunInRepository(args);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Usage:", result.Out);
        Assert.Contains($"fhir-recovery {verb}".Trim(), result.Out);
        Assert.Contains("Description:", result.Out);
    }

    [Fact]
    public void The_expected_verbs_exist()
    {
        var verbs = VerbPaths();
        Assert.Contains("validate", verbs);
        Assert.Contains("ig pack", verbs);
        Assert.Contains("ig docs", verbs);
        Assert.Contains("samples generate", verbs);
        Assert.Contains("load", verbs);
    }

    [Fact]
    public void Version_prints_the_tool_version()
    {
        var result = CliRunner.RunInRepository("--version");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(CliApp.Version, result.Out.Trim());
        Assert.Matches(@"^\d+\.\d+\.\d+", result.Out.Trim());
    }

    [Fact]
    public void No_verb_shows_help_and_exits_2()
    {
        var result = CliRunner.RunInRepository();

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("validate", result.Out);
    }

    [Fact]
    public void An_unknown_verb_is_a_usage_error()
    {
        var result = CliRunner.RunInRepository("frobnicate");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("frobnicate", result.Error);
        Assert.Contains("--help", result.Error);
        Assert.False(result.HasStackTrace, result.ToString());
    }

    [Fact]
    public void An_unknown_format_is_a_usage_error()
    {
        var result = CliRunner.RunInRepository("validate", "x.json", "--format", "yaml");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("yaml", result.Error);
    }
}
