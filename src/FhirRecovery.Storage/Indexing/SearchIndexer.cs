using System.Collections.Concurrent;
using System.Globalization;
using FhirRecovery.Storage.Search;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using Hl7.FhirPath;

namespace FhirRecovery.Storage.Indexing;

/// <summary>
/// Extracts the values of every applicable search parameter from a resource, at write time, by evaluating the
/// parameters' FHIRPath expressions (compiled once, see <see cref="SearchParameterRegistry"/>) over the POCO, and turns
/// them into typed index rows. <c>resolve()</c> is answered with an empty resource of the referenced type (or the
/// contained resource), which is all that the core expressions' <c>resolve() is X</c> tests need.
/// </summary>
internal sealed class SearchIndexer
{
    /// <summary>Longest string kept in the index (PostgreSQL b-tree entries are limited to about 2.7 kB).</summary>
    internal const int MaxIndexedStringLength = 500;

    private static readonly ConcurrentDictionary<Type, Func<Code, string?>> EnumSystems = new();

    private readonly SearchParameterRegistry _registry;

    public SearchIndexer(SearchParameterRegistry registry)
    {
        _registry = registry;
    }

    internal IndexSet Extract(Resource resource) => Extract(resource, plainPaths: true);

    /// <param name="plainPaths">Whether plain-path expressions are walked over the POCO (false: everything through FHIRPath, for tests).</param>
    internal IndexSet Extract(Resource resource, bool plainPaths)
    {
        var set = new IndexSet();
        PocoNode? rootNode = null;
        FhirEvaluationContext? evaluationContext = null;
        var group = 0;
        foreach (var parameter in _registry.Indexed(resource.TypeName))
        {
            if (plainPaths && parameter.PlainPaths is { } paths && PocoPath.Select(paths, resource) is { } values)
            {
                foreach (var value in values)
                {
                    Add(set, parameter.Type, parameter.Code, 0, value);
                }

                continue;
            }

            var root = rootNode ??= resource.ToPocoNode();
            var context = evaluationContext ??= new FhirEvaluationContext { ElementResolver = reference => Resolve(resource, reference) };
            IEnumerable<PocoNode> nodes;
            try
            {
                nodes = parameter.Compiled!.Invoke([root], context).ToList();
            }
            catch (Exception)
            {
                // A core expression that fails on unusual content (e.g. a type test on bad data) must not block the write;
                // the resource is simply not findable by that parameter.
                continue;
            }

            if (parameter.Type == SearchParamType.Composite)
            {
                foreach (var node in nodes)
                {
                    AddComposite(set, parameter, node, context, ref group);
                }

                continue;
            }

            foreach (var node in nodes)
            {
                Add(set, parameter.Type, parameter.Code, 0, node.Poco);
            }
        }

        return set;
    }

    private static void AddComposite(IndexSet set, SearchParameterInfo parameter, PocoNode node, FhirEvaluationContext context, ref int group)
    {
        var values = new List<(CompositeComponentInfo Component, List<PocoNode> Nodes)>();
        foreach (var component in parameter.Components)
        {
            List<PocoNode> componentNodes;
            try
            {
                componentNodes = component.Compiled.Invoke([node], context).ToList();
            }
            catch (Exception)
            {
                return;
            }

            if (componentNodes.Count == 0)
            {
                return; // a composite value needs every component
            }

            values.Add((component, componentNodes));
        }

        group++;
        foreach (var (component, componentNodes) in values)
        {
            foreach (var value in componentNodes)
            {
                Add(set, component.Type, component.IndexName, group, value.Poco);
            }
        }
    }

    private static PocoNode? Resolve(Resource resource, string reference)
    {
        if (reference.StartsWith('#'))
        {
            var id = reference[1..];
            return (resource as DomainResource)?.Contained.FirstOrDefault(c => c.Id == id)?.ToPocoNode();
        }

        var parsed = ReferenceParts.Parse(reference);
        var type = parsed.TargetType ?? ReferenceParts.TypeOfAbsolute(reference);
        if (type is null || ModelInfo.GetTypeForFhirType(type) is not { } clrType || !typeof(Resource).IsAssignableFrom(clrType))
        {
            return null;
        }

        var stub = (Resource)Activator.CreateInstance(clrType)!;
        stub.Id = parsed.TargetId;
        return stub.ToPocoNode();
    }

