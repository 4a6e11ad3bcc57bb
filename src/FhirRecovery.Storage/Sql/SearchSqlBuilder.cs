using System.Globalization;
using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Indexing;
using FhirRecovery.Storage.Search;
using Hl7.Fhir.Model;
using SortKey = FhirRecovery.Storage.Search.SortKey;

namespace FhirRecovery.Storage.Sql;

/// <summary>
/// Translates a <see cref="SearchQuery"/> into SQL over the index tables, identical for both databases. Every value is
/// a parameter. One criterion (the most selective-looking) is written as <c>res_key IN (index lookup)</c> so the
/// database drives the query from that index; the others are correlated <c>EXISTS</c> probes on (res_key, param).
/// </summary>
internal sealed class SearchSqlBuilder
{
    // The largest code point: upper bound of a prefix range ("abc" ≤ v < "abc\U0010FFFF") in binary collations.
    private const string MaxSuffix = "\U0010FFFF";

    private readonly CompartmentDefinitions _compartments;
    private readonly CompartmentScope? _compartment;
    private readonly TimeProvider _time;
    private int _aliases;

    public SearchSqlBuilder(SqlParameters parameters, CompartmentDefinitions compartments, CompartmentScope? compartment, TimeProvider time)
    {
        P = parameters;
        _compartments = compartments;
        _compartment = compartment;
        _time = time;
    }

    public SqlParameters P { get; }

    private string Alias(string prefix) => prefix + (++_aliases).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// FROM and WHERE selecting the matches (live current resources) as head alias <paramref name="h"/>. When a criterion
    /// looks selective (a reference, an identifier, a chain...) or the search is confined to a compartment, its index
    /// lookup becomes the first table of a CROSS JOIN (which SQLite never reorders): the query then starts from the few
    /// keys it finds instead of scanning every resource of the type and probing the index for each.
    /// </summary>
    public (string From, string Where) Build(SearchQuery query, string h)
    {
        var types = query.MatchTypes;
        var parts = new List<string> { TypeFilter(h, types), $"{h}.is_deleted = 0" };
        string? driver = null;
        var byId = query.Criteria.Any(c => c is ParameterCriterion { Parameter.Storage: SearchParameterStorage.ResourceId, IsNegated: false });
        if (_compartment is not null)
        {
            if (byId)
            {
                parts.Add(InCompartment(h, types)); // the id lookup is better still
            }
            else
            {
                driver = CompartmentKeys(types);
            }
        }

        foreach (var criterion in query.Criteria.OrderBy(Rank))
        {
            if (driver is null && !byId && Rank(criterion) < DriverRank)
            {
                driver = Condition(criterion, h, types, Mode.Keys);
                continue;
            }

            parts.Add(Condition(criterion, h, types, Mode.Probe));
        }

        if (driver is null)
        {
            return ($"resources {h}", string.Join("\n  AND ", parts.Where(p => p.Length > 0)));
        }

        var d = Alias("d");
        parts.Insert(0, $"{h}.res_key = {d}.res_key");
        return ($"({driver}) {d} CROSS JOIN resources {h}", string.Join("\n  AND ", parts.Where(p => p.Length > 0)));
    }

    /// <summary>How a criterion is written: a test on the alias, an IN list on it, or the keys it selects.</summary>
    public enum Mode
    {
        /// <summary>A correlated EXISTS probe (for non-selective criteria: evaluated per candidate row).</summary>
        Probe,

        /// <summary><c>alias.res_key IN (lookup)</c>: used inside chains and reverse chains.</summary>
        In,

        /// <summary><c>SELECT DISTINCT res_key ...</c>: the driving table of the query.</summary>
        Keys,
    }

    private const int DriverRank = 40;

    private string TypeFilter(string alias, IReadOnlyList<string>? types, string column = "res_type") => types switch
    {
        null => "",
        [var single] => $"{alias}.{column} = {P.Add(single)}",
        _ => $"{alias}.{column} IN ({P.List(types)})",
    };

    private static string And(params string[] parts) => string.Join(" AND ", parts.Where(p => p.Length > 0));

