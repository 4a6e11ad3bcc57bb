using System.Net;
using System.Text;
using FhirRecovery.Mapping;
using FhirRecovery.Mapping.Hl7v2;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Mapping;

/// <summary>$convert, $import-ehr (idempotent, ACK for v2), $export-ehr and the RRI^I12 outbox, on each store.</summary>
public abstract class EhrMappingEndpointTests(FhirServerFixture fixture)
{
    private const string V2 = "x-application/hl7-v2+er7";

    private HttpClient Client => fixture.Client;

    private static string Sample(params string[] parts) => ReadRepoFile(["samples", "ehr", .. parts]);

    /// <summary>A sample referral with its ids made unique, so tests on the shared server do not see each other's data.</summary>
    private static string UniqueReferral(out string suffix)
    {
        suffix = Guid.NewGuid().ToString("N")[..8];
        return Sample("northwind", "v2", "REF_I12-marisol-delgado.hl7")
            .Replace("NW-448812", $"NW-{suffix}").Replace("NW-REF-000123", $"NW-REF-{suffix}").Replace("NW-CON-5521", $"NW-CON-{suffix}");
    }

    private static Parameters ConvertParameters(string data, string type, string? ehr = "northwind") => new()
    {
        { "inputData", new FhirString(data) },
        { "inputDataType", new FhirString(type) },
        { "ehr", new FhirString(ehr) },
    };

    private static HttpContent Raw(string text, string mediaType) => new StringContent(text, Encoding.UTF8, mediaType);

    [StoreFact]
    public async Task Convert_takes_FHIR_Converter_style_parameters_and_answers_a_bundle_of_recovery_resources()
    {
        var response = await Client.PostAsync("$convert", FhirHttp.Body(ConvertParameters(UniqueReferral(out _), "Hl7v2")));
        await response.AssertStatusAsync(HttpStatusCode.OK);
        var bundle = await response.ReadAsync<Bundle>();
        Assert.Equal(Bundle.BundleType.Transaction, bundle.Type);
        Assert.Contains(bundle.Entry, e => e.Resource is ServiceRequest sr && sr.Meta.Profile.Contains(RecoveryCanonicals.PeerSupportReferral));

        var ccda = await Client.PostAsync("$convert?inputDataType=Ccda&ehr=northwind", Raw(Sample("northwind", "ccda", "goals-marisol-delgado.xml"), "application/xml"));
        await ccda.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(3, (await ccda.ReadAsync<Bundle>()).Entry.Count(e => e.Resource is Goal));
    }

