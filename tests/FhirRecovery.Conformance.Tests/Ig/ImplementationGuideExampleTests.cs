using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Conformance.Tests.Ig;

/// <summary>
/// The IG's examples are its executable specification: each valid example validates without errors against its
/// profile, and each invalid one (profiles/examples/invalid/) fails with the error its .outcome.json records.
/// </summary>
public sealed class ImplementationGuideExampleTests
{
    private static string ExamplesFolder => Path.Combine(TestPaths.Profiles, "examples");

    public static TheoryData<string> ValidExamples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(ExamplesFolder, "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    public static TheoryData<string> InvalidExamples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(ExamplesFolder, "invalid"), "*.json")
                     .Where(f => !f.EndsWith(".outcome.json", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ValidExamples))]
    public void Valid_example_validates_without_errors(string file)
    {
        var result = SharedDefinitions.Validator.Validate(File.ReadAllBytes(Path.Combine(ExamplesFolder, file)));

        var errors = result.Issues.Where(i => i.IsError).Select(i => $"{i.Expression}: {i.Message}").ToList();
        Assert.True(errors.Count == 0, $"{file} has errors:\n" + string.Join("\n", errors));
    }

    [Theory]
    [MemberData(nameof(InvalidExamples))]
    public void Invalid_example_fails_with_the_error_it_records(string file)
    {
        var path = Path.Combine(ExamplesFolder, "invalid", file);
        var expected = new FhirJsonDeserializer().Deserialize<OperationOutcome>(File.ReadAllText(Path.ChangeExtension(path, ".outcome.json")));
        var result = SharedDefinitions.Validator.Validate(File.ReadAllBytes(path));

        foreach (var want in expected.Issue)
        {
            var found = result.Issues.Any(i =>
                i.Severity == want.Severity
                && i.Code == want.Code
                && want.Expression.All(e => i.Expression == e)
                && (want.Diagnostics is null || i.Message.Contains(want.Diagnostics, StringComparison.Ordinal)));
            Assert.True(found,
                $"{file}: expected {want.Severity} {want.Code} at {string.Join(",", want.Expression)} containing '{want.Diagnostics}', got:\n"
                + string.Join("\n", result.Issues.Select(i => $"  {i.Severity} {i.Code} {i.Expression}: {i.Message}")));
        }
    }

    [Fact]
    public void Every_invalid_example_records_the_error_it_must_produce()
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(ExamplesFolder, "invalid"), "*.json")
                     .Where(f => !f.EndsWith(".outcome.json", StringComparison.Ordinal)).Select(Path.GetFileName).OfType<string>())
        {
            Assert.True(File.Exists(Path.Combine(ExamplesFolder, "invalid", Path.ChangeExtension(file, ".outcome.json"))), $"{file} has no .outcome.json");
        }
    }
}
