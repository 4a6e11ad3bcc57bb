using System.Net;
using System.Text;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>Formats (JSON, XML, _format, Accept, Content-Type, _pretty) and the error answers, each an OperationOutcome.</summary>
public abstract class FormatAndErrorTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private async Task<string> CreatePatientAsync() => (await (await Client.PostAsync("Patient", Patient())).ReadAsync<Patient>()).Id;

    [StoreFact]
    public async Task Xml_is_answered_for_an_Accept_of_fhir_xml()
    {
        var id = await CreatePatientAsync();
        var response = await Client.SendAsync(HttpMethod.Get, $"Patient/{id}", null, ("Accept", "application/fhir+xml"));
        await response.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("application/fhir+xml", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("<Patient xmlns=\"http://hl7.org/fhir\"", await response.Content.ReadAsStringAsync());
    }

    [StoreFact]
    public async Task Format_parameter_overrides_Accept()
    {
        var id = await CreatePatientAsync();
        var xml = await Client.SendAsync(HttpMethod.Get, $"Patient/{id}?_format=xml", null, ("Accept", "application/fhir+json"));
        var json = await Client.SendAsync(HttpMethod.Get, $"Patient/{id}?_format=application/fhir%2Bjson", null, ("Accept", "application/fhir+xml"));
        Assert.Equal("application/fhir+xml", xml.Content.Headers.ContentType?.MediaType);
        Assert.Equal("application/fhir+json", json.Content.Headers.ContentType?.MediaType);
    }

    [StoreFact]
    public async Task An_xml_body_is_read_and_json_answered_by_default()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body(FhirHttp.ToXml(Patient(family: "FromXml")), "application/fhir+xml"));
        await response.AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("FromXml", (await response.ReadAsync<Patient>()).Name[0].Family);
    }

    [StoreFact]
    public async Task Pretty_output_is_indented()
    {
        var id = await CreatePatientAsync();
        var pretty = await (await Client.GetAsync($"Patient/{id}?_pretty=true")).Content.ReadAsStringAsync();
        var compact = await (await Client.GetAsync($"Patient/{id}")).Content.ReadAsStringAsync();
        Assert.Contains("\n", pretty);
        Assert.DoesNotContain("\n", compact);
    }

    [StoreFact]
    public async Task An_Accept_the_server_cannot_produce_answers_406_with_an_OperationOutcome()
    {
        var response = await Client.SendAsync(HttpMethod.Get, "metadata", null, ("Accept", "text/csv"));
        await response.AssertOutcomeAsync(HttpStatusCode.NotAcceptable, "text/csv");
    }

    [StoreFact]
    public async Task An_unknown_format_parameter_answers_406()
    {
        var response = await Client.GetAsync("metadata?_format=yaml");
        await response.AssertOutcomeAsync(HttpStatusCode.NotAcceptable, "yaml");
    }

    [StoreFact]
    public async Task A_content_type_the_server_cannot_read_answers_415()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body("name: x", "text/yaml"));
        await response.AssertOutcomeAsync(HttpStatusCode.UnsupportedMediaType, "text/yaml");
    }

    [StoreFact]
    public async Task A_charset_other_than_utf8_answers_415()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body(FhirHttp.ToJson(Patient()), "application/fhir+json; charset=iso-8859-1"));
        await response.AssertOutcomeAsync(HttpStatusCode.UnsupportedMediaType, "charset");
    }

    [StoreFact]
    public async Task Malformed_json_answers_400_with_the_position()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body("{\"resourceType\":\"Patient\", \"active\": tru }"));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "line 1");
    }

    [StoreFact]
    public async Task Malformed_xml_answers_400()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body("<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"></Patient>", "application/fhir+xml"));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "XML");
    }

    [StoreFact]
    public async Task An_empty_body_answers_400()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body(""));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "empty");
    }

    [StoreFact]
    public async Task A_json_array_body_answers_400()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body("[1,2,3]"));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest);
    }

    [StoreFact]
    public async Task A_body_above_the_limit_answers_413()
    {
        var patient = Patient();
        patient.Text = new Narrative
        {
            Status = Narrative.NarrativeStatus.Generated,
            Div = $"<div xmlns=\"http://www.w3.org/1999/xhtml\">{new string('x', 2_100_000)}</div>",
        };
        var response = await Client.PostAsync("Patient", patient);
        await response.AssertOutcomeAsync(HttpStatusCode.RequestEntityTooLarge, "MaxRequestBodyBytes");
    }

    [StoreFact]
    public async Task A_method_the_endpoint_does_not_have_answers_405_with_an_OperationOutcome()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient/some-id", FhirHttp.Body(Patient()));
        await response.AssertOutcomeAsync(HttpStatusCode.MethodNotAllowed, "POST");
    }

    [StoreFact]
    public async Task A_path_outside_the_api_answers_404_with_an_OperationOutcome()
    {
        var response = await Client.GetAsync("/nothing/here");
        await response.AssertOutcomeAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async Task An_unknown_operation_answers_400()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient/$everything-and-more");
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "$everything-and-more");
    }

    [StoreFact]
    public async Task An_unexpected_error_answers_500_without_internals_but_with_the_request_id()
    {
        var response = await Client.SendAsync(HttpMethod.Get, $"Patient/{FhirServerFixture.ExplodingId}", null, ("X-Request-Id", "trace-me-500"));
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.InternalServerError, "trace-me-500");
        Assert.DoesNotContain("hunter2", await response.Content.ReadAsStringAsync());
        Assert.Equal(OperationOutcome.IssueType.Exception, outcome.Issue[0].Code);
        Assert.Equal("trace-me-500", response.Headers.GetValues("X-Request-Id").Single());
    }

    [StoreFact]
    public async Task Every_answer_carries_a_request_id_and_an_incoming_one_is_kept()
    {
        var generated = await Client.GetAsync("metadata?_summary=true");
        var kept = await Client.SendAsync(HttpMethod.Get, "metadata?_summary=true", null, ("X-Request-Id", "client-id-123"));
        var unsafeId = await Client.SendAsync(HttpMethod.Get, "metadata?_summary=true", null, ("X-Request-Id", "bad id with spaces"));

        Assert.False(string.IsNullOrEmpty(generated.Headers.GetValues("X-Request-Id").Single()));
        Assert.Equal("client-id-123", kept.Headers.GetValues("X-Request-Id").Single());
        Assert.NotEqual("bad id with spaces", unsafeId.Headers.GetValues("X-Request-Id").Single());
    }

    [StoreFact]
    public async Task Deep_json_nesting_answers_400_not_500()
    {
        var nested = new StringBuilder("{\"resourceType\":\"Patient\",\"extension\":[");
        for (var i = 0; i < 200; i++)
        {
            nested.Append("{\"url\":\"http://e.org\",\"extension\":[");
        }

        nested.Append(new string(']', 1)).Append(string.Concat(Enumerable.Repeat("]}", 200))).Append('}');
        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body(nested.ToString()));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest);
    }

    [StoreFact]
    public async Task Plain_json_in_Accept_and_an_unescaped_plus_in_format_are_understood()
    {
        var id = await CreatePatientAsync();
        var accept = await Client.SendAsync(HttpMethod.Get, $"Patient/{id}", null, ("Accept", "application/json"));
        var plus = await Client.GetAsync($"Patient/{id}?_format=application/fhir+xml");
        Assert.Equal("application/fhir+json", accept.Content.Headers.ContentType?.MediaType);
        Assert.Equal("application/fhir+xml", plus.Content.Headers.ContentType?.MediaType);
    }

    [StoreFact]
    public async Task A_search_is_answered_in_xml_when_asked()
    {
        var id = await CreatePatientAsync();
        var response = await Client.SendAsync(HttpMethod.Get, $"Patient?_id={id}", null, ("Accept", "application/fhir+xml"));
        var bundle = await response.ReadAsync<Bundle>();
        Assert.Equal("application/fhir+xml", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(id, bundle.Entry.Single(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Resource.Id);
    }

    [StoreFact]
    public async Task Browser_style_Accept_gets_xml_from_the_listed_types()
    {
        var response = await Client.SendAsync(HttpMethod.Get, "metadata?_summary=true", null, ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
        await response.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("application/fhir+xml", response.Content.Headers.ContentType?.MediaType);
    }

    [StoreFact]
    public async Task Errors_are_answered_in_the_negotiated_format()
    {
        var response = await Client.SendAsync(HttpMethod.Get, "Patient/not-there", null, ("Accept", "application/fhir+xml"));
        Assert.Equal("application/fhir+xml", response.Content.Headers.ContentType?.MediaType);
        await response.AssertOutcomeAsync(HttpStatusCode.NotFound);
    }
}

public sealed class SqliteFormatAndErrorTests(SqliteServerFixture fixture) : FormatAndErrorTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlFormatAndErrorTests(PostgreSqlServerFixture fixture) : FormatAndErrorTests(fixture), IClassFixture<PostgreSqlServerFixture>;
