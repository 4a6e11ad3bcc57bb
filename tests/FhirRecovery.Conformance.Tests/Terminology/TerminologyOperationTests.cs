using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.Model;
using static FhirRecovery.Conformance.Tests.Terminology.TerminologyFixture;

namespace FhirRecovery.Conformance.Tests.Terminology;

/// <summary>The Parameters-in, Parameters-out adapters the REST layer calls, including every error path.</summary>
public class TerminologyOperationTests
{
    private static TerminologyService Tx => Service;

    private static Parameters In(params (string Name, DataType Value)[] parameters)
    {
        var p = new Parameters();
        foreach (var (name, value) in parameters)
        {
            p.Add(name, value);
        }

        return p;
    }

    private static T Out<T>(Parameters p, string name) where T : DataType =>
        Assert.IsType<T>(p.Parameter.Single(x => x.Name == name).Value, exactMatch: false);

    private static TerminologyException Fails(Action action, OperationOutcome.IssueType type, int status)
    {
        var ex = Assert.Throws<TerminologyException>(action);
        Assert.Equal(type, ex.IssueType);
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal(type, Assert.Single(ex.Outcome.Issue).Code);
        Assert.Equal(OperationOutcome.IssueSeverity.Error, ex.Outcome.Issue[0].Severity);
        return ex;
    }

    [Fact]
    public void Expand_by_url_returns_the_expansion_with_paging()
    {
        var output = Tx.ExpandOperation(In(("url", new FhirUri(Vs("all-animals"))), ("count", new Integer(2)), ("offset", new Integer(1))));

        var expansion = Assert.IsType<ValueSet>(output.Parameter.Single(p => p.Name == "return").Resource);
        Assert.Equal(["mammal", "dog"], Codes(expansion));
        Assert.Equal(11, expansion.Expansion!.Total);
    }

    [Fact]
    public void Expand_accepts_a_value_set_resource_an_instance_and_string_typed_parameters()
    {
        var inline = new Parameters();
        inline.Parameter.Add(new Parameters.ParameterComponent { Name = "valueSet", Resource = ValueSet("inline", IncludeCodes(Animals, ["cat", "dog"])) });
        inline.Add("activeOnly", new FhirString("true"));
        var fromResource = (ValueSet)Tx.ExpandOperation(inline).Parameter[0].Resource!;
        Assert.Equal(["cat", "dog"], Codes(fromResource));

        var instance = Resolver.FindValueSet(Vs("sea"))!;
        Assert.Equal(["whale", "penguin"], Codes((ValueSet)Tx.ExpandOperation(new Parameters(), instance).Parameter[0].Resource!));
    }

    [Fact]
    public void Expand_errors_map_to_not_found_required_too_costly_and_invalid()
    {
        Fails(() => Tx.ExpandOperation(In(("url", new FhirUri(Vs("nope"))))), OperationOutcome.IssueType.NotFound, 404);
        Fails(() => Tx.ExpandOperation(new Parameters()), OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.ExpandOperation(In(("url", new FhirUri(Vs("big"))))), OperationOutcome.IssueType.TooCostly, 422);
        Fails(() => Tx.ExpandOperation(In(("url", new FhirUri(Vs("mammals"))), ("count", new FhirString("lots")))), OperationOutcome.IssueType.Invalid, 400);
        Fails(() => Tx.ExpandOperation(In(("url", new FhirUri(Vs("mammals"))), ("offset", new Integer(-1)))), OperationOutcome.IssueType.Invalid, 400);
    }

    [Fact]
    public void ValueSet_validate_code_with_code_and_system()
    {
        var output = Tx.ValueSetValidateCodeOperation(In(
            ("url", new FhirUri("http://hl7.org/fhir/ValueSet/administrative-gender")),
            ("system", new FhirUri("http://hl7.org/fhir/administrative-gender")),
            ("code", new Code("male")),
            ("display", new FhirString("Mail"))));

        Assert.True(Out<FhirBoolean>(output, "result").Value);
        Assert.Equal("Male", Out<FhirString>(output, "display").Value);
        Assert.Contains("Mail", Out<FhirString>(output, "message").Value);
    }

