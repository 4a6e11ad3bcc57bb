using FhirRecovery.Storage.Indexing;
using FhirRecovery.Storage.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Storage.Tests;

/// <summary>
/// The indexer walks plain-path expressions over the POCO instead of evaluating them with FHIRPath: for every resource
/// we have (the guide's examples, the samples, the HL7 validator test cases when the shared folder is there, and
/// hand-made edge cases) both must extract exactly the same index rows.
/// </summary>
public sealed class PlainPathIndexingTests
{
    private static readonly FhirJsonDeserializer Json = new(new DeserializerSettings().UsingMode(DeserializationMode.Recoverable));

    [Fact]
    public void Walking_plain_paths_extracts_the_same_index_rows_as_FHIRPath_for_every_example_resource()
    {
        var indexer = new SearchIndexer(SharedDefinitions.Registry);
        var resources = Corpus().ToList();
        Assert.True(resources.Count > 200, $"only {resources.Count} resources to compare");

        var differences = new List<string>();
        foreach (var (source, resource) in resources)
        {
            IndexSet evaluated;
            try
            {
                evaluated = indexer.Extract(resource, plainPaths: false);
            }
            catch (Exception)
            {
                continue; // read leniently with values of the wrong type (invalid test cases): never stored, so never indexed
            }

            var walked = indexer.Extract(resource, plainPaths: true);
            Compare(source, "string", walked.Strings, evaluated.Strings, differences);
            Compare(source, "token", walked.Tokens, evaluated.Tokens, differences);
            Compare(source, "date", walked.Dates, evaluated.Dates, differences);
            Compare(source, "number", walked.Numbers, evaluated.Numbers, differences);
            Compare(source, "quantity", walked.Quantities, evaluated.Quantities, differences);
            Compare(source, "reference", walked.References, evaluated.References, differences);
            Compare(source, "uri", walked.Uris, evaluated.Uris, differences);
        }

        Assert.True(differences.Count == 0, string.Join("\n", differences.Take(30)));
    }

    [Theory]
    [InlineData("AuditEvent", "agent", "AuditEvent.agent.who")]
    [InlineData("Goal", "patient", "Goal.subject.where(resolve() is Patient)")]
    [InlineData("Goal", "lifecycle-status", "Goal.lifecycleStatus")]
    [InlineData("Provenance", "target", "Provenance.target")]
    public void Common_parameters_are_walked_as_plain_paths(string type, string code, string expression)
    {
        var parameter = SharedDefinitions.Registry.Find(type, code)!;
        Assert.Equal(expression, parameter.Expression);
        Assert.NotNull(parameter.PlainPaths);
    }

    [Fact]
    public void Expressions_with_functions_other_than_resolve_keep_FHIRPath()
    {
        Assert.Null(PocoPath.TryCreate(["Observation.value.as(Quantity)"], "Observation"));
        Assert.Null(PocoPath.TryCreate(["Patient.name.where(use = 'official')"], "Patient"));
        Assert.Null(PocoPath.TryCreate(["Goal.extension('http://x').value"], "Goal"));
        Assert.Null(PocoPath.TryCreate(["Goal.subject.where(resolve() is Resource)"], "Goal"));
        Assert.NotNull(PocoPath.TryCreate(["(Goal.subject)", "Resource.meta.tag"], "Goal"));
    }

    private static void Compare<T>(string source, string kind, List<T> walked, List<T> evaluated, List<string> differences)
    {
        var missing = evaluated.Except(walked).ToList();
        var extra = walked.Except(evaluated).ToList();
        if (missing.Count > 0 || extra.Count > 0 || walked.Count != evaluated.Count)
        {
            differences.Add($"{source} {kind}: walked {walked.Count}, FHIRPath {evaluated.Count}; missing [{string.Join("; ", missing)}] extra [{string.Join("; ", extra)}]");
        }
    }

    private static IEnumerable<(string Source, Resource Resource)> Corpus()
    {
        var root = RepositoryRoot();
        var folders = new List<string> { Path.Combine(root, "profiles", "examples"), Path.Combine(root, "samples") };
        var shared = Path.GetFullPath(Path.Combine(root, "..", "shared", "conformance", "fhir-test-cases"));
        if (Directory.Exists(shared))
        {
            folders.Add(shared);
        }

        foreach (var file in folders.SelectMany(f => Directory.EnumerateFiles(f, "*.json", SearchOption.AllDirectories)).Order(StringComparer.Ordinal))
        {
            Resource? resource;
            try
            {
                var text = File.ReadAllText(file);
                resource = text.Contains("\"resourceType\"", StringComparison.Ordinal) ? Json.DeserializeResource(text) : null;
            }
            catch (Exception)
            {
                continue; // not a resource, or not one Firely reads even leniently: nothing to index
            }

            if (resource is null)
            {
                continue;
            }

            yield return (file, resource);
            if (resource is Bundle bundle)
            {
                foreach (var entry in bundle.Entry)
                {
                    if (entry.Resource is { } inner)
                    {
                        yield return ($"{file}#{inner.TypeName}/{inner.Id}", inner);
                    }
                }
            }
        }

        foreach (var edge in EdgeCases())
        {
            yield return ($"edge case {edge.TypeName}/{edge.Id}", edge);
        }
    }

    private static IEnumerable<Resource> EdgeCases()
    {
        var contained = new Goal
        {
            Id = "contained-subject",
            LifecycleStatus = Goal.GoalLifecycleStatus.Active,
            Description = new CodeableConcept { Text = "x" },
            Contained = [new Patient { Id = "p" }],
            Subject = new ResourceReference("#p"),
        };
        yield return contained;
        yield return new Goal
        {
            Id = "absolute-subject",
            LifecycleStatus = Goal.GoalLifecycleStatus.Active,
            Description = new CodeableConcept { Text = "x" },
            Subject = new ResourceReference("https://ehr.example.org/fhir/Patient/9"),
        };
        yield return new Goal
        {
            Id = "identifier-subject",
            LifecycleStatus = Goal.GoalLifecycleStatus.Active,
            Description = new CodeableConcept { Text = "x" },
            Subject = new ResourceReference { Identifier = new Identifier("urn:oid:1.2.3", "42") },
        };
        yield return new AuditEvent
        {
            Id = "audit",
            Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest"),
            Subtype = [new Coding("http://hl7.org/fhir/restful-interaction", "read")],
            Action = AuditEvent.AuditEventAction.R,
            Recorded = DateTimeOffset.Parse("2026-11-24T10:00:00Z"),
            Outcome = AuditEvent.AuditEventOutcome.N0,
            Agent =
            [
                new AuditEvent.AgentComponent { Who = new ResourceReference("Practitioner/1"), Requestor = true, Network = new AuditEvent.NetworkComponent { Address = "127.0.0.1" } },
                new AuditEvent.AgentComponent { Who = new ResourceReference { Identifier = new Identifier("urn:client", "app") }, Requestor = false },
            ],
            Source = new AuditEvent.SourceComponent { Observer = new ResourceReference { Display = "server" } },
            Entity =
            [
                new AuditEvent.EntityComponent { What = new ResourceReference("Patient/1"), Role = new Coding("http://terminology.hl7.org/CodeSystem/object-role", "1") },
                new AuditEvent.EntityComponent { What = new ResourceReference("Goal/1/_history/2") },
                new AuditEvent.EntityComponent { What = new ResourceReference("Patient/1") }, // the same value twice: a union keeps one
            ],
        };
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FhirRecovery.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("FhirRecovery.sln not found above " + AppContext.BaseDirectory);
    }
}
