using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>patch: JSON Patch (RFC 6902) and FHIRPath Patch (a Parameters), and their failures.</summary>
public abstract class PatchTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private async Task<string> CreatePatientAsync(Patient? patient = null)
    {
        var response = await Client.PostAsync("Patient", patient ?? Patient(family: "Patchable"));
        await response.AssertStatusAsync(HttpStatusCode.Created);
        return (await response.ReadAsync<Patient>()).Id;
    }

    private Task<HttpResponseMessage> JsonPatchAsync(string url, string patch, params (string, string)[] headers) =>
        Client.SendAsync(HttpMethod.Patch, url, FhirHttp.Body(patch, "application/json-patch+json"), headers);

    private Task<HttpResponseMessage> FhirPathPatchAsync(string url, Parameters patch, params (string, string)[] headers) =>
        Client.SendAsync(HttpMethod.Patch, url, FhirHttp.Body(patch), headers);

    private static Parameters.ParameterComponent Operation(string type, string path, params Parameters.ParameterComponent[] more)
    {
        var operation = new Parameters.ParameterComponent { Name = "operation" };
        operation.Part.Add(new Parameters.ParameterComponent { Name = "type", Value = new Code(type) });
        operation.Part.Add(new Parameters.ParameterComponent { Name = "path", Value = new FhirString(path) });
        operation.Part.AddRange(more);
        return operation;
    }

    private static Parameters.ParameterComponent Part(string name, DataType value) => new() { Name = name, Value = value };

    [StoreFact]
    public async Task Json_Patch_replace_add_and_remove_make_a_new_version()
    {
        var id = await CreatePatientAsync();
        const string patch = """
            [
              { "op": "test", "path": "/name/0/family", "value": "Patchable" },
              { "op": "replace", "path": "/name/0/family", "value": "Patched" },
              { "op": "add", "path": "/birthDate", "value": "1990-02-03" },
              { "op": "remove", "path": "/active" }
            ]
            """;

        var response = await JsonPatchAsync($"Patient/{id}", patch);

        await response.AssertStatusAsync(HttpStatusCode.OK);
        var patched = await response.ReadAsync<Patient>();
        Assert.Equal("Patched", patched.Name[0].Family);
        Assert.Equal("1990-02-03", patched.BirthDate);
        Assert.Null(patched.Active);
        Assert.Equal("2", patched.Meta.VersionId);
        Assert.Equal("W/\"2\"", response.ETag());
    }

    [StoreFact]
    public async Task Json_Patch_move_and_copy_work_on_arrays()
    {
        var patient = Patient();
        patient.Name.Add(new HumanName { Family = "Second" });
        var id = await CreatePatientAsync(patient);

        var response = await JsonPatchAsync($"Patient/{id}", """[{"op":"move","from":"/name/1","path":"/name/0"},{"op":"copy","from":"/name/0","path":"/name/-"}]""");

        await response.AssertStatusAsync(HttpStatusCode.OK);
        var names = (await response.ReadAsync<Patient>()).Name.Select(n => n.Family).ToList();
        Assert.Equal(["Second", "Testperson", "Second"], names);
    }

    [StoreFact]
    public async Task Json_Patch_whose_test_fails_answers_422_and_changes_nothing()
    {
        var id = await CreatePatientAsync();
        var response = await JsonPatchAsync($"Patient/{id}", """[{"op":"test","path":"/name/0/family","value":"Other"},{"op":"remove","path":"/name"}]""");
        await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "test failed");
        Assert.Equal("1", (await (await Client.GetAsync($"Patient/{id}")).ReadAsync<Patient>()).Meta.VersionId);
    }

    [StoreFact]
    public async Task Json_Patch_making_an_invalid_resource_answers_422()
    {
        var id = await CreatePatientAsync();
        var response = await JsonPatchAsync($"Patient/{id}", """[{"op":"add","path":"/gender","value":"sometimes"}]""");
        await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "gender");
    }

    [StoreFact]
    public async Task Json_Patch_that_is_not_an_array_answers_400()
    {
        var id = await CreatePatientAsync();
        var response = await JsonPatchAsync($"Patient/{id}", """{"op":"remove","path":"/active"}""");
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "array");
    }

    [StoreFact]
    public async Task Json_Patch_changing_the_id_answers_422()
    {
        var id = await CreatePatientAsync();
        var response = await JsonPatchAsync($"Patient/{id}", """[{"op":"replace","path":"/id","value":"hijacked"}]""");
        await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "id");
    }

    [StoreFact]
    public async Task Patch_with_a_stale_If_Match_answers_412()
    {
        var id = await CreatePatientAsync();
        var response = await JsonPatchAsync($"Patient/{id}", """[{"op":"remove","path":"/active"}]""", ("If-Match", "W/\"9\""));
        await response.AssertOutcomeAsync(HttpStatusCode.PreconditionFailed);
    }

    [StoreFact]
    public async Task Patch_of_an_unknown_resource_answers_404_and_of_a_deleted_one_410()
    {
        var missing = await JsonPatchAsync($"Patient/{Unique("none")}", """[{"op":"remove","path":"/active"}]""");
        var id = await CreatePatientAsync();
        (await Client.DeleteAsync($"Patient/{id}")).EnsureSuccessStatusCode();
        var deleted = await JsonPatchAsync($"Patient/{id}", """[{"op":"remove","path":"/active"}]""");

        await missing.AssertOutcomeAsync(HttpStatusCode.NotFound);
        await deleted.AssertOutcomeAsync(HttpStatusCode.Gone);
    }

    [StoreFact]
    public async Task Patch_with_an_unreadable_content_type_answers_415()
    {
        var id = await CreatePatientAsync();
        var response = await Client.SendAsync(HttpMethod.Patch, $"Patient/{id}", FhirHttp.Body("remove active", "text/plain"));
        await response.AssertOutcomeAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [StoreFact]
    public async Task FhirPath_Patch_add_insert_replace_delete_and_move()
    {
        var patient = Patient(family: "Path");
        patient.Name.Add(new HumanName { Family = "Other" });
        var id = await CreatePatientAsync(patient);
        var patch = new Parameters
        {
            Parameter =
            [
                Operation("add", "Patient", Part("name", new Code("birthDate")), Part("value", new Date("1985-05-06"))),
                Operation("replace", "Patient.gender", Part("value", new Code("female"))),
                Operation("insert", "Patient.identifier", Part("index", new Integer(0)), Part("value", new Identifier("urn:test", "first"))),
                Operation("delete", "Patient.active"),
                Operation("move", "Patient.name", Part("source", new Integer(1)), Part("destination", new Integer(0))),
                Operation("add", "Patient.name[0]", Part("name", new Code("given")), Part("value", new FhirString("Added"))),
            ],
        };

        var response = await FhirPathPatchAsync($"Patient/{id}", patch);

        await response.AssertStatusAsync(HttpStatusCode.OK);
        var patched = await response.ReadAsync<Patient>();
        Assert.Equal("1985-05-06", patched.BirthDate);
        Assert.Equal(AdministrativeGender.Female, patched.Gender);
        Assert.Equal("first", patched.Identifier[0].Value);
        Assert.Equal(2, patched.Identifier.Count);
        Assert.Null(patched.Active);
        Assert.Equal("Other", patched.Name[0].Family);
        Assert.Equal(["Added"], patched.Name[0].Given);
    }

    [StoreFact]
    public async Task FhirPath_Patch_whose_path_matches_nothing_answers_422_naming_the_operation()
    {
        var id = await CreatePatientAsync();
        var patch = new Parameters { Parameter = [Operation("replace", "Patient.birthDate", Part("value", new Date("2000-01-01")))] };
        var response = await FhirPathPatchAsync($"Patient/{id}", patch);
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "matches nothing");
        Assert.Contains("Parameters.parameter[0]", outcome.Issue[0].Expression);
    }

    [StoreFact]
    public async Task FhirPath_Patch_with_an_unknown_operation_type_answers_400()
    {
        var id = await CreatePatientAsync();
        var patch = new Parameters { Parameter = [Operation("transmogrify", "Patient.active")] };
        var response = await FhirPathPatchAsync($"Patient/{id}", patch);
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "transmogrify");
    }

    [StoreFact]
    public async Task Conditional_patch_patches_the_single_match()
    {
        var identifier = Unique("cp");
        var id = await CreatePatientAsync(Patient(identifier));
        var response = await JsonPatchAsync($"Patient?identifier={identifier}", """[{"op":"replace","path":"/name/0/family","value":"Conditional"}]""");
        await response.AssertStatusAsync(HttpStatusCode.OK);
        var patched = await response.ReadAsync<Patient>();
        Assert.Equal(id, patched.Id);
        Assert.Equal("Conditional", patched.Name[0].Family);
    }

    [StoreFact]
    public async Task FhirPath_Patch_putting_a_bad_code_answers_422()
    {
        var id = await CreatePatientAsync();
        var patch = new Parameters { Parameter = [Operation("replace", "Patient.gender", Part("value", new Code("sometimes")))] };
        var response = await FhirPathPatchAsync($"Patient/{id}", patch);
        await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "sometimes");
    }

    [StoreFact]
    public async Task FhirPath_Patch_putting_a_value_of_the_wrong_type_answers_422()
    {
        var id = await CreatePatientAsync();
        var patch = new Parameters { Parameter = [Operation("add", "Patient", Part("name", new Code("birthDate")), Part("value", new HumanName { Family = "x" }))] };
        var response = await FhirPathPatchAsync($"Patient/{id}", patch);
        await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity);
    }
}

public sealed class SqlitePatchTests(SqliteServerFixture fixture) : PatchTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlPatchTests(PostgreSqlServerFixture fixture) : PatchTests(fixture), IClassFixture<PostgreSqlServerFixture>;
