using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Workflow;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Summary;

/// <summary>Declares the recovery operations (with the IG's OperationDefinitions) and rest-hook subscriptions.</summary>
public sealed class RecoveryCapabilities : ICapabilityStatementContributor
{
    public const string SummaryDefinition = WorkflowCanonicals.Base + "/OperationDefinition/recovery-summary";
    public const string OrientationDefinition = WorkflowCanonicals.Base + "/OperationDefinition/recovery-orientation";

    public void Contribute(CapabilityStatement statement, string baseUrl)
    {
        foreach (var rest in statement.Rest)
        {
            rest.Operation.Add(new CapabilityStatement.OperationComponent { Name = "recovery-orientation", Definition = OrientationDefinition });
            foreach (var resource in rest.Resource)
            {
                switch (resource.Type)
                {
                    case "Patient":
                        resource.Operation.Add(new CapabilityStatement.OperationComponent { Name = "recovery-summary", Definition = SummaryDefinition });
                        break;
                    case "Organization" or "Group":
                        resource.Operation.Add(new CapabilityStatement.OperationComponent { Name = "recovery-orientation", Definition = OrientationDefinition });
                        break;
                    case "Subscription":
                        resource.Documentation = "R4 rest-hook subscriptions on Task, ServiceRequest, Goal and QuestionnaireResponse, delivered at least once "
                                                 + "through an outbox with exponential back-off; no payload: POST to the endpoint; payload: PUT [endpoint]/[type]/[id].";
                        break;
                }
            }
        }
    }
}
