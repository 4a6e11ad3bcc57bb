using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;

namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>
/// A Questionnaire read once for validation, scoring, extraction and population: items by linkId, answer options with
/// their scores, enableWhen, value limits and compiled SDC expressions. Made on first use per Questionnaire instance and
/// kept with it (<see cref="For"/>), so answering the same questionnaire again costs no re-reading.
/// </summary>
public sealed class QuestionnaireDefinition
{
    private static readonly ConditionalWeakTable<Questionnaire, QuestionnaireDefinition> Compiled = new();

    private readonly Dictionary<string, ItemDefinition> _byLinkId = new(StringComparer.Ordinal);
    private readonly Dictionary<(string? System, string? Code), decimal> _anyWeight = [];

    private QuestionnaireDefinition(Questionnaire questionnaire)
    {
        Questionnaire = questionnaire;
        Canonical = questionnaire.Url is null ? null : questionnaire.Version is null ? questionnaire.Url : $"{questionnaire.Url}|{questionnaire.Version}";
        Variables = NamedExpression.ReadVariables(questionnaire.Extension, Problems);
        LaunchContexts = ReadLaunchContexts(questionnaire);
        Items = questionnaire.Item.Select((item, i) => new ItemDefinition(this, item, null, i)).ToList();
        HasCalculations = _byLinkId.Values.Any(d => d.Calculated is not null);
    }

    public static QuestionnaireDefinition For(Questionnaire questionnaire) =>
        Compiled.GetValue(questionnaire, q => new QuestionnaireDefinition(q));

    public Questionnaire Questionnaire { get; }

    /// <summary><c>url|version</c> (or the url alone when unversioned).</summary>
    public string? Canonical { get; }

    public IReadOnlyList<ItemDefinition> Items { get; }

    /// <summary>Root-level <c>variable</c>s, in order (each may use the ones before it).</summary>
    public IReadOnlyList<NamedExpression> Variables { get; }

    public IReadOnlyList<LaunchContextDefinition> LaunchContexts { get; }

    public bool HasCalculations { get; }

    /// <summary>Expressions that do not compile and other defects of the questionnaire itself.</summary>
    public List<string> Problems { get; } = [];

    public IEnumerable<ItemDefinition> AllItems => _byLinkId.Values;

    public ItemDefinition? Find(string? linkId) => linkId is not null && _byLinkId.TryGetValue(linkId, out var item) ? item : null;

    internal void Register(ItemDefinition item)
    {
        if (!_byLinkId.TryAdd(item.LinkId, item))
        {
            Problems.Add($"linkId '{item.LinkId}' is used by more than one item (que-2)");
        }

        foreach (var (key, weight) in item.OptionWeights)
        {
            _anyWeight.TryAdd(key, weight);
        }
    }

    /// <summary>The score of a coded answer: from the item's answerOptions, else from any answerOption with that code.</summary>
    public decimal? WeightOf(string? linkId, Coding coding)
    {
        if (Find(linkId) is { } item && item.WeightOf(coding) is { } weight)
        {
            return weight;
        }

        return _anyWeight.TryGetValue((coding.System, coding.Code), out var any) ? any : null;
    }

    /// <summary>The score of an answerOption: on the option or on its Coding.</summary>
    public static decimal? WeightOf(Questionnaire.AnswerOptionComponent option) =>
        SdcFhirPath.WeightOf(option) ?? (option.Value is Coding coding ? SdcFhirPath.WeightOf(coding) : null);

    private List<LaunchContextDefinition> ReadLaunchContexts(Questionnaire questionnaire)
    {
        var contexts = new List<LaunchContextDefinition>();
        foreach (var extension in questionnaire.Extension.Where(e => e.Url == SdcUrls.LaunchContext))
        {
            var name = extension.Extension.FirstOrDefault(e => e.Url == "name")?.Value switch
            {
                Coding coding => coding.Code,
                Id id => id.Value,
                FhirString text => text.Value,
                _ => null,
            };
            var types = extension.Extension.Where(e => e.Url == "type").Select(e => (e.Value as Code)?.Value).OfType<string>().ToList();
            if (string.IsNullOrEmpty(name))
            {
                Problems.Add("A launchContext has no name");
                continue;
            }

            contexts.Add(new LaunchContextDefinition(name, types, (extension.Extension.FirstOrDefault(e => e.Url == "description")?.Value as FhirString)?.Value));
        }

        return contexts;
    }
}

/// <summary>An SDC launch context the questionnaire expects at $populate (name, resource types).</summary>
public sealed record LaunchContextDefinition(string Name, IReadOnlyList<string> Types, string? Description);

