using Hl7.Fhir.Model;

namespace FhirRecovery.Samples.Tests;

/// <summary>
/// Responses checked against the structure of their Questionnaire (profiles/questionnaires/): the profile validator
/// checks the QuestionnaireResponse resource, these checks what SDC calls response validation.
/// </summary>
public class QuestionnaireResponseTests
{
    private static readonly Dictionary<string, Questionnaire> Questionnaires = Directory
        .EnumerateFiles(TestPaths.Questionnaires, "*.json")
        .Select(f => SampleJson.Parse<Questionnaire>(File.ReadAllText(f)))
        .ToDictionary(q => $"{q.Url}|{q.Version}", StringComparer.Ordinal);

    [Fact]
    public void The_generator_answers_every_questionnaire_of_the_ig()
    {
        Assert.Equal(Questionnaires.Keys.Order(StringComparer.Ordinal), Ig.Questionnaires.All.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_response_fits_its_questionnaire()
    {
        var responses = SampleGenerator.Patients(new SampleRequest { Patients = 10, Seed = 21 })
            .SelectMany(p => p.Versions).OfType<QuestionnaireResponse>().ToList();

        Assert.Equal(Ig.Questionnaires.All.Order(), responses.Select(r => r.Questionnaire).Distinct().Order());
        var problems = responses.SelectMany(r => Check(r).Select(p => $"QuestionnaireResponse/{r.Id}: {p}")).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(40)));
    }

