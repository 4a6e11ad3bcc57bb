using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>The terminology operations, the CapabilityStatement, OpenAPI and the health endpoints.</summary>
public abstract class TerminologyAndCapabilityTests(FhirServerFixture fixture)
{
    private const string RecoveryDomain = "https://fhirrecovery.org/fhir/ValueSet/recovery-domain";
    private const string LifeDomainSystem = "https://fhirrecovery.org/fhir/CodeSystem/life-domain";

    private HttpClient Client => fixture.Client;

    private async Task<Parameters> OperationAsync(HttpMethod method, string url, Parameters? body = null)
    {
        var response = await Client.SendAsync(method, url, body is null ? null : FhirHttp.Body(body));
        await response.AssertStatusAsync(HttpStatusCode.OK);
        return await response.ReadAsync<Parameters>();
    }

    private async Task<string> StoredIdAsync(string type, string url)
    {
        var bundle = await (await Client.GetAsync($"{type}?url={url}")).ReadAsync<Bundle>();
        return bundle.Entry.Single(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Resource.Id;
    }

    [StoreFact]
    public async Task ValueSet_expand_by_url_with_GET_answers_the_expansion()
    {
        var result = await OperationAsync(HttpMethod.Get, $"ValueSet/$expand?url={RecoveryDomain}");
        var expansion = Assert.IsType<ValueSet>(result.Parameter.Single(p => p.Name == "return").Resource);
        Assert.NotEmpty(expansion.Expansion.Contains);
    }

    [StoreFact]
    public async Task ValueSet_expand_on_a_stored_instance_with_POST_answers_the_expansion()
    {
        var id = await StoredIdAsync("ValueSet", RecoveryDomain);
        var input = new Parameters();
        input.Add("count", new Integer(100));
        var result = await OperationAsync(HttpMethod.Post, $"ValueSet/{id}/$expand", input);
        Assert.NotEmpty(((ValueSet)result.Parameter.Single(p => p.Name == "return").Resource).Expansion.Contains);
    }

    [StoreFact]
    public async Task ValueSet_expand_of_an_unknown_value_set_answers_404()
    {
        var response = await Client.GetAsync("ValueSet/$expand?url=https://example.org/ValueSet/none");
        await response.AssertOutcomeAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async Task ValueSet_validate_code_says_whether_a_code_is_in_the_value_set()
    {
        var expansion = (ValueSet)(await OperationAsync(HttpMethod.Get, $"ValueSet/$expand?url={RecoveryDomain}")).Parameter.Single(p => p.Name == "return").Resource;
        var member = expansion.Expansion.Contains[0];

        var yes = await OperationAsync(HttpMethod.Get, $"ValueSet/$validate-code?url={RecoveryDomain}&system={member.System}&code={member.Code}");
        var no = await OperationAsync(HttpMethod.Get, $"ValueSet/$validate-code?url={RecoveryDomain}&system={member.System}&code=not-a-code");

        Assert.Equal(true, ((FhirBoolean)yes.Parameter.Single(p => p.Name == "result").Value).Value);
        Assert.Equal(false, ((FhirBoolean)no.Parameter.Single(p => p.Name == "result").Value).Value);
    }

    [StoreFact]
    public async Task CodeSystem_lookup_and_validate_code_answer_for_an_IG_code()
    {
        var expansion = (ValueSet)(await OperationAsync(HttpMethod.Get, $"ValueSet/$expand?url=https://fhirrecovery.org/fhir/ValueSet/life-domain")).Parameter.Single(p => p.Name == "return").Resource;
        var code = expansion.Expansion.Contains.First(c => c.System == LifeDomainSystem).Code;
        var lookupInput = new Parameters();
        lookupInput.Add("system", new FhirUri(LifeDomainSystem));
        lookupInput.Add("code", new Code(code));

        var lookup = await OperationAsync(HttpMethod.Post, "CodeSystem/$lookup", lookupInput);
        var valid = await OperationAsync(HttpMethod.Get, $"CodeSystem/$validate-code?url={LifeDomainSystem}&code={code}");
        var csId = await StoredIdAsync("CodeSystem", LifeDomainSystem);
        var instance = await OperationAsync(HttpMethod.Get, $"CodeSystem/{csId}/$validate-code?code={code}");

        Assert.Contains(lookup.Parameter, p => p.Name == "display");
        Assert.Equal(true, ((FhirBoolean)valid.Parameter.Single(p => p.Name == "result").Value).Value);
        Assert.Equal(true, ((FhirBoolean)instance.Parameter.Single(p => p.Name == "result").Value).Value);
    }

    [StoreFact]
    public async Task CodeSystem_subsumes_compares_two_codes()
    {
        var expansion = (ValueSet)(await OperationAsync(HttpMethod.Get, $"ValueSet/$expand?url=https://fhirrecovery.org/fhir/ValueSet/life-domain")).Parameter.Single(p => p.Name == "return").Resource;
        var code = expansion.Expansion.Contains.First(c => c.System == LifeDomainSystem).Code;
        var result = await OperationAsync(HttpMethod.Get, $"CodeSystem/$subsumes?system={LifeDomainSystem}&codeA={code}&codeB={code}");
        Assert.Equal("equivalent", result.Parameter.Single(p => p.Name == "outcome").Value.ToString());
    }

    [StoreFact]
    public async Task ConceptMap_translate_maps_a_code_of_the_IG()
    {
        var map = await (await Client.GetAsync("ConceptMap?url=https://fhirrecovery.org/fhir/ConceptMap/recovery-framework-to-chime")).ReadAsync<Bundle>();
        var conceptMap = (ConceptMap)map.Entry.Single(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Resource;
        var group = conceptMap.Group[0];
        var input = new Parameters();
        input.Add("url", new FhirUri(conceptMap.Url));
        input.Add("system", new FhirUri(group.Source));
        input.Add("code", new Code(group.Element[0].Code));

        var typeLevel = await OperationAsync(HttpMethod.Post, "ConceptMap/$translate", input);
        var instanceLevel = await OperationAsync(HttpMethod.Get, $"ConceptMap/{conceptMap.Id}/$translate?system={group.Source}&code={group.Element[0].Code}");

        Assert.Equal(true, ((FhirBoolean)typeLevel.Parameter.Single(p => p.Name == "result").Value).Value);
        Assert.Equal(true, ((FhirBoolean)instanceLevel.Parameter.Single(p => p.Name == "result").Value).Value);
    }

    [StoreFact]
    public async Task A_terminology_operation_with_a_body_that_is_not_Parameters_answers_400()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "ValueSet/$expand", FhirHttp.Body(Patient()));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "Parameters");
    }

