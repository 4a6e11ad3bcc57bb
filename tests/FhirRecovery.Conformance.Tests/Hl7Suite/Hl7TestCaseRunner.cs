using System.Text.Json;
using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Conformance.Validation;

namespace FhirRecovery.Conformance.Tests.Hl7Suite;

/// <summary>One step of an HL7 validator test case: validating a file (optionally against a profile) and the verdict.</summary>
public sealed record Hl7StepResult(string Step, bool ExpectedErrors, bool ActualErrors, IReadOnlyList<string> Messages)
{
    public bool Agrees => ExpectedErrors == ActualErrors;
}

public sealed record Hl7CaseResult(string Name, string Module, IReadOnlyList<Hl7StepResult> Steps)
{
    public bool Agrees => Steps.All(s => s.Agrees);
}

/// <summary>
/// Runs the HL7 FHIR validator test cases of ../shared/conformance/fhir-test-cases (format in ../shared/README.md):
/// loads each case's supporting definitions, validates the file against the base specification (and, where the case
/// has a profile step, against that profile) and compares the verdict (any error or fatal issue) with the HL7 Java
/// reference validator's outcome.
/// </summary>
public sealed class Hl7TestCaseRunner
{
    private readonly string _root;
    private readonly DefinitionSource _core;
    private readonly Func<DefinitionResolver, ValidatorSettings, ProfileValidator> _createValidator;

    public Hl7TestCaseRunner(string root, DefinitionSource core, Func<DefinitionResolver, ValidatorSettings, ProfileValidator> createValidator)
    {
        _root = root;
        _core = core;
        _createValidator = createValidator;
    }

    public IEnumerable<JsonElement> Cases()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_root, "manifest.json")));
        return manifest.RootElement.GetProperty("test-cases").EnumerateArray().Select(c => c.Clone()).ToList();
    }

    public Hl7CaseResult Run(JsonElement testCase)
    {
        var name = testCase.GetProperty("name").GetString()!;
        var module = testCase.GetProperty("module").GetString()!;
        var file = testCase.GetProperty("file").GetString()!;
        // As the HL7 runner does: the supporting definitions (the profile step's too) are loaded for every step;
        // the profile step's own profile only for that step.
        var definitions = Strings(testCase, "supporting").Concat(Strings(testCase, "profiles")).ToList();
        if (testCase.TryGetProperty("profile", out var profileDefinitions))
        {
            definitions.AddRange(Strings(profileDefinitions, "supporting"));
        }

        definitions = definitions.Distinct().ToList();
        var steps = new List<Hl7StepResult>();

        // Validator options a case declares (as the HL7 runner passes them to the Java validator).
        var settings = new ValidatorSettings
        {
            ValidateContainedResources = !(testCase.TryGetProperty("validateContains", out var contains) && contains.GetString() == "IGNORE"),
            AllowExampleUrls = !(testCase.TryGetProperty("examples", out var examples) && examples.ValueKind == JsonValueKind.False),
            AllowedExtensionDomains = testCase.TryGetProperty("allowed-extension-domain", out var domain) ? [domain.GetString()!] : [],
        };

        var baseResolver = Resolver(definitions);
        steps.Add(Validate("base", file, baseResolver, settings, [], testCase.GetProperty("java").GetString()!));

        if (testCase.TryGetProperty("profile", out var profileStep) && profileStep.TryGetProperty("java", out var profileJava))
        {
            var source = profileStep.GetProperty("source").GetString()!;
            var resolver = Resolver(definitions.Append(source).Distinct().ToList());
            var url = ProfileUrl(resolver, source);
            steps.Add(Validate("profile", file, resolver, settings, url is null ? [] : [url], profileJava.GetString()!));
        }

        return new Hl7CaseResult(name, module, steps);
    }

    private DefinitionResolver Resolver(IReadOnlyList<string> files) =>
        files.Count == 0
            ? new DefinitionResolver([_core])
            : new DefinitionResolver([DefinitionSource.FromFiles("test-case", files.Select(f => Path.Combine(_root, f))), _core]);

    private string? ProfileUrl(DefinitionResolver resolver, string source)
    {
        var only = DefinitionSource.FromFiles("profile", [Path.Combine(_root, source)]);
        return only.Entries.FirstOrDefault(e => e.ResourceType == "StructureDefinition")?.Url
               ?? resolver.Sources[0].Entries.FirstOrDefault(e => e.ResourceType == "StructureDefinition")?.Url;
    }

    private Hl7StepResult Validate(string step, string file, DefinitionResolver resolver, ValidatorSettings settings, IReadOnlyList<string> profiles, string javaOutcome)
    {
        var expected = HasErrors(Path.Combine(_root, "outcomes", javaOutcome));
        var validator = _createValidator(resolver, settings);
        var path = Path.Combine(_root, file);
        var results = new List<ValidationResult>();
        if (file.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var line in File.ReadAllLines(path).Where(l => !string.IsNullOrWhiteSpace(l)))
            {
                results.Add(validator.Validate(System.Text.Encoding.UTF8.GetBytes(line), profiles: profiles));
            }
        }
        else
        {
            results.Add(validator.Validate(File.ReadAllBytes(path), profiles: profiles));
        }

        var errors = results.SelectMany(r => r.Issues).Where(i => i.IsError).ToList();
        var messages = errors.Select(i => $"{i.Severity} {i.Expression}: {i.Message}").Take(8).ToList();
        return new Hl7StepResult(step, expected, errors.Count > 0, messages);
    }

    private static bool HasErrors(string outcomePath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(outcomePath));
        return doc.RootElement.TryGetProperty("issue", out var issues)
               && issues.EnumerateArray().Any(i => i.TryGetProperty("severity", out var s) && s.GetString() is "error" or "fatal");
    }

    private static IEnumerable<string> Strings(JsonElement element, string property) =>
        element.TryGetProperty(property, out var array) && array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().Select(e => e.GetString()!).ToList()
            : [];
}
