using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>Validation on write (400 structural, 422 profile) and the $validate operation.</summary>
public abstract class ValidationTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private static string Invalid(string file) => ReadRepoFile("profiles", "examples", "invalid", file);

    [StoreFact]
    public async Task A_valid_recovery_goal_declaring_the_profile_is_stored()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Goal", FhirHttp.Body(ReadRepoFile("profiles", "examples", "Goal-tom-peer-group.json")));
        await response.AssertStatusAsync(HttpStatusCode.Created);
    }

    [StoreFact]
    public async Task A_goal_breaking_the_recovery_profile_answers_422_with_the_validators_outcome()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Goal", FhirHttp.Body(Invalid("Goal-missing-expressed-by.json")));
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "expressedBy");
        Assert.Contains(outcome.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error && i.Expression.Any());
    }

    [StoreFact]
    public async Task A_goal_with_an_extension_value_type_its_definition_forbids_answers_422_at_the_value()
    {
        // valueString is valid FHIR for an extension; only the extension's definition (integer priority) excludes it.
        var response = await Client.SendAsync(HttpMethod.Post, "Goal", FhirHttp.Body(Invalid("Goal-priority-as-string.json")));
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Contains(outcome.Issue, i => i.Expression.Any(e => e.StartsWith("Goal.extension", StringComparison.Ordinal)));
    }

    [StoreFact]
    public async Task A_goal_with_a_structural_error_answers_400_with_its_location()
    {
        // A JSON string where FHIR demands a JSON boolean is not FHIR at all.
        var body = FhirHttp.ToJson(Goal("Patient/x")).Replace("\"lifecycleStatus\"", "\"_lifecycleStatus\":{\"id\":\"a\"},\"lifecycleStatus\"")
            .Replace("\"resourceType\":\"Goal\"", "\"resourceType\":\"Goal\",\"implicitRules\":true");
        var response = await Client.SendAsync(HttpMethod.Post, "Goal", FhirHttp.Body(body));
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.BadRequest);
        Assert.Contains(outcome.Issue, i => i.Expression.Contains("Goal.implicitRules"));
    }

    [StoreFact]
    public async Task A_goal_with_an_unknown_element_answers_400_naming_it()
    {
        var body = FhirHttp.ToJson(Goal("Patient/x")).Replace("\"lifecycleStatus\"", "\"colour\":\"blue\",\"lifecycleStatus\"");
        var response = await Client.SendAsync(HttpMethod.Post, "Goal", FhirHttp.Body(body));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "colour");
    }

    [StoreFact]
    public async Task A_resource_of_another_type_with_a_bad_code_answers_400_from_the_parser()
    {
        var body = FhirHttp.ToJson(Patient()).Replace("\"other\"", "\"sometimes\"");
        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body(body));
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "sometimes");
        Assert.Contains("Patient.gender", outcome.Issue.SelectMany(i => i.Expression));
    }

    [StoreFact]
    public async Task An_update_breaking_the_profile_answers_422_and_keeps_the_stored_version()
    {
        var goal = Example<Goal>("Goal-tom-peer-group.json");
        goal.Id = Unique("goal");
        var created = await Client.PutAsync($"Goal/{goal.Id}", goal);
        await created.AssertStatusAsync(HttpStatusCode.Created);
        goal.ExpressedBy = null;

        var response = await Client.PutAsync($"Goal/{goal.Id}", goal);

        await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("1", (await (await Client.GetAsync($"Goal/{goal.Id}")).ReadAsync<Goal>()).Meta.VersionId);
    }

    [StoreFact]
    public async Task Warnings_come_back_with_Prefer_return_OperationOutcome()
    {
        // No narrative: the validator's best-practice warning (dom-6) is reported, the write succeeds.
        var response = await Client.PostAsync("Goal", Goal("Patient/x"), ("Prefer", "return=OperationOutcome"));
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.Created);
        Assert.Contains(outcome.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Warning);
    }

    [StoreFact]
    public async Task Validate_on_the_type_answers_200_with_the_errors_of_an_invalid_goal()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Goal/$validate", FhirHttp.Body(Invalid("Goal-missing-expressed-by.json")));
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.OK, "expressedBy");
        Assert.Contains(outcome.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
    }

    [StoreFact]
    public async Task Validate_of_a_valid_goal_answers_200_without_errors()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Goal/$validate", FhirHttp.Body(ReadRepoFile("profiles", "examples", "Goal-tom-peer-group.json")));
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(outcome.Issue, i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal);
    }

    [StoreFact]
    public async Task Validate_with_a_Parameters_body_and_a_profile_checks_against_that_profile()
    {
        // A goal without meta.profile is fine for the base spec but not for the recovery profile asked for.
        var parameters = new Parameters();
        parameters.Add("resource", Goal("Patient/x"));
        parameters.Add("profile", new Canonical(RecoveryGoalProfile));

        var response = await Client.SendAsync(HttpMethod.Post, "Goal/$validate", FhirHttp.Body(parameters));

        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.OK);
        Assert.Contains(outcome.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
    }

    [StoreFact]
    public async Task Validate_with_an_unknown_profile_answers_400()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Goal/$validate?profile=https://example.org/nothing", FhirHttp.Body(Goal("Patient/x")));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "profile");
    }

    [StoreFact]
    public async Task Validate_in_update_mode_requires_the_id_of_the_url()
    {
        var goal = Goal("Patient/x");
        goal.Id = "other";
        var response = await Client.SendAsync(HttpMethod.Post, "Goal/some-goal/$validate?mode=update", FhirHttp.Body(goal));
        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.OK, "mode=update");
        Assert.Contains(outcome.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
    }

    [StoreFact]
    public async Task Validate_in_delete_mode_on_a_stored_resource_answers_200_and_on_a_missing_one_404()
    {
        var patient = await (await Client.PostAsync("Patient", Patient())).ReadAsync<Patient>();
        var deletable = await Client.SendAsync(HttpMethod.Post, $"Patient/{patient.Id}/$validate?mode=delete");
        var missing = await Client.SendAsync(HttpMethod.Post, $"Patient/{Unique("none")}/$validate?mode=delete");
        await deletable.AssertOutcomeAsync(HttpStatusCode.OK, "can be deleted");
        await missing.AssertOutcomeAsync(HttpStatusCode.NotFound);
    }

    [StoreFact]
    public async Task Validate_of_a_stored_resource_by_GET_validates_what_is_stored()
    {
        var patient = await (await Client.PostAsync("Patient", Patient())).ReadAsync<Patient>();
        var response = await Client.GetAsync($"Patient/{patient.Id}/$validate");
        await response.AssertOutcomeAsync(HttpStatusCode.OK);
    }

    [StoreFact]
    public async Task Validate_with_a_body_of_another_type_answers_400()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Goal/$validate", FhirHttp.Body(Patient()));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "Patient");
    }

    [StoreFact]
    public async Task Validate_with_an_unknown_mode_answers_400()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Goal/$validate?mode=sometimes", FhirHttp.Body(Goal("Patient/x")));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "mode");
    }

    [StoreFact]
    public async Task A_recovery_goal_sent_as_xml_is_validated_too()
    {
        var valid = FhirHttp.ToXml(Example<Goal>("Goal-tom-peer-group.json"));
        var invalidGoal = Example<Goal>("Goal-tom-peer-group.json");
        invalidGoal.ExpressedBy = null;

        var accepted = await Client.SendAsync(HttpMethod.Post, "Goal", FhirHttp.Body(valid, "application/fhir+xml"));
        var refused = await Client.SendAsync(HttpMethod.Post, "Goal", FhirHttp.Body(FhirHttp.ToXml(invalidGoal), "application/fhir+xml"));

        await accepted.AssertStatusAsync(HttpStatusCode.Created);
        await refused.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "expressedBy");
    }

    [StoreFact]
    public async Task A_patient_declaring_no_known_profile_is_not_profile_validated_but_one_declaring_a_known_profile_is()
    {
        var declared = Patient();
        declared.Meta = new Meta { Profile = [RecoveryGoalProfile] };

        var plain = await Client.PostAsync("Patient", Patient());
        var wrongProfile = await Client.PostAsync("Patient", declared);

        await plain.AssertStatusAsync(HttpStatusCode.Created);
        Assert.False(wrongProfile.IsSuccessStatusCode, "A Patient declaring the recovery-goal profile must fail validation");
        await wrongProfile.AssertOutcomeAsync(wrongProfile.StatusCode);
    }

    [StoreFact]
    public async Task Active_content_in_the_narrative_of_a_resource_not_profile_validated_is_refused_at_text_div()
    {
        foreach (var div in UnsafeNarratives)
        {
            var created = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body(PatientWithNarrative(div)));
            var outcome = await created.AssertOutcomeAsync(HttpStatusCode.BadRequest, "txt-1");
            Assert.Contains(outcome.Issue, i => i.Expression.Contains("Patient.text.div"));
        }

        var id = (await (await Client.PostAsync("Patient", Patient())).ReadAsync<Patient>()).Id;
        var updated = await Client.SendAsync(HttpMethod.Put, $"Patient/{id}", FhirHttp.Body(PatientWithNarrative(UnsafeNarratives[0], id)));
        var patched = await Client.SendAsync(HttpMethod.Patch, $"Patient/{id}", FhirHttp.Body(
            """[{"op":"add","path":"/text","value":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script>Hi</div>"}}]""",
            "application/json-patch+json"));
        var transaction = await Client.SendAsync(HttpMethod.Post, "", FhirHttp.Body($$$"""
            {"resourceType":"Bundle","type":"transaction","entry":[{"resource":{{{PatientWithNarrative(UnsafeNarratives[1])}}},"request":{"method":"POST","url":"Patient"}}]}
            """));
        var safe = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body(PatientWithNarrative("""<div xmlns=\"http://www.w3.org/1999/xhtml\"><p><a href=\"https://example.org\">Alex</a></p></div>""")));

        await updated.AssertOutcomeAsync(HttpStatusCode.BadRequest, "Patient.text.div");
        await patched.AssertOutcomeAsync(HttpStatusCode.BadRequest, "Patient.text.div");
        await transaction.AssertOutcomeAsync(HttpStatusCode.BadRequest, "Bundle.entry[0].resource.text.div");
        await safe.AssertStatusAsync(HttpStatusCode.Created);
        Assert.Null((await (await Client.GetAsync($"Patient/{id}")).ReadAsync<Patient>()).Text);
    }

    [StoreFact]
    public async Task Active_content_in_the_narrative_of_a_profile_validated_resource_is_refused_by_the_validator()
    {
        var goal = Goal($"Patient/{Unique("p")}");
        goal.Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p onclick=\"alert(1)\">Walk</p></div>" };

        var response = await Client.PostAsync("Goal", goal);

        Assert.Contains(response.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.UnprocessableEntity });
        var outcome = await response.AssertOutcomeAsync(response.StatusCode, "onclick");
        Assert.Contains(outcome.Issue, i => i.Expression.Any(e => e.StartsWith("Goal.text", StringComparison.Ordinal)));
    }

    /// <summary>A script element, an event-handler attribute, a javascript: link (JSON-escaped for a "div" value).</summary>
    internal static readonly string[] UnsafeNarratives =
    [
        """<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script>Alex</div>""",
        """<div xmlns=\"http://www.w3.org/1999/xhtml\"><p onclick=\"alert(1)\">Alex</p></div>""",
        """<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"javascript:alert(1)\">Alex</a></div>""",
    ];

    internal static string PatientWithNarrative(string jsonEscapedDiv, string? id = null) =>
        $$"""{"resourceType":"Patient",{{(id is null ? "" : $"\"id\":\"{id}\",")}}"text":{"status":"generated","div":"{{jsonEscapedDiv}}"},"name":[{"family":"Narrated"}]}""";
}

