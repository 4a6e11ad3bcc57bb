namespace FhirRecovery.Samples.Tests;

public class SamplesVerbTests
{
    [Theory]
    [InlineData("samples", "generate")]
    [InlineData("load")]
    public void Help_describes_the_verb(params string[] verb)
    {
        var result = CliRunner.Run(TestPaths.RepositoryRoot, [.. verb, "--help"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Usage:", result.Out, StringComparison.Ordinal);
        Assert.Contains($"fhir-recovery {string.Join(' ', verb)}", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_help_says_that_re_running_is_safe()
    {
        var result = CliRunner.Run(TestPaths.RepositoryRoot, "load", "--help");

        Assert.Contains("re-running a load", result.Out, StringComparison.Ordinal);
        Assert.Contains("--batch-size", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Samples_alone_shows_help_and_exits_2()
    {
        var result = CliRunner.Run(TestPaths.RepositoryRoot, "samples");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("generate", result.Out + result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("neither --patients nor --corpus", "samples", "generate")]
    [InlineData("either --patients N", "samples", "generate", "--patients", "3", "--corpus", "10")]
    [InlineData("--patients must be", "samples", "generate", "--patients", "0")]
    [InlineData("--patients must be", "samples", "generate", "--patients", "100001")]
    [InlineData("abc", "samples", "generate", "--patients", "abc")]
    [InlineData("--seed must be", "samples", "generate", "--patients", "3", "--seed", "-1")]
    [InlineData("--start must be a date", "samples", "generate", "--patients", "3", "--start", "2025-13-01")]
    [InlineData("xml", "samples", "generate", "--patients", "3", "--format", "xml")]
    [InlineData("--pretty applies", "samples", "generate", "--patients", "3", "--format", "ndjson", "--pretty")]
    [InlineData("--format and --pretty apply", "samples", "generate", "--corpus", "10", "--format", "bundle")]
    [InlineData("--corpus must be", "samples", "generate", "--corpus", "0")]
    [InlineData("--server", "load", "x.json")]
    [InlineData("--server must be", "load", "x.json", "--server", "ftp://example.org/fhir")]
    [InlineData("--server must be", "load", "x.json", "--server", "not a url")]
    [InlineData("not found", "load", "missing.json", "--server", "http://localhost:1/fhir")]
    [InlineData("--batch-size must be", "load", "x.json", "--server", "http://localhost:1/fhir", "--batch-size", "0")]
    [InlineData("--retries must be", "load", "x.json", "--server", "http://localhost:1/fhir", "--retries", "-1")]
    public void Argument_errors_exit_2_with_a_message(string message, params string[] args)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("x.json"), """{"resourceType":"Patient","id":"a"}""");

        var result = CliRunner.Run(temp.Path, args);

        Assert.True(result.ExitCode == 2, result.ToString());
        if (message.StartsWith("neither", StringComparison.Ordinal))
        {
            message = "either --patients N";
        }

        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.ToString());
    }

    [Fact]
    public void Generate_writes_the_set_into_output_data_and_the_same_arguments_write_the_same_bytes()
    {
        using var temp = new TempDirectory();

        var first = CliRunner.Run(temp.Path, "samples", "generate", "--patients", "5", "--seed", "77", "--output", "set", "--start", "2024-06-01");
        var bytes = Directory.EnumerateFiles(temp.Combine("set", "data")).Order().Select(File.ReadAllBytes).ToList();
        var second = CliRunner.Run(temp.Path, "samples", "generate", "--patients", "5", "--seed", "77", "--output", "set", "--start", "2024-06-01");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("00-shared.json", Directory.EnumerateFiles(temp.Combine("set", "data")).Select(Path.GetFileName));
        Assert.Contains("patient-0005-00.json", Directory.EnumerateFiles(temp.Combine("set", "data")).Select(Path.GetFileName));
        Assert.Equal(bytes, Directory.EnumerateFiles(temp.Combine("set", "data")).Order().Select(File.ReadAllBytes));
        Assert.Contains("| Task status (final) | Tasks |", first.Out, StringComparison.Ordinal);
        Assert.Contains("5 patients", first.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_replaces_an_earlier_set_but_keeps_other_files()
    {
        using var temp = new TempDirectory();
        Assert.Equal(0, CliRunner.Run(temp.Path, "samples", "generate", "--patients", "6", "--output", ".").ExitCode);
        File.WriteAllText(temp.Combine("data", "my-own.json"), "{}");

        var result = CliRunner.Run(temp.Path, "samples", "generate", "--patients", "2", "--output", ".");

        Assert.Equal(0, result.ExitCode);
        var names = Directory.EnumerateFiles(temp.Combine("data")).Select(Path.GetFileName).ToList();
        Assert.DoesNotContain(names, n => n!.StartsWith("patient-0003", StringComparison.Ordinal));
        Assert.Contains("my-own.json", names);
    }

    [Fact]
    public void Generate_ndjson_writes_one_file_per_type_and_validate_finds_no_errors()
    {
        using var temp = new TempDirectory();

        var result = CliRunner.Run(temp.Path, "samples", "generate", "--patients", "3", "--format", "ndjson", "--validate");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("no errors", result.Out, StringComparison.Ordinal);
        Assert.Equal(
            ["01-Organization.ndjson", "02-Practitioner.ndjson", "03-PractitionerRole.ndjson", "04-Patient.ndjson", "05-Consent.ndjson",
             "06-Goal.ndjson", "07-QuestionnaireResponse.ndjson", "08-ServiceRequest.ndjson", "09-Task.ndjson", "10-CarePlan.ndjson",
             "11-Group.ndjson"],
            Directory.EnumerateFiles(temp.Combine("samples", "data")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Corpus_writes_n_minified_lines()
    {
        using var temp = new TempDirectory();

        var result = CliRunner.Run(temp.Path, "samples", "generate", "--corpus", "40", "--output", "bench/corpus.ndjson", "--seed", "3");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = File.ReadAllLines(temp.Combine("bench", "corpus.ndjson"));
        Assert.Equal(40, lines.Length);
        Assert.Equal(BenchmarkCorpus.Lines(40, seed: 3), lines);
    }

    [Fact]
    public void Corpus_output_must_be_a_file()
    {
        using var temp = new TempDirectory();

        var result = CliRunner.Run(temp.Path, "samples", "generate", "--corpus", "10", "--output", ".");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is a folder", result.Error, StringComparison.Ordinal);
    }
}
