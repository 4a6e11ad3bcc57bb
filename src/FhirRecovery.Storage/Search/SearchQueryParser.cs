using System.Globalization;
using FhirRecovery.Storage.Indexing;
using FhirRecovery.Storage.Terminology;
using Hl7.Fhir.Model;

namespace FhirRecovery.Storage.Search;

/// <summary>
/// Turns the name/value pairs of a search into a <see cref="SearchQuery"/>: resolves parameters (with chains and
/// <c>_has</c>) against the registry, checks modifiers and prefixes, parses values, expands codes for
/// <c>:in</c>/<c>:below</c>/<c>:above</c>. Malformed input throws <see cref="SearchException"/> naming the parameter;
/// unknown parameters throw under strict handling and are reported under lenient handling.
/// </summary>
internal sealed class SearchQueryParser
{
    // Handled by the REST layer (formatting); not search parameters, so neither applied nor reported.
    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal) { "_format", "_pretty", "_page" };

    private static readonly HashSet<string> UnsupportedResultParameters = new(StringComparer.Ordinal)
    {
        "_contained", "_containedType", "_filter", "_graph", "_query", "_list",
    };

    private readonly SearchParameterRegistry _registry;
    private readonly ICodeExpansion? _terminology;
    private readonly StorageOptions _options;

    public SearchQueryParser(SearchParameterRegistry registry, ICodeExpansion? terminology, StorageOptions options)
    {
        _registry = registry;
        _terminology = terminology;
        _options = options;
    }

    public SearchQuery Parse(SearchRequest request, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var strict = request.Handling == SearchHandling.Strict;
        if (request.ResourceType is { } type && !IsResourceType(type))
        {
            throw new SearchException("type", $"'{type}' is not a FHIR R4 resource type.");
        }

        var types = new List<string>();
        foreach (var (name, value) in parameters)
        {
            if (name == "_type")
            {
                if (request.ResourceType is not null)
                {
                    continue; // reported with the other parameters below
                }

                foreach (var t in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!IsResourceType(t))
                    {
                        throw new SearchException("_type", $"Invalid value '{value}' for '_type': '{t}' is not a FHIR R4 resource type.");
                    }

                    if (!types.Contains(t))
                    {
                        types.Add(t);
                    }
                }
            }
        }

        var query = new SearchQuery
        {
            ResourceType = request.ResourceType,
            Types = types,
            Compartment = request.Compartment,
            Count = _options.DefaultPageSize,
        };
        var context = new ParseContext(query, strict);
        var scope = query.MatchTypes;

        foreach (var (name, value) in parameters)
        {
            if (Ignored.Contains(name))
            {
                continue;
            }

            var colon = name.IndexOf(':');
            var baseName = colon < 0 ? name : name[..colon];
            var modifier = colon < 0 ? null : name[(colon + 1)..];
            switch (baseName)
            {
                case "_type" when request.ResourceType is null:
                    query.Applied.Add(new(name, value));
                    continue;
                case "_sort":
                    ParseSort(context, name, value, scope);
                    continue;
                case "_count":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                    {
                        throw new SearchException(name, $"Invalid value '{value}' for '_count': expected a whole number of 0 or more.");
                    }

                    query.Count = Math.Min(count, _options.MaxPageSize);
                    query.CountOnly |= count == 0;
                    query.Applied.Add(new(name, query.Count.ToString(CultureInfo.InvariantCulture)));
                    continue;
                case "_total":
                    query.Total = value switch
                    {
                        "none" => TotalMode.None,
                        "estimate" => TotalMode.Estimate,
                        "accurate" => TotalMode.Accurate,
                        _ => throw new SearchException(name, $"Invalid value '{value}' for '_total': expected none, estimate or accurate."),
                    };
                    query.Applied.Add(new(name, value));
                    continue;
                case "_summary":
                    if (value is not ("true" or "false" or "text" or "data" or "count"))
                    {
                        throw new SearchException(name, $"Invalid value '{value}' for '_summary': expected true, false, text, data or count.");
                    }

                    query.CountOnly |= value == "count";
                    query.Applied.Add(new(name, value));
                    continue;
                case "_elements":
                    query.Applied.Add(new(name, value));
                    continue;
                case "_include" or "_revinclude":
                    ParseInclude(context, name, baseName == "_revinclude", modifier, value);
                    continue;
            }

            if (UnsupportedResultParameters.Contains(baseName))
            {
                context.Unknown(name, $"The parameter '{baseName}' is not supported.");
                continue;
            }

            var criterion = ParseCriterion(context, scope, name, name, value);
            if (criterion is not null)
            {
                query.Criteria.Add(criterion);
                query.Applied.Add(new(name, value));
            }
        }

        return query;
    }

    private sealed class ParseContext(SearchQuery query, bool strict)
    {
        public SearchQuery Query { get; } = query;

        /// <summary>Strict: fail; lenient: report and go on (the caller then skips the parameter).</summary>
        public void Unknown(string parameter, string message)
        {
            if (strict)
            {
                throw new SearchException(parameter, message);
            }

            Query.Issues.Add(new SearchIssue(parameter, message + " It was ignored."));
        }
    }

    private static bool IsResourceType(string type) =>
        type.Length > 0 && char.IsUpper(type[0]) && ModelInfo.IsKnownResource(type) && type is not ("Resource" or "DomainResource");

    /// <summary>The parameter for every type in scope (one definition stands for all; they must agree on the type).</summary>
    private SearchParameterInfo? Lookup(IReadOnlyList<string>? scope, string code, string fullName)
    {
        if (scope is null)
        {
            return _registry.Find("Resource", code);
        }

        SearchParameterInfo? first = null;
        foreach (var type in scope)
        {
            var info = _registry.Find(type, code);
            if (info is null)
            {
                return null;
            }

            if (first is not null && (info.Type != first.Type || info.Storage != first.Storage))
            {
                throw new SearchException(fullName, $"The parameter '{code}' has different types in {first.ResourceType} and {type}: search each type on its own.");
            }

            first ??= info;
        }

        return first;
    }

    private static string ScopeText(IReadOnlyList<string>? scope) =>
        scope is null ? "every resource type" : string.Join(", ", scope);

    private Criterion? ParseCriterion(ParseContext context, IReadOnlyList<string>? scope, string fullName, string name, string value)
    {
        if (name.StartsWith("_has:", StringComparison.Ordinal))
        {
            return ParseHas(context, scope, fullName, name, value);
        }

        var dot = name.IndexOf('.');
        if (dot >= 0)
        {
            return ParseChain(context, scope, fullName, name[..dot], name[(dot + 1)..], value);
        }

        var colon = name.IndexOf(':');
        var code = colon < 0 ? name : name[..colon];
        var modifierText = colon < 0 ? null : name[(colon + 1)..];
        var parameter = Lookup(scope, code, fullName);
        if (parameter is null)
        {
            context.Unknown(fullName, $"The search parameter '{code}' is not defined for {ScopeText(scope)}.");
            return null;
        }

        if (!parameter.IsSupported)
        {
            context.Unknown(fullName, $"The search parameter '{code}' is not supported: {parameter.UnsupportedReason}.");
            return null;
        }

        if (modifierText == "missing")
        {
            return value switch
            {
                "true" => new MissingCriterion(parameter, true),
                "false" => new MissingCriterion(parameter, false),
                _ => throw new SearchException(fullName, $"Invalid value '{value}' for '{fullName}': :missing takes true or false."),
            };
        }

        var (modifier, targetType) = ParseModifier(fullName, parameter, modifierText);
        var values = new List<SearchValue>();
        foreach (var raw in SearchValueSyntax.Split(value, ','))
        {
            if (raw.Length == 0)
            {
                continue;
            }

            values.Add(ParseValue(fullName, parameter, modifier, targetType, raw));
        }

        if (values.Count == 0)
        {
            throw new SearchException(fullName, $"The parameter '{fullName}' has no value.");
        }

        return new ParameterCriterion(parameter, modifier, targetType, values);
    }

    private (SearchModifier, string?) ParseModifier(string fullName, SearchParameterInfo parameter, string? text)
    {
        if (text is null)
        {
            return (SearchModifier.None, null);
        }

        var modifier = text switch
        {
            "exact" => SearchModifier.Exact,
            "contains" => SearchModifier.Contains,
            "not" => SearchModifier.Not,
            "text" => SearchModifier.Text,
            "of-type" => SearchModifier.OfType,
            "identifier" => SearchModifier.Identifier,
            "below" => SearchModifier.Below,
            "above" => SearchModifier.Above,
            "in" => SearchModifier.In,
            "not-in" => SearchModifier.NotIn,
            _ when IsResourceType(text) => SearchModifier.Type,
            _ => throw new SearchException(fullName, $"Unknown modifier ':{text}' on the search parameter '{parameter.Code}'."),
        };

        var allowed = parameter.Storage switch
        {
            SearchParameterStorage.ResourceId => modifier is SearchModifier.Not,
            SearchParameterStorage.LastUpdated => false,
            _ => parameter.Type switch
            {
                SearchParamType.String => modifier is SearchModifier.Exact or SearchModifier.Contains,
                SearchParamType.Token => modifier is SearchModifier.Not or SearchModifier.Text or SearchModifier.OfType
                    or SearchModifier.Below or SearchModifier.Above or SearchModifier.In or SearchModifier.NotIn,
                SearchParamType.Reference => modifier is SearchModifier.Type or SearchModifier.Identifier,
                SearchParamType.Uri => modifier is SearchModifier.Below or SearchModifier.Above,
                _ => false,
            },
        };
        if (!allowed)
        {
            throw new SearchException(fullName, $"The modifier ':{text}' is not supported on the {parameter.Type.ToString().ToLowerInvariant()} parameter '{parameter.Code}'.");
        }

        if (modifier == SearchModifier.Type && parameter.Targets.Count > 0 && !parameter.Targets.Contains(text))
        {
            throw new SearchException(fullName, $"The reference parameter '{parameter.Code}' cannot point to {text} (it points to {string.Join(", ", parameter.Targets)}).");
        }

        return (modifier, modifier == SearchModifier.Type ? text : null);
    }

    private SearchValue ParseValue(string fullName, SearchParameterInfo parameter, SearchModifier modifier, string? targetType, string raw)
    {
        SearchException Invalid(string why) =>
            new(fullName, $"Invalid value '{SearchValueSyntax.Unescape(raw)}' for the {TypeName(parameter)} parameter '{fullName}': {why}.");

        switch (parameter.Storage)
        {
            case SearchParameterStorage.ResourceId:
                return new TokenValue(null, false, SearchValueSyntax.Unescape(raw));
            case SearchParameterStorage.LastUpdated:
                return ParseDate(raw, Invalid);
        }

        switch (parameter.Type)
        {
            case SearchParamType.String:
            {
                var text = SearchValueSyntax.Unescape(raw);
                return new StringValue(text, SearchIndexer.NormalizeForIndex(text));
            }

            case SearchParamType.Token:
                return ParseToken(modifier, raw, Invalid);
            case SearchParamType.Date:
                return ParseDate(raw, Invalid);
            case SearchParamType.Number:
                return ParseNumber(raw, Invalid);
            case SearchParamType.Quantity:
                return ParseQuantity(raw, Invalid);
            case SearchParamType.Reference:
                return ParseReference(parameter, modifier, targetType, raw, Invalid);
            case SearchParamType.Uri:
                return new UriValue(SearchValueSyntax.Unescape(raw));
            case SearchParamType.Composite:
            {
                var parts = SearchValueSyntax.Split(raw, '$');
                if (parts.Count != parameter.Components.Count)
                {
                    throw Invalid($"a composite value needs {parameter.Components.Count} parts separated by '$'");
                }

                var components = new List<SearchValue>();
                for (var i = 0; i < parts.Count; i++)
                {
                    var component = parameter.Components[i];
                    components.Add(component.Type switch
                    {
                        SearchParamType.String => new StringValue(SearchValueSyntax.Unescape(parts[i]), SearchIndexer.NormalizeForIndex(SearchValueSyntax.Unescape(parts[i]))),
                        SearchParamType.Token => ParseToken(SearchModifier.None, parts[i], Invalid),
                        SearchParamType.Date => ParseDate(parts[i], Invalid),
                        SearchParamType.Number => ParseNumber(parts[i], Invalid),
                        SearchParamType.Quantity => ParseQuantity(parts[i], Invalid),
                        SearchParamType.Reference => ParseReference(parameter, SearchModifier.None, null, parts[i], Invalid),
                        SearchParamType.Uri => new UriValue(SearchValueSyntax.Unescape(parts[i])),
                        _ => throw Invalid("unsupported component type"),
                    });
                }

                return new CompositeValue(components);
            }

            default:
                throw Invalid("this parameter type cannot be searched");
        }
    }

    private static string TypeName(SearchParameterInfo parameter) => parameter.Type.ToString().ToLowerInvariant();

    private SearchValue ParseToken(SearchModifier modifier, string raw, Func<string, SearchException> invalid)
    {
        switch (modifier)
        {
            case SearchModifier.Text:
                return new TokenTextValue(SearchIndexer.NormalizeForIndex(SearchValueSyntax.Unescape(raw)));
            case SearchModifier.OfType:
            {
                var parts = SearchValueSyntax.Split(raw, '|');
                if (parts.Count != 3 || parts.Any(p => p.Length == 0))
                {
                    throw invalid(":of-type takes type-system|type-code|value");
                }

                return new TokenOfTypeValue(SearchValueSyntax.Unescape(parts[0]), SearchValueSyntax.Unescape(parts[1]), SearchValueSyntax.Unescape(parts[2]));
            }

            case SearchModifier.In or SearchModifier.NotIn:
            {
                var url = SearchValueSyntax.Unescape(raw);
                var terminology = _terminology ?? throw invalid("no terminology is configured to expand value sets");
                var codes = terminology.Expand(url) ?? throw invalid($"the value set '{url}' is unknown or cannot be expanded here");
                return new TokenSetValue(codes.ToArray());
            }

            case SearchModifier.Below or SearchModifier.Above:
            {
                var token = ParsePlainToken(raw, invalid);
                if (token.System is null || token.Code is null)
                {
                    throw invalid($":{(modifier == SearchModifier.Below ? "below" : "above")} on a code needs system|code");
                }

                var terminology = _terminology ?? throw invalid("no terminology is configured to walk code hierarchies");
                var codes = (modifier == SearchModifier.Below
                                ? terminology.Descendants(token.System, token.Code)
                                : terminology.Ancestors(token.System, token.Code))
                            ?? throw invalid($"the hierarchy of code system '{token.System}' is not known here");
                var set = new HashSet<(string? System, string Code)>(codes) { (token.System, token.Code) };
                return new TokenSetValue(set.ToArray());
            }

            default:
                return ParsePlainToken(raw, invalid);
        }
    }

    private static TokenValue ParsePlainToken(string raw, Func<string, SearchException> invalid)
    {
        var parts = SearchValueSyntax.Split(raw, '|');
        switch (parts.Count)
        {
            case 1:
                return new TokenValue(null, false, SearchValueSyntax.Unescape(parts[0]));
            case 2:
            {
                var system = parts[0].Length == 0 ? null : SearchValueSyntax.Unescape(parts[0]);
                var code = parts[1].Length == 0 ? null : SearchValueSyntax.Unescape(parts[1]);
                if (system is null && code is null)
                {
                    throw invalid("'|' alone names neither a system nor a code");
                }

                return new TokenValue(system, true, code);
            }

            default:
                throw invalid("a token is code, system|code, |code or system| (escape a '|' in a value as '\\|')");
        }
    }

    private static DateValue ParseDate(string raw, Func<string, SearchException> invalid)
    {
        var text = SearchValueSyntax.Unescape(raw);
        if (!SearchValueSyntax.TryParsePrefix(text, out var prefix, out var rest, out var error))
        {
            // "xx2024": a bad prefix; "yesterday": not a date at all.
            throw invalid(FhirDateRange.TryParse(text[2..], out _, out _) ? error! : "expected [prefix]yyyy[-MM[-dd[Thh:mm[:ss[.fff]][Z|±hh:mm]]]]");
        }

        if (!FhirDateRange.TryParse(rest, out var range, out error))
        {
            throw invalid(error!);
        }

        return new DateValue(prefix, range);
    }

    private static NumberValue ParseNumber(string raw, Func<string, SearchException> invalid)
    {
        var text = SearchValueSyntax.Unescape(raw);
        if (!SearchValueSyntax.TryParsePrefix(text, out var prefix, out var rest, out var error))
        {
            throw invalid(SearchValueSyntax.TryParseNumber(text[2..], out _, out _, out _) ? error! : $"'{text}' is not a number");
        }

        if (!SearchValueSyntax.TryParseNumber(rest, out var value, out var low, out var high))
        {
            throw invalid($"'{rest}' is not a number");
        }

        return new NumberValue(prefix, value, low, high);
    }

    private static QuantityValue ParseQuantity(string raw, Func<string, SearchException> invalid)
    {
        var parts = SearchValueSyntax.Split(raw, '|');
        if (parts.Count is not (1 or 3))
        {
            throw invalid("a quantity is [prefix]number, or [prefix]number|system|code (system may be empty)");
        }

        var number = ParseNumber(parts[0], invalid);
        string? system = null, code = null;
        if (parts.Count == 3)
        {
            system = parts[1].Length == 0 ? null : SearchValueSyntax.Unescape(parts[1]);
            code = parts[2].Length == 0 ? null : SearchValueSyntax.Unescape(parts[2]);
        }

        return new QuantityValue(number.Prefix, number, system, code);
    }

    private static SearchValue ParseReference(SearchParameterInfo parameter, SearchModifier modifier, string? targetType, string raw,
        Func<string, SearchException> invalid)
    {
        if (modifier == SearchModifier.Identifier)
        {
            var parts = SearchValueSyntax.Split(raw, '|');
            return parts.Count switch
            {
                1 => new IdentifierValue(null, SearchValueSyntax.Unescape(parts[0])),
                2 => new IdentifierValue(parts[0].Length == 0 ? null : SearchValueSyntax.Unescape(parts[0]),
                    parts[1].Length == 0 ? null : SearchValueSyntax.Unescape(parts[1])),
                _ => throw invalid(":identifier takes system|value or value"),
            };
        }

        var text = SearchValueSyntax.Unescape(raw);
        if (text.Contains("://", StringComparison.Ordinal) || text.StartsWith("urn:", StringComparison.Ordinal))
        {
            var bar = SearchValueSyntax.Split(raw, '|');
            return bar.Count == 2
                ? new ReferenceValue(null, null, SearchValueSyntax.Unescape(bar[1]), SearchValueSyntax.Unescape(bar[0]))
                : new ReferenceValue(null, null, null, text);
        }

        var segments = text.Split('/');
        string? type = null, id, version = null;
        switch (segments.Length)
        {
            case 1:
                id = segments[0];
                break;
            case 2:
                type = segments[0];
                id = segments[1];
                break;
            case 4 when segments[2] == "_history":
                type = segments[0];
                id = segments[1];
                version = segments[3];
                break;
            default:
                throw invalid("a reference is id, Type/id, Type/id/_history/version or an absolute URL");
        }

        if (id.Length == 0)
        {
            throw invalid("the id is empty");
        }

        if (type is not null)
        {
            if (!IsResourceType(type))
            {
                throw invalid($"'{type}' is not a resource type");
            }

            if (targetType is not null && targetType != type)
            {
                throw invalid($"the value names {type} but the modifier asks for {targetType}");
            }

            if (parameter.Targets.Count > 0 && !parameter.Targets.Contains(type))
            {
                throw invalid($"'{parameter.Code}' cannot point to {type} (it points to {string.Join(", ", parameter.Targets)})");
            }
        }

        return new ReferenceValue(type ?? targetType, id, version, null);
    }

    private Criterion? ParseChain(ParseContext context, IReadOnlyList<string>? scope, string fullName, string head, string rest, string value)
    {
        var colon = head.IndexOf(':');
        var code = colon < 0 ? head : head[..colon];
        var typeModifier = colon < 0 ? null : head[(colon + 1)..];
        var parameter = Lookup(scope, code, fullName);
        if (parameter is null)
        {
            context.Unknown(fullName, $"The search parameter '{code}' is not defined for {ScopeText(scope)}.");
            return null;
        }

        if (parameter.Type != SearchParamType.Reference || !parameter.IsSupported)
        {
            throw new SearchException(fullName, $"'{code}' is not a reference parameter, so '{fullName}' cannot chain through it.");
        }

        if (typeModifier is not null && !IsResourceType(typeModifier))
        {
            throw new SearchException(fullName, $"'{typeModifier}' in '{head}' is not a resource type.");
        }

        IReadOnlyList<string> candidates = typeModifier is not null ? [typeModifier] : parameter.Targets;
        if (candidates.Count == 0)
        {
            throw new SearchException(fullName, $"'{code}' can point to any type: name the type to chain through, e.g. '{code}:Patient.{rest}'.");
        }

        if (typeModifier is not null && parameter.Targets.Count > 0 && !parameter.Targets.Contains(typeModifier))
        {
            throw new SearchException(fullName, $"'{code}' cannot point to {typeModifier} (it points to {string.Join(", ", parameter.Targets)}).");
        }

        // Without a type, chain into every target type that defines the chained parameter.
        var restCode = rest.Split(':', '.')[0];
        var targets = new List<ChainTarget>();
        foreach (var target in candidates.Where(IsResourceType))
        {
            if (!restCode.StartsWith("_has", StringComparison.Ordinal) && _registry.Find(target, restCode) is null)
            {
                continue;
            }

            var inner = ParseCriterion(context, [target], fullName, rest, value);
            if (inner is null)
            {
                return null; // reported (lenient) by the inner parse
            }

            targets.Add(new ChainTarget(target, inner));
        }

        if (targets.Count == 0)
        {
            context.Unknown(fullName, $"The search parameter '{restCode}' is not defined for {string.Join(", ", candidates)}.");
            return null;
        }

        return new ChainCriterion(parameter, targets);
    }

    private Criterion? ParseHas(ParseContext context, IReadOnlyList<string>? scope, string fullName, string name, string value)
    {
        var parts = name["_has:".Length..].Split(':', 3);
        if (parts.Length < 3 || parts.Any(p => p.Length == 0))
        {
            throw new SearchException(fullName, $"'{fullName}' is not a valid reverse chain: expected _has:Type:reference:parameter.");
        }

        var (sourceType, referenceCode, rest) = (parts[0], parts[1], parts[2]);
        if (!IsResourceType(sourceType))
        {
            throw new SearchException(fullName, $"'{sourceType}' in '{fullName}' is not a resource type.");
        }

        var reference = _registry.Find(sourceType, referenceCode);
        if (reference is null || !reference.IsSupported)
        {
            context.Unknown(fullName, $"The search parameter '{referenceCode}' is not defined for {sourceType}.");
            return null;
        }

        if (reference.Type != SearchParamType.Reference)
        {
            throw new SearchException(fullName, $"'{referenceCode}' of {sourceType} is not a reference parameter.");
        }

        if (scope is not null && reference.Targets.Count > 0 && !scope.Any(reference.Targets.Contains))
        {
            throw new SearchException(fullName, $"'{sourceType}.{referenceCode}' cannot point to {string.Join(", ", scope)}.");
        }

        var inner = ParseCriterion(context, [sourceType], fullName, rest, value);
        return inner is null ? null : new HasCriterion(sourceType, reference, inner);
    }

    private void ParseSort(ParseContext context, string name, string value, IReadOnlyList<string>? scope)
    {
        var applied = new List<string>();
        foreach (var item in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var descending = item.StartsWith('-');
            var code = descending ? item[1..] : item;
            if (code.Length == 0)
            {
                throw new SearchException(name, $"Invalid value '{value}' for '_sort': an empty parameter name.");
            }

            SortKey key;
            var parameter = Lookup(scope, code, name);
            if (parameter is null || !parameter.IsSupported)
            {
                context.Unknown(name, $"Cannot sort by '{code}': it is not a search parameter of {ScopeText(scope)}.");
                continue;
            }

            if (parameter.Storage == SearchParameterStorage.ResourceId)
            {
                key = new SortKey(code, SortKind.Id, parameter, descending);
            }
            else if (parameter.Storage == SearchParameterStorage.LastUpdated)
            {
                key = new SortKey(code, SortKind.LastUpdated, parameter, descending);
            }
            else if (!parameter.IsSortable)
            {
                throw new SearchException(name, $"Cannot sort by '{code}': {TypeName(parameter)} parameters are not sortable.");
            }
            else
            {
                key = new SortKey(code, SortKind.Indexed, parameter, descending);
            }

            context.Query.Sort.Add(key);
            applied.Add(item);
        }

        if (applied.Count > 0)
        {
            context.Query.Applied.Add(new(name, string.Join(",", applied)));
        }
    }

    private void ParseInclude(ParseContext context, string name, bool reverse, string? modifier, string value)
    {
        var iterate = modifier switch
        {
            null => false,
            "iterate" or "recurse" => true,
            _ => throw new SearchException(name, $"Unknown modifier ':{modifier}' on '{(reverse ? "_revinclude" : "_include")}' (only :iterate)."),
        };

        IncludeSpec spec;
        if (value == "*")
        {
            spec = new IncludeSpec(null, null, null, iterate, value);
        }
        else
        {
            var parts = value.Split(':');
            if (parts.Length is < 2 or > 3 || !IsResourceType(parts[0]))
            {
                throw new SearchException(name, $"Invalid value '{value}' for '{name}': expected Type:parameter[:TargetType] or *.");
            }

            var source = parts[0];
            string? param = parts[1] == "*" ? null : parts[1];
            var target = parts.Length == 3 ? parts[2] : null;
            if (target is not null && !IsResourceType(target))
            {
                throw new SearchException(name, $"Invalid value '{value}' for '{name}': '{target}' is not a resource type.");
            }

            if (param is not null)
            {
                var info = _registry.Find(source, param);
                if (info is null || !info.IsSupported)
                {
                    context.Unknown(name, $"The search parameter '{param}' is not defined for {source}.");
                    return;
                }

                if (info.Type != SearchParamType.Reference)
                {
                    throw new SearchException(name, $"Invalid value '{value}' for '{name}': '{param}' of {source} is not a reference parameter.");
                }

                if (target is not null && info.Targets.Count > 0 && !info.Targets.Contains(target))
                {
                    throw new SearchException(name, $"Invalid value '{value}' for '{name}': '{param}' of {source} cannot point to {target}.");
                }
            }

            spec = new IncludeSpec(source, param, target, iterate, value);
        }

        (reverse ? context.Query.RevIncludes : context.Query.Includes).Add(spec);
        context.Query.Applied.Add(new(name, value));
    }
}
