using System.Collections.Concurrent;
using System.Reflection;
using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Server.Http;
using FhirRecovery.Storage.Search;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Interactions;

/// <summary>
/// The server's CapabilityStatement, generated from what is really there: every resource type with the interactions the
/// endpoints implement, each type's search parameters (core and IG), the IG's profiles, the operations and formats.
/// Built once per process (it depends only on the loaded definitions) and cloned per request.
/// </summary>
public sealed class CapabilityStatementBuilder(ConformanceEngine engine, SearchParameterRegistry registry, TimeProvider clock,
    IEnumerable<ICapabilityStatementContributor> contributors)
{
    /// <summary>Operations, by the type they are on (null: every type), with their OperationDefinitions.</summary>
    public static readonly IReadOnlyList<(string? Type, string Name, string Definition)> Operations =
    [
        (null, "validate", "http://hl7.org/fhir/OperationDefinition/Resource-validate"),
        ("ValueSet", "expand", "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"),
        ("ValueSet", "validate-code", "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code"),
        ("CodeSystem", "lookup", "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup"),
        ("CodeSystem", "validate-code", "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code"),
        ("CodeSystem", "subsumes", "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes"),
        ("ConceptMap", "translate", "http://hl7.org/fhir/OperationDefinition/ConceptMap-translate"),
    ];

    private readonly Lazy<CapabilityStatement> _statement = new(() => Build(engine, registry, clock));

    // The whole statement is several hundred KB: its serialized forms are kept (rebuilt on demand, nothing shared).
    private readonly ConcurrentDictionary<(string BaseUrl, FhirFormat Format, bool Pretty), byte[]> _serialized = new();

    /// <summary>The statement serialized, for requests without _summary/_elements.</summary>
    public byte[] Serialized(string baseUrl, FhirFormat format, bool pretty)
    {
        var key = (baseUrl, format, pretty);
        if (_serialized.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var bytes = FhirSerialization.Serialize(Get(baseUrl), format, pretty);
        // The base URL comes from the Host header: a bounded cache, so odd hosts cannot grow it without end.
        if (_serialized.Count < 16)
        {
            _serialized.TryAdd(key, bytes);
        }

        return bytes;
    }

    public CapabilityStatement Get(string baseUrl)
    {
        var statement = (CapabilityStatement)_statement.Value.DeepCopy();
        statement.Implementation ??= new CapabilityStatement.ImplementationComponent();
        statement.Implementation.Url = baseUrl;
        foreach (var contributor in contributors)
        {
            contributor.Contribute(statement, baseUrl);
        }

        return statement;
    }

    private static CapabilityStatement Build(ConformanceEngine engine, SearchParameterRegistry registry, TimeProvider clock)
    {
        var definitions = engine.Definitions;
        var version = typeof(CapabilityStatementBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var igProfiles = definitions.EntriesOf("StructureDefinition")
            .Where(e => e.PackageId != DefinitionSource.CorePackageId && e.Kind == "resource" && e.Derivation == "constraint" && e.Url is not null && e.Type is not null)
            .ToLookup(e => e.Type!, e => e.Url!);
        var guides = definitions.EntriesOf("ImplementationGuide")
            .Where(e => e.PackageId != DefinitionSource.CorePackageId && e.Url is not null)
            .Select(e => e.Url!)
            .ToList();

        var rest = new CapabilityStatement.RestComponent
        {
            Mode = CapabilityStatement.RestfulCapabilityMode.Server,
            Documentation = "FhirRecovery FHIR R4 server: recovery goals, care plans, questionnaires and peer-support referrals.",
            Interaction =
            [
                new CapabilityStatement.SystemInteractionComponent { Code = CapabilityStatement.SystemRestfulInteraction.Transaction },
                new CapabilityStatement.SystemInteractionComponent { Code = CapabilityStatement.SystemRestfulInteraction.Batch },
                new CapabilityStatement.SystemInteractionComponent { Code = CapabilityStatement.SystemRestfulInteraction.SearchSystem },
                new CapabilityStatement.SystemInteractionComponent { Code = CapabilityStatement.SystemRestfulInteraction.HistorySystem },
            ],
        };

        foreach (var type in ResourceNames.All)
        {
            var resource = new CapabilityStatement.ResourceComponent
            {
                Type = type,
                Profile = "http://hl7.org/fhir/StructureDefinition/" + type,
                Interaction = new[]
                {
                    CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.Vread,
                    CapabilityStatement.TypeRestfulInteraction.Update, CapabilityStatement.TypeRestfulInteraction.Patch,
                    CapabilityStatement.TypeRestfulInteraction.Delete, CapabilityStatement.TypeRestfulInteraction.HistoryInstance,
                    CapabilityStatement.TypeRestfulInteraction.HistoryType, CapabilityStatement.TypeRestfulInteraction.Create,
                    CapabilityStatement.TypeRestfulInteraction.SearchType,
                }.Select(i => new CapabilityStatement.ResourceInteractionComponent { Code = i }).ToList(),
                Versioning = CapabilityStatement.ResourceVersionPolicy.VersionedUpdate,
                ReadHistory = true,
                UpdateCreate = true,
                ConditionalCreate = true,
                ConditionalRead = CapabilityStatement.ConditionalReadStatus.FullSupport,
                ConditionalUpdate = true,
                ConditionalDelete = CapabilityStatement.ConditionalDeleteStatus.Single,
                ReferencePolicy = [CapabilityStatement.ReferenceHandlingPolicy.Literal, CapabilityStatement.ReferenceHandlingPolicy.Logical],
                SupportedProfile = igProfiles[type].Order(StringComparer.Ordinal).ToList(),
                SearchInclude = ["*"],
                SearchRevInclude = ["*"],
            };
            // Only what the store can really search (its registry knows which defined parameters it cannot).
            foreach (var parameter in registry.Supported(type).OrderBy(p => p.Code, StringComparer.Ordinal))
            {
                resource.SearchParam.Add(new CapabilityStatement.SearchParamComponent
                {
                    Name = parameter.Code,
                    Definition = parameter.Url,
                    Type = parameter.Type,
                });
            }

            foreach (var (_, name, definition) in Operations.Where(o => o.Type is null || o.Type == type))
            {
                resource.Operation.Add(new CapabilityStatement.OperationComponent { Name = name, Definition = definition });
            }

            rest.Resource.Add(resource);
        }

        rest.Operation.Add(new CapabilityStatement.OperationComponent { Name = "validate", Definition = "http://hl7.org/fhir/OperationDefinition/Resource-validate" });

        return new CapabilityStatement
        {
            Id = "fhirrecovery-server",
            Url = "https://fhirrecovery.org/fhir/CapabilityStatement/fhirrecovery-server",
            Name = "FhirRecoveryServer",
            Title = "FhirRecovery FHIR R4 server",
            Status = PublicationStatus.Active,
            Date = clock.GetUtcNow().ToString("yyyy-MM-dd"),
            Publisher = "FhirRecovery contributors",
            Kind = CapabilityStatementKind.Instance,
            Software = new CapabilityStatement.SoftwareComponent { Name = "FhirRecovery", Version = version },
            Implementation = new CapabilityStatement.ImplementationComponent { Description = "FhirRecovery FHIR server" },
            FhirVersion = FHIRVersion.N4_0_1,
            Format = FhirMediaTypes.Formats.ToList(),
            PatchFormat = [FhirMediaTypes.JsonPatch, FhirMediaTypes.Json, FhirMediaTypes.Xml],
            ImplementationGuide = guides,
            Rest = [rest],
        };
    }
}