    [Fact]
    public void ValueSet_validate_code_with_coding_codeable_concept_and_value_set_version()
    {
        var coding = Tx.ValueSetValidateCodeOperation(In(("url", new FhirUri(Vs("mammals"))), ("coding", new Coding(Animals, "penguin"))));
        Assert.False(Out<FhirBoolean>(coding, "result").Value);
        Assert.NotNull(Out<FhirString>(coding, "message").Value);

        var concept = Tx.ValueSetValidateCodeOperation(In(
            ("url", new FhirUri("http://hl7.org/fhir/ValueSet/administrative-gender")),
            ("valueSetVersion", new FhirString("4.0.1")),
            ("codeableConcept", new CodeableConcept("http://hl7.org/fhir/administrative-gender", "other"))));
        Assert.True(Out<FhirBoolean>(concept, "result").Value);
    }

    [Fact]
    public void ValueSet_validate_code_that_cannot_be_decided_is_false_with_the_unknown_system()
    {
        var output = Tx.ValueSetValidateCodeOperation(In(
            ("url", new FhirUri(Vs("snomed-mixed"))), ("system", new FhirUri(Snomed)), ("code", new Code("22298006"))));

        Assert.False(Out<FhirBoolean>(output, "result").Value);
        Assert.Equal(Snomed, Out<Canonical>(output, "x-caused-by-unknown-system").Value);
        Assert.IsType<OperationOutcome>(output.Parameter.Single(p => p.Name == "issues").Resource);
    }

    [Fact]
    public void ValueSet_validate_code_abstract_parameter_allows_abstract_codes()
    {
        var denied = Tx.ValueSetValidateCodeOperation(In(("url", new FhirUri(Vs("mammals"))), ("system", new FhirUri(Animals)), ("code", new Code("mammal"))));
        Assert.False(Out<FhirBoolean>(denied, "result").Value);

        var allowed = Tx.ValueSetValidateCodeOperation(In(("url", new FhirUri(Vs("mammals"))), ("system", new FhirUri(Animals)),
            ("code", new Code("mammal")), ("abstract", new FhirBoolean(true))));
        Assert.True(Out<FhirBoolean>(allowed, "result").Value);
    }

    [Fact]
    public void ValueSet_validate_code_errors()
    {
        Fails(() => Tx.ValueSetValidateCodeOperation(In(("url", new FhirUri(Vs("nope"))), ("system", new FhirUri(Animals)), ("code", new Code("dog")))),
            OperationOutcome.IssueType.NotFound, 404);
        Fails(() => Tx.ValueSetValidateCodeOperation(In(("system", new FhirUri(Animals)), ("code", new Code("dog")))),
            OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.ValueSetValidateCodeOperation(In(("url", new FhirUri(Vs("mammals"))))),
            OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.ValueSetValidateCodeOperation(In(("url", new FhirUri(Vs("mammals"))), ("code", new Code("dog")))),
            OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.ValueSetValidateCodeOperation(In(("url", new FhirUri(Vs("imports-cycle"))), ("system", new FhirUri(Animals)), ("code", new Code("dog")))),
            OperationOutcome.IssueType.Invalid, 400);
        Fails(() => Tx.ValueSetValidateCodeOperation(In(("url", new FhirUri(Vs("mammals"))), ("coding", new FhirString("dog")))),
            OperationOutcome.IssueType.Invalid, 400);
    }

