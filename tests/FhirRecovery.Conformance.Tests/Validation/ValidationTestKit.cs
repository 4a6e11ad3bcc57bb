using System.Text;
using System.Text.Json.Nodes;
using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Rest;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>
/// Shared validators and assertions for the behaviour tests of the profile validator. The core and IG index is the
/// process-wide one of <see cref="SharedDefinitions"/>; the small test profiles of <see cref="TestProfiles"/> sit on
/// top of it in one more resolver, built once.
/// </summary>
internal static class Validate
{
    /// <summary>Core plus the recovery IG (the product's engine).</summary>
    public static ProfileValidator Core => SharedDefinitions.Validator;

    /// <summary>Core, the recovery IG and the test profiles.</summary>
    public static ProfileValidator WithTestProfiles => TestProfiles.Validator;

    public static ValidationResult Json(string json, params string[] profiles) =>
        Core.Validate(Encoding.UTF8.GetBytes(json), ResourceFormat.Json, profiles);

    public static ValidationResult Json(JsonNode json, params string[] profiles) => Json(json.ToJsonString(), profiles);

    public static ValidationResult Xml(string xml, params string[] profiles) =>
        Core.Validate(Encoding.UTF8.GetBytes(xml), ResourceFormat.Xml, profiles);

    public static ValidationResult Bytes(byte[] content, ResourceFormat format = ResourceFormat.Unknown) => Core.Validate(content, format);

    /// <summary>Validated by the engine that knows the test profiles.</summary>
    public static ValidationResult Profiled(string json, params string[] profiles) =>
        WithTestProfiles.Validate(Encoding.UTF8.GetBytes(json), ResourceFormat.Json, profiles);

    public static ValidationResult Profiled(JsonNode json, params string[] profiles) => Profiled(json.ToJsonString(), profiles);

    /// <summary>An example of the IG (profiles/examples), as a mutable JSON tree.</summary>
    public static JsonObject Example(string fileName) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Profiles, "examples", fileName)))!.AsObject();
}

internal static class IssueAssertions
{
    /// <summary>Asserts one issue with exactly these properties exists (message fragment case-insensitive) and returns it.</summary>
    public static ValidationIssue HasIssue(this ValidationResult result, IssueSeverity severity, IssueType code, string? expression,
        IssueKind kind, string? messageFragment = null)
    {
        var match = result.Issues.FirstOrDefault(i => i.Severity == severity && i.Code == code && i.Expression == expression && i.Kind == kind
                                                      && (messageFragment is null || i.Message.Contains(messageFragment, StringComparison.OrdinalIgnoreCase)));
        Assert.True(match is not null,
            $"Expected {severity}/{code}/{kind} at '{expression}'{(messageFragment is null ? "" : $" containing '{messageFragment}'")}, found:\n{Describe(result)}");
        return match!;
    }

    /// <summary>An error (or fatal) issue at <paramref name="expression"/> whose message contains <paramref name="messageFragment"/>.</summary>
    public static ValidationIssue HasError(this ValidationResult result, IssueType code, string? expression, IssueKind kind, string? messageFragment = null) =>
        result.HasIssue(IssueSeverity.Error, code, expression, kind, messageFragment);

    /// <summary>Some error (or fatal) issue of this kind at exactly <paramref name="expression"/>, whatever its code.</summary>
    public static ValidationIssue HasErrorAt(this ValidationResult result, string? expression, IssueKind kind)
    {
        var match = result.Issues.FirstOrDefault(i => i.IsError && i.Expression == expression && i.Kind == kind);
        Assert.True(match is not null, $"Expected an error ({kind}) at '{expression}', found:\n{Describe(result)}");
        return match!;
    }

    public static ValidationIssue HasFatal(this ValidationResult result, IssueType code, IssueKind kind, string? messageFragment = null)
    {
        var match = result.Issues.FirstOrDefault(i => i.Severity == IssueSeverity.Fatal && i.Code == code && i.Kind == kind
                                                      && (messageFragment is null || i.Message.Contains(messageFragment, StringComparison.OrdinalIgnoreCase)));
        Assert.True(match is not null, $"Expected a fatal {code}/{kind}{(messageFragment is null ? "" : $" containing '{messageFragment}'")}, found:\n{Describe(result)}");
        return match!;
    }