    private static void Add(IndexSet set, SearchParamType type, string param, int group, Base value)
    {
        switch (type)
        {
            case SearchParamType.String:
                AddString(set, param, group, value);
                break;
            case SearchParamType.Token:
                AddToken(set, param, group, value);
                break;
            case SearchParamType.Date:
                AddDate(set, param, group, value);
                break;
            case SearchParamType.Number:
                AddNumber(set, param, group, value);
                break;
            case SearchParamType.Quantity:
                AddQuantity(set, param, group, value);
                break;
            case SearchParamType.Reference:
                AddReference(set, param, group, value);
                break;
            case SearchParamType.Uri:
                if (StringValue(value) is { Length: > 0 } uri)
                {
                    set.Uris.Add(new UriIndexRow(param, group, uri));
                }

                break;
        }
    }

    private static void AddString(IndexSet set, string param, int group, Base value)
    {
        void Put(string? text)
        {
            if (!string.IsNullOrWhiteSpace(text))
            {
                set.Strings.Add(new StringIndexRow(param, group, NormalizeForIndex(text), Truncate(text)));
            }
        }

        switch (value)
        {
            case HumanName name:
                Put(name.Text);
                Put(name.Family);
                foreach (var part in name.Given.Concat(name.Prefix).Concat(name.Suffix))
                {
                    Put(part);
                }

                break;
            case Address address:
                Put(address.Text);
                foreach (var line in address.Line)
                {
                    Put(line);
                }

                Put(address.City);
                Put(address.District);
                Put(address.State);
                Put(address.PostalCode);
                Put(address.Country);
                break;
            case CodeableConcept concept:
                Put(concept.Text);
                foreach (var coding in concept.Coding)
                {
                    Put(coding.Display);
                }

                break;
            case Coding coding:
                Put(coding.Display);
                break;
            case Identifier identifier:
                Put(identifier.Value);
                break;
            case ContactPoint contact:
                Put(contact.Value);
                break;
            case Annotation annotation:
                Put(annotation.Text);
                break;
            default:
                Put(StringValue(value));
                break;
        }
    }

    private static void AddToken(IndexSet set, string param, int group, Base value)
    {
        switch (value)
        {
            case Coding coding:
                AddCoding(set, param, group, coding, null);
                break;
            case CodeableConcept concept:
                foreach (var coding in concept.Coding)
                {
                    AddCoding(set, param, group, coding, concept.Text);
                }

                if (concept.Coding.Count == 0 && !string.IsNullOrWhiteSpace(concept.Text))
                {
                    set.Tokens.Add(new TokenIndexRow(param, group, null, null, NormalizeForIndex(concept.Text)));
                }

                break;
            case Identifier identifier:
                if (identifier.Value is null && identifier.System is null)
                {
                    break;
                }

                var typeText = identifier.Type?.Text is { } t ? NormalizeForIndex(t) : null;
                var typeCodings = identifier.Type?.Coding ?? [];
                if (typeCodings.Count == 0)
                {
                    set.Tokens.Add(new TokenIndexRow(param, group, identifier.System, identifier.Value, typeText));
                }

                foreach (var typeCoding in typeCodings)
                {
                    set.Tokens.Add(new TokenIndexRow(param, group, identifier.System, identifier.Value,
                        typeText ?? (typeCoding.Display is { } d ? NormalizeForIndex(d) : null), typeCoding.System, typeCoding.Code));
                }

                break;
            case ContactPoint contact:
                if (contact.Value is not null)
                {
                    set.Tokens.Add(new TokenIndexRow(param, group, contact.SystemElement?.JsonValue as string, contact.Value, null));
                }

                break;
            case FhirBoolean boolean:
                if (boolean.Value is { } b)
                {
                    set.Tokens.Add(new TokenIndexRow(param, group, null, b ? "true" : "false", null));
                }

                break;
            case Code code:
                if (code.JsonValue?.ToString() is { Length: > 0 } literal)
                {
                    set.Tokens.Add(new TokenIndexRow(param, group, SystemOf(code), literal, null));
                }

                break;
            default:
                if (StringValue(value) is { Length: > 0 } text)
                {
                    set.Tokens.Add(new TokenIndexRow(param, group, null, Truncate(text), null));
                }

                break;
        }
    }