    [Fact]
    public void CodeSystem_validate_code_by_url_by_coding_and_with_a_resource()
    {
        var byUrl = Tx.CodeSystemValidateCodeOperation(In(("url", new FhirUri(Animals)), ("code", new Code("whale"))));
        Assert.True(Out<FhirBoolean>(byUrl, "result").Value);
        Assert.Equal("Whale", Out<FhirString>(byUrl, "display").Value);

        var byCoding = Tx.CodeSystemValidateCodeOperation(In(("coding", new Coding(Animals, "unicorn"))));
        Assert.False(Out<FhirBoolean>(byCoding, "result").Value);

        var resource = new Parameters();
        resource.Parameter.Add(new Parameters.ParameterComponent
        {
            Name = "codeSystem",
            Resource = new CodeSystem
            {
                Url = Example + "/CodeSystem/adhoc", Status = PublicationStatus.Draft, Content = CodeSystemContentMode.Complete,
                Concept = [Concept("one", "One")],
            },
        });
        resource.Add("code", new Code("one"));
        Assert.True(Out<FhirBoolean>(Tx.CodeSystemValidateCodeOperation(resource), "result").Value);

        var snomed = Tx.CodeSystemValidateCodeOperation(In(("url", new FhirUri(Snomed)), ("code", new Code("38341003"))));
        Assert.False(Out<FhirBoolean>(snomed, "result").Value);
        Assert.Equal(Snomed, Out<Canonical>(snomed, "x-caused-by-unknown-system").Value);
    }

    [Fact]
    public void CodeSystem_validate_code_errors()
    {
        Fails(() => Tx.CodeSystemValidateCodeOperation(In(("url", new FhirUri("http://example.org/unknown-system")), ("code", new Code("x")))),
            OperationOutcome.IssueType.NotFound, 404);
        Fails(() => Tx.CodeSystemValidateCodeOperation(In(("code", new Code("x")))), OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.CodeSystemValidateCodeOperation(In(("url", new FhirUri(Animals)))), OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.CodeSystemValidateCodeOperation(In(("url", new FhirUri(Animals)), ("coding", new Coding(Classes, "aves")))),
            OperationOutcome.IssueType.Invalid, 400);
    }

    [Fact]
    public void Lookup_operation_returns_standard_output_parameters()
    {
        var output = Tx.LookupOperation(In(("system", new FhirUri(Animals)), ("code", new Code("dog"))));

        Assert.Equal("Animals", Out<FhirString>(output, "name").Value);
        Assert.Equal("1.0.0", Out<FhirString>(output, "version").Value);
        Assert.Equal("Dog", Out<FhirString>(output, "display").Value);
        Assert.False(Out<FhirBoolean>(output, "abstract").Value);
        var designations = output.Parameter.Where(p => p.Name == "designation").ToList();
        Assert.Equal(2, designations.Count);
        Assert.Contains(designations, d => d.Part.Any(p => p.Name == "language" && p.Value?.ToString() == "de")
                                           && d.Part.Any(p => p.Name == "use" && p.Value is Coding)
                                           && d.Part.Any(p => p.Name == "value" && p.Value?.ToString() == "Hund"));
        var parent = output.Parameter.Single(p => p.Name == "property" && p.Part.Any(x => x.Name == "code" && x.Value?.ToString() == "parent"));
        Assert.Equal("mammal", parent.Part.Single(x => x.Name == "value").Value?.ToString());

        var limited = Tx.LookupOperation(In(("coding", new Coding(Animals, "dog")), ("property", new Code("legs"))));
        var legs = Assert.Single(limited.Parameter, p => p.Name == "property");
        Assert.Equal(4, (legs.Part.Single(x => x.Name == "value").Value as Integer)?.Value);
    }

    [Fact]
    public void Lookup_operation_errors()
    {
        Fails(() => Tx.LookupOperation(In(("system", new FhirUri(Animals)))), OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.LookupOperation(In(("code", new Code("dog")))), OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.LookupOperation(In(("system", new FhirUri(Animals)), ("code", new Code("unicorn")))), OperationOutcome.IssueType.NotFound, 404);
        Fails(() => Tx.LookupOperation(In(("system", new FhirUri("http://example.org/unknown-system")), ("code", new Code("x")))), OperationOutcome.IssueType.NotFound, 404);
    }