/// <summary>A FHIRPath (or FHIR query) expression from a questionnaire extension, compiled once.</summary>
public sealed record NamedExpression(string? Name, string Language, string Expression, CompiledExpression? Compiled, string? Error)
{
    public bool IsFhirPath => Language == SdcUrls.FhirPath;

    public bool IsFhirQuery => Language == SdcUrls.FhirQuery;

    public static NamedExpression? From(Expression? expression)
    {
        if (expression?.Expression_ is not { Length: > 0 } text)
        {
            return null;
        }

        var language = expression.Language ?? SdcUrls.FhirPath;
        if (language != SdcUrls.FhirPath)
        {
            return new NamedExpression(expression.Name, language, text, null, null);
        }

        var (compiled, error) = SdcFhirPath.Compile(text);
        return new NamedExpression(expression.Name, language, text, compiled, error);
    }

    internal static List<NamedExpression> ReadVariables(IEnumerable<Extension> extensions, List<string> problems)
    {
        var variables = new List<NamedExpression>();
        foreach (var extension in extensions.Where(e => e.Url == SdcUrls.Variable))
        {
            if (From(extension.Value as Expression) is not { } variable || string.IsNullOrEmpty(variable.Name))
            {
                problems.Add("A variable has no name or no expression");
                continue;
            }

            if (variable.Error is not null)
            {
                problems.Add($"variable '{variable.Name}' does not compile: {variable.Error}");
            }

            variables.Add(variable);
        }

        return variables;
    }
}

/// <summary>One enableWhen condition: the question it looks at, the operator and the answer it compares with.</summary>
public sealed record EnableCondition(string Question, Questionnaire.QuestionnaireItemOperator Operator, DataType? Answer);

/// <summary>One Questionnaire item, read once.</summary>
public sealed class ItemDefinition
{
    private readonly Dictionary<(string? System, string? Code), decimal> _weights = [];

    internal ItemDefinition(QuestionnaireDefinition owner, Questionnaire.ItemComponent item, ItemDefinition? parent, int position)
    {
        Owner = owner;
        Item = item;
        Parent = parent;
        Position = position;
        LinkId = item.LinkId ?? "";
        Type = item.Type ?? ItemType.Display;
        Required = item.Required == true;
        Repeats = item.Repeats == true;
        ReadOnly = item.ReadOnly == true;
        MaxLength = item.MaxLength;
        Options = item.AnswerOption;
        AnswerValueSet = item.AnswerValueSet;
        EnableWhen = item.EnableWhen
            .Where(c => c.Question is not null && c.Operator is not null)
            .Select(c => new EnableCondition(c.Question!, c.Operator!.Value, c.Answer))
            .ToList();
        EnableWhenAll = item.EnableBehavior != Questionnaire.EnableWhenBehavior.Any;

        foreach (var extension in item.Extension)
        {
            switch (extension.Url)
            {
                case SdcUrls.MinValue:
                    MinValue = extension.Value;
                    break;
                case SdcUrls.MaxValue:
                    MaxValue = extension.Value;
                    break;
                case SdcUrls.MinQuantity:
                    MinValue = extension.Value as Quantity;
                    break;
                case SdcUrls.MaxQuantity:
                    MaxValue = extension.Value as Quantity;
                    break;
                case SdcUrls.MinLength when extension.Value is Integer { Value: { } minLength }:
                    MinLength = minLength;
                    break;
                case SdcUrls.MaxDecimalPlaces when extension.Value is Integer { Value: { } places }:
                    MaxDecimalPlaces = places;
                    break;
                case SdcUrls.MinOccurs when extension.Value is Integer { Value: { } minOccurs }:
                    MinOccurs = minOccurs;
                    break;
                case SdcUrls.MaxOccurs when extension.Value is Integer { Value: { } maxOccurs }:
                    MaxOccurs = maxOccurs;
                    break;
                case SdcUrls.Regex when extension.Value is FhirString { Value: { Length: > 0 } pattern }:
                    try
                    {
                        // The questionnaire comes from outside: bound the pattern's cost (see RegexTimeout).
                        Regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
                    }
                    catch (ArgumentException ex)
                    {
                        owner.Problems.Add($"Item '{LinkId}': regex '{pattern}' is not valid: {ex.Message}");
                    }

                    break;
                case SdcUrls.CalculatedExpression:
                    Calculated = ReadExpression(owner, extension, "calculatedExpression");
                    break;
                case SdcUrls.CqfExpression when Calculated is null && (ReadOnly || item.Extension.All(e => e.Url != SdcUrls.CalculatedExpression)):
                    // The core cqf-expression on an item was the R4-era way of writing a calculation; SDC's wins when both are given.
                    Calculated = ReadExpression(owner, extension, "cqf-expression");
                    break;
                case SdcUrls.InitialExpression:
                    Initial = ReadExpression(owner, extension, "initialExpression");
                    break;
                case SdcUrls.EnableWhenExpression:
                    EnableWhenExpression = ReadExpression(owner, extension, "enableWhenExpression");
                    break;
                case SdcUrls.ObservationExtract when extension.Value is FhirBoolean { Value: true }:
                    ObservationExtract = true;
                    break;
            }
        }

        Variables = NamedExpression.ReadVariables(item.Extension, owner.Problems);
        foreach (var option in item.AnswerOption)
        {
            if (option.Value is Coding coding && QuestionnaireDefinition.WeightOf(option) is { } weight)
            {
                _weights.TryAdd((coding.System, coding.Code), weight);
            }
        }

        owner.Register(this);
        Children = item.Item.Select((child, i) => new ItemDefinition(owner, child, this, i)).ToList();
    }

