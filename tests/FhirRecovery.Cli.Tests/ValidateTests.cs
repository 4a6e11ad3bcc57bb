using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Cli.Tests;

public class ValidateTests : IDisposable
{
    private const string FileExtension = "http://hl7.org/fhir/StructureDefinition/operationoutcome-file";
    private const string LineExtension = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line";

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private CliResult Run(params string[] args) => CliRunner.Run(_temp.Path, args);

    private static OperationOutcome ParseOutcome(string json) => new FhirJsonDeserializer().Deserialize<OperationOutcome>(json);

    [Fact]
    public void Validate_exits_0_when_the_resource_has_no_error()
    {
        _temp.File("patient.json", Resources.ValidPatient());

        var result = Run("validate", "patient.json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("PASS  patient.json  Patient/p1", result.Out);
        Assert.Contains("1 resource validated", result.Out);
        Assert.Contains("resources/s", result.Out);
    }

    [Fact]
    public void Validate_exits_1_and_lists_the_error_when_the_resource_is_invalid()
    {
        _temp.File("patient.json", Resources.InvalidPatient());

        var result = Run("validate", "patient.json");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("FAIL  patient.json  Patient/p2: 1 error", result.Out);
        Assert.Matches(@"(?m)^  error\s+Patient\.gender\s+.*robot", result.Out);
        Assert.Contains("0 passed, 1 failed", result.Out);
    }

    [Fact]
    public void Validate_exits_2_when_an_input_does_not_exist()
    {
        var result = Run("validate", "missing.json");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'missing.json' does not exist", result.Error);
        Assert.Empty(result.Out);
    }

    [Fact]
    public void Validate_reads_xml_resources()
    {
        _temp.File("patient.xml", Resources.ValidPatientXml);

        var result = Run("validate", "patient.xml");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Patient/x1", result.Out);
    }

    [Fact]
    public void Validate_hides_information_issues_unless_verbose()
    {
        _temp.File("patient.json", Resources.ValidPatient());

        var quiet = Run("validate", "patient.json");
        var verbose = Run("validate", "patient.json", "--verbose");

        Assert.DoesNotContain("information", quiet.Out);
        Assert.Equal(0, verbose.ExitCode);
    }

    [Fact]
    public void Validate_json_prints_one_operation_outcome_for_a_single_resource()
    {
        _temp.File("patient.json", Resources.InvalidPatient());

        var result = Run("validate", "patient.json", "--format", "json");

        Assert.Equal(1, result.ExitCode);
        var outcome = ParseOutcome(result.Out);
        var error = Assert.Single(outcome.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
        Assert.Equal("Patient.gender", Assert.Single(error.Expression));
        Assert.Equal("patient.json", error.GetStringExtension(FileExtension));
        Assert.Contains("1 resource validated", result.Error);
    }

    [Fact]
    public void Validate_json_of_a_valid_resource_is_an_outcome_without_errors()
    {
        _temp.File("patient.json", Resources.ValidPatient());

        var result = Run("validate", "patient.json", "--format", "json");

        Assert.Equal(0, result.ExitCode);
        var outcome = ParseOutcome(result.Out);
        Assert.DoesNotContain(outcome.Issue, i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal);
    }

    [Fact]
    public void Validate_ndjson_reports_the_line_of_the_bad_resource()
    {
        _temp.File("bulk.ndjson", string.Join("\n", Resources.ValidPatient("a"), Resources.ValidPatient("b"), "", Resources.InvalidPatient("c"), Resources.ValidPatient("d")) + "\n");

        var result = Run("validate", "bulk.ndjson");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("FAIL  bulk.ndjson:4  Patient/c", result.Out);
        Assert.Contains("PASS  bulk.ndjson:5  Patient/d", result.Out);
        Assert.Contains("4 resources validated", result.Out);
        Assert.Contains("3 passed, 1 failed", result.Out);
    }

    [Fact]
    public void Validate_ndjson_reports_a_malformed_line_and_goes_on()
    {
        _temp.File("bulk.ndjson", $"{Resources.ValidPatient("a")}\n{{\"resourceType\": \"Patient\", \n{Resources.ValidPatient("c")}\n");

        var result = Run("validate", "bulk.ndjson");

        Assert.Equal(1, result.ExitCode);
        Assert.Matches(@"FAIL  bulk\.ndjson:2\b", result.Out);
        Assert.Contains("PASS  bulk.ndjson:3  Patient/c", result.Out);
    }

    [Fact]
    public void Validate_json_of_ndjson_is_one_outcome_per_line_located_by_file_and_line()
    {
        _temp.File("bulk.ndjson", $"{Resources.ValidPatient("a")}\n{Resources.InvalidPatient("b")}\n{Resources.ValidPatient("c")}\n");

        var result = Run("validate", "bulk.ndjson", "--format", "json");

        Assert.Equal(1, result.ExitCode);
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        var outcomes = lines.Select(ParseOutcome).ToList();
        for (var i = 0; i < outcomes.Count; i++)
        {
            foreach (var issue in outcomes[i].Issue)
            {
                Assert.Equal("bulk.ndjson", issue.GetStringExtension(FileExtension));
                Assert.Equal(i + 1, issue.GetIntegerExtension(LineExtension));
            }
        }

        Assert.Contains(outcomes[1].Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
        Assert.DoesNotContain(outcomes[0].Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
    }

    [Fact]
    public void Validate_a_directory_reads_its_resource_files_but_not_sub_folders_unless_recursive()
    {
        _temp.File("data/a.json", Resources.ValidPatient("a"));
        _temp.File("data/b.xml", Resources.ValidPatientXml);
        _temp.File("data/notes.txt", "not a resource");
        _temp.File("data/nested/c.json", Resources.InvalidPatient("c"));

        var flat = Run("validate", "data");
        var deep = Run("validate", "data", "--recursive");

        Assert.True(flat.ExitCode == 0, flat.ToString());
        Assert.Contains("2 resources validated", flat.Out);
        Assert.DoesNotContain("notes.txt", flat.Out);
        Assert.Equal(1, deep.ExitCode);
        Assert.Contains("3 resources validated", deep.Out);
        Assert.Contains(Path.Combine("data", "nested", "c.json"), deep.Out);
    }

    [Fact]
    public void Validate_json_of_a_directory_is_ndjson_with_only_json_on_stdout()
    {
        _temp.File("data/a.json", Resources.ValidPatient("a"));
        _temp.File("data/b.json", Resources.InvalidPatient("b"));

        var result = Run("validate", "data", "--format", "json");

        Assert.Equal(1, result.ExitCode);
        var outcomes = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ParseOutcome).ToList();
        Assert.Equal(2, outcomes.Count);
        Assert.Equal(Path.Combine("data", "b.json"), outcomes[1].Issue[0].GetStringExtension(FileExtension));
    }

    [Fact]
    public void Validate_exits_2_for_a_directory_without_resources()
    {
        Directory.CreateDirectory(_temp.Combine("empty"));
        _temp.File("empty/readme.txt", "nothing here");

        var result = Run("validate", "empty");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("holds no resource files", result.Error);
    }

    [Fact]
    public void Validate_with_a_profile_checks_it_besides_meta_profile()
    {
        _temp.File("profiles/StructureDefinition-patient-with-birth-date.json", Resources.BirthDateProfile);
        _temp.File("patient.json", Resources.PatientWithoutBirthDate());

        var plain = Run("validate", "patient.json", "--load", "profiles");
        var profiled = Run("validate", "patient.json", "--load", "profiles", "--profile", Resources.BirthDateProfileUrl);

        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.True(profiled.ExitCode == 1, profiled.ToString());
        Assert.Contains("Patient.birthDate", profiled.Out);
    }

    [Fact]
    public void Validate_loads_a_profile_from_a_loose_file()
    {
        var profile = _temp.File("birth-date-profile.json", Resources.BirthDateProfile);
        _temp.File("patient.json", Resources.PatientWithoutBirthDate());

        var result = Run("validate", "patient.json", "--load", profile, "--profile", Resources.BirthDateProfileUrl);

        Assert.Equal(1, result.ExitCode);
    }

    [Fact]
    public void Validate_loads_a_package_tgz()
    {
        Resources.WritePackage(_temp.Combine("birthdate.tgz"));
        _temp.File("with.json", Resources.ValidPatient());
        _temp.File("without.json", Resources.PatientWithoutBirthDate());

        var valid = Run("validate", "with.json", "--load", "birthdate.tgz", "--profile", Resources.BirthDateProfileUrl);
        var invalid = Run("validate", "without.json", "--load", "birthdate.tgz", "--profile", Resources.BirthDateProfileUrl);

        Assert.True(valid.ExitCode == 0, valid.ToString());
        Assert.True(invalid.ExitCode == 1, invalid.ToString());
    }

    [Fact]
    public void Validate_exits_2_when_the_profile_is_unknown()
    {
        _temp.File("patient.json", Resources.ValidPatient());

        var result = Run("validate", "patient.json", "--profile", "http://example.org/fhir/StructureDefinition/nope");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'http://example.org/fhir/StructureDefinition/nope' is not a known StructureDefinition", result.Error);
        Assert.Empty(result.Out);
        Assert.False(result.HasStackTrace, result.ToString());
    }

    [Fact]
    public void Validate_exits_2_when_a_load_path_does_not_exist()
    {
        _temp.File("patient.json", Resources.ValidPatient());

        var result = Run("validate", "patient.json", "--load", "nowhere.tgz");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--load", result.Error);
    }

    [Fact]
    public void Validate_exits_2_when_a_loaded_package_is_unreadable()
    {
        _temp.File("broken.tgz", "this is not gzip");
        _temp.File("patient.json", Resources.ValidPatient());

        var result = Run("validate", "patient.json", "--load", "broken.tgz");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("broken.tgz", result.Error);
        Assert.False(result.HasStackTrace, result.ToString());
    }

    [Fact]
    public void Validate_exits_2_when_an_input_package_is_unreadable()
    {
        _temp.File("broken.tgz", "this is not gzip");

        var result = Run("validate", "broken.tgz");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("not a readable FHIR package", result.Error);
        Assert.False(result.HasStackTrace, result.ToString());
    }

    [Fact]
    public void Validate_of_a_package_validates_every_resource_in_it()
    {
        Resources.WritePackage(_temp.Combine("birthdate.tgz"));

        var result = Run("validate", "birthdate.tgz");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("birthdate.tgz!package/StructureDefinition-patient-with-birth-date.json", result.Out);
        Assert.DoesNotContain("package.json ", result.Out);
        Assert.Contains("1 resource validated", result.Out);
    }

    [Fact]
    public void Validate_without_the_ig_does_not_know_its_profiles()
    {
        _temp.File("patient.json", Resources.ValidPatient());

        var result = Run("validate", "--no-ig", "patient.json", "--profile",
            "https://fhirrecovery.org/fhir/StructureDefinition/recovery-goal");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is not a known StructureDefinition", result.Error);
    }

    [Fact]
    public void Validate_json_keeps_stdout_pure_json_when_the_progress_bar_is_shown()
    {
        for (var i = 0; i < 210; i++)
        {
            _temp.File($"many/p{i:000}.json", Resources.ValidPatient($"p{i}"));
        }

        var output = new StringWriter();
        var error = new StringWriter();
        var console = new CliConsole(output, error, OutIsTerminal: false, ErrorIsTerminal: true, _temp.Path);
        var code = CliApp.Run(["validate", "many", "--format", "json"], console);

        Assert.Equal(0, code);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(210, lines.Length);
        Assert.All(lines, line => Assert.IsType<OperationOutcome>(ParseOutcome(line)));
    }
}

internal static class IssueExtensions
{
    public static string? GetStringExtension(this OperationOutcome.IssueComponent issue, string url) =>
        (issue.Extension.FirstOrDefault(e => e.Url == url)?.Value as FhirString)?.Value;

    public static int? GetIntegerExtension(this OperationOutcome.IssueComponent issue, string url) =>
        (issue.Extension.FirstOrDefault(e => e.Url == url)?.Value as Integer)?.Value;
}
