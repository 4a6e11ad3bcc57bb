using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>read, vread, create, update, delete and their conditional forms, with the versioning headers.</summary>
public abstract class ReadWriteTests(FhirServerFixture fixture)
{
    protected HttpClient Client => fixture.Client;

    protected async Task<(string Id, HttpResponseMessage Response)> CreateAsync(Resource resource, params (string, string)[] headers)
    {
        var response = await Client.PostAsync(resource.TypeName, resource, headers);
        await response.AssertStatusAsync(HttpStatusCode.Created);
        var created = await response.ReadAsync<Resource>();
        return (created.Id, response);
    }

    [StoreFact]
    public async Task Create_assigns_an_id_and_answers_201_with_Location_ETag_and_Last_Modified()
    {
        var patient = Patient();
        patient.Id = "client-chosen-id-is-ignored";
        var response = await Client.PostAsync("Patient", patient);

        await response.AssertStatusAsync(HttpStatusCode.Created);
        var created = await response.ReadAsync<Patient>();
        Assert.NotEqual("client-chosen-id-is-ignored", created.Id);
        Assert.Equal("1", created.Meta.VersionId);
        Assert.NotNull(created.Meta.LastUpdated);
        Assert.Equal("W/\"1\"", response.ETag());
        Assert.NotNull(response.Content.Headers.LastModified);
        Assert.Equal($"http://localhost/fhir/Patient/{created.Id}/_history/1", response.Headers.Location?.ToString());
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
    }

    [StoreFact]
    public async Task Read_answers_the_current_version_with_its_ETag()
    {
        var (id, _) = await CreateAsync(Patient(family: "Readable"));

        var response = await Client.GetAsync($"Patient/{id}");

        await response.AssertStatusAsync(HttpStatusCode.OK);
        var patient = await response.ReadAsync<Patient>();
        Assert.Equal("Readable", patient.Name[0].Family);
        Assert.Equal("W/\"1\"", response.ETag());
    }

    [StoreFact]
    public async Task Read_of_an_unknown_id_answers_404_with_an_OperationOutcome()
    {
        var response = await Client.GetAsync("Patient/does-not-exist");
        await response.AssertOutcomeAsync(HttpStatusCode.NotFound, "Patient/does-not-exist");
    }

    [StoreFact]
    public async Task Read_of_an_unknown_resource_type_answers_404_with_an_OperationOutcome()
    {
        var response = await Client.GetAsync("Patients/1");
        await response.AssertOutcomeAsync(HttpStatusCode.NotFound, "Patients");
    }

    [StoreFact]
    public async Task Update_makes_version_2_and_vread_still_answers_version_1()
    {
        var (id, _) = await CreateAsync(Patient(family: "Before"));
        var patient = Patient(family: "After");
        patient.Id = id;

        var update = await Client.PutAsync($"Patient/{id}", patient);

        await update.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("W/\"2\"", update.ETag());
        Assert.Equal($"http://localhost/fhir/Patient/{id}/_history/2", update.Headers.Location?.ToString());
        var v1 = await Client.GetAsync($"Patient/{id}/_history/1");
        await v1.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("Before", (await v1.ReadAsync<Patient>()).Name[0].Family);
        Assert.Equal("W/\"1\"", v1.ETag());
        var current = await (await Client.GetAsync($"Patient/{id}")).ReadAsync<Patient>();
        Assert.Equal("After", current.Name[0].Family);
        Assert.Equal("2", current.Meta.VersionId);
    }

    [StoreFact]
    public async Task Vread_of_a_version_that_does_not_exist_answers_404()
    {
        var (id, _) = await CreateAsync(Patient());
        var response = await Client.GetAsync($"Patient/{id}/_history/7");
        await response.AssertOutcomeAsync(HttpStatusCode.NotFound, "version 7");
    }

    [StoreFact]
    public async Task Update_with_a_client_id_that_does_not_exist_creates_it_with_201()
    {
        var id = Unique("client");
        var patient = Patient();
        patient.Id = id;

        var response = await Client.PutAsync($"Patient/{id}", patient);

        await response.AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal(id, (await response.ReadAsync<Patient>()).Id);
        Assert.Equal($"http://localhost/fhir/Patient/{id}/_history/1", response.Headers.Location?.ToString());
    }