    [StoreFact]
    public async Task Convert_refuses_bad_input_with_an_outcome_naming_the_place()
    {
        var v2 = UniqueReferral(out _).Replace("|20260309101500-0800|20260609|", "|2026-03-09|20260609|");
        await (await Client.PostAsync("$convert", FhirHttp.Body(ConvertParameters(v2, "Hl7v2")))).AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "RF1-7");
        await (await Client.PostAsync("$convert", FhirHttp.Body(ConvertParameters("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><oops>", "Ccda"))))
            .AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "not well-formed");
        await (await Client.PostAsync("$convert", FhirHttp.Body(ConvertParameters("MSH|^~\\&|A", "Hl7v2", "no-such-ehr")))).AssertOutcomeAsync(HttpStatusCode.BadRequest, "no-such-ehr");
    }

    [StoreFact]
    public async Task Import_is_idempotent_and_updates_update()
    {
        var message = UniqueReferral(out var suffix);
        var firstResponse = await Client.PostAsync("$import-ehr", FhirHttp.Body(ConvertParameters(message, "Hl7v2")));
        await firstResponse.AssertStatusAsync(HttpStatusCode.OK);
        var first = await firstResponse.ReadAsync<Bundle>();
        Assert.Equal(Bundle.BundleType.TransactionResponse, first.Type);
        Assert.All(first.Entry.SkipLast(1), e => Assert.Equal("201 Created", e.Response.Status));
        Assert.StartsWith("Provenance/", first.Entry[^1].Response.Location);
        var referral = await FindAsync<ServiceRequest>($"ServiceRequest?identifier=https://ehr.northwind.example/fhir/sid/referral|NW-REF-{suffix}");
        Assert.Equal("1", referral.Meta.VersionId);

        var again = await (await Client.PostAsync("$import-ehr", FhirHttp.Body(ConvertParameters(message, "Hl7v2")))).ReadAsync<Bundle>();
        Assert.All(again.Entry, e => Assert.Equal("200 OK", e.Response.Status));
        Assert.DoesNotContain(again.Entry, e => e.Response.Location?.StartsWith("Provenance") == true);
        Assert.Equal("1", (await FindAsync<ServiceRequest>($"ServiceRequest?identifier=https://ehr.northwind.example/fhir/sid/referral|NW-REF-{suffix}")).Meta.VersionId);

        var changed = message.Replace("prefers afternoons", "prefers mornings");
        var third = await (await Client.PostAsync("$import-ehr", FhirHttp.Body(ConvertParameters(changed, "Hl7v2")))).ReadAsync<Bundle>();
        Assert.Single(third.Entry, e => e.Response.Location?.StartsWith("ServiceRequest/") == true && e.Response.Location.EndsWith("/_history/2"));
        var updated = await FindAsync<ServiceRequest>($"ServiceRequest?identifier=https://ehr.northwind.example/fhir/sid/referral|NW-REF-{suffix}");
        Assert.Equal("2", updated.Meta.VersionId);
        Assert.Contains("prefers mornings", updated.Note[0].Text);

        var provenance = await (await Client.GetAsync($"Provenance?target=ServiceRequest/{updated.Id}")).ReadAsync<Bundle>();
        Assert.Equal(2, provenance.Entry.Count(e => e.Resource is Hl7.Fhir.Model.Provenance));
    }

    [StoreFact]
    public async Task A_raw_v2_message_is_answered_with_an_ACK()
    {
        var message = UniqueReferral(out var suffix);
        var ok = await Client.PostAsync("$import-ehr?ehr=northwind", Raw(message, V2));
        Assert.True(ok.StatusCode == HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
        var ack = Er7Parser.Parse(await ok.Content.ReadAsStringAsync());
        Assert.Equal("ACK", ack.MessageType);
        Assert.Equal("AA", ack.First("MSA")![1].Value);
        Assert.Equal("NW-MSG-000123", ack.First("MSA")![2].Value);
        Assert.NotNull(await FindAsync<ServiceRequest>($"ServiceRequest?identifier=https://ehr.northwind.example/fhir/sid/referral|NW-REF-{suffix}"));
    }

    [StoreFact]
    public async Task A_bad_v2_message_gets_AE_or_AR_with_ERR_and_stores_nothing()
    {
        var bad = UniqueReferral(out var suffix).Replace("|NW-REF-" + suffix + "^NWREF|", "||");
        var response = await Client.PostAsync("$import-ehr?ehr=northwind", Raw(bad, V2));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var ackText = await response.Content.ReadAsStringAsync();
        var ack = Er7Parser.Parse(ackText);
        Assert.True(ack.First("MSA")![1].Value == "AE", ackText);
        var err = ack.First("ERR")!;
        Assert.Equal("RF1", err[2].Component(1));
        Assert.Equal("6", err[2].Component(3));
        Assert.Empty((await (await Client.GetAsync($"Patient?identifier=https://ehr.northwind.example/fhir/sid/mrn|NW-{suffix}")).ReadAsync<Bundle>()).Entry);

        var noConsent = await Client.PostAsync("$import-ehr?ehr=fjordline", Raw(Sample("fjordline", "v2", "REF_I12-invalid-no-consent.hl7"), V2));
        Assert.Equal(HttpStatusCode.BadRequest, noConsent.StatusCode);
        var reject = Er7Parser.Parse(await noConsent.Content.ReadAsStringAsync());
        Assert.Equal("AR", reject.First("MSA")![1].Value);
        Assert.Equal("CON", reject.First("ERR")![2].Component(1));
        Assert.Empty((await (await Client.GetAsync("Patient?identifier=FJ-55412")).ReadAsync<Bundle>()).Entry);

        var garbage = await Client.PostAsync("$import-ehr", Raw("MSH|this is not\rreally|a message", V2));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        Assert.Equal("AR", Er7Parser.Parse(await garbage.Content.ReadAsStringAsync()).First("MSA")![1].Value);
    }

    [StoreFact]
    public async Task FHIR_and_CCDA_imports_store_recovery_resources_with_source_and_provenance()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var fhir = Sample("northwind", "fhir", "everything-marisol-delgado.json").Replace("448812", suffix);
        var response = await Client.PostAsync("$import-ehr?ehr=northwind", FhirHttp.Body(fhir));
        await response.AssertStatusAsync(HttpStatusCode.OK);
        var goal = await FindAsync<Goal>($"Goal?identifier=https://ehr.northwind.example/fhir/sid/goal|G-{suffix}-1");
        Assert.Equal("https://ehr.northwind.example/fhir", goal.Meta.Source);
        Assert.Contains(RecoveryCanonicals.RecoveryGoal, goal.Meta.Profile);
        Assert.Contains(goal.Category, c => c.Coding.Any(x => x.Code == "connectedness"));
        var patient = await FindAsync<Patient>($"Patient?identifier=https://ehr.northwind.example/fhir/sid/mrn|NW-{suffix}");
        Assert.Equal($"Patient/{patient.Id}", goal.Subject.Reference);

        var ccda = Sample("northwind", "ccda", "goals-marisol-delgado.xml").Replace("448812", suffix);
        var imported = await Client.PostAsync("$import-ehr", FhirHttp.Body(ConvertParameters(ccda, "Ccda")));
        await imported.AssertStatusAsync(HttpStatusCode.OK);
        var again = await (await Client.PostAsync("$import-ehr", FhirHttp.Body(ConvertParameters(ccda, "Ccda")))).ReadAsync<Bundle>();
        Assert.All(again.Entry, e => Assert.Equal("200 OK", e.Response.Status));
    }

    [StoreFact]
    public async Task Export_gives_US_Core_a_CCDA_goals_document_and_REF_I12()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await (await Client.PostAsync("$import-ehr?ehr=northwind", FhirHttp.Body(Sample("northwind", "fhir", "everything-marisol-delgado.json").Replace("448812", suffix))))
            .AssertStatusAsync(HttpStatusCode.OK);
        var patient = await FindAsync<Patient>($"Patient?identifier=https://ehr.northwind.example/fhir/sid/mrn|NW-{suffix}");

        var usCore = await (await Client.GetAsync($"Patient/{patient.Id}/$export-ehr?format=us-core")).ReadAsync<Bundle>();
        Assert.Contains(usCore.Entry, e => e.Resource is Goal g && g.Meta.Profile.Contains(RecoveryCanonicals.UsCoreGoal));
        Assert.Contains(usCore.Entry, e => e.Resource is Patient p && p.Meta.Profile.Contains(RecoveryCanonicals.UsCorePatient));
        Assert.All(usCore.Entry, e => Assert.Contains("?identifier=", e.Request.Url));

        var ccda = await Client.GetAsync($"Patient/{patient.Id}/$export-ehr?format=ccda");
        await ccda.AssertStatusAsync(HttpStatusCode.OK);
        var xml = await ccda.Content.ReadAsStringAsync();
        Assert.Contains("2.16.840.1.113883.10.20.22.2.60", xml);
        Assert.Contains("Join a walking group", xml);

        var v2 = await Client.GetAsync($"Patient/{patient.Id}/$export-ehr?format=v2");
        var text = await v2.Content.ReadAsStringAsync();
        Assert.StartsWith("MSH|^~\\&|FHIRRECOVERY", text);
        Assert.Contains("NW-REF-000123", text);

        await (await Client.GetAsync($"Patient/{patient.Id}/$export-ehr?format=pdf")).AssertOutcomeAsync(HttpStatusCode.BadRequest, "format");
        await (await Client.GetAsync("Patient/no-such-patient/$export-ehr")).AssertOutcomeAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async Task A_task_state_change_writes_an_RRI_I12_to_the_outbox()
    {
        await (await Client.PostAsync("$import-ehr?ehr=northwind", Raw(UniqueReferral(out var suffix), V2))).AssertStatusAsync(HttpStatusCode.OK);
        var task = await FindAsync<Hl7.Fhir.Model.Task>($"Task?identifier=https://ehr.northwind.example/fhir/sid/referral|NW-REF-{suffix}");
        task.Status = Hl7.Fhir.Model.Task.TaskStatus.Accepted;
        task.BusinessStatus = new CodeableConcept(RecoveryCanonicals.PeerSupportReferralStatus, "awaiting-match");
        await (await Client.PutAsync($"Task/{task.Id}", task)).AssertStatusAsync(HttpStatusCode.OK);

        var outbox = await (await Client.GetAsync($"Communication?based-on=Task/{task.Id}&status=preparation")).ReadAsync<Bundle>();
        var communication = Assert.IsType<Communication>(Assert.Single(outbox.Entry).Resource);
        var attachment = (Attachment)communication.Payload[0].Content;
        Assert.Equal(V2, attachment.ContentType);
        var rri = Er7Parser.Parse(Encoding.UTF8.GetString(attachment.Data));
        Assert.Equal("RRI", rri.MessageType);
        Assert.Equal("A", rri.First("RF1")![1].Value);
        Assert.Equal($"NW-REF-{suffix}", rri.First("RF1")![6].Value);
        Assert.Equal("NW-MSG-000123", rri.First("MSA")![2].Value);

        // Saving the Task again without a state change sends nothing more.
        task.Note.Add(new Annotation { Text = "First call booked." });
        await (await Client.PutAsync($"Task/{task.Id}", (await (await Client.GetAsync($"Task/{task.Id}")).ReadAsync<Hl7.Fhir.Model.Task>()))).AssertStatusAsync(HttpStatusCode.OK);
        Assert.Single((await (await Client.GetAsync($"Communication?based-on=Task/{task.Id}")).ReadAsync<Bundle>()).Entry);
    }

    private async Task<T> FindAsync<T>(string query) where T : Resource
    {
        var bundle = await (await Client.GetAsync(query)).ReadAsync<Bundle>();
        return Assert.IsType<T>(Assert.Single(bundle.Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Match).Resource);
    }
}

public sealed class SqliteEhrMappingEndpointTests(SqliteServerFixture fixture) : EhrMappingEndpointTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlEhrMappingEndpointTests(PostgreSqlServerFixture fixture) : EhrMappingEndpointTests(fixture), IClassFixture<PostgreSqlServerFixture>;