    /// <summary>
    /// Lower is more selective; below <see cref="DriverRank"/> a criterion may drive the query. Codes such as status or
    /// category match half the table: probing is cheaper than starting from them.
    /// </summary>
    private static int Rank(Criterion criterion) => criterion switch
    {
        ParameterCriterion { IsNegated: true } => 100,
        ParameterCriterion { Parameter.Storage: SearchParameterStorage.ResourceId } => 0,
        ParameterCriterion { Parameter.Storage: SearchParameterStorage.LastUpdated } => 60,
        ParameterCriterion p => p.Parameter.Type switch
        {
            SearchParamType.Reference => 10,
            SearchParamType.Token when p.Parameter.Code.Contains("identifier", StringComparison.Ordinal) && p.Modifier == SearchModifier.None => 15,
            SearchParamType.Uri => 20,
            SearchParamType.String when p.Modifier == SearchModifier.Exact => 20,
            SearchParamType.Composite => 35,
            SearchParamType.String when p.Modifier == SearchModifier.None => 38,
            SearchParamType.Token => 45,
            _ => 50,
        },
        ChainCriterion => 30,
        HasCriterion => 55,
        MissingCriterion { Missing: false } => 90,
        _ => 100,
    };

    public string Condition(Criterion criterion, string h, IReadOnlyList<string>? types, Mode mode) => criterion switch
    {
        ParameterCriterion { Parameter.Storage: SearchParameterStorage.ResourceId } p => IdCondition(p, h),
        ParameterCriterion { Parameter.Storage: SearchParameterStorage.LastUpdated } p =>
            "(" + string.Join(" OR ", p.Values.Cast<DateValue>().Select(v => DateMatch(v, $"{h}.last_updated", $"{h}.last_updated"))) + ")",
        ParameterCriterion { Parameter.Type: SearchParamType.Composite } p => CompositeCondition(p, h, types, mode),
        ParameterCriterion p => IndexCondition(p, h, types, mode),
        MissingCriterion m => MissingCondition(m, h),
        ChainCriterion c => ChainCondition(c, h, types, mode),
        HasCriterion c => HasCondition(c, h, types),
        _ => throw new InvalidOperationException($"unknown criterion {criterion}"),
    };

    private string IdCondition(ParameterCriterion p, string h)
    {
        var ids = p.Values.Cast<TokenValue>().Select(v => (object)(v.Code ?? "")).ToArray();
        return $"{h}.res_id {(p.IsNegated ? "NOT IN" : "IN")} ({P.List(ids)})";
    }

    /// <summary>An index lookup as a probe, an IN list or the driving keys (negations are always NOT EXISTS probes).</summary>
    private string KeyCondition(string h, IReadOnlyList<string>? types, Mode mode, bool negated, string x, string from, string where)
    {
        if (negated)
        {
            return $"NOT EXISTS (SELECT 1 FROM {from} WHERE {x}.res_key = {h}.res_key AND {where})";
        }

        return mode switch
        {
            Mode.Keys => $"SELECT DISTINCT {x}.res_key AS res_key FROM {from} WHERE {And(TypeFilter(x, types), where)}",
            Mode.In => $"{h}.res_key IN (SELECT {x}.res_key FROM {from} WHERE {And(TypeFilter(x, types), where)})",
            _ => $"EXISTS (SELECT 1 FROM {from} WHERE {x}.res_key = {h}.res_key AND {where})",
        };
    }

    private string IndexCondition(ParameterCriterion p, string h, IReadOnlyList<string>? types, Mode mode)
    {
        var x = Alias("x");
        var table = IndexTables.For(p.Parameter.Type);
        var matches = p.Values.Select(v => ValueMatch(p.Parameter.Type, p.Modifier, p.TargetType, v, x)).ToList();
        var where = $"{x}.param = {P.Add(p.Parameter.Code)} AND ({string.Join(" OR ", matches)})";
        return KeyCondition(h, types, mode, p.IsNegated, x, $"{table} {x}", where);
    }

