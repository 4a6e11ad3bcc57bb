using FhirRecovery.Conformance.Questionnaires;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using static FhirRecovery.Conformance.Tests.Questionnaires.QuestionnaireFixtures;

namespace FhirRecovery.Conformance.Tests.Questionnaires;

/// <summary>The questionnaires shipped in profiles/questionnaires/: valid, self-consistent, and without copyrighted wording.</summary>
public sealed class ShippedQuestionnaireTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.Profiles, "questionnaires"), "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    private static Questionnaire Read(string file) =>
        new FhirJsonDeserializer().Deserialize<Questionnaire>(File.ReadAllText(Path.Combine(TestPaths.Profiles, "questionnaires", file)));

    [Theory]
    [MemberData(nameof(Files))]
    public void Questionnaire_validates_against_recovery_questionnaire_without_errors(string file)
    {
        var result = SharedDefinitions.Validator.Validate(File.ReadAllBytes(Path.Combine(TestPaths.Profiles, "questionnaires", file)));

        var errors = result.Issues.Where(i => i.IsError).ToList();
        Assert.True(errors.Count == 0, $"{file}:\n{Show(errors)}");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Questionnaire_expressions_compile_and_linkIds_are_unique(string file)
    {
        var definition = QuestionnaireDefinition.For(Read(file));

        Assert.True(definition.Problems.Count == 0, string.Join("\n", definition.Problems));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_score_is_readOnly_coded_and_extracted_and_every_scored_option_has_an_ordinalValue(string file)
    {
        var definition = QuestionnaireDefinition.For(Read(file));

        foreach (var item in definition.AllItems.Where(i => i.Calculated is not null))
        {
            Assert.True(item.ReadOnly, $"{item.LinkId} is calculated but not readOnly");
            Assert.NotEmpty(item.Item.Code);
            Assert.True(item.ObservationExtract, $"{item.LinkId} is a score but is not extracted");
        }

        foreach (var item in definition.AllItems.Where(i => i.Options.Any(o => o.Value is Coding { System: AgreementScale })))
        {
            Assert.All(item.Options, o => Assert.NotNull(QuestionnaireDefinition.WeightOf(o)));
        }
    }

    [Fact]
    public void The_guide_ships_the_questionnaires_issue_6_asks_for()
    {
        var ids = Directory.EnumerateFiles(Path.Combine(TestPaths.Profiles, "questionnaires"), "*.json").Select(f => Read(Path.GetFileName(f)).Id).ToHashSet();

        Assert.Superset(new HashSet<string?> { "recovery-goal-setting", "recovery-goal-review", "peer-support-preferences", "qpr-15", "chime-recovery-processes", "recovery-self-assessment" }, ids);
        var qpr = Definition(Qpr15);
        Assert.Equal(15, qpr.AllItems.Count(i => i.LinkId.StartsWith("qpr-", StringComparison.Ordinal)));
        Assert.All(qpr.AllItems.Where(i => i.LinkId.StartsWith("qpr-", StringComparison.Ordinal)), i => Assert.Equal([0m, 1m, 2m, 3m, 4m], i.Options.Select(QuestionnaireDefinition.WeightOf)));
        var chime = Definition(Chime);
        Assert.Equal(["connectedness", "hope-and-optimism", "identity", "meaning-in-life", "empowerment"],
            chime.AllItems.Where(i => i.LinkId.StartsWith("chime-", StringComparison.Ordinal)).Select(i => i.LinkId["chime-".Length..]));
    }

    [Fact]
    public void The_self_assessment_covers_all_16_themes_of_the_recovery_framework_once()
    {
        var framework = SharedDefinitions.Resolver.FindCodeSystem($"{IgBase}/CodeSystem/recovery-framework")!;
        var themes = framework.Concept.SelectMany(domain => domain.Concept.Select(theme => (Domain: domain.Code, Theme: theme.Code))).ToList();
        var assessment = Definition(SelfAssessment);

        Assert.Equal(16, themes.Count);
        foreach (var (domain, theme) in themes)
        {
            var item = assessment.Find($"theme-{theme}");
            Assert.NotNull(item);
            Assert.Equal(domain, item!.Parent!.LinkId);
            Assert.Contains(item.Item.Code, c => c.Code == theme);
        }
    }

    [Fact]
    public void Measures_state_copyright_and_carry_no_licensed_QPR_wording()
    {
        foreach (var canonical in new[] { Qpr15, Chime, SelfAssessment })
        {
            Assert.False(string.IsNullOrWhiteSpace(Questionnaire(canonical).Copyright));
        }

        // The QPR items are placeholders: the licensed statements are loaded locally, never shipped.
        Assert.All(Definition(Qpr15).AllItems.Where(i => i.LinkId.StartsWith("qpr-", StringComparison.Ordinal)),
            i => Assert.Contains("licensed wording not distributed", i.Item.Text));
    }
}
