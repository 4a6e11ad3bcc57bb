using FhirRecovery.Conformance.Questionnaires;
using Hl7.Fhir.Model;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;
using Operator = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemOperator;

namespace FhirRecovery.Conformance.Tests.Questionnaires;

/// <summary>
/// A questionnaire built for the rule tests: every item type, every limit extension, enableWhen with each operator and
/// both behaviours, a repeating group, items under answers, and chained scores (a subtotal feeding a total).
/// </summary>
internal static class RuleQuestionnaire
{
    public const string Url = "https://fhirrecovery.org/fhir/test/Questionnaire/rules";
    private const string Sdc = "http://hl7.org/fhir/uv/sdc/StructureDefinition/";
    private const string Core = "http://hl7.org/fhir/StructureDefinition/";

    public static readonly Questionnaire Resource = Build();

    public static QuestionnaireDefinition Definition => QuestionnaireDefinition.For(Resource);

    private static Questionnaire.ItemComponent Q(string linkId, ItemType type, Action<Questionnaire.ItemComponent>? configure = null)
    {
        var item = new Questionnaire.ItemComponent { LinkId = linkId, Text = $"Question {linkId}", Type = type };
        configure?.Invoke(item);
        return item;
    }

    private static Questionnaire.EnableWhenComponent When(string question, Operator op, DataType answer) =>
        new() { Question = question, Operator = op, Answer = answer };

    private static Extension Ext(string url, DataType value) => new(url, value);

    private static Expression FhirPath(string expression, string? name = null) => new() { Language = "text/fhirpath", Expression_ = expression, Name = name };

    private static Questionnaire.AnswerOptionComponent Option(string code, decimal weight) => new()
    {
        Value = new Coding("urn:test:scale", code) { Extension = [new Extension(SdcUrls.OrdinalValue, new FhirDecimal(weight))] },
    };

    private static Questionnaire Build() => new()
    {
        Url = Url,
        Version = "1",
        Status = PublicationStatus.Active,
        Extension = [Ext(Core + "variable", FhirPath("%resource.item.where(linkId = 'scale').answers().ordinal()", "scaleScores"))],
        Item =
        [
            Q("bool", ItemType.Boolean, i => i.Required = true),
            Q("int", ItemType.Integer, i => i.Extension = [Ext(Core + "minValue", new Integer(0)), Ext(Core + "maxValue", new Integer(10))]),
            Q("dec", ItemType.Decimal, i => i.Extension = [Ext(Core + "maxDecimalPlaces", new Integer(1)), Ext(Core + "maxValue", new FhirDecimal(99.5m))]),
            Q("date", ItemType.Date, i => i.Extension = [Ext(Core + "minValue", new Date("2020-01-01"))]),
            Q("text", ItemType.String, i =>
            {
                i.MaxLength = 5;
                i.Extension = [Ext(Core + "minLength", new Integer(2)), Ext(Core + "regex", new FhirString("^[a-z]+$"))];
            }),
            Q("multi", ItemType.Choice, i =>
            {
                i.Repeats = true;
                i.AnswerOption = [new() { Value = new Coding("urn:test:c", "a") }, new() { Value = new Coding("urn:test:c", "b") }, new() { Value = new Coding("urn:test:c", "c") }];
                i.Extension = [Ext(Core + "questionnaire-maxOccurs", new Integer(2))];
            }),
            Q("open", ItemType.OpenChoice, i => i.AnswerOption = [new() { Value = new Coding("urn:test:c", "a") }]),
            Q("int-choice", ItemType.Choice, i => i.AnswerOption = [new() { Value = new Integer(1) }, new() { Value = new Integer(2) }]),
            Q("info", ItemType.Display),
            Q("when-equal", ItemType.String, i => i.EnableWhen = [When("bool", Operator.Equal, new FhirBoolean(true))]),
            Q("when-exists", ItemType.String, i => i.EnableWhen = [When("int", Operator.Exists, new FhirBoolean(true))]),
            Q("when-not-exists", ItemType.String, i => i.EnableWhen = [When("int", Operator.Exists, new FhirBoolean(false))]),
            Q("when-greater", ItemType.String, i => i.EnableWhen = [When("int", Operator.GreaterThan, new Integer(5))]),
            Q("when-less-equal", ItemType.String, i => i.EnableWhen = [When("int", Operator.LessOrEqual, new Integer(5))]),
            Q("when-not-equal", ItemType.String, i => i.EnableWhen = [When("multi", Operator.NotEqual, new Coding("urn:test:c", "a"))]),
            Q("when-all", ItemType.String, i =>
            {
                i.EnableWhen = [When("bool", Operator.Equal, new FhirBoolean(true)), When("int", Operator.GreaterOrEqual, new Integer(3))];
                i.EnableBehavior = Questionnaire.EnableWhenBehavior.All;
            }),
            Q("when-any", ItemType.String, i =>
            {
                i.EnableWhen = [When("bool", Operator.Equal, new FhirBoolean(true)), When("int", Operator.LessThan, new Integer(3))];
                i.EnableBehavior = Questionnaire.EnableWhenBehavior.Any;
            }),
            Q("when-expression", ItemType.String, i => i.Extension = [Ext(Sdc + "sdc-questionnaire-enableWhenExpression", FhirPath("%resource.item.where(linkId = 'int').answer.value > 7"))]),
            Q("required-if", ItemType.String, i =>
            {
                i.Required = true;
                i.EnableWhen = [When("bool", Operator.Equal, new FhirBoolean(true))];
            }),
            Q("people", ItemType.Group, i =>
            {
                i.Repeats = true;
                i.Item =
                [
                    Q("person", ItemType.String, c => c.Required = true),
                    Q("contact", ItemType.Boolean),
                    Q("phone", ItemType.String, c => c.EnableWhen = [When("contact", Operator.Equal, new FhirBoolean(true))]),
                ];
            }),
            Q("smoker", ItemType.Boolean, i => i.Item = [Q("per-day", ItemType.Integer, c => c.Required = true)]),
            Q("scale", ItemType.Group, i => i.Item = [Q("s1", ItemType.Choice, c => c.AnswerOption = [Option("lo", 0), Option("mid", 1), Option("hi", 2)]),
                Q("s2", ItemType.Choice, c => c.AnswerOption = [Option("lo", 0), Option("mid", 1), Option("hi", 2)])]),
            Q("subtotal", ItemType.Integer, i =>
            {
                i.ReadOnly = true;
                i.Extension = [Ext(Sdc + "sdc-questionnaire-calculatedExpression", FhirPath("%scaleScores.sum()"))];
            }),
            Q("total", ItemType.Decimal, i =>
            {
                i.ReadOnly = true;
                i.Extension = [Ext(Sdc + "sdc-questionnaire-calculatedExpression", FhirPath("%resource.item.where(linkId = 'subtotal').answer.value * 1.5"))];
            }),
        ],
    };

