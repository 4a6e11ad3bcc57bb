using System.Text.Json.Nodes;
using FhirRecovery.Mapping.UsCore;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using static FhirRecovery.Mapping.Tests.Shared;

namespace FhirRecovery.Mapping.Tests;

public class FhirMappingTests
{
    private static readonly FhirJsonSerializer Json = new();

    private static ConversionResult Import(string ehr = "northwind") =>
        Mapper.Convert(Sample(ehr, "fhir", ehr == "northwind" ? "everything-marisol-delgado.json" : "goals-oystein-bakke.json"), SourceFormat.Fhir, ehr);

    [Theory]
    [InlineData("northwind")]
    [InlineData("fjordline")]
    public void Us_core_and_generic_resources_map_to_recovery_profiles_that_validate(string ehr)
    {
        var result = Import(ehr);
        foreach (var resource in Materialize(result.Bundle))
        {
            AssertValid(Engine, resource);
        }

        Assert.All(result.All<Goal>(), g => Assert.Contains(RecoveryCanonicals.RecoveryGoal, g.Meta.Profile));
    }

    [Fact]
    public void Everything_of_the_northwind_export_arrives_in_the_recovery_profiles()
    {
        var result = Import();
        Assert.Equal(3, result.All<Goal>().Count());
        Assert.Contains(RecoveryCanonicals.RecoveryCarePlan, result.All<CarePlan>().Single().Meta.Profile);
        Assert.Contains(RecoveryCanonicals.PeerSupportReferral, result.All<ServiceRequest>().Single().Meta.Profile);
        Assert.Contains(RecoveryCanonicals.PeerSupportTask, result.All<Hl7.Fhir.Model.Task>().Single().Meta.Profile);
        Assert.Contains(RecoveryCanonicals.RecoveryQuestionnaireResponse, result.All<QuestionnaireResponse>().Single().Meta.Profile);
        Assert.All(result.Resources, r => Assert.Equal("https://ehr.northwind.example/fhir", r.Meta.Source));
        var request = result.All<ServiceRequest>().Single();
        Assert.Contains(request.ReasonCode.SelectMany(r => r.Coding), c => c.Code == "reduce-isolation");
        Assert.NotNull(request.GetExtension(RecoveryCanonicals.ReferralConsentExtension));
    }

    [Fact]
    public void Mapped_codes_and_text_suggestions_are_told_apart()
    {
        var goals = Import().All<Goal>().ToList();
        var social = goals.Single(g => g.Identifier[0].Value == "G-448812-1");
        Assert.Contains(social.Category.SelectMany(c => c.Coding), c => c.Code == "relationships-social-network" && c.UserSelected is null);
        Assert.Contains(social.Category.SelectMany(c => c.Coding), c => c.Code == "connectedness");
        Assert.Contains(social.Category.SelectMany(c => c.Coding), c => c.Code == "social-inclusion");
        Assert.Contains(social.Category.SelectMany(c => c.Coding), c => c.Code == "promoting-citizenship");
        Assert.Contains(social.Meta.Tag, t => t.Code == MappingTags.ConceptMapped);
        Assert.DoesNotContain(social.Meta.Tag, t => t.Code == MappingTags.ClassifierSuggested);

        var sleep = goals.Single(g => g.Identifier[0].Value == "G-448812-4");
        Assert.Contains(sleep.Meta.Tag, t => t.Code == MappingTags.ClassifierSuggested);
        var suggested = sleep.Category.SelectMany(c => c.Coding).ToList();
        Assert.Contains(suggested, c => c.Code == "physical-health");
        Assert.All(suggested, c => Assert.False(c.UserSelected));
        Assert.Contains(sleep.Note, n => n.Text.Contains("rule life-domain:physical-health") && n.Text.Contains("'Sleep'"));
        Assert.Contains(sleep.ExpressedBy.Extension, e => e.Url == RecoveryCanonicals.DataAbsentReason);
    }

    [Fact]
    public void Without_the_text_classifier_nothing_is_suggested()
    {
        var goals = Mapper.Convert(Sample("northwind", "fhir", "everything-marisol-delgado.json"), SourceFormat.Fhir, "northwind", textClassifier: false).All<Goal>();
        Assert.Empty(goals.Single(g => g.Identifier[0].Value == "G-448812-4").Category);
    }

    [Fact]
    public void Round_trip_US_Core_to_recovery_to_US_Core_keeps_every_element_US_Core_defines()
    {
        var source = (Bundle)EhrMappingService.ParseFhir(Sample("northwind", "fhir", "everything-marisol-delgado.json"));
        var recovery = Import();
        var stored = Materialize(recovery.Bundle);
        var back = Mapper.UsCore.Export(stored, Mapper.Ehr("northwind"), "https://recovery.example/fhir");

        // References are compared by what they point at (type + identifier), since ids differ between systems.
        var sourceKeys = source.Entry.ToDictionary(e => $"{e.Resource.TypeName}/{e.Resource.Id}", e => Key(e.Resource));
        var backKeys = back.Bundle.Entry.ToDictionary(e => e.FullUrl, e => Key(e.Resource));
        foreach (var original in source.Entry.Select(e => e.Resource))
        {
            var key = Key(original);
            var exported = back.Bundle.Entry.Select(e => e.Resource).SingleOrDefault(r => r.TypeName == original.TypeName && Key(r) == key);
            Assert.True(exported is not null, $"{original.TypeName}/{original.Id} did not come back");
            var expected = Normalize(original, r => sourceKeys.GetValueOrDefault(r));
            var actual = Normalize(exported!, r => backKeys.GetValueOrDefault(r));
            AssertContains(expected, actual, $"{original.TypeName}/{original.Id}");
        }
    }