    public static void HasNoErrors(this ValidationResult result) =>
        Assert.True(!result.HasErrors, $"Expected no errors, found:\n{Describe(result)}");

    /// <summary>No issue of any severity (not even information).</summary>
    public static void HasNoIssues(this ValidationResult result) =>
        Assert.True(result.Issues.Count == 0, $"Expected no issues, found:\n{Describe(result)}");

    /// <summary>No issue whose message contains the fragment (case-insensitive).</summary>
    public static void HasNoIssueMentioning(this ValidationResult result, string messageFragment) =>
        Assert.True(!result.Issues.Any(i => i.Message.Contains(messageFragment, StringComparison.OrdinalIgnoreCase)),
            $"Expected no issue mentioning '{messageFragment}', found:\n{Describe(result)}");

    /// <summary>No error at or below the element <paramref name="expression"/>.</summary>
    public static void HasNoErrorsAt(this ValidationResult result, string expression) =>
        Assert.True(!result.Issues.Any(i => i.IsError && i.Expression is { } e && (e == expression || e.StartsWith(expression + ".", StringComparison.Ordinal)
                                                                                   || e.StartsWith(expression + "[", StringComparison.Ordinal))),
            $"Expected no errors at {expression}, found:\n{Describe(result)}");

    public static string Describe(this ValidationResult result) =>
        result.Issues.Count == 0
            ? "  (no issues)"
            : string.Join("\n", result.Issues.Select(i => $"  {i.Severity}/{i.Code}/{i.Kind} @ {i.Expression ?? "(none)"}{(i.Position is { } p ? $" [{p.Line}:{p.Column}]" : "")}: {i.Message}"));
}

/// <summary>
/// Small profiles written for these tests (differentials only: the engine generates their snapshots), loaded once with
/// the core and the IG. Canonicals under <see cref="Base"/>, a domain that is neither hl7.org nor an example domain.
/// </summary>
internal static class TestProfiles
{
    public const string Base = "http://acme.test/fhir/StructureDefinition/";

    public const string PatientCardinality = Base + "test-patient-cardinality";
    public const string PatientLengths = Base + "test-patient-lengths";
    public const string QuantityRange = Base + "test-quantity-range";
    public const string IntegerRange = Base + "test-integer-range";
    public const string DateRange = Base + "test-date-range";
    public const string FixedAndPattern = Base + "test-fixed-pattern";
    public const string Bindings = Base + "test-bindings";
    public const string CodingBinding = Base + "test-coding-binding";
    public const string Invariants = Base + "test-invariants";
    public const string BrokenInvariant = Base + "test-broken-invariant";
    public const string RegexInvariant = Base + "test-regex-invariant";
    public const string SliceValue = Base + "test-slice-value";
    public const string SlicePattern = Base + "test-slice-pattern";
    public const string SliceExistsOrdered = Base + "test-slice-exists-ordered";
    public const string SliceType = Base + "test-slice-type";
    public const string SliceProfile = Base + "test-slice-profile";
    public const string IdentifierStrict = Base + "test-identifier-strict";
    public const string SliceOpenAtEnd = Base + "test-slice-open-at-end";
    public const string ReferenceTarget = Base + "test-reference-target";
    public const string NamedPatient = Base + "test-named-patient";
    public const string BasicGlobal = Base + "test-basic-global";
    public const string ComplexExtension = Base + "test-complex-extension";

    private static readonly Lazy<ConformanceEngine> LazyEngine = new(() => ConformanceEngine.Create(
        new DefinitionResolver([DefinitionSource.FromJson("test.validation", Encoding.UTF8.GetBytes(Definitions())), SharedDefinitions.Ig, SharedDefinitions.Core])));

    public static ConformanceEngine Engine => LazyEngine.Value;

    public static ProfileValidator Validator => Engine.Validator;

    private static string Profile(string id, string type, string elements, string? baseDefinition = null, string kind = "resource", string extra = "") => $$"""
        {{{extra}}
          "resourceType": "StructureDefinition",
          "id": "{{id}}",
          "url": "{{Base}}{{id}}",
          "name": "{{id.Replace("-", "")}}",
          "status": "active",
          "fhirVersion": "4.0.1",
          "kind": "{{kind}}",
          "abstract": false,
          "type": "{{type}}",
          "baseDefinition": "{{baseDefinition ?? "http://hl7.org/fhir/StructureDefinition/" + type}}",
          "derivation": "constraint",
          "differential": { "element": {{elements}} }
        }
        """;