    [Fact]
    public void The_checker_finds_a_wrong_answer()
    {
        var response = SampleGenerator.Patients(new SampleRequest { Patients = 1, Seed = 21 })
            .SelectMany(p => p.Versions).OfType<QuestionnaireResponse>().First(r => r.Questionnaire == Ig.Questionnaires.Qpr15);
        var broken = (QuestionnaireResponse)response.DeepCopy();
        broken.Item[0].Item[0].Answer[0].Value = new Coding(Ig.Systems.AgreementScale, "maybe");
        broken.Item[0].Item.Add(new QuestionnaireResponse.ItemComponent { LinkId = "qpr-16" });
        broken.Item[1].Answer[0].Value = new FhirString("12");

        var problems = Check(broken);

        Assert.Contains(problems, p => p.Contains("qpr-01", StringComparison.Ordinal) && p.Contains("answer option", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("qpr-16", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("total", StringComparison.Ordinal));
    }

    [Fact]
    public void Qpr_totals_are_the_sum_of_the_item_scores()
    {
        var responses = SampleGenerator.Patients(new SampleRequest { Patients = 10, Seed = 22 })
            .SelectMany(p => p.Versions).OfType<QuestionnaireResponse>().Where(r => r.Questionnaire == Ig.Questionnaires.Qpr15).ToList();
        var questionnaire = Questionnaires[Ig.Questionnaires.Qpr15];
        var ordinal = questionnaire.Item[0].Item[0].AnswerOption.ToDictionary(
            o => ((Coding)o.Value).Code,
            o => (int)((FhirDecimal)((Coding)o.Value).GetExtensionValue<FhirDecimal>("http://hl7.org/fhir/StructureDefinition/ordinalValue")).Value!.Value);

        Assert.NotEmpty(responses);
        Assert.All(responses, r =>
        {
            var sum = r.Item[0].Item.Sum(i => ordinal[((Coding)i.Answer[0].Value).Code]);
            Assert.Equal(sum, ((Integer)r.Item.Single(i => i.LinkId == "total").Answer[0].Value).Value);
            Assert.InRange(sum, 0, 60);
        });
    }

    private static List<string> Check(QuestionnaireResponse response)
    {
        var problems = new List<string>();
        if (!Questionnaires.TryGetValue(response.Questionnaire ?? "", out var questionnaire))
        {
            return [$"unknown questionnaire {response.Questionnaire}"];
        }

        CheckItems(response.Item, questionnaire.Item, "", problems);
        return problems;
    }

    private static void CheckItems(List<QuestionnaireResponse.ItemComponent> answered, List<Questionnaire.ItemComponent> defined, string path, List<string> problems)
    {
        foreach (var item in answered)
        {
            var definition = defined.FirstOrDefault(d => d.LinkId == item.LinkId);
            if (definition is null)
            {
                problems.Add($"{path}{item.LinkId}: no such item here in the questionnaire");
                continue;
            }

            CheckItem(item, definition, $"{path}{item.LinkId}", problems);
        }

        var order = defined.Select(d => d.LinkId).ToList();
        var positions = answered.Select(a => order.IndexOf(a.LinkId)).Where(i => i >= 0).ToList();
        if (!positions.SequenceEqual(positions.Order()))
        {
            problems.Add($"{path}: items are not in questionnaire order");
        }

        foreach (var required in defined.Where(d => d.Required == true && answered.All(a => a.LinkId != d.LinkId)))
        {
            problems.Add($"{path}{required.LinkId}: required but not answered");
        }

        if (answered.GroupBy(a => a.LinkId).Any(g => g.Count() > 1))
        {
            problems.Add($"{path}: an item appears twice");
        }
    }

    private static void CheckItem(QuestionnaireResponse.ItemComponent item, Questionnaire.ItemComponent definition, string path, List<string> problems)
    {
        if (definition.Type == Questionnaire.QuestionnaireItemType.Group)
        {
            if (item.Answer.Count > 0)
            {
                problems.Add($"{path}: a group has no answers");
            }

            CheckItems(item.Item, definition.Item, path + "/", problems);
            return;
        }

        if (item.Answer.Count == 0)
        {
            problems.Add($"{path}: a question item without an answer");
        }

        if (item.Answer.Count > 1 && definition.Repeats != true)
        {
            problems.Add($"{path}: several answers to a question that does not repeat");
        }

        foreach (var answer in item.Answer.Select(a => a.Value))
        {
            var expected = definition.Type switch
            {
                Questionnaire.QuestionnaireItemType.Boolean => answer is FhirBoolean,
                Questionnaire.QuestionnaireItemType.Integer => answer is Integer,
                Questionnaire.QuestionnaireItemType.Date => answer is Date,
                Questionnaire.QuestionnaireItemType.String or Questionnaire.QuestionnaireItemType.Text => answer is FhirString,
                Questionnaire.QuestionnaireItemType.Reference => answer is ResourceReference,
                Questionnaire.QuestionnaireItemType.Choice => answer is Coding || (answer is not null && definition.AnswerOption.Any(o => o.Value.GetType() == answer.GetType())),
                Questionnaire.QuestionnaireItemType.OpenChoice => answer is Coding or FhirString,
                _ => false,
            };
            if (!expected)
            {
                problems.Add($"{path}: a {answer?.TypeName ?? "missing"} answer to a {definition.Type} item");
                continue;
            }

            if (definition.AnswerOption.Count > 0 && !definition.AnswerOption.Any(o => SameAnswer(o.Value, answer!)))
            {
                problems.Add($"{path}: '{Describe(answer!)}' is not one of the answer options");
            }

            if (definition.AnswerValueSet is { } valueSet && answer is Coding coding)
            {
                var result = SharedEngine.Engine.Terminology.ValueSetValidateCode(valueSet, coding);
                if (!result.IsValid && definition.Type == Questionnaire.QuestionnaireItemType.Choice)
                {
                    problems.Add($"{path}: {coding.System}#{coding.Code} is not in {valueSet}: {result.Message}");
                }
            }
        }

        if (definition.Item.Count > 0 || item.Item.Count > 0)
        {
            CheckItems(item.Item, definition.Item, path + "/", problems);
        }
    }

    private static bool SameAnswer(DataType option, DataType answer) => (option, answer) switch
    {
        (Coding o, Coding a) => o.System == a.System && o.Code == a.Code,
        (FhirString o, FhirString a) => o.Value == a.Value,
        (Integer o, Integer a) => o.Value == a.Value,
        _ => false,
    };

    private static string Describe(DataType answer) => answer switch
    {
        Coding c => $"{c.System}#{c.Code}",
        PrimitiveType p => p.ToString() ?? "",
        _ => answer.TypeName,
    };
}