    [StoreFact]
    public async Task The_CapabilityStatement_describes_what_is_really_supported()
    {
        var response = await Client.GetAsync("metadata");
        await response.AssertStatusAsync(HttpStatusCode.OK);
        var statement = await response.ReadAsync<CapabilityStatement>();

        Assert.Equal(FHIRVersion.N4_0_1, statement.FhirVersion);
        Assert.Contains("application/fhir+xml", statement.Format);
        Assert.Contains("application/json-patch+json", statement.PatchFormat);
        var rest = statement.Rest.Single();
        Assert.Contains(rest.Interaction, i => i.Code == CapabilityStatement.SystemRestfulInteraction.Transaction);
        var goal = rest.Resource.Single(r => r.Type == "Goal");
        Assert.Contains(goal.Interaction, i => i.Code == CapabilityStatement.TypeRestfulInteraction.Patch);
        Assert.Contains(RecoveryGoalProfile, goal.SupportedProfile);
        Assert.Contains(goal.SearchParam, p => p.Name == "lifecycle-status");
        Assert.Contains(goal.SearchParam, p => p.Name == "life-domain" && p.Definition.StartsWith("https://fhirrecovery.org/", StringComparison.Ordinal));
        Assert.Contains(goal.Operation, o => o.Name == "validate");
        Assert.Contains(rest.Resource.Single(r => r.Type == "ValueSet").Operation, o => o.Name == "expand");
        Assert.Contains(rest.Resource.Single(r => r.Type == "ConceptMap").Operation, o => o.Name == "translate");
        Assert.Equal("http://localhost/fhir", statement.Implementation.Url);
    }

    [StoreFact]
    public async Task The_OpenAPI_document_lists_the_FHIR_endpoints()
    {
        var document = await (await Client.GetAsync("/swagger/v1/swagger.json")).Content.ReadAsStringAsync();
        Assert.Contains("/fhir/{type}/{id}", document);
        Assert.Contains("/fhir/metadata", document);
        Assert.Contains("/fhir/{type}/$validate", document);
        var ui = await Client.GetAsync("/swagger/index.html");
        await ui.AssertStatusAsync(HttpStatusCode.OK);
    }

    [StoreFact]
    public async Task Health_and_readiness_answer_200()
    {
        await (await Client.GetAsync("/healthz")).AssertStatusAsync(HttpStatusCode.OK);
        var ready = await Client.GetAsync("/readyz");
        await ready.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Contains("store", await ready.Content.ReadAsStringAsync());
    }

    [StoreFact]
    public async Task A_value_set_written_through_the_api_can_be_expanded_by_its_url()
    {
        var url = $"https://fhirrecovery.org/test/ValueSet/{Unique("vs")}";
        var valueSet = new ValueSet
        {
            Url = url,
            Status = PublicationStatus.Active,
            Compose = new ValueSet.ComposeComponent { Include = [new ValueSet.ConceptSetComponent { System = LifeDomainSystem }] },
        };
        (await Client.PostAsync("ValueSet", valueSet)).EnsureSuccessStatusCode();

        var result = await OperationAsync(HttpMethod.Get, $"ValueSet/$expand?url={url}");

        Assert.NotEmpty(((ValueSet)result.Parameter.Single(p => p.Name == "return").Resource).Expansion.Contains);
    }
}

public sealed class SqliteTerminologyAndCapabilityTests(SqliteServerFixture fixture) : TerminologyAndCapabilityTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlTerminologyAndCapabilityTests(PostgreSqlServerFixture fixture) : TerminologyAndCapabilityTests(fixture), IClassFixture<PostgreSqlServerFixture>;