    private static void AddCoding(IndexSet set, string param, int group, Coding coding, string? conceptText)
    {
        if (coding.Code is null && coding.System is null)
        {
            return;
        }

        var text = coding.Display ?? conceptText;
        set.Tokens.Add(new TokenIndexRow(param, group, coding.System, coding.Code, text is null ? null : NormalizeForIndex(text)));
        if (conceptText is not null && coding.Display is not null && conceptText != coding.Display)
        {
            // :text looks at CodeableConcept.text as well as each display.
            set.Tokens.Add(new TokenIndexRow(param, group, coding.System, coding.Code, NormalizeForIndex(conceptText)));
        }
    }

    /// <summary>The code system of a Code&lt;TEnum&gt; (from Firely's enum metadata), or null for plain codes.</summary>
    private static string? SystemOf(Code code)
    {
        var getter = EnumSystems.GetOrAdd(code.GetType(), static type =>
        {
            var property = type.IsGenericType ? type.GetProperty("Value", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly) : null;
            if (property is null)
            {
                return static _ => null;
            }

            return c =>
            {
                try
                {
                    return property.GetValue(c) is Enum e ? e.GetSystem() : null;
                }
                catch (Exception)
                {
                    return null; // an unknown literal cannot be turned into the enum
                }
            };
        });
        return getter(code);
    }

    private static void AddDate(IndexSet set, string param, int group, Base value)
    {
        void Put(FhirDateRange? range)
        {
            if (range is { } r)
            {
                set.Dates.Add(new DateIndexRow(param, group, r.Low, r.High));
            }
        }

        switch (value)
        {
            case Instant instant:
                if (instant.Value is { } v)
                {
                    Put(FhirDateRange.TryParse(instant.JsonValue as string) ?? FhirDateRange.Exact(v));
                }

                break;
            case FhirDateTime dateTime:
                Put(FhirDateRange.TryParse(dateTime.Value));
                break;
            case Date date:
                Put(FhirDateRange.TryParse(date.Value));
                break;
            case Period period:
            {
                var start = FhirDateRange.TryParse(period.Start);
                var end = FhirDateRange.TryParse(period.End);
                if (start is not null || end is not null)
                {
                    Put(new FhirDateRange(start?.Low ?? FhirDateRange.MinTicks, end?.High ?? FhirDateRange.MaxTicks));
                }

                break;
            }

            case Timing timing:
            {
                var events = timing.EventElement.Select(e => FhirDateRange.TryParse(e.Value)).OfType<FhirDateRange>().ToList();
                if (events.Count > 0)
                {
                    Put(new FhirDateRange(events.Min(e => e.Low), events.Max(e => e.High)));
                }
                else if (timing.Repeat?.Bounds is Period bounds)
                {
                    AddDate(set, param, group, bounds);
                }

                break;
            }

            case FhirString or Markdown:
                Put(FhirDateRange.TryParse(StringValue(value)));
                break;
        }
    }

    private static void AddNumber(IndexSet set, string param, int group, Base value)
    {
        switch (value)
        {
            case FhirDecimal d when d.Value is { } dv:
                set.Numbers.Add(new NumberIndexRow(param, group, (double)dv));
                break;
            case Integer i when i.Value is { } iv:
                set.Numbers.Add(new NumberIndexRow(param, group, iv));
                break;
            case UnsignedInt u when u.Value is { } uv:
                set.Numbers.Add(new NumberIndexRow(param, group, uv));
                break;
            case PositiveInt p when p.Value is { } pv:
                set.Numbers.Add(new NumberIndexRow(param, group, pv));
                break;
            case Integer64 l when l.Value is { } lv:
                set.Numbers.Add(new NumberIndexRow(param, group, lv));
                break;
            case Quantity q when q.Value is { } qv:
                set.Numbers.Add(new NumberIndexRow(param, group, (double)qv));
                break;
            case Hl7.Fhir.Model.Range range:
                if (range.Low?.Value is { } low)
                {
                    set.Numbers.Add(new NumberIndexRow(param, group, (double)low));
                }

                if (range.High?.Value is { } high)
                {
                    set.Numbers.Add(new NumberIndexRow(param, group, (double)high));
                }

                break;
        }
    }

