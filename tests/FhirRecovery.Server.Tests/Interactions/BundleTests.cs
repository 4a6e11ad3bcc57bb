using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>batch and transaction: atomicity, processing order, fullUrl and conditional reference resolution.</summary>
public abstract class BundleTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private static Bundle.EntryComponent Entry(Bundle.HTTPVerb method, string url, Resource? resource = null, string? fullUrl = null) => new()
    {
        FullUrl = fullUrl,
        Resource = resource,
        Request = new Bundle.RequestComponent { Method = method, Url = url },
    };

    private async Task<Bundle> PostBundleAsync(Bundle bundle, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await Client.PostAsync("", bundle);
        await response.AssertStatusAsync(expected);
        return await response.ReadAsync<Bundle>();
    }

    private async Task<Bundle> SearchAsync(string url) => await (await Client.GetAsync(url)).ReadAsync<Bundle>();

    [StoreFact]
    public async Task Transaction_resolves_urn_uuid_fullUrls_in_every_reference()
    {
        var patientUrl = $"urn:uuid:{Guid.NewGuid()}";
        var goal = Goal(patientUrl, Unique("Linked goal"));
        goal.ExpressedBy = new ResourceReference(patientUrl);
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                Entry(Bundle.HTTPVerb.POST, "Goal", goal, $"urn:uuid:{Guid.NewGuid()}"),
                Entry(Bundle.HTTPVerb.POST, "Patient", Patient(), patientUrl),
            ],
        };

        var response = await PostBundleAsync(bundle);

        Assert.Equal(Bundle.BundleType.TransactionResponse, response.Type);
        Assert.All(response.Entry, e => Assert.StartsWith("201", e.Response.Status));
        var patientLocation = response.Entry[1].Response.Location;
        Assert.StartsWith("Patient/", patientLocation);
        var patientId = patientLocation.Split('/')[1];
        var storedGoal = await (await Client.GetAsync(response.Entry[0].Response.Location.Split("/_history")[0])).ReadAsync<Goal>();
        Assert.Equal($"Patient/{patientId}", storedGoal.Subject.Reference);
        Assert.Equal($"Patient/{patientId}", storedGoal.ExpressedBy.Reference);
    }

    [StoreFact]
    public async Task Transaction_resolves_conditional_references()
    {
        var identifier = Unique("ref");
        var patient = await Client.PostAsync("Patient", Patient(identifier));
        var patientId = (await patient.ReadAsync<Patient>()).Id;
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry = [Entry(Bundle.HTTPVerb.POST, "Goal", Goal($"Patient?identifier=https://fhirrecovery.org/test/patient|{identifier}"))],
        };

        var response = await PostBundleAsync(bundle);

        var goal = (Goal)response.Entry[0].Resource;
        Assert.Equal($"Patient/{patientId}", goal.Subject.Reference);
    }

    [StoreFact]
    public async Task Transaction_with_a_conditional_reference_that_matches_nothing_fails_with_412()
    {
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry = [Entry(Bundle.HTTPVerb.POST, "Goal", Goal($"Patient?identifier={Unique("nobody")}"))],
        };
        var response = await Client.PostAsync("", bundle);
        await response.AssertOutcomeAsync(HttpStatusCode.PreconditionFailed, "Bundle.entry[0]");
    }

    [StoreFact]
    public async Task Transaction_with_a_conditional_reference_that_matches_two_resources_fails_with_412_and_writes_nothing()
    {
        var identifier = Unique("twice");
        await (await Client.PostAsync("Patient", Patient(identifier))).AssertStatusAsync(HttpStatusCode.Created);
        await (await Client.PostAsync("Patient", Patient(identifier))).AssertStatusAsync(HttpStatusCode.Created);
        var goal = Goal($"Patient?identifier=https://fhirrecovery.org/test/patient|{identifier}");
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Entry(Bundle.HTTPVerb.POST, "Goal", goal)] };

        var response = await Client.PostAsync("", bundle);

        await response.AssertOutcomeAsync(HttpStatusCode.PreconditionFailed, "more than one");
        Assert.DoesNotContain((await SearchAsync($"Goal?identifier={goal.Identifier[0].Value}")).Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Match);
    }

    [StoreFact]
    public async Task A_transaction_with_one_failing_entry_leaves_nothing_written_and_names_the_entry()
    {
        var family = Unique("Atomic");
        var existing = await (await Client.PostAsync("Patient", Patient(family: family))).ReadAsync<Patient>();
        var replaced = Patient(family: family + "-changed");
        replaced.Id = existing.Id;
        var stalePut = Entry(Bundle.HTTPVerb.PUT, $"Patient/{existing.Id}", replaced);
        stalePut.Request.IfMatch = "W/\"42\"";
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                Entry(Bundle.HTTPVerb.POST, "Patient", Patient(family: family)),
                stalePut,
                Entry(Bundle.HTTPVerb.POST, "Patient", Patient(family: family)),
            ],
        };

        var response = await Client.PostAsync("", bundle);

        var outcome = await response.AssertOutcomeAsync(HttpStatusCode.PreconditionFailed, "Bundle.entry[1]");
        Assert.Contains("Bundle.entry[1]", outcome.Issue[0].Expression);
        var matches = (await SearchAsync($"Patient?family={family}")).Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Match).ToList();
        Assert.Equal(existing.Id, Assert.Single(matches).Resource.Id);
        Assert.Equal("1", matches[0].Resource.Meta.VersionId);
    }

    [StoreFact]
    public async Task A_transaction_with_an_invalid_resource_answers_with_the_entrys_status_and_writes_nothing()
    {
        var family = Unique("Invalid");
        var invalidGoal = Example<Goal>("Goal-tom-peer-group.json");
        invalidGoal.ExpressedBy = null;
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                Entry(Bundle.HTTPVerb.POST, "Patient", Patient(family: family)),
                Entry(Bundle.HTTPVerb.POST, "Goal", invalidGoal),
            ],
        };

        var response = await Client.PostAsync("", bundle);

        await response.AssertOutcomeAsync(HttpStatusCode.UnprocessableEntity, "Bundle.entry[1]");
        Assert.DoesNotContain((await SearchAsync($"Patient?family={family}")).Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Match);
    }

    [StoreFact]
    public async Task Transaction_processes_deletes_before_creates_before_updates_before_reads()
    {
        var keep = await (await Client.PostAsync("Patient", Patient(family: "Keep"))).ReadAsync<Patient>();
        var remove = await (await Client.PostAsync("Patient", Patient(family: "Remove"))).ReadAsync<Patient>();
        var updated = Patient(family: "Updated");
        updated.Id = keep.Id;
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                Entry(Bundle.HTTPVerb.GET, $"Patient/{keep.Id}"),
                Entry(Bundle.HTTPVerb.PUT, $"Patient/{keep.Id}", updated),
                Entry(Bundle.HTTPVerb.DELETE, $"Patient/{remove.Id}"),
                Entry(Bundle.HTTPVerb.POST, "Patient", Patient(family: "New")),
            ],
        };

        var response = await PostBundleAsync(bundle);

        // Responses come in request order; the GET, processed last, sees the PUT.
        Assert.Equal("Updated", ((Patient)response.Entry[0].Resource).Name[0].Family);
        Assert.StartsWith("200", response.Entry[1].Response.Status);
        Assert.StartsWith("204", response.Entry[2].Response.Status);
        Assert.StartsWith("201", response.Entry[3].Response.Status);
        await (await Client.GetAsync($"Patient/{remove.Id}")).AssertOutcomeAsync(HttpStatusCode.Gone);
    }

    [StoreFact]
    public async Task Transaction_conditional_create_reuses_the_match()
    {
        var identifier = Unique("tcc");
        var existing = await (await Client.PostAsync("Patient", Patient(identifier))).ReadAsync<Patient>();
        var entry = Entry(Bundle.HTTPVerb.POST, "Patient", Patient(identifier), $"urn:uuid:{Guid.NewGuid()}");
        entry.Request.IfNoneExist = $"identifier=https://fhirrecovery.org/test/patient|{identifier}";
        var goal = Goal(entry.FullUrl);
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction, Entry = [entry, Entry(Bundle.HTTPVerb.POST, "Goal", goal)] };

        var response = await PostBundleAsync(bundle);

        Assert.StartsWith("200", response.Entry[0].Response.Status);
        Assert.Equal($"Patient/{existing.Id}", ((Goal)response.Entry[1].Resource).Subject.Reference);
    }

    [StoreFact]
    public async Task Transaction_changing_one_resource_twice_answers_400()
    {
        var patient = Patient();
        patient.Id = Unique("twice");
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry = [Entry(Bundle.HTTPVerb.PUT, $"Patient/{patient.Id}", patient), Entry(Bundle.HTTPVerb.DELETE, $"Patient/{patient.Id}")],
        };
        var response = await Client.PostAsync("", bundle);
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "only once");
    }

    [StoreFact]
    public async Task Transaction_with_a_reference_to_a_fullUrl_not_in_the_bundle_answers_400()
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Entry(Bundle.HTTPVerb.POST, "Goal", Goal($"urn:uuid:{Guid.NewGuid()}"))] };
        var response = await Client.PostAsync("", bundle);
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "fullUrl");
    }

    [StoreFact]
    public async Task Batch_entries_succeed_or_fail_independently_with_their_own_responses()
    {
        var family = Unique("Batch");
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Batch,
            Entry =
            [
                Entry(Bundle.HTTPVerb.POST, "Patient", Patient(family: family)),
                Entry(Bundle.HTTPVerb.GET, $"Patient/{Unique("missing")}"),
                Entry(Bundle.HTTPVerb.GET, $"Patient?family={family}"),
                Entry(Bundle.HTTPVerb.PUT, "Patient/mismatch", Patient()),
            ],
        };

        var response = await PostBundleAsync(bundle);

        Assert.Equal(Bundle.BundleType.BatchResponse, response.Type);
        Assert.StartsWith("201", response.Entry[0].Response.Status);
        Assert.StartsWith("404", response.Entry[1].Response.Status);
        Assert.IsType<OperationOutcome>(response.Entry[1].Response.Outcome);
        Assert.StartsWith("200", response.Entry[2].Response.Status);
        Assert.IsType<Bundle>(response.Entry[2].Resource);
        Assert.StartsWith("400", response.Entry[3].Response.Status);
        Assert.Single((await SearchAsync($"Patient?family={family}")).Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Match);
    }

    [StoreFact]
    public async Task A_bundle_of_another_type_answers_400()
    {
        var response = await Client.PostAsync("", new Bundle { Type = Bundle.BundleType.Collection });
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "batch or transaction");
    }

    [StoreFact]
    public async Task An_entry_without_a_request_answers_400_naming_it()
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction, Entry = [new Bundle.EntryComponent { Resource = Patient() }] };
        var response = await Client.PostAsync("", bundle);
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "Bundle.entry[0]");
    }

    [StoreFact]
    public async Task Transaction_patch_entries_apply_json_and_fhirpath_patches()
    {
        var patient = await (await Client.PostAsync("Patient", Patient(family: "Before"))).ReadAsync<Patient>();
        var jsonPatch = new Binary { ContentType = "application/json-patch+json", Data = System.Text.Encoding.UTF8.GetBytes("""[{"op":"replace","path":"/name/0/family","value":"Json"}]""") };
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Entry(Bundle.HTTPVerb.PATCH, $"Patient/{patient.Id}", jsonPatch)] };

        var response = await PostBundleAsync(bundle);

        Assert.StartsWith("200", response.Entry[0].Response.Status);
        Assert.Equal("Json", (await (await Client.GetAsync($"Patient/{patient.Id}")).ReadAsync<Patient>()).Name[0].Family);
    }

    [StoreFact]
    public async Task Transaction_with_Prefer_return_minimal_answers_locations_without_resources()
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Entry(Bundle.HTTPVerb.POST, "Patient", Patient())] };
        var response = await Client.PostAsync("", bundle, ("Prefer", "return=minimal"));
        var answer = await response.ReadAsync<Bundle>();
        Assert.Null(answer.Entry[0].Resource);
        Assert.Matches("^Patient/[^/]+/_history/1$", answer.Entry[0].Response.Location);
        Assert.Equal("W/\"1\"", answer.Entry[0].Response.Etag);
    }

    [StoreFact]
    public async Task Transaction_conditional_update_and_conditional_delete_entries_find_their_targets()
    {
        var identifier = Unique("tcu");
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry = [Entry(Bundle.HTTPVerb.PUT, $"Patient?identifier={identifier}", Patient(identifier, "Made"))],
        };
        var first = await PostBundleAsync(bundle);
        var second = await PostBundleAsync(bundle);
        var delete = await PostBundleAsync(new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Entry(Bundle.HTTPVerb.DELETE, $"Patient?identifier={identifier}")] });

        Assert.StartsWith("201", first.Entry[0].Response.Status);
        Assert.StartsWith("200", second.Entry[0].Response.Status);
        Assert.Equal(first.Entry[0].Resource.Id, second.Entry[0].Resource.Id);
        Assert.StartsWith("204", delete.Entry[0].Response.Status);
        await (await Client.GetAsync($"Patient/{first.Entry[0].Resource.Id}")).AssertOutcomeAsync(HttpStatusCode.Gone);
    }

    [StoreFact]
    public async Task Transaction_GET_entries_search_and_see_the_transactions_own_writes()
    {
        var family = Unique("SeeOwn");
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry = [Entry(Bundle.HTTPVerb.GET, $"Patient?family={family}"), Entry(Bundle.HTTPVerb.POST, "Patient", Patient(family: family))],
        };
        var response = await PostBundleAsync(bundle);
        var searchset = Assert.IsType<Bundle>(response.Entry[0].Resource);
        Assert.Single(searchset.Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Match);
    }

    [StoreFact]
    public async Task Transaction_leaves_urn_oid_identifier_systems_alone()
    {
        var patient = Patient();
        patient.Identifier = [new Identifier("urn:oid:2.16.578.1.12.4.1.1.7170", Unique("fnr"))];
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction, Entry = [Entry(Bundle.HTTPVerb.POST, "Patient", patient, $"urn:uuid:{Guid.NewGuid()}")] };

        var response = await PostBundleAsync(bundle);

        Assert.Equal("urn:oid:2.16.578.1.12.4.1.1.7170", ((Patient)response.Entry[0].Resource).Identifier[0].System);
    }
}

public sealed class SqliteBundleTests(SqliteServerFixture fixture) : BundleTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlBundleTests(PostgreSqlServerFixture fixture) : BundleTests(fixture), IClassFixture<PostgreSqlServerFixture>;