    private string CompositeCondition(ParameterCriterion p, string h, IReadOnlyList<string>? types, Mode mode)
    {
        var components = p.Parameter.Components;
        var aliases = components.Select(_ => Alias("c")).ToArray();
        var from = $"{IndexTables.For(components[0].Type)} {aliases[0]}";
        var where = new List<string> { $"{aliases[0]}.param = {P.Add(components[0].IndexName)}" };
        for (var i = 1; i < components.Count; i++)
        {
            from += $" JOIN {IndexTables.For(components[i].Type)} {aliases[i]} ON {aliases[i]}.res_key = {aliases[0]}.res_key"
                    + $" AND {aliases[i]}.grp = {aliases[0]}.grp AND {aliases[i]}.param = {P.Add(components[i].IndexName)}";
        }

        var alternatives = p.Values.Cast<CompositeValue>().Select(v =>
            "(" + string.Join(" AND ", components.Select((c, i) => ValueMatch(c.Type, SearchModifier.None, null, v.Components[i], aliases[i]))) + ")");
        where.Add("(" + string.Join(" OR ", alternatives) + ")");
        return KeyCondition(h, types, mode, false, aliases[0], from, string.Join(" AND ", where));
    }

    private string MissingCondition(MissingCriterion m, string h)
    {
        var parameter = m.Parameter;
        if (parameter.Storage is SearchParameterStorage.ResourceId or SearchParameterStorage.LastUpdated)
        {
            return m.Missing ? "1 = 0" : "1 = 1"; // every resource has an id and a last-updated instant
        }

        var (table, name) = parameter.Type == SearchParamType.Composite
            ? (IndexTables.For(parameter.Components[0].Type), parameter.Components[0].IndexName)
            : (IndexTables.For(parameter.Type), parameter.Code);
        var x = Alias("x");
        return $"{(m.Missing ? "NOT EXISTS" : "EXISTS")} (SELECT 1 FROM {table} {x} WHERE {x}.res_key = {h}.res_key AND {x}.param = {P.Add(name)})";
    }

    private string ChainCondition(ChainCriterion c, string h, IReadOnlyList<string>? types, Mode mode)
    {
        var x = Alias("x");
        var t = Alias("t");
        var inner = c.Targets.Select(target =>
            $"({t}.res_type = {P.Add(target.ResourceType)} AND {Condition(target.Inner, t, [target.ResourceType], Mode.In)})");
        var where = And($"{x}.param = {P.Add(c.Reference.Code)}", $"{t}.is_deleted = 0", "(" + string.Join(" OR ", inner) + ")",
            _compartment is null ? "" : InCompartment(t, c.Targets.Select(target => target.ResourceType).ToArray()));
        var from = $"{IndexTables.Reference} {x} JOIN resources {t} ON {t}.res_type = {x}.target_type AND {t}.res_id = {x}.target_id";
        return KeyCondition(h, types, mode, false, x, from, where);
    }

    private string HasCondition(HasCriterion c, string h, IReadOnlyList<string>? types)
    {
        var r = Alias("r");
        var s = Alias("s");
        var where = And($"{r}.res_type = {P.Add(c.SourceType)}", $"{r}.param = {P.Add(c.Reference.Code)}", $"{s}.is_deleted = 0",
            Condition(c.Inner, s, [c.SourceType], Mode.In),
            _compartment is null ? "" : InCompartment(s, [c.SourceType]));
        var from = $"{IndexTables.Reference} {r} JOIN resources {s} ON {s}.res_key = {r}.res_key";
        return types is [var single]
            ? $"{h}.res_id IN (SELECT {r}.target_id FROM {from} WHERE {r}.target_type = {P.Add(single)} AND {where})"
            : $"EXISTS (SELECT 1 FROM {from} WHERE {r}.target_type = {h}.res_type AND {r}.target_id = {h}.res_id AND {where})";
    }

