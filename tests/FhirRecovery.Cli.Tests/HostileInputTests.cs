using System.Text;

namespace FhirRecovery.Cli.Tests;

/// <summary>Input meant to break or stall a validator: each must end quickly with a clear message, exit 1 or 2, and no stack trace.</summary>
public class HostileInputTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<string, string, string> Inputs() => new()
    {
        { "malformed.json", """{"resourceType": "Patient", "name": [ {"family": x } ] }""", "not valid JSON" },
        // The message for a truncated document is the engine's to word (it currently says "nested deeper"): only "JSON" is asserted.
        { "truncated.json", """{"resourceType": "Patient", "name": [ {"family": "x" """, "JSON" },
        { "malformed.xml", """<Patient xmlns="http://hl7.org/fhir"><name><family value="x"></name>""", "not well-formed XML" },
        { "dtd.xml", """
                     <?xml version="1.0"?>
                     <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
                     <Patient xmlns="http://hl7.org/fhir"><name><family value="&lol3;"/></name></Patient>
                     """, "DTD" },
        { "empty.json", "", "neither JSON nor XML" },
        { "array.json", "[1, 2, 3]", "must be a JSON object" },
        { "not-fhir.xml", "<html><body/></html>", "FHIR namespace" },
        { "unknown-type.json", """{"resourceType": "Spaceship"}""", "Spaceship" },
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Validate_reports_hostile_input_clearly(string name, string content, string expected)
    {
        _temp.File(name, content);

        var result = CliRunner.Run(_temp.Path, "validate", name);

        AssertRefused(result, expected);
    }

    [Fact]
    public void Validate_reports_binary_garbage()
    {
        var garbage = new byte[64 * 1024];
        new Random(42).NextBytes(garbage);
        File.WriteAllBytes(_temp.Combine("garbage.json"), garbage);

        var result = CliRunner.Run(_temp.Path, "validate", "garbage.json");

        AssertRefused(result, "garbage.json");
    }

    [Fact]
    public void Validate_refuses_json_nested_10000_deep()
    {
        const int depth = 10_000;
        var json = new StringBuilder("""{"resourceType":"Patient","extension":""");
        for (var i = 0; i < depth; i++)
        {
            json.Append("""[{"url":"http://example.org/x","extension":""");
        }

        json.Append("[]");
        for (var i = 0; i < depth; i++)
        {
            json.Append("}]");
        }

        json.Append('}');
        _temp.File("deep.json", json.ToString());

        var result = CliRunner.Run(_temp.Path, "validate", "deep.json");

        AssertRefused(result, "nested deeper");
    }

    [Fact]
    public void Validate_refuses_xml_nested_10000_deep_without_crashing_the_process()
    {
        // Through the executable: a stack overflow would kill the test host instead of failing this test.
        const int depth = 10_000;
        var xml = new StringBuilder("""<Patient xmlns="http://hl7.org/fhir">""");
        for (var i = 0; i < depth; i++)
        {
            xml.Append("""<extension url="http://example.org/x">""");
        }

        for (var i = 0; i < depth; i++)
        {
            xml.Append("</extension>");
        }

        xml.Append("</Patient>");
        _temp.File("deep.xml", xml.ToString());

        var result = CliRunner.RunProcess(_temp.Path, TimeSpan.FromSeconds(60), "validate", "deep.xml");

        AssertRefused(result, "nested deeper");
    }

    [Fact]
    public void Validate_reports_a_50_MB_string_without_exhausting_time()
    {
        var path = _temp.Combine("big-string.json");
        using (var writer = new StreamWriter(path))
        {
            writer.Write("""{"resourceType":"Patient","name":[{"family":" """.TrimEnd());
            var chunk = new string('a', 1024 * 1024);
            for (var i = 0; i < 50; i++)
            {
                writer.Write(chunk);
            }

            writer.Write("\"}]}");
        }

        var result = CliRunner.Run(_temp.Path, "validate", "big-string.json");

        AssertRefused(result, "must not exceed 1 MB");
        Assert.True(result.Out.Length < 100_000, "the 50 MB value must not be echoed to the console");
    }

    [Fact]
    public void Validate_reports_the_unknown_profile_as_a_usage_error()
    {
        _temp.File("patient.json", Resources.ValidPatient());

        var result = CliRunner.Run(_temp.Path, "validate", "patient.json", "--profile", "urn:nope");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("urn:nope", result.Error);
        Assert.False(result.HasStackTrace, result.ToString());
    }

    private static void AssertRefused(CliResult result, string expected)
    {
        Assert.True(result.Elapsed < Bound, $"took {result.Elapsed}");
        Assert.True(result.ExitCode is 1 or 2, result.ToString());
        Assert.Contains(expected, result.All, StringComparison.OrdinalIgnoreCase);
        Assert.False(result.HasStackTrace, result.ToString());
    }
}
