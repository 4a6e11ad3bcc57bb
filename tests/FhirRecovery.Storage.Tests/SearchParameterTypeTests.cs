using FhirRecovery.Storage.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Tests;

/// <summary>Every parameter type with its modifiers and prefixes, each with matching and non-matching cases.</summary>
public abstract class SearchParameterTypeTests(IStoreProvider provider) : SearchTestBase(provider)
{
    // --- token ---

    [StoreFact]
    public async Task Token_matches_code_system_and_code_code_without_system_and_system_only()
    {
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", "lifecycle-status=active"));
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", "lifecycle-status=http://hl7.org/fhir/goal-status|active"));
        Assert.Empty(await IdsAsync("Goal", "lifecycle-status=http://other|active"));
        Assert.Empty(await IdsAsync("Goal", "lifecycle-status=|active")); // the code has a system
        Assert.Equal(["g1", "g2", "g3", "g4"], await IdsAsync("Goal", $"category={TestData.LifeDomain}|"));
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", $"category={TestData.RecoveryFramework}|"));
        Assert.Empty(await IdsAsync("Goal", "lifecycle-status=on-hold"));
        Assert.Equal(["p1"], await IdsAsync("Patient", "active=true"));
        Assert.Equal(["p2"], await IdsAsync("Patient", "active=false"));
        Assert.Equal(["p1"], await IdsAsync("Patient", "gender=female"));
    }

    [StoreFact]
    public async Task Token_without_system_in_the_data_matches_the_bar_form()
    {
        await CreateAsync(new Hl7.Fhir.Model.Basic { Id = "b1", Code = new Hl7.Fhir.Model.CodeableConcept { Coding = [new Hl7.Fhir.Model.Coding { Code = "plain" }] } });
        Assert.Equal(["b1"], await IdsAsync("Basic", "code=|plain"));
        Assert.Equal(["b1"], await IdsAsync("Basic", "code=plain"));
        Assert.Empty(await IdsAsync("Basic", "code=urn:x|plain"));
    }

    [StoreFact]
    public async Task Token_identifier_and_contact_point_values_are_searchable()
    {
        Assert.Equal(["p1"], await IdsAsync("Patient", $"identifier={Nin}|12345678901"));
        Assert.Equal(["p1"], await IdsAsync("Patient", "identifier=12345678901"));
        Assert.Empty(await IdsAsync("Patient", "identifier=urn:other|12345678901"));
        Assert.Equal(["p1"], await IdsAsync("Patient", "phone=%2B47 900 00 001"));
        Assert.Equal(["p1"], await IdsAsync("Patient", "telecom=phone|%2B47 900 00 001"));
    }

    [StoreFact]
    public async Task Token_not_excludes_matches_and_keeps_resources_without_a_value()
    {
        Assert.Equal(["g2", "g4"], await IdsAsync("Goal", "lifecycle-status:not=active"));
        Assert.Equal(["g4"], await IdsAsync("Goal", "lifecycle-status:not=active,completed"));
        Assert.Equal(["p2", "p3"], await IdsAsync("Patient", "gender:not=female"));
    }

    [StoreFact]
    public async Task Token_text_matches_display_and_text_words()
    {
        Assert.Equal(["p1"], await IdsAsync("Patient", "identifier:text=national"));
        Assert.Equal(["p1"], await IdsAsync("Patient", "identifier:text=UNIQUE"));
        Assert.Empty(await IdsAsync("Patient", "identifier:text=passport"));
        await CreateAsync(new Hl7.Fhir.Model.Condition
        {
            Id = "c1", Subject = new Hl7.Fhir.Model.ResourceReference("Patient/p1"),
            Code = new Hl7.Fhir.Model.CodeableConcept("http://snomed.info/sct", "370143000", "Major depressive disorder", "Depression"),
        });
        Assert.Equal(["c1"], await IdsAsync("Condition", "code:text=depress"));
        Assert.Equal(["c1"], await IdsAsync("Condition", "code:text=Major"));
        Assert.Equal(["c1"], await IdsAsync("Condition", "code:text=disorder"));
        Assert.Empty(await IdsAsync("Condition", "code:text=anxiety"));
        Assert.Empty(await IdsAsync("Condition", "code:text=order"));
    }