    /// <summary>The keys of the compartment's members of the given types (the focal resource included): a driving lookup.</summary>
    private string CompartmentKeys(IReadOnlyList<string>? types)
    {
        var (scope, definition, candidates) = CompartmentOf(types);
        var c = Alias("m");
        var selects = new List<string>();
        var branches = MemberBranches(c, definition, candidates);
        if (branches.Count > 0)
        {
            // DISTINCT: a resource linked through two parameters (a response whose subject and author are the person) is one member.
            selects.Add($"SELECT DISTINCT {c}.res_key AS res_key FROM {IndexTables.Reference} {c} WHERE {c}.target_type = {P.Add(scope.CompartmentType)}"
                        + $" AND {c}.target_id = {P.Add(scope.Id)} AND ({string.Join(" OR ", branches)})");
        }

        if (candidates.Contains(scope.CompartmentType))
        {
            var f = Alias("f");
            selects.Add($"SELECT {f}.res_key AS res_key FROM resources {f} WHERE {f}.res_type = {P.Add(scope.CompartmentType)} AND {f}.res_id = {P.Add(scope.Id)}");
        }

        // UNION (not UNION ALL): a resource linked through two parameters is one member.
        return selects.Count == 0 ? "SELECT res_key FROM resources WHERE 1 = 0" : string.Join(" UNION ", selects);
    }

    private (CompartmentScope Scope, IReadOnlyDictionary<string, IReadOnlyList<string>> Definition, IReadOnlyList<string> Candidates) CompartmentOf(
        IReadOnlyList<string>? types)
    {
        var scope = _compartment!;
        var definition = _compartments.For(scope.CompartmentType)
                         ?? throw new SearchException("compartment", $"'{scope.CompartmentType}' is not a compartment type.");
        var candidates = types ?? definition.Keys.Append(scope.CompartmentType).Distinct().ToArray();
        return (scope, definition, candidates);
    }

    private List<string> MemberBranches(string c, IReadOnlyDictionary<string, IReadOnlyList<string>> definition, IReadOnlyList<string> candidates) =>
        candidates
            .Where(definition.ContainsKey)
            .Select(type => $"({c}.res_type = {P.Add(type)} AND {c}.param IN ({P.List(definition[type])}))")
            .ToList();

    /// <summary>
    /// Membership of the alias in the search's compartment: the focal resource itself, or a resource of a member type
    /// whose compartment parameters point to it. Types that are not members never match.
    /// </summary>
    public string InCompartment(string a, IReadOnlyList<string>? types)
    {
        var (scope, definition, candidates) = CompartmentOf(types);
        var c = Alias("m");
        var branches = MemberBranches(c, definition, candidates);
        var parts = new List<string>();
        if (branches.Count > 0)
        {
            parts.Add($"{a}.res_key IN (SELECT {c}.res_key FROM {IndexTables.Reference} {c} WHERE {c}.target_type = {P.Add(scope.CompartmentType)}"
                      + $" AND {c}.target_id = {P.Add(scope.Id)} AND ({string.Join(" OR ", branches)}))");
        }

        if (candidates.Contains(scope.CompartmentType))
        {
            parts.Add($"({a}.res_type = {P.Add(scope.CompartmentType)} AND {a}.res_id = {P.Add(scope.Id)})");
        }

        return parts.Count == 0 ? "1 = 0" : "(" + string.Join(" OR ", parts) + ")";
    }

