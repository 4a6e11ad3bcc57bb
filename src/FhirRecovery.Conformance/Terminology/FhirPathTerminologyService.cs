using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Terminology;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>What FHIRPath <c>memberOf()</c> answers when membership cannot be decided locally (it has no "unknown").</summary>
public enum UnknownMembership
{
    /// <summary>true: an undecidable code does not fail an invariant (the validator reports it elsewhere).</summary>
    TreatAsMember,

    /// <summary>false.</summary>
    TreatAsNonMember,

    /// <summary>Throw, so the FHIRPath evaluation fails and the caller decides.</summary>
    Throw,
}

/// <summary>
/// Firely's terminology interface over the local engine, so FHIRPath <c>memberOf()</c> works through
/// <c>FhirEvaluationContext.TerminologyService</c>. Answers synchronously (the tasks are already completed).
/// </summary>
public sealed class FhirPathTerminologyService(TerminologyService service, UnknownMembership unknown = UnknownMembership.TreatAsMember)
    : ICodeValidationTerminologyService
{
    public TerminologyService Service { get; } = service;

    public UnknownMembership Unknown { get; } = unknown;

    public System.Threading.Tasks.Task<Parameters> ValueSetValidateCode(Parameters parameters, string? id = null, bool useGet = false)
    {
        ValueSet? instance = null;
        if (id is not null && !parameters.Parameter.Any(p => p.Name is "url" or "valueSet"))
        {
            instance = Service.Resolver.ResolveByUriAsync($"ValueSet/{id}").GetAwaiter().GetResult() as ValueSet
                       ?? throw TerminologyException.NotFound($"ValueSet/{id} is not known.");
        }

        ValidateCodeResult result;
        try
        {
            result = Service.ValueSetValidateCodeRequest(parameters, instance);
        }
        catch (TerminologyException ex) when (ex.IssueType == OperationOutcome.IssueType.NotFound && Unknown != UnknownMembership.Throw)
        {
            // memberOf() on a value set we do not have: as undecidable as a code system we do not have.
            result = new ValidateCodeResult { Outcome = CodeValidity.Unknown, Issues = [TerminologyIssue.Warning(ex.IssueType, ex.Message)] };
        }

        var output = TerminologyService.ToParameters(result);
        if (result.Outcome == CodeValidity.Unknown)
        {
            if (Unknown == UnknownMembership.Throw)
            {
                throw new TerminologyException(OperationOutcome.IssueType.NotSupported, result.Message ?? "Membership cannot be decided locally.");
            }

            output.Parameter.RemoveAll(p => p.Name == "result");
            output.Parameter.Insert(0, new Parameters.ParameterComponent { Name = "result", Value = new FhirBoolean(Unknown == UnknownMembership.TreatAsMember) });
        }

        return System.Threading.Tasks.Task.FromResult(output);
    }

    public System.Threading.Tasks.Task<Parameters> Subsumes(Parameters parameters, string? id = null, bool useGet = false)
    {
        CodeSystem? instance = null;
        if (id is not null)
        {
            instance = Service.Resolver.ResolveByUriAsync($"CodeSystem/{id}").GetAwaiter().GetResult() as CodeSystem
                       ?? throw TerminologyException.NotFound($"CodeSystem/{id} is not known.");
        }

        return System.Threading.Tasks.Task.FromResult(Service.SubsumesOperation(parameters, instance));
    }
}