    [StoreFact]
    public async Task Update_whose_body_id_differs_from_the_url_answers_400_naming_the_id()
    {
        var patient = Patient();
        patient.Id = "one-id";
        var response = await Client.PutAsync("Patient/another-id", patient);
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "another-id");
        Assert.Contains("Patient.id", outcome.Issue[0].Expression);
    }

    [StoreFact]
    public async Task Update_without_an_id_in_the_body_answers_400()
    {
        var response = await Client.PutAsync("Patient/some-id", Patient());
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "no id");
    }

    [StoreFact]
    public async Task Update_of_another_resource_type_than_the_url_answers_400()
    {
        var patient = Patient();
        patient.Id = "x1";
        var response = await Client.PutAsync("Practitioner/x1", patient);
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "Practitioner");
    }

    [StoreFact]
    public async Task Update_with_the_current_version_in_If_Match_succeeds()
    {
        var (id, _) = await CreateAsync(Patient());
        var patient = Patient(family: "Matched");
        patient.Id = id;

        var response = await Client.PutAsync($"Patient/{id}", patient, ("If-Match", "W/\"1\""));

        await response.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal("W/\"2\"", response.ETag());
    }

    [StoreFact]
    public async Task Update_with_a_stale_If_Match_answers_412_and_writes_nothing()
    {
        var (id, _) = await CreateAsync(Patient(family: "Original"));
        var patient = Patient(family: "Stale");
        patient.Id = id;

        var response = await Client.PutAsync($"Patient/{id}", patient, ("If-Match", "W/\"5\""));

        await response.AssertOutcomeAsync(HttpStatusCode.PreconditionFailed, "version 1");
        var current = await (await Client.GetAsync($"Patient/{id}")).ReadAsync<Patient>();
        Assert.Equal("Original", current.Name[0].Family);
        Assert.Equal("1", current.Meta.VersionId);
    }

    [StoreFact]
    public async Task A_malformed_If_Match_answers_400()
    {
        var (id, _) = await CreateAsync(Patient());
        var patient = Patient();
        patient.Id = id;
        var response = await Client.PutAsync($"Patient/{id}", patient, ("If-Match", "yesterday"));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "If-Match");
    }

    [StoreFact]
    public async Task Read_with_If_None_Match_of_the_current_version_answers_304_without_a_body()
    {
        var (id, _) = await CreateAsync(Patient());

        var notModified = await Client.SendAsync(HttpMethod.Get, $"Patient/{id}", null, ("If-None-Match", "W/\"1\""));
        var modified = await Client.SendAsync(HttpMethod.Get, $"Patient/{id}", null, ("If-None-Match", "W/\"0\""));

        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        await modified.AssertStatusAsync(HttpStatusCode.OK);
    }

    [StoreFact]
    public async Task Read_with_If_Modified_Since_after_the_last_update_answers_304()
    {
        var (id, _) = await CreateAsync(Patient());

        var later = DateTimeOffset.UtcNow.AddMinutes(5).ToString("R");
        var earlier = DateTimeOffset.UtcNow.AddDays(-1).ToString("R");
        var notModified = await Client.SendAsync(HttpMethod.Get, $"Patient/{id}", null, ("If-Modified-Since", later));
        var modified = await Client.SendAsync(HttpMethod.Get, $"Patient/{id}", null, ("If-Modified-Since", earlier));

        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        await modified.AssertStatusAsync(HttpStatusCode.OK);
    }

    [StoreFact]
    public async Task Read_of_a_deleted_goal_answers_410_with_an_OperationOutcome()
    {
        var (patientId, _) = await CreateAsync(Patient());
        var (goalId, _) = await CreateAsync(Goal($"Patient/{patientId}"));

        var delete = await Client.DeleteAsync($"Goal/{goalId}");
        var read = await Client.GetAsync($"Goal/{goalId}");

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        await read.AssertOutcomeAsync(HttpStatusCode.Gone, "deleted");
    }

    [StoreFact]
    public async Task History_keeps_a_deleted_resource_and_its_deletion()
    {
        var (id, _) = await CreateAsync(Patient(family: "Kept"));
        (await Client.DeleteAsync($"Patient/{id}")).EnsureSuccessStatusCode();

        var history = await (await Client.GetAsync($"Patient/{id}/_history")).ReadAsync<Bundle>();
        var v1 = await Client.GetAsync($"Patient/{id}/_history/1");

        Assert.Equal(Bundle.BundleType.History, history.Type);
        Assert.Equal(2, history.Entry.Count);
        Assert.Equal(Bundle.HTTPVerb.DELETE, history.Entry[0].Request.Method);
        Assert.Null(history.Entry[0].Resource);
        Assert.Equal("Kept", ((Patient)history.Entry[1].Resource).Name[0].Family);
        await v1.AssertStatusAsync(HttpStatusCode.OK);
    }

    [StoreFact]
    public async Task Delete_with_a_stale_If_Match_answers_412_and_keeps_the_resource()
    {
        var (id, _) = await CreateAsync(Patient());
        var response = await Client.SendAsync(HttpMethod.Delete, $"Patient/{id}", null, ("If-Match", "W/\"3\""));
        await response.AssertOutcomeAsync(HttpStatusCode.PreconditionFailed);
        await (await Client.GetAsync($"Patient/{id}")).AssertStatusAsync(HttpStatusCode.OK);
    }

    [StoreFact]
    public async Task Delete_of_something_that_is_not_there_answers_204()
    {
        var response = await Client.DeleteAsync($"Patient/{Unique("never")}");
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [StoreFact]
    public async Task Update_after_delete_brings_the_resource_back_with_a_new_version()
    {
        var (id, _) = await CreateAsync(Patient());
        (await Client.DeleteAsync($"Patient/{id}")).EnsureSuccessStatusCode();
        var patient = Patient(family: "Back");
        patient.Id = id;

        var response = await Client.PutAsync($"Patient/{id}", patient);

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        Assert.Equal("W/\"3\"", response.ETag());
        await (await Client.GetAsync($"Patient/{id}")).AssertStatusAsync(HttpStatusCode.OK);
    }

    [StoreFact]
    public async Task Conditional_create_with_no_match_creates()
    {
        var identifier = Unique("cc0");
        var response = await Client.PostAsync("Patient", Patient(identifier), ("If-None-Exist", $"identifier=https://fhirrecovery.org/test/patient|{identifier}"));
        await response.AssertStatusAsync(HttpStatusCode.Created);
    }

    [StoreFact]
    public async Task Conditional_create_with_one_match_answers_200_with_the_existing_resource_and_creates_nothing()
    {
        var identifier = Unique("cc1");
        var (id, _) = await CreateAsync(Patient(identifier));

        var response = await Client.PostAsync("Patient", Patient(identifier), ("If-None-Exist", $"Patient?identifier=https://fhirrecovery.org/test/patient|{identifier}"));

        await response.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(id, (await response.ReadAsync<Patient>()).Id);
        var search = await (await Client.GetAsync($"Patient?identifier={identifier}")).ReadAsync<Bundle>();
        Assert.Single(search.Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Match);
    }

    [StoreFact]
    public async Task Conditional_create_with_several_matches_answers_412()
    {
        var family = Unique("Twin");
        await CreateAsync(Patient(family: family));
        await CreateAsync(Patient(family: family));

        var response = await Client.PostAsync("Patient", Patient(family: family), ("If-None-Exist", $"family={family}"));

        await response.AssertOutcomeAsync(HttpStatusCode.PreconditionFailed, "more than one");
    }

    [StoreFact]
    public async Task Conditional_update_with_no_match_creates_and_with_one_match_updates_it()
    {
        var identifier = Unique("cu");
        var criteria = $"Patient?identifier=https://fhirrecovery.org/test/patient|{identifier}";

        var first = await Client.PutAsync(criteria, Patient(identifier, "First"));
        await first.AssertStatusAsync(HttpStatusCode.Created);
        var id = (await first.ReadAsync<Patient>()).Id;
        var second = await Client.PutAsync(criteria, Patient(identifier, "Second"));

        await second.AssertStatusAsync(HttpStatusCode.OK);
        var updated = await second.ReadAsync<Patient>();
        Assert.Equal(id, updated.Id);
        Assert.Equal("2", updated.Meta.VersionId);
        Assert.Equal("Second", updated.Name[0].Family);
    }

    [StoreFact]
    public async Task Conditional_update_with_several_matches_answers_412()
    {
        var family = Unique("Many");
        await CreateAsync(Patient(family: family));
        await CreateAsync(Patient(family: family));
        var response = await Client.PutAsync($"Patient?family={family}", Patient(family: family));
        await response.AssertOutcomeAsync(HttpStatusCode.PreconditionFailed);
    }

    [StoreFact]
    public async Task Conditional_update_with_an_unknown_parameter_answers_400_instead_of_matching_everything()
    {
        var response = await Client.PutAsync("Patient?no-such-parameter=1", Patient());
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "no-such-parameter");
    }

    [StoreFact]
    public async Task Conditional_delete_deletes_the_single_match()
    {
        var identifier = Unique("cd");
        var (id, _) = await CreateAsync(Patient(identifier));

        var response = await Client.DeleteAsync($"Patient?identifier={identifier}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await (await Client.GetAsync($"Patient/{id}")).AssertOutcomeAsync(HttpStatusCode.Gone);
    }

    [StoreFact]
    public async Task Conditional_delete_with_several_matches_answers_412_and_deletes_nothing()
    {
        var family = Unique("Pair");
        var (a, _) = await CreateAsync(Patient(family: family));
        await CreateAsync(Patient(family: family));

        var response = await Client.DeleteAsync($"Patient?family={family}");

        await response.AssertOutcomeAsync(HttpStatusCode.PreconditionFailed);
        await (await Client.GetAsync($"Patient/{a}")).AssertStatusAsync(HttpStatusCode.OK);
    }

    [StoreFact]
    public async Task Delete_on_a_type_without_criteria_answers_405()
    {
        var response = await Client.DeleteAsync("Patient");
        await response.AssertOutcomeAsync(HttpStatusCode.MethodNotAllowed);
    }

    [StoreFact]
    public async Task Prefer_return_minimal_answers_without_a_body_but_with_the_headers()
    {
        var response = await Client.PostAsync("Patient", Patient(), ("Prefer", "return=minimal"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.NotNull(response.Headers.Location);
        Assert.Equal("W/\"1\"", response.ETag());
    }

    [StoreFact]
    public async Task Prefer_return_OperationOutcome_answers_an_OperationOutcome()
    {
        var response = await Client.PostAsync("Patient", Patient(), ("Prefer", "return=OperationOutcome"));
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.Created, "stored as version 1");
        Assert.Equal(OperationOutcome.IssueSeverity.Information, outcome.Issue[0].Severity);
    }

    [StoreFact]
    public async Task Prefer_return_representation_answers_the_stored_resource()
    {
        var response = await Client.PostAsync("Patient", Patient(), ("Prefer", "return=representation"));
        await response.AssertStatusAsync(HttpStatusCode.Created);
        Assert.Equal("1", (await response.ReadAsync<Patient>()).Meta.VersionId);
    }

    [StoreFact]
    public async Task Create_of_a_body_of_another_type_than_the_url_answers_400()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Practitioner", FhirHttp.Body(Patient()));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "Practitioner");
    }

    [StoreFact]
    public async Task Read_answers_summary_and_elements_subsets_tagged_SUBSETTED()
    {
        var (id, _) = await CreateAsync(Patient(family: "Subset"));

        var elements = await (await Client.GetAsync($"Patient/{id}?_elements=gender")).ReadAsync<Patient>();
        var summary = await (await Client.GetAsync($"Patient/{id}?_summary=true")).ReadAsync<Patient>();

        Assert.Equal(id, elements.Id);
        Assert.NotNull(elements.Gender);
        Assert.Empty(elements.Name);
        Assert.Contains(elements.Meta.Tag, t => t.Code == "SUBSETTED");
        Assert.Contains(summary.Meta.Tag, t => t.Code == "SUBSETTED");
        Assert.Equal("Subset", summary.Name[0].Family);
    }

    [StoreFact]
    public async Task Summary_text_answers_the_narrative_without_data_and_summary_data_the_data_without_narrative()
    {
        var patient = Patient(family: "Narrated");
        patient.Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">Alex Narrated</div>" };
        var (id, _) = await CreateAsync(patient);

        var text = await (await Client.GetAsync($"Patient/{id}?_summary=text")).ReadAsync<Patient>();
        var data = await (await Client.GetAsync($"Patient/{id}?_summary=data")).ReadAsync<Patient>();

        Assert.Contains("Alex Narrated", text.Text.Div);
        Assert.Empty(text.Name);
        Assert.Equal(id, text.Id);
        Assert.Contains(text.Meta.Tag, t => t.Code == "SUBSETTED");
        Assert.Null(data.Text);
        Assert.Equal("Narrated", data.Name[0].Family);
        Assert.Contains(data.Meta.Tag, t => t.Code == "SUBSETTED");
    }

    [StoreFact]
    public async Task Vread_of_the_deletion_version_answers_410()
    {
        var (id, _) = await CreateAsync(Patient());
        (await Client.DeleteAsync($"Patient/{id}")).EnsureSuccessStatusCode();
        await (await Client.GetAsync($"Patient/{id}/_history/2")).AssertOutcomeAsync(HttpStatusCode.Gone);
    }

    [StoreFact]
    public async Task Delete_with_Prefer_return_OperationOutcome_answers_200_with_an_outcome()
    {
        var (id, _) = await CreateAsync(Patient());
        var response = await Client.SendAsync(HttpMethod.Delete, $"Patient/{id}", null, ("Prefer", "return=OperationOutcome"));
        await response.AssertOutcomeAsync(HttpStatusCode.OK, "deleted");
    }

    [StoreFact]
    public async Task Delete_answers_the_ETag_of_the_deletion()
    {
        var (id, _) = await CreateAsync(Patient());
        var response = await Client.DeleteAsync($"Patient/{id}");
        Assert.Equal("W/\"2\"", response.ETag());
        var gone = await Client.GetAsync($"Patient/{id}");
        Assert.Equal("W/\"2\"", gone.ETag());
    }

    [StoreFact]
    public async Task A_resource_with_no_elements_at_all_can_be_created()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body("{\"resourceType\":\"Patient\"}"));
        await response.AssertStatusAsync(HttpStatusCode.Created);
    }
}

public sealed class SqliteReadWriteTests(SqliteServerFixture fixture) : ReadWriteTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlReadWriteTests(PostgreSqlServerFixture fixture) : ReadWriteTests(fixture), IClassFixture<PostgreSqlServerFixture>;
