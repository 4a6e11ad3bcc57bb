using FhirRecovery.Server.Interactions;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.BulkExport;

/// <summary>Declares Bulk Data export: the IG's CapabilityStatement instantiated, and its three export operations.</summary>
public sealed class BulkExportCapabilities : ICapabilityStatementContributor
{
    public const string BulkData = "http://hl7.org/fhir/uv/bulkdata";
    public const string CapabilityStatement = BulkData + "/CapabilityStatement/bulk-data";
    public const string SystemExport = BulkData + "/OperationDefinition/export";
    public const string PatientExport = BulkData + "/OperationDefinition/patient-export";
    public const string GroupExport = BulkData + "/OperationDefinition/group-export";

    public void Contribute(Hl7.Fhir.Model.CapabilityStatement statement, string baseUrl)
    {
        if (!statement.Instantiates.Contains(CapabilityStatement))
        {
            statement.Instantiates = [.. statement.Instantiates, CapabilityStatement];
        }

        foreach (var rest in statement.Rest)
        {
            rest.Operation.Add(new Hl7.Fhir.Model.CapabilityStatement.OperationComponent { Name = "export", Definition = SystemExport });
            foreach (var resource in rest.Resource)
            {
                var definition = resource.Type switch
                {
                    "Patient" => PatientExport,
                    "Group" => GroupExport,
                    _ => null,
                };
                if (definition is not null)
                {
                    resource.Operation.Add(new Hl7.Fhir.Model.CapabilityStatement.OperationComponent { Name = "export", Definition = definition });
                }
            }
        }
    }
}