    private static string Definitions()
    {
        var resources = new List<string>
        {
            Profile("test-patient-cardinality", "Patient", """
                [
                  { "id": "Patient", "path": "Patient" },
                  { "id": "Patient.identifier", "path": "Patient.identifier", "max": "1" },
                  { "id": "Patient.name", "path": "Patient.name", "min": 1 },
                  { "id": "Patient.contact.name", "path": "Patient.contact.name", "min": 1 },
                  { "id": "Patient.contact.telecom", "path": "Patient.contact.telecom", "max": "1" }
                ]
                """),
            Profile("test-named-patient", "Patient", """
                [
                  { "id": "Patient", "path": "Patient" },
                  { "id": "Patient.name", "path": "Patient.name", "min": 1 }
                ]
                """),
            Profile("test-patient-lengths", "Patient", """
                [
                  { "id": "Patient", "path": "Patient" },
                  { "id": "Patient.name.family", "path": "Patient.name.family", "maxLength": 10,
                    "extension": [ { "url": "http://hl7.org/fhir/StructureDefinition/minLength", "valueInteger": 2 } ] }
                ]
                """),
            Profile("test-quantity-range", "Observation", """
                [
                  { "id": "Observation", "path": "Observation" },
                  { "id": "Observation.value[x]", "path": "Observation.value[x]", "type": [ { "code": "Quantity" } ],
                    "minValueQuantity": { "value": 500, "system": "http://unitsofmeasure.org", "code": "g" },
                    "maxValueQuantity": { "value": 2, "system": "http://unitsofmeasure.org", "code": "kg" } }
                ]
                """),
            Profile("test-integer-range", "Observation", """
                [
                  { "id": "Observation", "path": "Observation" },
                  { "id": "Observation.value[x]", "path": "Observation.value[x]", "type": [ { "code": "integer" } ],
                    "minValueInteger": 0, "maxValueInteger": 10 }
                ]
                """),
            Profile("test-date-range", "Patient", """
                [
                  { "id": "Patient", "path": "Patient" },
                  { "id": "Patient.birthDate", "path": "Patient.birthDate", "minValueDate": "1900-01-01", "maxValueDate": "2030-12-31" }
                ]
                """),
            Profile("test-fixed-pattern", "Observation", """
                [
                  { "id": "Observation", "path": "Observation" },
                  { "id": "Observation.status", "path": "Observation.status", "fixedCode": "final" },
                  { "id": "Observation.code", "path": "Observation.code",
                    "patternCodeableConcept": { "coding": [ { "system": "http://loinc.org", "code": "29463-7" } ] } },
                  { "id": "Observation.method", "path": "Observation.method",
                    "fixedCodeableConcept": { "coding": [ { "system": "http://acme.test/method", "code": "scale" } ] } }
                ]
                """),
            Profile("test-bindings", "Observation", """
                [
                  { "id": "Observation", "path": "Observation" },
                  { "id": "Observation.category", "path": "Observation.category",
                    "binding": { "strength": "required", "valueSet": "https://fhirrecovery.org/fhir/ValueSet/life-domain" } },
                  { "id": "Observation.code", "path": "Observation.code",
                    "binding": { "strength": "required", "valueSet": "http://hl7.org/fhir/ValueSet/observation-codes" } },
                  { "id": "Observation.interpretation", "path": "Observation.interpretation",
                    "binding": { "strength": "preferred", "valueSet": "https://fhirrecovery.org/fhir/ValueSet/life-domain" } },
                  { "id": "Observation.method", "path": "Observation.method",
                    "binding": { "strength": "extensible", "valueSet": "https://fhirrecovery.org/fhir/ValueSet/chime-process" } },
                  { "id": "Observation.bodySite", "path": "Observation.bodySite",
                    "binding": { "strength": "required", "valueSet": "http://hl7.org/fhir/ValueSet/body-site" } },
                  { "id": "Observation.dataAbsentReason", "path": "Observation.dataAbsentReason",
                    "binding": { "strength": "example", "valueSet": "https://fhirrecovery.org/fhir/ValueSet/life-domain" } }
                ]
                """),
            Profile("test-coding-binding", "Encounter", """
                [
                  { "id": "Encounter", "path": "Encounter" },
                  { "id": "Encounter.class", "path": "Encounter.class",
                    "binding": { "strength": "required", "valueSet": "https://fhirrecovery.org/fhir/ValueSet/life-domain" } }
                ]
                """),
            Profile("test-invariants", "Patient", """
                [
                  { "id": "Patient", "path": "Patient",
                    "constraint": [
                      { "key": "tst-1", "severity": "error", "human": "At most two names in all",
                        "expression": "descendants().ofType(HumanName).count() <= 2", "source": "http://acme.test/fhir/StructureDefinition/test-invariants" },
                      { "key": "tst-2", "severity": "warning", "human": "A patient should have a birth date",
                        "expression": "birthDate.exists()", "source": "http://acme.test/fhir/StructureDefinition/test-invariants" }
                    ] }
                ]
                """),
            Profile("test-broken-invariant", "Patient", """
                [
                  { "id": "Patient", "path": "Patient",
                    "constraint": [
                      { "key": "tst-broken", "severity": "error", "human": "Cannot be compiled",
                        "expression": "name.where(family = ", "source": "http://acme.test/fhir/StructureDefinition/test-broken-invariant" }
                    ] }
                ]
                """),
            Profile("test-regex-invariant", "Patient", """
                [
                  { "id": "Patient", "path": "Patient" },
                  { "id": "Patient.name.family", "path": "Patient.name.family",
                    "constraint": [
                      { "key": "tst-regex", "severity": "error", "human": "A family name of a's (catastrophic backtracking on anything else)",
                        "expression": "matches('^(a+)+$')", "source": "http://acme.test/fhir/StructureDefinition/test-regex-invariant" }
                    ] }
                ]
                """),
            Profile("test-slice-value", "Patient", """
                [
                  { "id": "Patient", "path": "Patient" },
                  { "id": "Patient.identifier", "path": "Patient.identifier",
                    "slicing": { "discriminator": [ { "type": "value", "path": "system" } ], "rules": "closed" } },
                  { "id": "Patient.identifier.value", "path": "Patient.identifier.value", "min": 1 },
                  { "id": "Patient.identifier:mrn", "path": "Patient.identifier", "sliceName": "mrn", "min": 1, "max": "1" },
                  { "id": "Patient.identifier:mrn.system", "path": "Patient.identifier.system", "min": 1, "fixedUri": "http://acme.test/mrn" },
                  { "id": "Patient.identifier:ssn", "path": "Patient.identifier", "sliceName": "ssn", "min": 0, "max": "1" },
                  { "id": "Patient.identifier:ssn.system", "path": "Patient.identifier.system", "min": 1, "fixedUri": "http://acme.test/ssn" }
                ]
                """),
            Profile("test-slice-pattern", "Observation", """
                [
                  { "id": "Observation", "path": "Observation" },
                  { "id": "Observation.category", "path": "Observation.category",
                    "slicing": { "discriminator": [ { "type": "pattern", "path": "$this" } ], "rules": "open" } },
                  { "id": "Observation.category:vital", "path": "Observation.category", "sliceName": "vital", "min": 1, "max": "1",
                    "patternCodeableConcept": { "coding": [ { "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs" } ] } }
                ]
                """),
            Profile("test-slice-exists-ordered", "Patient", """
                [
                  { "id": "Patient", "path": "Patient" },
                  { "id": "Patient.address", "path": "Patient.address",
                    "slicing": { "discriminator": [ { "type": "exists", "path": "period" } ], "ordered": true, "rules": "closed" } },
                  { "id": "Patient.address:dated", "path": "Patient.address", "sliceName": "dated", "min": 0, "max": "*" },
                  { "id": "Patient.address:dated.period", "path": "Patient.address.period", "min": 1 },
                  { "id": "Patient.address:undated", "path": "Patient.address", "sliceName": "undated", "min": 0, "max": "*" },
                  { "id": "Patient.address:undated.period", "path": "Patient.address.period", "max": "0" }
                ]
                """),
            Profile("test-slice-type", "Observation", """
                [
                  { "id": "Observation", "path": "Observation" },
                  { "id": "Observation.component", "path": "Observation.component",
                    "slicing": { "discriminator": [ { "type": "type", "path": "value" } ], "rules": "closed" } },
                  { "id": "Observation.component:quantity", "path": "Observation.component", "sliceName": "quantity", "min": 0, "max": "*" },
                  { "id": "Observation.component:quantity.value[x]", "path": "Observation.component.value[x]", "min": 1, "type": [ { "code": "Quantity" } ] },
                  { "id": "Observation.component:text", "path": "Observation.component", "sliceName": "text", "min": 0, "max": "*" },
                  { "id": "Observation.component:text.value[x]", "path": "Observation.component.value[x]", "min": 1, "type": [ { "code": "string" } ] }
                ]
                """),
            Profile("test-identifier-strict", "Identifier", """
                [
                  { "id": "Identifier", "path": "Identifier" },
                  { "id": "Identifier.system", "path": "Identifier.system", "min": 1 },
                  { "id": "Identifier.value", "path": "Identifier.value", "min": 1 }
                ]
                """, kind: "complex-type"),
            Profile("test-slice-profile", "Patient", """
                [
                  { "id": "Patient", "path": "Patient" },
                  { "id": "Patient.identifier", "path": "Patient.identifier",
                    "slicing": { "discriminator": [ { "type": "profile", "path": "$this" } ], "rules": "closed" } },
                  { "id": "Patient.identifier:strict", "path": "Patient.identifier", "sliceName": "strict", "min": 1, "max": "*",
                    "type": [ { "code": "Identifier", "profile": [ "http://acme.test/fhir/StructureDefinition/test-identifier-strict" ] } ] }
                ]
                """),
            Profile("test-slice-open-at-end", "Patient", """
                [
                  { "id": "Patient", "path": "Patient" },
                  { "id": "Patient.identifier", "path": "Patient.identifier",
                    "slicing": { "discriminator": [ { "type": "value", "path": "system" } ], "rules": "openAtEnd" } },
                  { "id": "Patient.identifier:mrn", "path": "Patient.identifier", "sliceName": "mrn", "min": 0, "max": "1" },
                  { "id": "Patient.identifier:mrn.system", "path": "Patient.identifier.system", "min": 1, "fixedUri": "http://acme.test/mrn" }
                ]
                """),
            Profile("test-reference-target", "Observation", """
                [
                  { "id": "Observation", "path": "Observation" },
                  { "id": "Observation.subject", "path": "Observation.subject",
                    "type": [ { "code": "Reference", "targetProfile": [ "http://acme.test/fhir/StructureDefinition/test-named-patient" ] } ] }
                ]
                """),
            Profile("test-basic-global", "Basic", """
                [
                  { "id": "Basic", "path": "Basic" },
                  { "id": "Basic.author", "path": "Basic.author", "min": 1 }
                ]
                """),
            Profile("test-complex-extension", "Extension", """
                [
                  { "id": "Extension", "path": "Extension" },
                  { "id": "Extension.extension", "path": "Extension.extension", "slicing": { "discriminator": [ { "type": "value", "path": "url" } ], "rules": "open" } },
                  { "id": "Extension.extension:level", "path": "Extension.extension", "sliceName": "level", "min": 0, "max": "1" },
                  { "id": "Extension.extension:level.url", "path": "Extension.extension.url", "fixedUri": "level" },
                  { "id": "Extension.extension:level.value[x]", "path": "Extension.extension.value[x]", "type": [ { "code": "integer" } ] },
                  { "id": "Extension.url", "path": "Extension.url", "fixedUri": "http://acme.test/fhir/StructureDefinition/test-complex-extension" },
                  { "id": "Extension.value[x]", "path": "Extension.value[x]", "max": "0" }
                ]
                """, "http://hl7.org/fhir/StructureDefinition/Extension", "complex-type",
                extra: """ "context": [ { "type": "element", "expression": "Patient" } ], """),
            """
            {
              "resourceType": "ImplementationGuide",
              "id": "test-validation",
              "url": "http://acme.test/fhir/ImplementationGuide/test-validation",
              "name": "TestValidation",
              "status": "active",
              "packageId": "test.validation",
              "fhirVersion": [ "4.0.1" ],
              "global": [ { "type": "Basic", "profile": "http://acme.test/fhir/StructureDefinition/test-basic-global" } ]
            }
            """,
        };
        return "[" + string.Join(",\n", resources) + "]";
    }
}
