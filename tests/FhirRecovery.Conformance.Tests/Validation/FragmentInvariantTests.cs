using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.ElementModel;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>
/// The native evaluation of the common FHIRPath fragment is an optimisation only: wherever it decides, it must give
/// Firely's answer. Checked for every invariant of the core and the IG at every element of real resources.
/// </summary>
public sealed class FragmentInvariantTests
{
    private static readonly FhirPathCompiler Firely = new(new SymbolTable().AddStandardFP().AddFhirExtensions());

    [Fact]
    public void Native_fragment_evaluation_agrees_with_Firely_on_every_invariant_and_element()
    {
        var expressions = InvariantExpressions().ToList();
        var compiled = expressions
            .Select(e => (Text: e, Fragment: FragmentInvariant.TryCompile(e), Firely: TryCompile(e)))
            .Where(x => x.Fragment is not null && x.Firely is not null)
            .ToList();
        Assert.True(compiled.Count > 50, $"only {compiled.Count} invariants are in the fragment");

        var decided = 0;
        var disagreements = new List<string>();
        foreach (var resource in SampleResources())
        {
            var root = resource.ToPocoNode();
            foreach (var node in Descendants(root))
            {
                foreach (var (text, fragment, firely) in compiled)
                {
                    foreach (var emptyIs in new[] { false, true })
                    {
                        var native = fragment!.Evaluate(node.Poco, resource, emptyIs);
                        if (native is null)
                        {
                            continue;
                        }

                        bool expected;
                        try
                        {
                            var context = new FhirEvaluationContext { Resource = root, RootResource = root };
                            expected = emptyIs ? firely!.Predicate(node, context) : firely!.IsTrue(node, context);
                        }
                        catch (Exception)
                        {
                            // Firely cannot evaluate this pairing of expression and element (type errors): nothing to compare.
                            continue;
                        }

                        decided++;
                        if (native != expected && disagreements.Count < 20)
                        {
                            disagreements.Add($"{text} at {((ITypedElement)node).Location} in {resource.TypeName}/{resource.Id} (empty is {emptyIs}): native {native}, Firely {expected}");
                        }
                    }
                }
            }
        }

        Assert.True(decided > 10_000, $"only {decided} evaluations were decided natively");
        Assert.True(disagreements.Count == 0, string.Join("\n", disagreements));

        // Intermediate results are borrowed lists: every evaluation gave its lists back.
        Assert.Equal(0, FragmentInvariant.ScratchListsInUse);
    }

    [Fact]
    public void Validating_leaves_no_scratch_lists_borrowed()
    {
        foreach (var resource in SampleResources().Take(60))
        {
            TestProfiles.Validator.Validate(resource);
        }

        Assert.Equal(0, FragmentInvariant.ScratchListsInUse);
    }

    [Theory]
    [InlineData("contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()")]
    [InlineData("status = 'completed' implies output.exists()")]
    [InlineData("category.coding.where(system = 'x' and code in ('a' | 'b')).exists()")]
    [InlineData("(expressedBy.reference.exists() and expressedBy.reference.matches('^(.*/)?Patient/.+$')) implies (subject.reference.exists() and expressedBy.reference = subject.reference)")]
    [InlineData("extension('http://example.org/x').exists() implies subject.exists()")]
    [InlineData("start.hasValue().not() or end.hasValue().not() or (start <= end)")]
    [InlineData("value.ofType(integer).all($this >= -2 and $this <= 2)")]
    public void Common_invariant_shapes_are_evaluated_natively(string expression) =>
        Assert.NotNull(FragmentInvariant.TryCompile(expression));

    [Theory]
    [InlineData("name.given.count() > 1")]
    [InlineData("children().count() > id.count()")]
    [InlineData("descendants().where(reference = '#').exists()")]
    public void Expressions_outside_the_fragment_are_left_to_Firely(string expression) =>
        Assert.Null(FragmentInvariant.TryCompile(expression));

    /// <summary>The node and every node below it, through Firely's own child nodes (primitives carry their values).</summary>
    private static IEnumerable<PocoNode> Descendants(PocoNode node)
    {
        yield return node;
        foreach (var child in node.Children())
        {
            foreach (var item in child)
            {
                foreach (var descendant in Descendants(item))
                {
                    yield return descendant;
                }
            }
        }
    }

    private static CompiledExpression? TryCompile(string expression)
    {
        try
        {
            return Firely.Compile(expression);
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static IEnumerable<string> InvariantExpressions()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in SharedDefinitions.Resolver.EntriesOf("StructureDefinition"))
        {
            if (SharedDefinitions.Resolver.Resolve(entry) is not StructureDefinition sd)
            {
                continue;
            }

            foreach (var element in (sd.Snapshot?.Element ?? []).Concat(sd.Differential?.Element ?? []))
            {
                foreach (var constraint in element.Constraint)
                {
                    if (constraint.Expression is { } expression && seen.Add(expression))
                    {
                        yield return expression;
                    }
                }
            }
        }

        // Shapes the definitions may not contain, to cover every operator of the fragment.
        foreach (var extra in new[]
                 {
                     "active = true", "active != false", "gender = 'male'", "gender in ('male' | 'female')", "name.family.matches('^[A-Z]')",
                     "birthDate.hasValue()", "identifier.where(system = 'urn:oid:1.2.3.4').exists()", "%resource.id.exists() or id.empty()",
                     "(status = 'final' or status = 'amended') implies value.exists()", "extension.exists().not()",
                 })
        {
            yield return extra;
        }
    }

    private static IEnumerable<Resource> SampleResources()
    {
        var json = new FhirJsonDeserializer(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));
        var files = Directory.EnumerateFiles(Path.Combine(TestPaths.Profiles, "examples"), "*.json", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(TestPaths.Hl7TestCases, "*.json").Take(150));
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            Resource? resource = null;
            try
            {
                resource = json.DeserializeResource(File.ReadAllText(file));
            }
            catch (Exception)
            {
                // Not a readable resource (test cases include broken JSON on purpose).
            }

            if (resource is not null and not DynamicResource)
            {
                yield return resource;
            }
        }
    }
}
