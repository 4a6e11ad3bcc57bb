using FhirRecovery.Storage.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Tests;

/// <summary>Chains, reverse chains, includes, system search and compartments (with their confinement).</summary>
public abstract class SearchGraphTests(IStoreProvider provider) : SearchTestBase(provider)
{
    private static readonly CompartmentScope Ingrid = new("Patient", "p1");

    [StoreFact]
    public async Task Chains_follow_references_to_the_target_type()
    {
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "patient.name=ingrid"));
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "subject:Patient.family=berg"));
        Assert.Equal(["g3", "g4"], await IdsAsync("Goal", "patient.identifier=98765432109"));
        Assert.Empty(await IdsAsync("Goal", "patient.name=nobody"));
        Assert.Equal(["g3"], await IdsAsync("Goal", "expressed-by:Practitioner.name=helle"));
        Assert.Equal(["g3", "g4"], await IdsAsync("Goal", "patient.birthdate=lt1979"));
    }

    [StoreFact]
    public async Task Chains_go_several_levels_deep()
    {
        Assert.Equal(["t1"], await IdsAsync("Task", "referral.patient.name=ingrid"));
        Assert.Equal(["t2"], await IdsAsync("Task", "focus:ServiceRequest.patient.organization.name=northside"));
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "patient.organization.name=riverside"));
        Assert.Equal(["qr1"], await IdsAsync("QuestionnaireResponse", "goal.patient.general-practitioner.name=dahl"));
    }

    [StoreFact]
    public async Task Reverse_chains_find_resources_referred_to_by_matching_ones()
    {
        Assert.Equal(["p1"], await IdsAsync("Patient", "_has:Observation:patient:code=8302-2"));
        Assert.Equal(["p1", "p2"], await IdsAsync("Patient", "_has:Observation:patient:code=29463-7"));
        Assert.Equal(["p2"], await IdsAsync("Patient", "_has:Goal:patient:lifecycle-status=proposed"));
        Assert.Empty(await IdsAsync("Patient", "_has:Goal:patient:lifecycle-status=cancelled"));
        Assert.Equal(["g3"], await IdsAsync("Goal", "_has:ServiceRequest:supporting-goal:status=completed"));
    }

    [StoreFact]
    public async Task Reverse_chains_nest_and_combine_with_chains()
    {
        Assert.Equal(["p2"], await IdsAsync("Patient", "_has:Goal:patient:_has:ServiceRequest:supporting-goal:status=completed"));
        Assert.Equal(["p1"], await IdsAsync("Patient", "_has:Task:patient:focus:ServiceRequest.status=active"));
        Assert.Equal(["sr1"], await IdsAsync("ServiceRequest", "_has:Task:focus:status=requested"));
    }

    [StoreFact]
    public async Task Include_adds_the_referenced_resources()
    {
        var result = await SearchAsync("Goal", "lifecycle-status=active&_include=Goal:patient");
        Assert.Equal(["g1", "g3"], Ids(result.Matches));
        Assert.Equal(["p1", "p2"], Ids(result.Included));

        var typed = await SearchAsync("Goal", "_id=g1,g3&_include=Goal:expressed-by:Practitioner");
        Assert.Equal(["pr1"], Ids(typed.Included));

        var all = await SearchAsync("Goal", "_id=g3&_include=*");
        Assert.Equal(["p2", "pr1"], Ids(all.Included));
    }

    [StoreFact]
    public async Task Revinclude_adds_the_resources_that_refer_to_the_matches()
    {
        var result = await SearchAsync("Patient", "_id=p1&_revinclude=Goal:patient&_revinclude=Observation:subject");
        Assert.Equal(["p1"], Ids(result.Matches));
        Assert.Equal(["g1", "g2", "obp", "oh1", "ow1"], Ids(result.Included));

        var none = await SearchAsync("Patient", "_id=p3&_revinclude=Goal:patient");
        Assert.Empty(none.Included);
    }

    [StoreFact]
    public async Task Iterate_follows_includes_of_included_resources()
    {
        var once = await SearchAsync("QuestionnaireResponse", "_id=qr1&_include=QuestionnaireResponse:goal&_include=Goal:patient");
        Assert.Equal(["g1"], Ids(once.Included)); // Goal:patient applies to matches only

        var iterated = await SearchAsync("QuestionnaireResponse", "_id=qr1&_include=QuestionnaireResponse:goal&_include:iterate=Goal:patient&_include:iterate=Patient:organization");
        Assert.Equal(["g1", "o1", "p1"], Ids(iterated.Included));

        var reverse = await SearchAsync("Patient", "_id=p2&_revinclude=ServiceRequest:subject&_revinclude:iterate=Task:focus");
        Assert.Equal(["sr2", "t2"], Ids(reverse.Included));
    }

    [StoreFact]
    public async Task Includes_stop_at_the_configured_limit_and_say_so()
    {
        await using var limited = await Provider.CreateAsync(configure: o => o.MaxIncludeCount = 2);
        await using (var session = await limited.Store.BeginAsync())
        {
            await session.CreateAsync(TestData.Patient("p1", "Berg", "Ingrid"));
            for (var i = 0; i < 5; i++)
            {
                await session.CreateAsync(TestData.Goal($"g{i}", "p1"));
            }

            await session.CommitAsync();
        }

        var result = await limited.Store.SearchAsync(new SearchRequest { ResourceType = "Patient", Parameters = Query("_revinclude=Goal:patient") });
        Assert.Equal(2, result.Included.Count);
        Assert.Contains(result.Issues, i => i.Parameter == "_revinclude" && i.Message.Contains("2"));
    }

    [StoreFact]
    public async Task System_search_with_type_and_common_parameters()
    {
        Assert.Equal(["g1", "g2", "g3", "g4", "p1", "p2", "p3"], await IdsAsync(null, "_type=Patient,Goal"));
        Assert.Equal(["g1", "g2"], await IdsAsync(null, "_tag=urn:test|"));
        Assert.Equal(["g1", "obp", "oh1", "ow1"], await IdsAsync(null, "_type=Goal,Observation&patient=p1&_id=g1,obp,oh1,ow1"));
        Assert.Equal(["g1", "g2", "obp", "oh1", "ow1"], await IdsAsync(null, "_type=Goal,Observation&patient=p1"));
    }

    [StoreFact]
    public async Task Compartment_search_returns_only_the_patients_resources()
    {
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "", Ingrid));
        Assert.Equal(["g1"], await IdsAsync("Goal", "lifecycle-status=active", Ingrid));
        Assert.Equal(["obp", "oh1", "ow1"], await IdsAsync("Observation", "", Ingrid));
        Assert.Equal(["t1"], await IdsAsync("Task", "", Ingrid));
        Assert.Equal(["p1"], await IdsAsync("Patient", "", Ingrid));
        Assert.Empty(await IdsAsync("Organization", "", Ingrid)); // not a member type
        Assert.Empty(await IdsAsync("Goal", "_id=g3", Ingrid));
        Assert.Equal(["g1", "g2", "obp", "oh1", "ow1", "p1", "qr1", "sr1", "t1"], await IdsAsync(null, "", Ingrid));
    }

    [StoreFact]
    public async Task Compartment_confines_includes_and_revincludes()
    {
        // g1 refers to p1 (in) and, through expressed-by, to nothing else; g3 is not visible at all.
        var goals = await SearchAsync("Goal", "_include=*&_revinclude=ServiceRequest:supporting-goal", compartment: Ingrid);
        Assert.Equal(["g1", "g2"], Ids(goals.Matches));
        Assert.Equal(["p1", "sr1"], Ids(goals.Included));

        // Another patient's goal pointing at Ingrid's referral must not come back through _revinclude.
        await CreateAsync(new ServiceRequest
        {
            Id = "sr-tom", Status = RequestStatus.Active, Intent = RequestIntent.Order,
            Subject = new ResourceReference("Patient/p2"), SupportingInfo = [new ResourceReference("Goal/g1")],
        });
        var leak = await SearchAsync("Goal", "_id=g1&_revinclude=ServiceRequest:supporting-goal", compartment: Ingrid);
        Assert.Equal(["sr1"], Ids(leak.Included));
        var outside = await SearchAsync("Goal", "_id=g1&_revinclude=ServiceRequest:supporting-goal");
        Assert.Equal(["sr-tom", "sr1"], Ids(outside.Included));

        // Patient.generalPractitioner leads out of the compartment: the Practitioner is not included.
        var patient = await SearchAsync("Patient", "_include=Patient:general-practitioner&_include=Patient:organization", compartment: Ingrid);
        Assert.Equal(["p1"], Ids(patient.Matches));
        Assert.Empty(patient.Included);
    }

    [StoreFact]
    public async Task Compartment_confines_chains_and_reverse_chains()
    {
        // Ingrid's task refers to Ingrid's referral: fine. A chain cannot test another patient's data.
        Assert.Equal(["t1"], await IdsAsync("Task", "focus:ServiceRequest.status=active", Ingrid));
        await CreateAsync(new Hl7.Fhir.Model.Task
        {
            Id = "t-cross", Status = Hl7.Fhir.Model.Task.TaskStatus.Requested, Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            For = new ResourceReference("Patient/p1"), Focus = new ResourceReference("ServiceRequest/sr2"),
        });
        Assert.Equal(["t-cross", "t2"], await IdsAsync("Task", "focus:ServiceRequest.status=completed"));
        Assert.Empty(await IdsAsync("Task", "focus:ServiceRequest.status=completed", Ingrid));

        // _has through another patient's resources finds nothing.
        await CreateAsync(new Observation
        {
            Id = "o-cross", Status = ObservationStatus.Final, Code = new CodeableConcept(TestData.Loinc, "1234-5"),
            Subject = new ResourceReference("Patient/p2"), Focus = [new ResourceReference("Goal/g1")],
        });
        Assert.Equal(["g1"], await IdsAsync("Goal", "_has:Observation:focus:code=1234-5"));
        Assert.Empty(await IdsAsync("Goal", "_has:Observation:focus:code=1234-5", Ingrid));
        Assert.Equal(["p1"], await IdsAsync("Patient", "_has:Observation:patient:code=8302-2", Ingrid));
        Assert.Empty(await IdsAsync("Patient", "_has:Observation:patient:code=8302-2", new CompartmentScope("Patient", "p2")));
    }

    [StoreFact]
    public async Task Unknown_compartment_types_are_refused()
    {
        var error = await Assert.ThrowsAsync<SearchException>(() => SearchAsync("Goal", "", compartment: new CompartmentScope("Goal", "g1")));
        Assert.Equal("compartment", error.Parameter);
    }
}

public sealed class SqliteSearchGraphTests() : SearchGraphTests(new SqliteStoreProvider());

[Collection(PostgresCollection.Name)]
public sealed class PostgresSearchGraphTests(PostgresServerFixture server) : SearchGraphTests(new PostgresStoreProvider(server)), IPostgresTests;
