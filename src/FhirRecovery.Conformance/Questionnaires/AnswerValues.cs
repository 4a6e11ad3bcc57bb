using System.Globalization;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;
using P = Hl7.Fhir.ElementModel.Types;

namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>Comparing, describing and typing answer values (enableWhen, answerOption, limits, scores).</summary>
public static class AnswerValues
{
    /// <summary>The answer types an item type takes in R4 (choice items also take the types of their answerOptions).</summary>
    public static bool TypeFits(ItemDefinition item, DataType value) => item.Type switch
    {
        ItemType.Boolean => value is FhirBoolean,
        ItemType.Decimal => value is FhirDecimal,
        ItemType.Integer => value is Integer,
        ItemType.Date => value is Date,
        ItemType.DateTime => value is FhirDateTime,
        ItemType.Time => value is Time,
        ItemType.String or ItemType.Text => value is FhirString,
        ItemType.Url => value is FhirUri,
        // With answerOptions a choice takes their type (R4 allows integer, date, time, string, Coding, Reference options).
        ItemType.Choice => item.Options.Count == 0 ? value is Coding : item.Options.Any(o => o.Value?.GetType() == value.GetType()),
        ItemType.OpenChoice => value is FhirString || (item.Options.Count == 0 ? value is Coding : item.Options.Any(o => o.Value?.GetType() == value.GetType())),
        ItemType.Attachment => value is Attachment,
        ItemType.Reference => value is ResourceReference,
        ItemType.Quantity => value is Quantity,
        _ => false,
    };

    /// <summary>The JSON name of an answer's value ("valueCoding"), for issue locations.</summary>
    public static string JsonName(DataType value) => "value" + char.ToUpperInvariant(value.TypeName[0]) + value.TypeName[1..];

    /// <summary>What answer type an item expects, in words, for messages.</summary>
    public static string Expected(ItemDefinition item) => item.Type switch
    {
        ItemType.Choice => item.Options.Count > 0 ? string.Join(" or ", item.Options.Select(o => o.Value?.TypeName).OfType<string>().Distinct()) : "Coding",
        ItemType.OpenChoice => (item.Options.Count > 0 ? string.Join(" or ", item.Options.Select(o => o.Value?.TypeName).OfType<string>().Distinct()) : "Coding") + " or string",
        ItemType.Text or ItemType.String => "string",
        ItemType.Url => "uri",
        ItemType.Reference => "Reference",
        _ => item.Type.GetLiteral(),
    };

    /// <summary>Equality as answerOption and enableWhen use it: codes by system and code (system only when both have one).</summary>
    public static bool Same(DataType? a, DataType? b)
    {
        switch (a, b)
        {
            case (null, _) or (_, null):
                return false;
            case (Coding x, Coding y):
                return x.Code == y.Code && (x.System is null || y.System is null || x.System == y.System);
            case (ResourceReference x, ResourceReference y):
                return x.Reference == y.Reference;
            case (Quantity x, Quantity y):
                return x.Value == y.Value && (x.Code ?? x.Unit) == (y.Code ?? y.Unit);
        }

        if (Number(a) is { } m && Number(b) is { } n)
        {
            return m == n;
        }

        return a is PrimitiveType p && b is PrimitiveType q && p.GetType() == q.GetType() && p.ToString() == q.ToString();
    }

    /// <summary>Order of two answer values (numbers, dates, times, quantities in one unit, strings); null when not comparable.</summary>
    public static int? Compare(DataType? a, DataType? b)
    {
        if (Number(a) is { } m && Number(b) is { } n)
        {
            return m.CompareTo(n);
        }

        switch (a, b)
        {
            case (Quantity x, Quantity y) when (x.Code ?? x.Unit) == (y.Code ?? y.Unit) && x.Value is { } xv && y.Value is { } yv:
                return xv.CompareTo(yv);
            case (Date or FhirDateTime, Date or FhirDateTime):
                return CompareDates(((PrimitiveType)a).ToString(), ((PrimitiveType)b).ToString());
            case (Time x, Time y) when x.Value is { } xt && y.Value is { } yt:
                return P.Time.TryParse(xt, out var tx) && P.Time.TryParse(yt, out var ty) && tx.TryCompareTo(ty, out var order) ? order : null;
            case (FhirString x, FhirString y):
                return string.CompareOrdinal(x.Value, y.Value);
            default:
                return null;
        }
    }