    [StoreFact]
    public async Task Token_of_type_matches_identifier_type_and_value()
    {
        Assert.Equal(["p1"], await IdsAsync("Patient", $"identifier:of-type={V2IdentifierType}|NI|12345678901"));
        Assert.Empty(await IdsAsync("Patient", $"identifier:of-type={V2IdentifierType}|SS|12345678901"));
        Assert.Equal(["p2"], await IdsAsync("Patient", $"identifier:of-type={V2IdentifierType}|SS|98765432109"));
    }

    [StoreFact]
    public async Task Token_in_and_not_in_use_the_value_set_expansion()
    {
        // recovery-domain: the four domains of the framework; goals are coded with themes below them.
        Assert.Equal(["g1", "g2", "g3", "g4"], await IdsAsync("Goal", "category:in=https://fhirrecovery.org/fhir/ValueSet/life-domain"));
        Assert.Empty(await IdsAsync("Goal", "category:in=https://fhirrecovery.org/fhir/ValueSet/recovery-domain"));
        Assert.Equal(["g1", "g2", "g3", "g4"], await IdsAsync("Goal", "category:not-in=https://fhirrecovery.org/fhir/ValueSet/recovery-domain"));
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", "lifecycle-status:in=http://hl7.org/fhir/ValueSet/goal-status&lifecycle-status:not=proposed&lifecycle-status:not=completed"));
    }

    [StoreFact]
    public async Task Token_below_and_above_walk_the_code_system_hierarchy()
    {
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", $"category:below={TestData.RecoveryFramework}|promoting-citizenship"));
        Assert.Equal(["g3"], await IdsAsync("Goal", $"recovery-theme:below={TestData.RecoveryFramework}|social-inclusion"));
        Assert.Empty(await IdsAsync("Goal", $"category:below={TestData.RecoveryFramework}|organisational-commitment"));
        // above: the data's code is an ancestor of (or equal to) the value.
        await CreateAsync(TestData.Goal("g9", "p3", categories: (TestData.RecoveryFramework, "promoting-citizenship")));
        Assert.Equal(["g3", "g9"], await IdsAsync("Goal", $"category:above={TestData.RecoveryFramework}|social-inclusion"));
        Assert.Empty(await IdsAsync("Goal", $"category:above={TestData.RecoveryFramework}|recovery-vision"));
    }

    [StoreFact]
    public async Task Ig_token_parameters_select_their_own_codings()
    {
        Assert.Equal(["g1"], await IdsAsync("Goal", "life-domain=work"));
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", "recovery-theme=" + TestData.RecoveryFramework + "|"));
        Assert.Empty(await IdsAsync("Goal", "recovery-domain=" + TestData.RecoveryFramework + "|"));
    }

    // --- string ---

    [StoreFact]
    public async Task String_matches_starts_with_ignoring_case_and_accents()
    {
        Assert.Equal(["p1"], await IdsAsync("Patient", "family=berg"));
        Assert.Equal(["p1"], await IdsAsync("Patient", "family=BE"));
        Assert.Equal(["p2"], await IdsAsync("Patient", "family=odegard"));
        Assert.Equal(["p2"], await IdsAsync("Patient", "name=ØDE"));
        Assert.Equal(["p3"], await IdsAsync("Patient", "given=emile"));
        Assert.Equal(["p1"], await IdsAsync("Patient", "address-city=tromso"));
        Assert.Empty(await IdsAsync("Patient", "family=erg"));
        Assert.Equal(["p1", "p2"], await IdsAsync("Patient", "name=ingrid,tom"));
    }

