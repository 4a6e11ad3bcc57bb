using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>search (GET, POST _search, compartments) and the searchset Bundle: links, modes, subsetting, limits.</summary>
public abstract class SearchTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private async Task<string> CreateAsync(Resource resource)
    {
        var response = await Client.PostAsync(resource.TypeName, resource);
        await response.AssertStatusAsync(HttpStatusCode.Created);
        return (await response.ReadAsync<Resource>()).Id;
    }

    private async Task<Bundle> SearchAsync(string url)
    {
        var response = await Client.GetAsync(url);
        await response.AssertStatusAsync(HttpStatusCode.OK);
        return await response.ReadAsync<Bundle>();
    }

    private static IEnumerable<Bundle.EntryComponent> Matches(Bundle bundle) => bundle.Entry.Where(e => e.Search?.Mode == Bundle.SearchEntryMode.Match);

    [StoreFact]
    public async Task Search_answers_a_searchset_with_matches_fullUrls_and_a_self_link()
    {
        var family = Unique("Searchable");
        var id = await CreateAsync(Patient(family: family));

        var bundle = await SearchAsync($"Patient?family={family}");

        Assert.Equal(Bundle.BundleType.Searchset, bundle.Type);
        var match = Assert.Single(Matches(bundle));
        Assert.Equal($"http://localhost/fhir/Patient/{id}", match.FullUrl);
        Assert.Equal(id, match.Resource.Id);
        Assert.Contains(bundle.Link, l => l.Relation == "self" && l.Url.StartsWith("http://localhost/fhir/Patient?", StringComparison.Ordinal) && l.Url.Contains(family));
    }

    [StoreFact]
    public async Task Search_with_POST_and_a_form_body_finds_the_same_as_GET()
    {
        var family = Unique("Posted");
        var id = await CreateAsync(Patient(family: family));

        var response = await Client.SendAsync(HttpMethod.Post, "Patient/_search",
            new FormUrlEncodedContent([new("family", family)]));

        await response.AssertStatusAsync(HttpStatusCode.OK);
        Assert.Equal(id, Assert.Single(Matches(await response.ReadAsync<Bundle>())).Resource.Id);
    }

    [StoreFact]
    public async Task Search_with_POST_and_a_json_body_answers_415()
    {
        var response = await Client.SendAsync(HttpMethod.Post, "Patient/_search", FhirHttp.Body(Patient()));
        await response.AssertOutcomeAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [StoreFact]
    public async Task Paging_follows_next_links_through_every_match_once()
    {
        var family = Unique("Paged");
        var ids = new HashSet<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await CreateAsync(Patient(family: family)));
        }

        var seen = new List<string>();
        var page = await SearchAsync($"Patient?family={family}&_count=2");
        var pages = 1;
        Assert.Contains(page.Link, l => l.Relation == "first");
        while (true)
        {
            seen.AddRange(Matches(page).Select(e => e.Resource.Id));
            var next = page.Link.FirstOrDefault(l => l.Relation == "next");
            if (next is null)
            {
                break;
            }

            Assert.Contains("_page=", next.Url);
            page = await SearchAsync(next.Url);
            pages++;
            Assert.Contains(page.Link, l => l.Relation == "previous");
        }

        Assert.Equal(3, pages);
        Assert.Equal(ids.Order(), seen.Order());
    }

    [StoreFact]
    public async Task Total_is_given_when_asked_for()
    {
        var family = Unique("Counted");
        await CreateAsync(Patient(family: family));
        await CreateAsync(Patient(family: family));

        var bundle = await SearchAsync($"Patient?family={family}&_total=accurate&_count=1");

        Assert.Equal(2, bundle.Total);
        Assert.Single(Matches(bundle));
    }

    [StoreFact]
    public async Task Summary_count_answers_only_the_total()
    {
        var family = Unique("OnlyCount");
        await CreateAsync(Patient(family: family));
        await CreateAsync(Patient(family: family));

        var bundle = await SearchAsync($"Patient?family={family}&_summary=count");

        Assert.Equal(2, bundle.Total);
        Assert.Empty(Matches(bundle));
    }

    [StoreFact]
    public async Task Elements_qualified_by_type_subset_matches_and_included_resources_and_keep_mandatory_elements()
    {
        var patientId = await CreateAsync(Patient(family: Unique("Subsetted")));
        var goal = Goal($"Patient/{patientId}");
        goal.Note = [new Annotation { Text = "Not asked for" }];
        var goalId = await CreateAsync(goal);

        var bundle = await SearchAsync($"Goal?_id={goalId}&_include=Goal:subject&_elements=Goal.lifecycleStatus,Patient.name");

        var match = (Hl7.Fhir.Model.Goal)Assert.Single(Matches(bundle)).Resource;
        Assert.Equal(Hl7.Fhir.Model.Goal.GoalLifecycleStatus.Active, match.LifecycleStatus);
        Assert.NotNull(match.Description); // min 1: kept although not asked for
        Assert.NotNull(match.Subject);
        Assert.Empty(match.Note);
        Assert.Empty(match.Identifier);
        Assert.Equal(goalId, match.Id);
        Assert.NotNull(match.Meta.VersionId);
        Assert.Contains(match.Meta.Tag, t => t is { System: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", Code: "SUBSETTED" });
        var included = (Patient)bundle.Entry.Single(e => e.Search?.Mode == Bundle.SearchEntryMode.Include).Resource;
        Assert.NotEmpty(included.Name);
        Assert.Null(included.Gender);
        Assert.Empty(included.Identifier);
        Assert.Contains(included.Meta.Tag, t => t is { System: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", Code: "SUBSETTED" });
    }

    [StoreFact]
    public async Task Unknown_element_names_are_ignored_leniently_and_refused_with_a_400_under_strict_handling()
    {
        var family = Unique("Elements");
        var id = await CreateAsync(Patient(family: family));

        var lenient = (Patient)Assert.Single(Matches(await SearchAsync($"Patient?family={family}&_elements=gender,noSuchElement"))).Resource;
        var strictSearch = await Client.SendAsync(HttpMethod.Get, $"Patient?family={family}&_elements=gender,noSuchElement", null, ("Prefer", "handling=strict"));
        var strictRead = await Client.SendAsync(HttpMethod.Get, $"Patient/{id}?_elements=Patient.noSuchElement", null, ("Prefer", "handling=strict"));
        var strictKnown = await Client.SendAsync(HttpMethod.Get, $"Patient?family={family}&_elements=Patient.gender,Goal.lifecycleStatus", null, ("Prefer", "handling=strict"));

        Assert.Equal(AdministrativeGender.Other, lenient.Gender);
        Assert.Empty(lenient.Name);
        Assert.Equal("_elements", (await strictSearch.AssertOutcomeAsync(HttpStatusCode.BadRequest, "noSuchElement")).Issue[0].Expression.Single());
        await strictRead.AssertOutcomeAsync(HttpStatusCode.BadRequest, "noSuchElement");
        await strictKnown.AssertStatusAsync(HttpStatusCode.OK);
    }

    [StoreFact]
    public async Task Summary_true_and_elements_subset_every_match_and_tag_it()
    {
        var family = Unique("Summarised");
        var patient = Patient(family: family);
        patient.Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">A patient</div>" };
        await CreateAsync(patient);

        var summary = (Patient)Assert.Single(Matches(await SearchAsync($"Patient?family={family}&_summary=true"))).Resource;
        var elements = (Patient)Assert.Single(Matches(await SearchAsync($"Patient?family={family}&_elements=identifier"))).Resource;

        Assert.Null(summary.Text);
        Assert.Contains(summary.Meta.Tag, t => t.Code == "SUBSETTED");
        Assert.NotEmpty(elements.Identifier);
        Assert.Empty(elements.Name);
        Assert.Contains(elements.Meta.Tag, t => t.Code == "SUBSETTED");
    }

    [StoreFact]
    public async Task Unknown_parameters_are_ignored_and_reported_in_an_outcome_entry_by_default()
    {
        var bundle = await SearchAsync("Patient?no-such-parameter=1&_count=1");
        var outcome = Assert.Single(bundle.Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Outcome);
        Assert.Contains("no-such-parameter", Assert.IsType<OperationOutcome>(outcome.Resource).Issue[0].Diagnostics);
    }

    [StoreFact]
    public async Task Unknown_parameters_answer_400_under_Prefer_handling_strict()
    {
        var response = await Client.SendAsync(HttpMethod.Get, "Patient?no-such-parameter=1", null, ("Prefer", "handling=strict"));
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "no-such-parameter");
    }

    [StoreFact]
    public async Task A_malformed_search_value_answers_400_naming_the_parameter()
    {
        var response = await Client.GetAsync("Patient?birthdate=not-a-date");
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "birthdate");
    }

    [StoreFact]
    public async Task A_count_above_the_maximum_is_lowered_and_reported()
    {
        var bundle = await SearchAsync("Patient?_count=5000");
        var outcome = Assert.Single(bundle.Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Outcome);
        Assert.Contains("50", ((OperationOutcome)outcome.Resource).Issue[0].Diagnostics);
        Assert.True(Matches(bundle).Count() <= 50);
    }

    [StoreFact]
    public async Task Too_many_include_parameters_answer_400()
    {
        var response = await Client.GetAsync("Goal?_include=Goal:subject&_include=Goal:expressed-by&_include=Goal:addresses&_revinclude=Provenance:target");
        await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "_include");
    }

    [StoreFact]
    public async Task Include_adds_the_referenced_patient_in_include_mode()
    {
        var patientId = await CreateAsync(Patient());
        var goal = Goal($"Patient/{patientId}", Unique("Include me"));
        var goalId = await CreateAsync(goal);

        var bundle = await SearchAsync($"Goal?_id={goalId}&_include=Goal:subject");

        Assert.Equal(goalId, Assert.Single(Matches(bundle)).Resource.Id);
        var included = Assert.Single(bundle.Entry, e => e.Search?.Mode == Bundle.SearchEntryMode.Include);
        Assert.Equal(patientId, included.Resource.Id);
    }

    [StoreFact]
    public async Task Compartment_search_finds_only_that_patients_goals()
    {
        var mine = await CreateAsync(Patient());
        var other = await CreateAsync(Patient());
        var myGoal = await CreateAsync(Goal($"Patient/{mine}"));
        await CreateAsync(Goal($"Patient/{other}"));

        var bundle = await SearchAsync($"Patient/{mine}/Goal");

        Assert.Equal(myGoal, Assert.Single(Matches(bundle)).Resource.Id);
        Assert.StartsWith($"http://localhost/fhir/Patient/{mine}/Goal", bundle.Link.Single(l => l.Relation == "self").Url);
    }

    [StoreFact]
    public async Task Compartment_search_on_a_type_that_is_not_a_compartment_answers_404()
    {
        var response = await Client.GetAsync("Goal/1/Observation");
        await response.AssertOutcomeAsync(HttpStatusCode.NotFound, "not a compartment");
    }

    [StoreFact]
    public async Task System_search_by_id_finds_resources_of_any_type()
    {
        var id = await CreateAsync(Patient());
        var bundle = await SearchAsync($"?_id={id}");
        Assert.Equal("Patient", Assert.Single(Matches(bundle)).Resource.TypeName);
    }

    [StoreFact]
    public async Task The_IG_conformance_resources_are_readable_and_searchable_by_url_version_name_and_status()
    {
        var byUrl = await SearchAsync($"StructureDefinition?url={RecoveryGoalProfile}");
        var sd = (StructureDefinition)Assert.Single(Matches(byUrl)).Resource;
        var byVersion = await SearchAsync($"StructureDefinition?url={RecoveryGoalProfile}&version={sd.Version}");
        var byName = await SearchAsync($"StructureDefinition?name={sd.Name}");
        var valueSets = await SearchAsync("ValueSet?status=active&url=https://fhirrecovery.org/fhir/ValueSet/recovery-domain");
        var questionnaires = await SearchAsync("Questionnaire?_count=50");
        var read = await Client.GetAsync($"StructureDefinition/{sd.Id}");

        Assert.Single(Matches(byVersion));
        Assert.Contains(Matches(byName), e => e.Resource.Id == sd.Id);
        Assert.Single(Matches(valueSets));
        Assert.True(Matches(questionnaires).Count() >= 4);
        await read.AssertStatusAsync(HttpStatusCode.OK);
        foreach (var type in new[] { "CodeSystem", "ConceptMap", "SearchParameter", "ImplementationGuide" })
        {
            Assert.NotEmpty(Matches(await SearchAsync($"{type}?url:below=https://fhirrecovery.org/fhir")));
        }
    }

    [StoreFact]
    public async Task Compartment_search_of_every_type_finds_the_patients_resources()
    {
        var patient = await CreateAsync(Patient());
        var goal = await CreateAsync(Goal($"Patient/{patient}"));
        var observation = await CreateAsync(Observation($"Patient/{patient}"));

        var ids = Matches(await SearchAsync($"Patient/{patient}/*")).Select(e => e.Resource.Id).ToList();

        Assert.Contains(goal, ids);
        Assert.Contains(observation, ids);
    }
}

public sealed class SqliteSearchTests(SqliteServerFixture fixture) : SearchTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlSearchTests(PostgreSqlServerFixture fixture) : SearchTests(fixture), IClassFixture<PostgreSqlServerFixture>;