    private static void AddQuantity(IndexSet set, string param, int group, Base value)
    {
        switch (value)
        {
            case Quantity q when q.Value is { } v:
                set.Quantities.Add(new QuantityIndexRow(param, group, q.System, q.Code, q.Unit, (double)v));
                break;
            case Money m when m.Value is { } mv:
                set.Quantities.Add(new QuantityIndexRow(param, group, "urn:iso:std:iso:4217", m.CurrencyElement?.JsonValue as string, null, (double)mv));
                break;
            case Hl7.Fhir.Model.Range range:
                AddQuantity(set, param, group, range.Low ?? new Quantity());
                AddQuantity(set, param, group, range.High ?? new Quantity());
                break;
            case FhirDecimal d when d.Value is { } dv:
                set.Quantities.Add(new QuantityIndexRow(param, group, null, null, null, (double)dv));
                break;
            case Integer i when i.Value is { } iv:
                set.Quantities.Add(new QuantityIndexRow(param, group, null, null, null, iv));
                break;
        }
    }

    private static void AddReference(IndexSet set, string param, int group, Base value)
    {
        switch (value)
        {
            case ResourceReference reference:
            {
                if (reference.Reference is { Length: > 0 } literal && !literal.StartsWith('#'))
                {
                    var parts = ReferenceParts.Parse(literal);
                    set.References.Add(new ReferenceIndexRow(param, group, parts.TargetType, parts.TargetId, parts.TargetVersion,
                        parts.Url, reference.Identifier?.System, reference.Identifier?.Value));
                }
                else if (reference.Identifier is { } identifier && (identifier.Value is not null || identifier.System is not null))
                {
                    set.References.Add(new ReferenceIndexRow(param, group, null, null, null, null, identifier.System, identifier.Value));
                }

                break;
            }

            case Canonical canonical when canonical.Value is { Length: > 0 } url:
            {
                var bar = url.IndexOf('|');
                set.References.Add(bar < 0
                    ? new ReferenceIndexRow(param, group, null, null, null, url, null, null)
                    : new ReferenceIndexRow(param, group, null, null, url[(bar + 1)..], url[..bar], null, null));
                break;
            }

            case PrimitiveType primitive when StringValue(primitive) is { Length: > 0 } uri:
            {
                var parts = ReferenceParts.Parse(uri);
                set.References.Add(new ReferenceIndexRow(param, group, parts.TargetType, parts.TargetId, parts.TargetVersion, parts.Url, null, null));
                break;
            }
        }
    }

    private static string? StringValue(Base value) => value switch
    {
        PrimitiveType primitive => primitive.JsonValue switch
        {
            null => null,
            string s => s,
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            var o => o.ToString(),
        },
        _ => null,
    };

    internal static string NormalizeForIndex(string value) => Truncate(StringNormalizer.Normalize(value.Trim()));

    private static string Truncate(string value) => value.Length <= MaxIndexedStringLength ? value : value[..MaxIndexedStringLength];
}

/// <summary>The parts of a reference string: local (Type/id[/_history/v]) or absolute/urn (Url).</summary>
internal readonly record struct ReferenceParts(string? TargetType, string? TargetId, string? TargetVersion, string? Url)
{
    public static ReferenceParts Parse(string reference)
    {
        if (reference.Contains("://", StringComparison.Ordinal) || reference.StartsWith("urn:", StringComparison.Ordinal))
        {
            return new ReferenceParts(null, null, null, reference);
        }

        var segments = reference.Split('/');
        if (segments.Length == 2 && IsType(segments[0]) && segments[1].Length > 0)
        {
            return new ReferenceParts(segments[0], segments[1], null, null);
        }

        if (segments.Length == 4 && IsType(segments[0]) && segments[2] == "_history" && segments[1].Length > 0)
        {
            return new ReferenceParts(segments[0], segments[1], segments[3], null);
        }

        return new ReferenceParts(null, null, null, reference);
    }

    /// <summary>The resource type of an absolute RESTful URL (<c>http://x/fhir/Patient/1</c>), for resolve().</summary>
    public static string? TypeOfAbsolute(string url)
    {
        var segments = url.Split('/');
        for (var i = segments.Length - 2; i >= 0 && i >= segments.Length - 4; i--)
        {
            if (IsType(segments[i]))
            {
                return segments[i];
            }
        }

        return null;
    }

    private static bool IsType(string segment) => segment.Length > 0 && char.IsUpper(segment[0]) && ModelInfo.IsKnownResource(segment);
}