    [StoreFact]
    public async Task String_exact_is_case_and_accent_sensitive()
    {
        Assert.Equal(["p2"], await IdsAsync("Patient", "family:exact=Ødegård"));
        Assert.Empty(await IdsAsync("Patient", "family:exact=odegard"));
        Assert.Empty(await IdsAsync("Patient", "family:exact=Øde"));
        Assert.Equal(["o1"], await IdsAsync("Organization", "name:exact=Riverside CMHT"));
    }

    [StoreFact]
    public async Task String_contains_matches_anywhere()
    {
        Assert.Equal(["p2"], await IdsAsync("Patient", "family:contains=GÅR"));
        Assert.Equal(["o1", "o2"], await IdsAsync("Organization", "name:contains=side"));
        Assert.Empty(await IdsAsync("Organization", "name:contains=%25"));
        Assert.Empty(await IdsAsync("Organization", "name:contains=_"));
    }

    [StoreFact]
    public async Task String_values_with_escaped_commas_are_one_value()
    {
        await CreateAsync(new Hl7.Fhir.Model.Organization { Id = "o3", Name = "Peers, Carers and Friends" });
        Assert.Equal(["o3"], await IdsAsync("Organization", "name=peers\\, carers"));
        Assert.Empty(await IdsAsync("Organization", "name=carers"));
        Assert.Equal(["o2", "o3"], await IdsAsync("Organization", "name=north,peers\\,"));
    }

    // --- date ---

    [StoreFact]
    public async Task Date_eq_honours_the_precision_of_value_and_data()
    {
        Assert.Equal(["g1"], await IdsAsync("Goal", "start-date=2026-01-15"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "start-date=2026-01"));
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", "start-date=2026"));
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", "start-date=eq2026"));
        Assert.Empty(await IdsAsync("Goal", "start-date=2026-01-16"));
        // A day is not inside an hour: eq needs the value's range to contain the data's.
        Assert.Empty(await IdsAsync("Goal", "start-date=2026-01-15T10:00"));
        Assert.Equal(["p2"], await IdsAsync("Patient", "birthdate=1975"));
        Assert.Empty(await IdsAsync("Patient", "birthdate=1975-03")); // the data (a year) is wider than the value
    }