    private string ValueMatch(SearchParamType type, SearchModifier modifier, string? targetType, SearchValue value, string x) => value switch
    {
        TokenValue v => TokenMatch(v, x),
        TokenTextValue v => $"({x}.text_norm >= {P.Add(v.Normalized)} AND {x}.text_norm < {P.Add(v.Normalized + MaxSuffix)}"
                            + $" OR {x}.text_norm LIKE {P.Add("% " + EscapeLike(v.Normalized) + "%")} ESCAPE '\\')",
        TokenOfTypeValue v => $"({x}.type_system = {P.Add(v.TypeSystem)} AND {x}.type_code = {P.Add(v.TypeCode)} AND {x}.code = {P.Add(v.Value)})",
        TokenSetValue v => TokenSetMatch(v, x),
        StringValue v => modifier switch
        {
            SearchModifier.Exact => $"({x}.value_norm = {P.Add(v.Normalized)} AND {x}.value_exact = {P.Add(Truncate(v.Raw))})",
            SearchModifier.Contains => $"{x}.value_norm LIKE {P.Add("%" + EscapeLike(v.Normalized) + "%")} ESCAPE '\\'",
            _ => $"({x}.value_norm >= {P.Add(v.Normalized)} AND {x}.value_norm < {P.Add(v.Normalized + MaxSuffix)})",
        },
        DateValue v => DateMatch(v, $"{x}.low", $"{x}.high"),
        NumberValue v => NumberMatch(v, $"{x}.value"),
        QuantityValue v => QuantityMatch(v, x),
        ReferenceValue v => ReferenceMatch(v, targetType, x),
        IdentifierValue v => And(v.System is null ? "" : $"{x}.ident_system = {P.Add(v.System)}",
            v.Value is null ? "" : $"{x}.ident_value = {P.Add(v.Value)}") is { Length: > 0 } identifier ? $"({identifier})" : "1 = 0",
        UriValue v => modifier switch
        {
            SearchModifier.Below => $"({x}.value >= {P.Add(v.Value)} AND {x}.value < {P.Add(v.Value + MaxSuffix)})",
            SearchModifier.Above => $"(length({x}.value) > 0 AND substr({P.Add(v.Value)}, 1, length({x}.value)) = {x}.value)",
            _ => $"{x}.value = {P.Add(v.Value)}",
        },
        _ => throw new InvalidOperationException($"value {value} cannot be matched on a {type} parameter"),
    };

    private string TokenMatch(TokenValue v, string x)
    {
        var system = v.SystemGiven ? v.System is null ? $"{x}.system IS NULL" : $"{x}.system = {P.Add(v.System)}" : "";
        var code = v.Code is null ? "" : $"{x}.code = {P.Add(v.Code)}";
        return "(" + And(code, system) + ")";
    }

    private string TokenSetMatch(TokenSetValue v, string x)
    {
        if (v.Codes.Count == 0)
        {
            return "1 = 0";
        }

        var groups = v.Codes.GroupBy(c => c.System).Select(g =>
            g.Key is null
                ? $"{x}.code IN ({P.List(g.Select(c => (object)c.Code))})"
                : $"({x}.system = {P.Add(g.Key)} AND {x}.code IN ({P.List(g.Select(c => (object)c.Code))}))");
        return "(" + string.Join(" OR ", groups) + ")";
    }

    /// <summary>
    /// Date prefixes over ranges (value [pl, ph], resource [low, high], inclusive): eq = the value's range contains the
    /// resource's; gt/lt = the resource's range reaches past the value's; ge/le = gt/lt or eq; sa/eb = entirely after/before;
    /// ap = overlaps the value widened by 10% of its distance from now.
    /// </summary>
    private string DateMatch(DateValue v, string low, string high)
    {
        var pl = v.Range.Low;
        var ph = v.Range.High;
        string Eq() => $"({low} >= {P.Add(pl)} AND {high} <= {P.Add(ph)})";
        return v.Prefix switch
        {
            SearchPrefix.Eq => Eq(),
            SearchPrefix.Ne => $"NOT {Eq()}",
            SearchPrefix.Gt => $"{high} > {P.Add(ph)}",
            SearchPrefix.Lt => $"{low} < {P.Add(pl)}",
            SearchPrefix.Ge => $"({high} > {P.Add(ph)} OR {Eq()})",
            SearchPrefix.Le => $"({low} < {P.Add(pl)} OR {Eq()})",
            SearchPrefix.Sa => $"{low} > {P.Add(ph)}",
            SearchPrefix.Eb => $"{high} < {P.Add(pl)}",
            SearchPrefix.Ap => ApproximateDate(pl, ph, low, high),
            _ => throw new InvalidOperationException(),
        };
    }

    private string ApproximateDate(long pl, long ph, string low, string high)
    {
        var now = _time.GetUtcNow().UtcTicks;
        var widen = Math.Max(Math.Abs(now - pl) / 10, TimeSpan.TicksPerDay);
        var from = Math.Max(FhirDateRange.MinTicks, pl - widen);
        var to = Math.Min(FhirDateRange.MaxTicks, ph + widen);
        return $"({low} <= {P.Add(to)} AND {high} >= {P.Add(from)})";
    }

