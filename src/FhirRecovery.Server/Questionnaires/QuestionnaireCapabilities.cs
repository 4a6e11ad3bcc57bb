using FhirRecovery.Server.Interactions;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Questionnaires;

/// <summary>Declares the SDC operations (with SDC's OperationDefinitions) on Questionnaire and QuestionnaireResponse.</summary>
public sealed class QuestionnaireCapabilities : ICapabilityStatementContributor
{
    public const string ExtractDefinition = "http://hl7.org/fhir/uv/sdc/OperationDefinition/QuestionnaireResponse-extract";
    public const string PopulateDefinition = "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-populate";

    public void Contribute(CapabilityStatement statement, string baseUrl)
    {
        foreach (var resource in statement.Rest.SelectMany(r => r.Resource))
        {
            switch (resource.Type)
            {
                case "QuestionnaireResponse":
                    resource.Operation.Add(new CapabilityStatement.OperationComponent { Name = "extract", Definition = ExtractDefinition });
                    resource.Documentation = "Validated against its Questionnaire on write; scores (SDC calculatedExpression) are recomputed and the "
                                             + "questionnaire's values stored (Prefer: handling=strict refuses a differing score with 422 instead).";
                    break;
                case "Questionnaire":
                    resource.Operation.Add(new CapabilityStatement.OperationComponent { Name = "populate", Definition = PopulateDefinition });
                    break;
            }
        }
    }
}
