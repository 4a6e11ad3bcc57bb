using FhirRecovery.TestKit.Model;
using Hl7.Fhir.Model;
using static FhirRecovery.TestKit.Model.KitContext;

namespace FhirRecovery.TestKit.Suites;

/// <summary>The CapabilityStatement declares what the guide needs: its profiles, search parameters, operations and SMART.</summary>
public sealed class CapabilitySuite : KitSuite
{
    /// <summary>The resource types a server of the guide creates, reads, updates and searches.</summary>
    public static readonly string[] RecoveryTypes = ["Goal", "CarePlan", "ServiceRequest", "Task", "QuestionnaireResponse", "Communication", "Consent"];

    public override string Name => "capability";

    public override string Description => "The CapabilityStatement declares the guide's profiles, search parameters, operations and SMART security.";

    public CapabilitySuite()
    {
        Test("cap-01", "GET metadata answers an R4 (4.0.1) CapabilityStatement of kind instance that offers JSON",
            Specs.FhirRule("capabilities interaction", "http.html#capabilities"), async ctx =>
            {
                var capability = await ctx.CapabilityAsync();
                Expect(capability.FhirVersion == FHIRVersion.N4_0_1, $"fhirVersion is {capability.FhirVersion?.ToString() ?? "missing"}, not 4.0.1");
                Expect(capability.Kind == CapabilityStatementKind.Instance, $"kind is {capability.Kind}, not instance");
                Expect(capability.Format.Any(f => f is not null && f.Contains("json", StringComparison.OrdinalIgnoreCase)), "format does not list JSON");
                Expect(capability.Rest.Any(r => r.Mode == CapabilityStatement.RestfulCapabilityMode.Server), "no rest entry in server mode");
            });

        Test("cap-02", "Every profile of the guide is a supportedProfile of its resource type",
            Specs.IgRule("the guide's profiles", "ImplementationGuide/fhirrecovery.ig"), async ctx =>
            {
                var resources = Resources(await ctx.CapabilityAsync());
                var missing = new List<string>();
                foreach (var profile in IgProfiles(ctx))
                {
                    var declared = resources.GetValueOrDefault(profile.Type!);
                    if (declared is null || !declared.SupportedProfile.Any(p => p is not null && Canonical(p) == profile.Url))
                    {
                        missing.Add($"{profile.Type}: {profile.Url}");
                    }
                }

                Expect(missing.Count == 0, "not declared: " + string.Join(", ", missing));
            });

        Test("cap-03", "Every SearchParameter of the guide is declared on each of its base types, by code and definition",
            Specs.IgRule("the guide's search parameters", "ImplementationGuide/fhirrecovery.ig"), async ctx =>
            {
                var resources = Resources(await ctx.CapabilityAsync());
                var missing = new List<string>();
                foreach (var parameter in Specs.IgDefinitions<SearchParameter>(ctx))
                {
                    foreach (var type in parameter.Base.OfType<VersionIndependentResourceTypesAll>().Select(b => b.ToString()))
                    {
                        var declared = resources.GetValueOrDefault(type)?.SearchParam.FirstOrDefault(p => p.Name == parameter.Code);
                        if (declared is null || (declared.Definition is { } definition && Canonical(definition) != parameter.Url))
                        {
                            missing.Add($"{type}?{parameter.Code}");
                        }
                    }
                }

                Expect(missing.Count == 0, "not declared (or with another definition): " + string.Join(", ", missing));
            });

        Test("cap-04", "The guide's operations ($recovery-summary, $recovery-orientation) and SDC $extract on QuestionnaireResponse are declared",
            Specs.IgRule("the guide's operations", "OperationDefinition/recovery-summary"), async ctx =>
            {
                var capability = await ctx.CapabilityAsync();
                var names = Operations(capability);
                var wanted = Specs.IgDefinitions<OperationDefinition>(ctx).Select(o => o.Code)
                    .Append("extract").OfType<string>().Distinct().ToList();
                var missing = wanted.Where(w => !names.Contains(w)).ToList();
                Expect(missing.Count == 0, "operations not declared: " + string.Join(", ", missing.Select(m => "$" + m)));
            });

        Test("cap-05", "rest.security declares SMART on FHIR (service SMART-on-FHIR or the oauth-uris extension)",
            Specs.SmartRule("CapabilityStatement security", "conformance.html"), async ctx =>
            {
                var security = (await ctx.CapabilityAsync()).Rest.FirstOrDefault()?.Security;
                Expect(security is not null, "the CapabilityStatement has no rest.security");
                var smart = security!.Service.Any(s => s.Coding.Any(c => c.Code == "SMART-on-FHIR"))
                            || security.Extension.Any(e => e.Url == "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris");
                Expect(smart, "rest.security declares neither the SMART-on-FHIR service nor the oauth-uris extension");
            });

        Test("cap-06", "The guide's resource types support read, create, update and search-type",
            Specs.FhirRule("RESTful interactions", "http.html"), async ctx =>
            {
                var resources = Resources(await ctx.CapabilityAsync());
                var missing = new List<string>();
                foreach (var type in RecoveryTypes)
                {
                    var interactions = resources.GetValueOrDefault(type)?.Interaction.Select(i => i.Code).OfType<CapabilityStatement.TypeRestfulInteraction>().ToHashSet() ?? [];
                    foreach (var needed in new[] { CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.Create,
                                 CapabilityStatement.TypeRestfulInteraction.Update, CapabilityStatement.TypeRestfulInteraction.SearchType })
                    {
                        if (!interactions.Contains(needed))
                        {
                            missing.Add($"{type} {needed}");
                        }
                    }
                }

                Expect(missing.Count == 0, "not declared: " + string.Join(", ", missing));
            });
    }

    public static Dictionary<string, CapabilityStatement.ResourceComponent> Resources(CapabilityStatement capability) =>
        capability.Rest.SelectMany(r => r.Resource).Where(r => r.Type is not null).GroupBy(r => r.Type!.ToString()!).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

    /// <summary>Every operation name the statement declares, at system or type level.</summary>
    public static HashSet<string> Operations(CapabilityStatement capability) =>
        capability.Rest.SelectMany(r => r.Operation.Concat(r.Resource.SelectMany(x => x.Operation))).Select(o => o.Name?.TrimStart('$')).OfType<string>().ToHashSet(StringComparer.Ordinal);

    private static string Canonical(string value) => value.Split('|')[0];

    /// <summary>The guide's resource profiles (constraints on a resource type, not extensions).</summary>
    private static IEnumerable<StructureDefinition> IgProfiles(KitContext ctx) =>
        Specs.IgDefinitions<StructureDefinition>(ctx)
            .Where(sd => sd.Kind == StructureDefinition.StructureDefinitionKind.Resource && sd.Derivation == StructureDefinition.TypeDerivationRule.Constraint);
}
