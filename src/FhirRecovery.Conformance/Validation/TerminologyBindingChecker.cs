using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Validation;

/// <summary>The validator's binding checks answered by the local terminology service.</summary>
public sealed class TerminologyBindingChecker(TerminologyService terminology) : IBindingChecker
{
    public CodeCheck Check(string valueSet, string? system, string code, string? display)
    {
        ValidateCodeResult result;
        try
        {
            result = terminology.ValueSetValidateCode(valueSet, system, code, display);
        }
        catch (TerminologyException ex)
        {
            // An unknown or unexpandable value set cannot decide the code: not the instance's fault.
            return new CodeCheck(CodeCheckOutcome.Unknown, ex.Message);
        }

        return result.Outcome switch
        {
            CodeValidity.Valid => new CodeCheck(CodeCheckOutcome.Valid, FirstWarning(result)),
            CodeValidity.Invalid => new CodeCheck(CodeCheckOutcome.Invalid,
                $"The code {Label(system, code)} is not in the value set {valueSet}{(result.Message is { } m ? ": " + m : "")}"),
            _ => new CodeCheck(CodeCheckOutcome.Unknown, result.Message ?? $"The code {Label(system, code)} cannot be checked locally"),
        };
    }

    private static string Label(string? system, string code) => system is null ? $"'{code}'" : $"'{system}#{code}'";

    private static string? FirstWarning(ValidateCodeResult result)
    {
        foreach (var issue in result.Issues)
        {
            if (issue.Severity == OperationOutcome.IssueSeverity.Warning)
            {
                return issue.Message;
            }
        }

        return null;
    }
}