    /// <summary>eq/ne use the range the value's precision implies (100 matches 99.5 ≤ v &lt; 100.5); ap is ±10%.</summary>
    private string NumberMatch(NumberValue v, string column)
    {
        var value = (double)v.Value;
        return v.Prefix switch
        {
            SearchPrefix.Eq => $"({column} >= {P.Add((double)v.Low)} AND {column} < {P.Add((double)v.High)})",
            SearchPrefix.Ne => $"NOT ({column} >= {P.Add((double)v.Low)} AND {column} < {P.Add((double)v.High)})",
            SearchPrefix.Gt or SearchPrefix.Sa => $"{column} > {P.Add(value)}",
            SearchPrefix.Lt or SearchPrefix.Eb => $"{column} < {P.Add(value)}",
            SearchPrefix.Ge => $"{column} >= {P.Add(value)}",
            SearchPrefix.Le => $"{column} <= {P.Add(value)}",
            SearchPrefix.Ap => $"({column} >= {P.Add(Math.Min(value * 0.9, value * 1.1))} AND {column} <= {P.Add(Math.Max(value * 0.9, value * 1.1))})",
            _ => throw new InvalidOperationException(),
        };
    }

    private string QuantityMatch(QuantityValue v, string x)
    {
        var number = NumberMatch(v.Number with { Prefix = v.Prefix }, $"{x}.value");
        var unit = (v.System, v.Code) switch
        {
            (null, null) => "",
            (null, { } code) => $"({x}.code = {P.Add(code)} OR {x}.unit = {P.Add(code)})",
            ({ } system, null) => $"{x}.system = {P.Add(system)}",
            ({ } system, { } code) => $"{x}.system = {P.Add(system)} AND {x}.code = {P.Add(code)}",
        };
        return "(" + And(number, unit) + ")";
    }

    private string ReferenceMatch(ReferenceValue v, string? targetType, string x)
    {
        if (v.Url is not null)
        {
            return "(" + And($"{x}.url = {P.Add(v.Url)}", v.Version is null ? "" : $"{x}.target_version = {P.Add(v.Version)}") + ")";
        }

        var type = v.Type ?? targetType;
        return "(" + And($"{x}.target_id = {P.Add(v.Id)}", type is null ? "" : $"{x}.target_type = {P.Add(type)}",
            v.Version is null ? "" : $"{x}.target_version = {P.Add(v.Version)}") + ")";
    }

    private static string Truncate(string value) =>
        value.Length <= SearchIndexer.MaxIndexedStringLength ? value : value[..SearchIndexer.MaxIndexedStringLength];

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    /// <summary>The expression giving a sort key's value for the head alias (lowest value ascending, highest descending).</summary>
    public string SortExpression(SortKey key, string h)
    {
        switch (key.Kind)
        {
            case SortKind.Id:
                return $"{h}.res_id";
            case SortKind.LastUpdated:
                return $"{h}.last_updated";
        }

        var parameter = key.Parameter!;
        var aggregate = key.Descending ? "MAX" : "MIN";
        var column = parameter.Type switch
        {
            SearchParamType.String => "value_norm",
            SearchParamType.Token => "code",
            SearchParamType.Date => key.Descending ? "high" : "low",
            SearchParamType.Number or SearchParamType.Quantity or SearchParamType.Uri => "value",
            SearchParamType.Reference => "COALESCE(s.target_type || '/' || s.target_id, s.url)",
            _ => throw new SearchException("_sort", $"Cannot sort by '{parameter.Code}'."),
        };
        var s = Alias("o");
        column = column.Contains('(') ? column.Replace("s.", s + ".", StringComparison.Ordinal) : $"{s}.{column}";
        return $"(SELECT {aggregate}({column}) FROM {IndexTables.For(parameter.Type)} {s} WHERE {s}.res_key = {h}.res_key AND {s}.param = {P.Add(parameter.Code)})";
    }
}