    private static int? CompareDates(string? x, string? y)
    {
        if (x is null || y is null)
        {
            return null;
        }

        // A date is compared as the start of the day it names; different precisions compare by their common prefix.
        if (P.DateTime.TryParse(x, out var dx) && P.DateTime.TryParse(y, out var dy))
        {
            if (dx.TryCompareTo(dy, out var order) && order is not null)
            {
                return order;
            }
        }

        var common = Math.Min(x.Length, y.Length);
        return string.CompareOrdinal(x[..common], y[..common]) is var c && c != 0 ? c : null;
    }

    public static decimal? Number(DataType? value) => value switch
    {
        Integer { Value: { } i } => i,
        FhirDecimal { Value: { } d } => d,
        UnsignedInt { Value: { } u } => u,
        PositiveInt { Value: { } p } => p,
        Integer64 { Value: { } l } => l,
        _ => null,
    };

    /// <summary>A short rendering of a value for messages: system#code, the number, the text.</summary>
    public static string Describe(DataType? value) => value switch
    {
        null => "(nothing)",
        Coding c => c.System is null ? $"'{c.Code}'" : $"'{c.System}#{c.Code}'",
        ResourceReference r => $"'{r.Reference ?? r.Display}'",
        Quantity q => $"{q.Value?.ToString(CultureInfo.InvariantCulture)} {q.Code ?? q.Unit}".Trim(),
        FhirString s => $"'{Shorten(s.Value)}'",
        PrimitiveType p => p.ToString() ?? "",
        _ => value.TypeName,
    };

    private static string Shorten(string? text) => text is null ? "" : text.Length <= 40 ? text : text[..37] + "...";

    /// <summary>The numeric value of a FHIRPath result; see <see cref="SdcFhirPath.TryNumber"/>.</summary>
    public static DataType? FromFhirPath(Hl7.Fhir.Model.PocoNode node, ItemType type)
    {
        if (SdcFhirPath.TryNumber(node, out var number, out var isInteger))
        {
            return type switch
            {
                ItemType.Integer => new Integer((int)Math.Round(number, MidpointRounding.AwayFromZero)),
                ItemType.Decimal => new FhirDecimal(number),
                ItemType.String or ItemType.Text => new FhirString(isInteger ? ((long)number).ToString(CultureInfo.InvariantCulture) : number.ToString(CultureInfo.InvariantCulture)),
                ItemType.Quantity => new Quantity { Value = number },
                _ => isInteger ? new Integer((int)number) : new FhirDecimal(number),
            };
        }

        var poco = node.Poco;
        if (poco is PrimitiveType primitive && primitive.TypeName.StartsWith("System.", StringComparison.Ordinal))
        {
            // A FHIRPath System value (a literal or a computed one): make it the FHIR type the item takes.
            var text = primitive.JsonValue is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : primitive.JsonValue?.ToString();
            return (type, primitive.JsonValue) switch
            {
                (ItemType.Boolean, bool b) => new FhirBoolean(b),
                (ItemType.Date, _) => new Date(text),
                (ItemType.DateTime, _) => new FhirDateTime(text),
                (ItemType.Time, _) => new Time(text),
                (ItemType.Url, _) => new FhirUri(text),
                (_, bool b) => new FhirBoolean(b),
                _ => new FhirString(text),
            };
        }

        return poco is DataType data ? (DataType)data.DeepCopy() : null;
    }
}
