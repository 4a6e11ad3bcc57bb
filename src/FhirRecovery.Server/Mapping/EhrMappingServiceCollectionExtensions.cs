using FhirRecovery.Conformance;
using FhirRecovery.Mapping;
using FhirRecovery.Server.Endpoints;
using FhirRecovery.Server.Interactions;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Mapping;

/// <summary>Registers the EHR mapping feature: $convert, $import-ehr, $export-ehr and the RRI^I12 outbox hook.</summary>
public static class EhrMappingServiceCollectionExtensions
{
    public static IServiceCollection AddEhrMapping(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<MappingOptions>(configuration.GetSection(MappingOptions.Section));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<MappingOptions>>().Value;
            options.BaseDirectory ??= sp.GetRequiredService<IHostEnvironment>().ContentRootPath;
            return new EhrMappingService(sp.GetRequiredService<ConformanceEngine>(), options);
        });
        services.AddSingleton<EhrImportService>();
        services.AddSingleton<EhrExportService>();
        services.AddSingleton<IFhirEndpointModule, EhrMappingEndpoints>();
        services.AddSingleton<IResourceWriteHook, ReferralReturnHook>();
        services.AddSingleton<ICapabilityStatementContributor, EhrMappingCapabilities>();
        return services;
    }
}

/// <summary>Declares the mapping operations in the CapabilityStatement.</summary>
public sealed class EhrMappingCapabilities : ICapabilityStatementContributor
{
    public void Contribute(Hl7.Fhir.Model.CapabilityStatement statement, string baseUrl)
    {
        foreach (var rest in statement.Rest)
        {
            rest.Operation.Add(new Hl7.Fhir.Model.CapabilityStatement.OperationComponent { Name = "convert", Definition = $"{baseUrl}/OperationDefinition/convert" });
            rest.Operation.Add(new Hl7.Fhir.Model.CapabilityStatement.OperationComponent { Name = "import-ehr", Definition = $"{baseUrl}/OperationDefinition/import-ehr" });
            foreach (var resource in rest.Resource.Where(r => r.Type == "Patient"))
            {
                resource.Operation.Add(new Hl7.Fhir.Model.CapabilityStatement.OperationComponent { Name = "export-ehr", Definition = $"{baseUrl}/OperationDefinition/Patient-export-ehr" });
            }
        }
    }
}