    private static string Key(Resource resource) => resource switch
    {
        IIdentifiable<List<Identifier>> many => $"{resource.TypeName}|{many.Identifier[0].System}|{many.Identifier[0].Value}",
        IIdentifiable<Identifier> one => $"{resource.TypeName}|{one.Identifier.System}|{one.Identifier.Value}",
        _ => resource.TypeName,
    };

    private static JsonObject Normalize(Resource resource, Func<string, string?> keyOf)
    {
        var copy = (Resource)resource.DeepCopy();
        copy.Meta = null;
        copy.Id = null;
        var node = JsonNode.Parse(Json.SerializeToString(copy))!.AsObject();
        ReplaceReferences(node, keyOf);
        return node;
    }

    private static void ReplaceReferences(JsonNode? node, Func<string, string?> keyOf)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj["reference"] is JsonValue value && value.TryGetValue<string>(out var reference))
                {
                    obj["reference"] = keyOf(reference) ?? reference;
                }

                foreach (var (_, child) in obj.ToList())
                {
                    ReplaceReferences(child, keyOf);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    ReplaceReferences(child, keyOf);
                }

                break;
        }
    }

    /// <summary>Every element of <paramref name="expected"/> is in <paramref name="actual"/> (arrays: each item is contained in some item).</summary>
    private static void AssertContains(JsonNode? expected, JsonNode? actual, string path)
    {
        switch (expected)
        {
            case JsonObject obj:
                var other = Assert.IsType<JsonObject>(actual, exactMatch: false);
                foreach (var (name, child) in obj)
                {
                    Assert.True(other.ContainsKey(name), $"{path}.{name} is missing after the round trip");
                    AssertContains(child, other[name], $"{path}.{name}");
                }

                break;
            case JsonArray array:
                var items = Assert.IsType<JsonArray>(actual, exactMatch: false);
                foreach (var item in array)
                {
                    Assert.True(items.Any(candidate => Contained(item, candidate)), $"{path}: {item?.ToJsonString()} is missing after the round trip in {items.ToJsonString()}");
                }

                break;
            default:
                Assert.True(JsonNode.DeepEquals(expected, actual), $"{path}: {expected?.ToJsonString()} became {actual?.ToJsonString()}");
                break;
        }
    }

    private static bool Contained(JsonNode? expected, JsonNode? actual)
    {
        try
        {
            AssertContains(expected, actual, "");
            return true;
        }
        catch (Xunit.Sdk.XunitException)
        {
            return false;
        }
    }

    [Fact]
    public void Outbound_resources_validate_against_US_Core_5_0_1()
    {
        var stored = Materialize(Import().Bundle);
        var exported = Mapper.UsCore.Export(stored, Mapper.Ehr("northwind"), "https://recovery.example/fhir");
        Assert.DoesNotContain(exported.Issues, i => i.Severity == OperationOutcome.IssueSeverity.Warning);
        foreach (var resource in Materialize(exported.Bundle))
        {
            if (resource.Meta?.Profile.Any() == true)
            {
                AssertValid(UsCoreEngine, resource, "US Core: ");
            }
        }

        var profiles = exported.Resources.SelectMany(r => r.Meta?.Profile ?? []).ToHashSet();
        foreach (var type in new[] { "us-core-patient", "us-core-goal", "us-core-careplan", "us-core-servicerequest", "us-core-questionnaireresponse", "us-core-practitioner", "us-core-organization" })
        {
            Assert.Contains(RecoveryCanonicals.UsCoreBase + type, profiles);
        }
    }

    [Fact]
    public void The_IG_examples_go_out_as_valid_US_Core_with_recovery_data_folded_into_standard_fields()
    {
        var examples = Directory.EnumerateFiles(Path.Combine(RepoRoot, "profiles", "examples"), "*.json")
            .Select(f => new FhirJsonDeserializer().DeserializeResource(File.ReadAllText(f)))
            .Where(r => r is not Questionnaire)
            .ToList();
        var exported = Mapper.UsCore.Export(examples, Mapper.Ehr(null), "https://recovery.example/fhir");
        foreach (var resource in Materialize(exported.Bundle).Where(r => r.Meta?.Profile.Any() == true))
        {
            AssertValid(UsCoreEngine, resource, "US Core: ");
        }

        var referral = exported.All<ServiceRequest>().First(r => r.Identifier.Any() || true);
        Assert.Contains(referral.Code.Coding, c => c.System == RecoveryCanonicals.Snomed && c.Code == RecoveryCanonicals.ReferralToPeerSupportUs);
        Assert.Contains(exported.All<ServiceRequest>().SelectMany(r => r.Note), n => n.Text.StartsWith("Safety information"));
        Assert.Contains(exported.All<Goal>().SelectMany(g => g.Note), n => n.Text.StartsWith("Strengths and supports"));
        Assert.Contains(exported.All<CarePlan>().SelectMany(c => c.Category).SelectMany(c => c.Coding), c => c.Code == "assess-plan");
    }

    [Theory]
    [InlineData("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"resource\":{\"resourceType\":\"Goal\",\"lifecycleStatus\":\"sideways\"}}]}", "lifecycleStatus")]
    [InlineData("{\"resourceType\":\"Goal\",", "JSON")]
    [InlineData("[1,2]", "FHIR")]
    public void Malformed_FHIR_is_refused_naming_the_place(string input, string mentions)
    {
        var ex = Assert.Throws<MappingException>(() => Mapper.Convert(input, SourceFormat.Fhir, "northwind"));
        Assert.Contains(mentions, ex.Message, StringComparison.OrdinalIgnoreCase);
    }
}