    [StoreFact]
    public async Task Date_prefixes_compare_ranges()
    {
        Assert.Equal(["g3"], await IdsAsync("Goal", "start-date=gt2026-01-15"));
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", "start-date=ge2026-01-15"));
        Assert.Equal(["g2"], await IdsAsync("Goal", "start-date=lt2026-01-15"));
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "start-date=le2026-01-15"));
        Assert.Equal(["g2", "g3"], await IdsAsync("Goal", "start-date=ne2026-01-15"));
        Assert.Equal(["g3"], await IdsAsync("Goal", "start-date=sa2026-01"));
        Assert.Equal(["g2"], await IdsAsync("Goal", "start-date=eb2026-01"));
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", "start-date=ge2026-01-01&start-date=le2026-02-28"));
    }

    [StoreFact]
    public async Task Date_times_with_zones_and_approximate_dates()
    {
        Assert.Equal(["ow1"], await IdsAsync("Observation", "date=2026-01-10T08:30:00Z"));
        Assert.Equal(["obp"], await IdsAsync("Observation", "date=2026-03-01T09:00:00Z"));
        Assert.Equal(["obp"], await IdsAsync("Observation", "date=2026-03-01T10:00:00%2B01:00"));
        Assert.Equal(["obp"], await IdsAsync("Observation", "date=2026-03-01T10:00:00 01:00")); // '+' decoded to a space
        Assert.Equal(["oh1", "ow1"], await IdsAsync("Observation", "date=2026-01-10"));
        Assert.Equal(["oh1", "ow1"], await IdsAsync("Observation", "date=ap2026-01-09"));
        Assert.Empty(await IdsAsync("Observation", "date=ap2020-01-01"));
    }

    [StoreFact]
    public async Task Date_periods_cover_their_whole_range()
    {
        await CreateAsync(new Hl7.Fhir.Model.Encounter
        {
            Id = "e1", Status = Hl7.Fhir.Model.Encounter.EncounterStatus.Finished, Class = new Hl7.Fhir.Model.Coding("urn:x", "AMB"),
            Period = new Hl7.Fhir.Model.Period { Start = "2026-02-01T10:00:00Z", End = "2026-02-03T10:00:00Z" },
        });
        await CreateAsync(new Hl7.Fhir.Model.Encounter
        {
            Id = "e2", Status = Hl7.Fhir.Model.Encounter.EncounterStatus.InProgress, Class = new Hl7.Fhir.Model.Coding("urn:x", "AMB"),
            Period = new Hl7.Fhir.Model.Period { Start = "2026-02-05" },
        });

        Assert.Equal(["e1"], await IdsAsync("Encounter", "date=2026-02"));
        Assert.Equal(["e1", "e2"], await IdsAsync("Encounter", "date=gt2026-02-02"));
        Assert.Equal(["e2"], await IdsAsync("Encounter", "date=sa2026-02-04"));
        Assert.Equal(["e2"], await IdsAsync("Encounter", "date=gt2030-01-01")); // open end: still going on
        Assert.Equal(["e1"], await IdsAsync("Encounter", "date=eb2026-02-04"));
    }

    // --- number ---

    [StoreFact]
    public async Task Number_eq_uses_the_precision_of_the_value_and_prefixes_compare()
    {
        Assert.Equal(["g1"], await IdsAsync("Goal", "attainment-level=3"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "attainment-level=3.0"));
        Assert.Empty(await IdsAsync("Goal", "attainment-level=3.6"));
        Assert.Empty(await IdsAsync("Goal", "attainment-level=3.4")); // [3.35, 3.45) does not hold 3
        Assert.Equal(["g2"], await IdsAsync("Goal", "attainment-level=5e0"));
    }

    [StoreFact]
    public async Task Number_prefixes()
    {
        Assert.Equal(["g2"], await IdsAsync("Goal", "attainment-level=gt3"));
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "attainment-level=ge3"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "attainment-level=lt5"));
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "attainment-level=le5"));
        Assert.Equal(["g2"], await IdsAsync("Goal", "attainment-level=ne3"));
        Assert.Equal(["g2"], await IdsAsync("Goal", "attainment-level=ap5.4"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "attainment-level=0.3e1"));
        Assert.Empty(await IdsAsync("Goal", "attainment-level=gt5"));
    }

    // --- quantity ---

    [StoreFact]
    public async Task Quantity_matches_value_with_system_and_code_or_unit()
    {
        Assert.Equal(["ow1"], await IdsAsync("Observation", $"value-quantity=72.5|{TestData.Ucum}|kg"));
        Assert.Equal(["ow1"], await IdsAsync("Observation", "value-quantity=72.5||kg"));
        Assert.Equal(["ow1"], await IdsAsync("Observation", "value-quantity=72.5"));
        Assert.Empty(await IdsAsync("Observation", $"value-quantity=72.5|{TestData.Ucum}|g"));
        Assert.Equal(["ow2"], await IdsAsync("Observation", "value-quantity=gt80||kg"));
        Assert.Equal(["oh1", "ow2"], await IdsAsync("Observation", "value-quantity=gt80"));
        Assert.Equal(["ow1", "ow2"], await IdsAsync("Observation", "value-quantity=le90||kg"));
        Assert.Equal(["ow1"], await IdsAsync("Observation", "value-quantity=ap70||kg"));
        Assert.Empty(await IdsAsync("Observation", "value-quantity=72"));
    }

    // --- reference ---

    [StoreFact]
    public async Task Reference_matches_type_and_id_bare_id_and_type_modifier()
    {
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "patient=Patient/p1"));
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "patient=p1"));
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "subject:Patient=p1"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "expressed-by=Patient/p1"));
        Assert.Equal(["g3"], await IdsAsync("Goal", "expressed-by:Practitioner=pr1"));
        Assert.Empty(await IdsAsync("Goal", "expressed-by:Practitioner=p1"));
        Assert.Empty(await IdsAsync("Goal", "patient=Patient/p9"));
        Assert.Equal(["g1", "g2", "g3"], await IdsAsync("Goal", "patient=p1,Patient/p2&lifecycle-status=active,completed"));
    }

    [StoreFact]
    public async Task Reference_matches_canonical_urls_with_and_without_version()
    {
        Assert.Equal(["qr1"], await IdsAsync("QuestionnaireResponse", $"questionnaire={GoalSettingUrl}"));
        Assert.Equal(["qr1"], await IdsAsync("QuestionnaireResponse", $"questionnaire={GoalSettingUrl}|1.0"));
        Assert.Empty(await IdsAsync("QuestionnaireResponse", $"questionnaire={GoalSettingUrl}|2.0"));
        Assert.Equal(["qr2"], await IdsAsync("QuestionnaireResponse", $"questionnaire={CheckInUrl}"));
    }

    [StoreFact]
    public async Task Reference_identifier_modifier_and_absolute_urls()
    {
        await CreateAsync(new Hl7.Fhir.Model.Goal
        {
            Id = "gx", LifecycleStatus = Hl7.Fhir.Model.Goal.GoalLifecycleStatus.Active, Description = new Hl7.Fhir.Model.CodeableConcept { Text = "x" },
            Subject = new Hl7.Fhir.Model.ResourceReference { Identifier = new Hl7.Fhir.Model.Identifier(Nin, "55555555555") },
            ExpressedBy = new Hl7.Fhir.Model.ResourceReference("https://other.example/fhir/Patient/42"),
        });

        Assert.Equal(["gx"], await IdsAsync("Goal", $"subject:identifier={Nin}|55555555555"));
        Assert.Equal(["gx"], await IdsAsync("Goal", "subject:identifier=55555555555"));
        Assert.Empty(await IdsAsync("Goal", "subject:identifier=urn:x|55555555555"));
        Assert.Equal(["gx"], await IdsAsync("Goal", "expressed-by=https://other.example/fhir/Patient/42"));
        Assert.Empty(await IdsAsync("Goal", "expressed-by=Patient/42")); // another server's patient is not ours
    }

    [StoreFact]
    public async Task Ig_reference_parameters_work()
    {
        Assert.Equal(["qr1"], await IdsAsync("QuestionnaireResponse", "goal=Goal/g1"));
        Assert.Equal(["sr2"], await IdsAsync("ServiceRequest", "supporting-goal=g3"));
        Assert.Equal(["t1"], await IdsAsync("Task", "referral=ServiceRequest/sr1"));
    }

    // --- uri ---

    [StoreFact]
    public async Task Uri_matches_exactly_below_and_above()
    {
        Assert.Equal(["q1"], await IdsAsync("Questionnaire", $"url={GoalSettingUrl}"));
        Assert.Empty(await IdsAsync("Questionnaire", "url=https://fhirrecovery.org/fhir/Questionnaire"));
        Assert.Equal(["q1", "q2"], await IdsAsync("Questionnaire", "url:below=https://fhirrecovery.org/fhir/Questionnaire/"));
        Assert.Empty(await IdsAsync("Questionnaire", "url:below=https://other.org/"));
        Assert.Equal(["q1"], await IdsAsync("Questionnaire", $"url:above={GoalSettingUrl}/extra/path"));
        Assert.Empty(await IdsAsync("Questionnaire", "url:above=https://fhirrecovery.org/fhir/"));
    }

    // --- composite ---

    [StoreFact]
    public async Task Composite_matches_components_of_the_same_value_only()
    {
        Assert.Equal(["ow1"], await IdsAsync("Observation", $"code-value-quantity={TestData.Loinc}|29463-7$72.5|{TestData.Ucum}|kg"));
        Assert.Equal(["ow2"], await IdsAsync("Observation", "code-value-quantity=29463-7$gt80"));
        Assert.Empty(await IdsAsync("Observation", "code-value-quantity=8302-2$lt100"));
        Assert.Equal(["obp"], await IdsAsync("Observation", $"component-code-value-quantity={TestData.Loinc}|8480-6$gt100"));
        // 8462-4 is 80: the 120 of the other component must not pair with it.
        Assert.Empty(await IdsAsync("Observation", "component-code-value-quantity=8462-4$gt100"));
        Assert.Equal(["obp"], await IdsAsync("Observation", "component-code-value-quantity=8462-4$80,8480-6$lt10"));
        Assert.Empty(await IdsAsync("Observation", "component-code-value-quantity=8462-4$81,8480-6$lt10"));
    }

    // --- :missing, special parameters ---

    [StoreFact]
    public async Task Missing_true_and_false()
    {
        Assert.Equal(["p3"], await IdsAsync("Patient", "birthdate:missing=true"));
        Assert.Equal(["p1", "p2"], await IdsAsync("Patient", "birthdate:missing=false"));
        Assert.Equal(["g4"], await IdsAsync("Goal", "start-date:missing=true"));
        Assert.Equal(["g2", "g4"], await IdsAsync("Goal", "expressed-by:missing=true"));
        Assert.Equal(["g1", "g2", "g3", "g4"], await IdsAsync("Goal", "category:missing=false"));
        Assert.Equal(["obp"], await IdsAsync("Observation", "value-quantity:missing=true"));
        Assert.Equal(["oh1", "ow1", "ow2"], await IdsAsync("Observation", "code-value-quantity:missing=false"));
        Assert.Empty(await IdsAsync("Goal", "_id:missing=true"));
    }

    [StoreFact]
    public async Task Id_and_meta_parameters()
    {
        Assert.Equal(["g1", "g3"], await IdsAsync("Goal", "_id=g1,g3"));
        Assert.Equal(["g2", "g4"], await IdsAsync("Goal", "_id:not=g1,g3"));
        Assert.Empty(await IdsAsync("Goal", "_id=p1"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "_tag=urn:test|alpha"));
        Assert.Equal(["g1", "g2"], await IdsAsync("Goal", "_tag=urn:test|"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "_security=R"));
        Assert.Equal(["g1"], await IdsAsync("Goal", $"_profile={RecoveryGoalProfile}"));
        Assert.Equal(["g1"], await IdsAsync("Goal", "_source=urn:source:app1"));
        Assert.Empty(await IdsAsync("Goal", "_source=urn:source:app2"));
    }

    [StoreFact]
    public async Task Last_updated_compares_instants()
    {
        Clock.Advance(TimeSpan.FromHours(2));
        await CreateAsync(TestData.Goal("late", "p1"));

        Assert.Equal(["late"], await IdsAsync("Goal", "_lastUpdated=gt2026-03-10T13:00:00Z"));
        Assert.Equal(["g1", "g2", "g3", "g4"], await IdsAsync("Goal", "_lastUpdated=lt2026-03-10T13:00:00Z"));
        Assert.Equal(5, (await IdsAsync("Goal", "_lastUpdated=2026-03-10")).Length);
        Assert.Equal(["late"], await IdsAsync("Goal", "_lastUpdated=2026-03-10T14:00"));
        Assert.Empty(await IdsAsync("Goal", "_lastUpdated=lt2026-03-10"));
    }

    [StoreFact]
    public async Task Repeated_parameters_are_anded_and_commas_are_ored()
    {
        Assert.Equal(["g1"], await IdsAsync("Goal", "category=work&category=meaningful-occupation"));
        Assert.Empty(await IdsAsync("Goal", "category=work&category=housing"));
        Assert.Equal(["g1", "g4"], await IdsAsync("Goal", "category=work,housing"));
    }
}

public sealed class SqliteSearchParameterTypeTests() : SearchParameterTypeTests(new SqliteStoreProvider());

[Collection(PostgresCollection.Name)]
public sealed class PostgresSearchParameterTypeTests(PostgresServerFixture server) : SearchParameterTypeTests(new PostgresStoreProvider(server)), IPostgresTests;