    [Fact]
    public void Subsumes_operation_with_codes_and_with_codings()
    {
        var byCodes = Tx.SubsumesOperation(In(("system", new FhirUri(Animals)), ("codeA", new Code("bird")), ("codeB", new Code("kiwi"))));
        Assert.Equal("subsumes", Out<Code>(byCodes, "outcome").Value);

        var byCodings = Tx.SubsumesOperation(In(("codingA", new Coding(Animals, "kiwi")), ("codingB", new Coding(Animals, "bird"))));
        Assert.Equal("subsumed-by", Out<Code>(byCodings, "outcome").Value);

        var instance = Resolver.FindCodeSystem(Animals)!;
        Assert.Equal("not-subsumed", Out<Code>(Tx.SubsumesOperation(In(("codeA", new Code("kiwi")), ("codeB", new Code("dog"))), instance), "outcome").Value);
        Assert.Equal("equivalent", Out<Code>(Tx.SubsumesOperation(In(("system", new FhirUri(Animals)), ("codeA", new Code("dog")), ("codeB", new Code("dog")))), "outcome").Value);
    }

    [Fact]
    public void Subsumes_operation_errors()
    {
        Fails(() => Tx.SubsumesOperation(In(("system", new FhirUri(Animals)), ("codeA", new Code("dog")))), OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.SubsumesOperation(In(("codeA", new Code("dog")), ("codeB", new Code("cat")))), OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.SubsumesOperation(In(("codingA", new Coding(Animals, "dog")), ("codingB", new Coding(Classes, "aves")))), OperationOutcome.IssueType.Invalid, 400);
        Fails(() => Tx.SubsumesOperation(In(("system", new FhirUri(Animals)), ("codeA", new Code("dog")), ("codeB", new Code("unicorn")))), OperationOutcome.IssueType.NotFound, 404);
        Fails(() => Tx.SubsumesOperation(In(("system", new FhirUri("http://example.org/unknown-system")), ("codeA", new Code("a")), ("codeB", new Code("b")))), OperationOutcome.IssueType.NotFound, 404);
    }

    [Fact]
    public void Translate_operation_returns_matches_as_parts()
    {
        var output = Tx.TranslateOperation(In(("url", new FhirUri(Cm("animal-to-class"))), ("system", new FhirUri(Animals)), ("code", new Code("cat"))));

        Assert.True(Out<FhirBoolean>(output, "result").Value);
        var match = Assert.Single(output.Parameter, p => p.Name == "match");
        Assert.Equal("wider", match.Part.Single(p => p.Name == "equivalence").Value?.ToString());
        Assert.Equal("mammalia", (match.Part.Single(p => p.Name == "concept").Value as Coding)?.Code);
        Assert.Equal(Cm("animal-to-class"), match.Part.Single(p => p.Name == "source").Value?.ToString());

        var reverse = Tx.TranslateOperation(In(("url", new FhirUri(Cm("animal-to-class"))), ("coding", new Coding(Classes, "aves")), ("reverse", new FhirBoolean(true))));
        Assert.Equal("narrower", Assert.Single(reverse.Parameter, p => p.Name == "match").Part.Single(p => p.Name == "equivalence").Value?.ToString());

        var unmatched = Tx.TranslateOperation(In(("url", new FhirUri(Cm("loop-a"))), ("system", new FhirUri(Animals)), ("code", new Code("whale"))));
        Assert.False(Out<FhirBoolean>(unmatched, "result").Value);
        Assert.NotNull(Out<FhirString>(unmatched, "message").Value);
    }

    [Fact]
    public void Translate_operation_errors()
    {
        Fails(() => Tx.TranslateOperation(In(("url", new FhirUri(Cm("animal-to-class"))))), OperationOutcome.IssueType.Required, 400);
        Fails(() => Tx.TranslateOperation(In(("url", new FhirUri(Cm("nope"))), ("system", new FhirUri(Animals)), ("code", new Code("dog")))), OperationOutcome.IssueType.NotFound, 404);
        Fails(() => Tx.TranslateOperation(In(("url", new FhirUri(Cm("animal-to-class"))), ("code", new Code("dog")), ("reverse", new FhirString("maybe")))), OperationOutcome.IssueType.Invalid, 400);
    }
}