    /// <summary>A response that satisfies every rule: the base the rule tests break one rule of.</summary>
    public static QuestionnaireResponse Valid()
    {
        var response = QuestionnaireFixtures.Response($"{Url}|1",
            QuestionnaireFixtures.Item("bool", new FhirBoolean(true)),
            QuestionnaireFixtures.Item("int", new Integer(4)),
            QuestionnaireFixtures.Item("dec", new FhirDecimal(12.5m)),
            QuestionnaireFixtures.Item("date", new Date("2024-05-01")),
            QuestionnaireFixtures.Item("text", new FhirString("abc")),
            QuestionnaireFixtures.Item("multi", new Coding("urn:test:c", "a"), new Coding("urn:test:c", "b")),
            QuestionnaireFixtures.Item("open", new FhirString("something else")),
            QuestionnaireFixtures.Item("int-choice", new Integer(2)),
            QuestionnaireFixtures.Item("when-equal", new FhirString("shown")),
            QuestionnaireFixtures.Item("required-if", new FhirString("given")),
            QuestionnaireFixtures.Group("people", QuestionnaireFixtures.Item("person", new FhirString("Ann")), QuestionnaireFixtures.Item("contact", new FhirBoolean(true)), QuestionnaireFixtures.Item("phone", new FhirString("123"))),
            QuestionnaireFixtures.Group("people", QuestionnaireFixtures.Item("person", new FhirString("Bo")), QuestionnaireFixtures.Item("contact", new FhirBoolean(false))),
            QuestionnaireFixtures.Group("scale", QuestionnaireFixtures.Item("s1", new Coding("urn:test:scale", "hi")), QuestionnaireFixtures.Item("s2", new Coding("urn:test:scale", "mid"))),
            QuestionnaireFixtures.Item("subtotal", new Integer(3)),
            QuestionnaireFixtures.Item("total", new FhirDecimal(4.5m)));
        var smoker = QuestionnaireFixtures.Item("smoker", new FhirBoolean(true));
        smoker.Answer[0].Item = [QuestionnaireFixtures.Item("per-day", new Integer(5))];
        response.Item.Insert(response.Item.FindIndex(i => i.LinkId == "scale"), smoker);
        return response;
    }
}
