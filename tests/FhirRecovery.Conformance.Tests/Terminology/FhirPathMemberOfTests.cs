using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;
using static FhirRecovery.Conformance.Tests.Terminology.TerminologyFixture;

namespace FhirRecovery.Conformance.Tests.Terminology;

/// <summary>FHIRPath memberOf() through <see cref="FhirPathTerminologyService"/> and FhirEvaluationContext.</summary>
public class FhirPathMemberOfTests
{
    private static readonly FhirPathCompiler Compiler = new(new SymbolTable().AddStandardFP().AddFhirExtensions());

    private static bool Evaluate(Base resource, string expression, UnknownMembership unknown = UnknownMembership.TreatAsMember)
    {
        var context = new FhirEvaluationContext { TerminologyService = new FhirPathTerminologyService(Service, unknown) };
        var result = Compiler.Compile(expression)(resource.ToPocoNode(), context).ToList();

        // memberOf() yields a FHIRPath System.Boolean (an internal type); its text is the .NET bool's.
        return bool.Parse(Assert.Single(result).Poco.ToString()!);
    }

    [Fact]
    public void MemberOf_on_a_code_element_infers_the_system()
    {
        var patient = new Patient { Gender = AdministrativeGender.Female };

        Assert.True(Evaluate(patient, "Patient.gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')"));
        Assert.False(Evaluate(patient, "Patient.gender.memberOf('http://hl7.org/fhir/ValueSet/goal-status')"));
    }

    [Fact]
    public void MemberOf_on_codings_and_codeable_concepts()
    {
        var observation = new Observation
        {
            Status = ObservationStatus.Final,
            Code = new CodeableConcept { Coding = [new Coding(Loinc, "0000-0"), new Coding(Animals, "cat")] },
        };

        Assert.True(Evaluate(observation, $"Observation.code.memberOf('{Vs("mammals")}')"));
        Assert.False(Evaluate(observation, $"Observation.code.memberOf('{Vs("sea")}')"));
        Assert.True(Evaluate(observation, $"Observation.code.coding.where(system = '{Animals}').memberOf('{Vs("domestic")}')"));
    }

    [Fact]
    public void Undecidable_membership_follows_the_chosen_policy()
    {
        var observation = new Observation { Status = ObservationStatus.Final, Code = new CodeableConcept(Snomed, "22298006") };
        var expression = $"Observation.code.memberOf('{Vs("snomed-mixed")}')";

        Assert.True(Evaluate(observation, expression));
        Assert.False(Evaluate(observation, expression, UnknownMembership.TreatAsNonMember));
        Assert.ThrowsAny<Exception>(() => Evaluate(observation, expression, UnknownMembership.Throw));
        Assert.True(Evaluate(observation, $"Observation.code.memberOf('{Vs("not-loaded")}')"));
    }

    [Fact]
    public async System.Threading.Tasks.Task The_adapter_answers_subsumes_too()
    {
        var adapter = new FhirPathTerminologyService(Service);
        var input = new Parameters();
        input.Add("system", new FhirUri(Animals));
        input.Add("codeA", new Code("mammal"));
        input.Add("codeB", new Code("whale"));

        var output = await adapter.Subsumes(input);

        Assert.Equal("subsumes", output.GetSingleValue<Code>("outcome")?.Value);
    }
}
