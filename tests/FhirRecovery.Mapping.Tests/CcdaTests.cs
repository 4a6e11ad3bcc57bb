using FhirRecovery.Mapping.Ccda;
using Hl7.Fhir.Model;
using static FhirRecovery.Mapping.Tests.Shared;

namespace FhirRecovery.Mapping.Tests;

public class CcdaTests
{
    private static ConversionResult Import(string xml, string ehr = "northwind") => Mapper.Convert(xml, SourceFormat.Ccda, ehr);

    [Fact]
    public void Goals_section_entries_become_recovery_goals_with_text_dates_status_author_concerns_priority()
    {
        var result = Import(Sample("northwind", "ccda", "goals-marisol-delgado.xml"));
        var goals = result.All<Goal>().ToList();
        Assert.Equal(3, goals.Count);
        var walk = goals.Single(g => g.Identifier[0].Value == "G-448812-1");
        Assert.Equal("Join a walking group twice a week so that I meet people outside work.", walk.Description.Text);
        Assert.Equal("2026-03-09", ((Date)walk.Start).Value);
        Assert.Equal("2026-06-09", ((Date)walk.Target[0].Due).Value);
        Assert.Equal(Goal.GoalLifecycleStatus.Active, walk.LifecycleStatus);
        Assert.Equal(walk.Subject.Reference, walk.ExpressedBy.Reference);
        Assert.Equal("high-priority", walk.Priority.Coding[0].Code);
        Assert.Contains(walk.Meta.Tag, t => t.Code == MappingTags.ClassifierSuggested);
        Assert.All(walk.Category.SelectMany(c => c.Coding), c => Assert.False(c.UserSelected));

        var work = goals.Single(g => g.Identifier[0].Value == "G-448812-2");
        var author = result.All<Practitioner>().Single();
        Assert.Equal(result.Bundle.Entry.Single(e => e.Resource == author).FullUrl, work.ExpressedBy.Reference);
        Assert.Equal("Okafor", author.Name[0].Family);
        Assert.Contains(work.Category.SelectMany(c => c.Coding), c => c.System == RecoveryCanonicals.LifeDomain && c.Code == "work");
        Assert.Contains(work.Category.SelectMany(c => c.Coding), c => c.Code == "meaningful-occupation");
        Assert.Contains(work.Category.SelectMany(c => c.Coding), c => c.Code == "promoting-citizenship");
        Assert.Contains(work.Meta.Tag, t => t.Code == MappingTags.ConceptMapped);
        var concern = result.All<Condition>().Single();
        Assert.Equal(result.Bundle.Entry.Single(e => e.Resource == concern).FullUrl, work.Addresses[0].Reference);
        Assert.Equal("73438004", concern.Code.Coding[0].Code);

        Assert.Equal(Goal.GoalLifecycleStatus.Completed, goals.Single(g => g.Identifier[0].Value == "G-448812-3").LifecycleStatus);
    }

    [Theory]
    [InlineData("northwind", "goals-marisol-delgado.xml")]
    [InlineData("fjordline", "plan-oystein-bakke.xml")]
    public void Every_imported_resource_validates(string ehr, string file)
    {
        foreach (var resource in Materialize(Import(Sample(ehr, "ccda", file), ehr).Bundle))
        {
            AssertValid(Engine, resource, $"{file}: ");
        }
    }

    [Fact]
    public void Plan_of_treatment_goals_without_an_author_take_the_documents_author()
    {
        var result = Import(Sample("fjordline", "ccda", "plan-oystein-bakke.xml"), "fjordline");
        var goals = result.All<Goal>().ToList();
        Assert.Equal(2, goals.Count);
        var second = goals.Single(g => g.Identifier[0].Value == "MAAL-55310-2");
        var nurse = result.Bundle.Entry.Single(e => e.Resource is Practitioner);
        Assert.Equal(nurse.FullUrl, second.ExpressedBy.Reference);
        Assert.StartsWith("Tilbake i jobb", second.Description.Text);
        Assert.Contains(goals[0].Category.SelectMany(c => c.Coding), c => c.Code == "connectedness");
    }

    [Theory]
    [InlineData("northwind", "goals-marisol-delgado.xml")]
    [InlineData("fjordline", "plan-oystein-bakke.xml")]
    public void Round_trip_CCDA_to_FHIR_to_CCDA_keeps_text_dates_status_and_author(string ehr, string file)
    {
        var first = Import(Sample(ehr, "ccda", file), ehr);
        var resources = Materialize(first.Bundle);
        var byRef = resources.ToDictionary(r => $"{r.TypeName}/{r.Id}");
        var xml = CcdaGoalsExporter.Export(resources.OfType<Patient>().Single(), resources.OfType<Goal>().ToList(),
            r => r?.Reference is { } reference && byRef.TryGetValue(reference, out var found) ? found : null, DateTimeOffset.Parse("2026-05-01T10:00:00Z"), Guid.Parse("6b8f0e0a-8f51-4a4b-9c61-3d2d8d0c1e11"));
        var again = Import(xml, ehr);
        Assert.Equal(first.All<Goal>().Count(), again.All<Goal>().Count());
        foreach (var goal in first.All<Goal>())
        {
            var back = again.All<Goal>().Single(g => g.Identifier[0].Value == goal.Identifier[0].Value && g.Identifier[0].System == goal.Identifier[0].System);
            Assert.Equal(goal.Description.Text, back.Description.Text);
            Assert.Equal((goal.Start as Date)?.Value, (back.Start as Date)?.Value);
            Assert.Equal((goal.Target.FirstOrDefault()?.Due as Date)?.Value, (back.Target.FirstOrDefault()?.Due as Date)?.Value);
            Assert.Equal(goal.LifecycleStatus, back.LifecycleStatus);
            Assert.Equal(Author(first, goal), Author(again, back));
        }
    }

    private static string Author(ConversionResult result, Goal goal)
    {
        var author = result.Bundle.Entry.Single(e => e.FullUrl == goal.ExpressedBy.Reference).Resource;
        var ids = author is Patient p ? p.Identifier : ((Practitioner)author).Identifier;
        return $"{author.TypeName}:{ids[0].System}|{ids[0].Value}";
    }

    [Theory]
    [InlineData("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><recordTarget>", "line")]
    [InlineData("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><ClinicalDocument xmlns=\"urn:hl7-org:v3\">&e;</ClinicalDocument>", "DTD")]
    [InlineData("<Document/>", "ClinicalDocument")]
    [InlineData("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>", "recordTarget")]
    [InlineData("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><recordTarget><patientRole><id root=\"1.2.3\" extension=\"x\"/></patientRole></recordTarget></ClinicalDocument>", "Goals Section")]
    public void Malformed_or_hostile_documents_are_refused_naming_the_place(string xml, string mentions)
    {
        var ex = Assert.Throws<MappingException>(() => Import(xml));
        Assert.Contains(mentions, ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.NotEmpty(ex.Issues[0].Expression);
    }

    [Fact]
    public void A_goal_without_text_is_refused_with_its_path()
    {
        var xml = Sample("northwind", "ccda", "goals-marisol-delgado.xml")
            .Replace("<text><reference value=\"#goal-choir\"/></text>", "")
            .Replace("<code code=\"HOBBY\" codeSystem=\"2.25.277313207787402126864354065076100998232.20\" displayName=\"Hobbies\"/>", "<code nullFlavor=\"OTH\"/>");
        var ex = Assert.Throws<MappingException>(() => Import(xml));
        Assert.Contains("entry[3]/observation", ex.Issues[0].Expression.First());
    }
}