    public Questionnaire.ItemComponent Item { get; }

    public ItemDefinition? Parent { get; }

    internal QuestionnaireDefinition Owner { get; }

    /// <summary>The items at this item's level (its parent's children, or the questionnaire's items).</summary>
    public IReadOnlyList<ItemDefinition> Siblings => Parent?.Children ?? Owner.Items;

    /// <summary>Whether a calculated item sits somewhere below this one (so a missing group still gets its scores).</summary>
    public bool HasCalculatedDescendants => Children.Any(c => c.Calculated is not null || c.HasCalculatedDescendants);

    /// <summary>Position among its siblings in the questionnaire.</summary>
    public int Position { get; }

    public string LinkId { get; }

    public ItemType Type { get; }

    public bool IsGroup => Type == ItemType.Group;

    public bool IsDisplay => Type == ItemType.Display;

    public bool IsQuestion => !IsGroup && !IsDisplay;

    public bool Required { get; }

    public bool Repeats { get; }

    public bool ReadOnly { get; }

    public int? MaxLength { get; }

    public int? MinLength { get; private set; }

    public DataType? MinValue { get; private set; }

    public DataType? MaxValue { get; private set; }

    public int? MaxDecimalPlaces { get; private set; }

    public int? MinOccurs { get; private set; }

    public int? MaxOccurs { get; private set; }

    public Regex? Regex { get; private set; }

    public IReadOnlyList<Questionnaire.AnswerOptionComponent> Options { get; }

    public string? AnswerValueSet { get; }

    public IReadOnlyList<EnableCondition> EnableWhen { get; }

    /// <summary>enableBehavior: all conditions must hold (the default when there is one), or any.</summary>
    public bool EnableWhenAll { get; }

    public NamedExpression? EnableWhenExpression { get; private set; }

    public bool HasEnableRules => EnableWhen.Count > 0 || EnableWhenExpression is not null;

    public NamedExpression? Calculated { get; private set; }

    public NamedExpression? Initial { get; private set; }

    public IReadOnlyList<NamedExpression> Variables { get; }

    /// <summary>SDC observationExtract on the item: its answers become Observations at $extract.</summary>
    public bool ObservationExtract { get; private set; }

    public IReadOnlyList<ItemDefinition> Children { get; }

    public string Label => Item.Text is { Length: > 0 } text ? $"'{LinkId}' ({Truncate(text)})" : $"'{LinkId}'";

    internal IEnumerable<KeyValuePair<(string? System, string? Code), decimal>> OptionWeights => _weights;

    public decimal? WeightOf(Coding coding)
    {
        if (_weights.TryGetValue((coding.System, coding.Code), out var weight))
        {
            return weight;
        }

        if (coding.System is null)
        {
            foreach (var (key, value) in _weights)
            {
                if (key.Code == coding.Code)
                {
                    return value;
                }
            }
        }

        return null;
    }

    public ItemDefinition? Child(string? linkId)
    {
        foreach (var child in Children)
        {
            if (child.LinkId == linkId)
            {
                return child;
            }
        }

        return null;
    }

    private NamedExpression? ReadExpression(QuestionnaireDefinition owner, Extension extension, string what)
    {
        var expression = NamedExpression.From(extension.Value as Expression);
        if (expression is null)
        {
            owner.Problems.Add($"Item '{LinkId}': {what} has no expression");
        }
        else if (expression.Error is not null)
        {
            owner.Problems.Add($"Item '{LinkId}': {what} does not compile: {expression.Error}");
        }

        return expression;
    }

    private static string Truncate(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