public sealed class SqliteValidationTests(SqliteServerFixture fixture) : ValidationTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlValidationTests(PostgreSqlServerFixture fixture) : ValidationTests(fixture), IClassFixture<PostgreSqlServerFixture>;

/// <summary>Validation:Mode=Off lets a profile-breaking goal through; structural errors are still refused.</summary>
public abstract class ValidationModeOffTests(FhirServerFixture fixture)
{
    [StoreFact]
    public async Task With_validation_off_a_profile_breaking_goal_is_stored_but_malformed_json_is_not()
    {
        var accepted = await fixture.Client.SendAsync(HttpMethod.Post, "Goal", FhirHttp.Body(ReadRepoFile("profiles", "examples", "invalid", "Goal-missing-expressed-by.json")));
        var refused = await fixture.Client.SendAsync(HttpMethod.Post, "Goal", FhirHttp.Body("{\"resourceType\":\"Goal\",\"lifecycleStatus\":"));
        await accepted.AssertStatusAsync(HttpStatusCode.Created);
        await refused.AssertOutcomeAsync(HttpStatusCode.BadRequest, "JSON");
    }

    [StoreFact]
    public async Task With_validation_off_active_content_in_a_narrative_is_still_refused()
    {
        foreach (var div in ValidationTests.UnsafeNarratives)
        {
            var response = await fixture.Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body(ValidationTests.PatientWithNarrative(div)));
            await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "Patient.text.div");
        }
    }
}

public sealed class SqliteValidationOffFixture : SqliteServerFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Validation:Mode"] = "Off";
        return settings;
    }
}

public sealed class PostgreSqlValidationOffFixture : PostgreSqlServerFixture
{
    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        settings["Validation:Mode"] = "Off";
        return settings;
    }
}

public sealed class SqliteValidationModeOffTests(SqliteValidationOffFixture fixture) : ValidationModeOffTests(fixture), IClassFixture<SqliteValidationOffFixture>;

public sealed class PostgreSqlValidationModeOffTests(PostgreSqlValidationOffFixture fixture) : ValidationModeOffTests(fixture), IClassFixture<PostgreSqlValidationOffFixture>;
