using System.Data.Common;
using System.Globalization;
using FhirRecovery.Storage.Search;
using Hl7.Fhir.Model;
using SortKey = FhirRecovery.Storage.Search.SortKey;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Storage.Sql;

/// <summary>
/// Runs a search on one connection (the store's, or a session's inside its transaction): parse, page with a keyset
/// (sort values + key) from the page token, count when asked, then add _include/_revinclude resources.
/// </summary>
internal sealed class SearchExecutor(StoreContext context)
{
    private const string CursorKind = "search";

    public async Task<SearchResult> SearchAsync(DbConnection connection, DbTransaction? transaction, SearchRequest request,
        CancellationToken cancellationToken)
    {
        var (parameters, cursor) = ResolvePaging(request);
        var query = context.Parser.Parse(request, parameters);
        var hash = Hash(request, parameters);
        if (cursor is not null && cursor.Hash != hash)
        {
            throw new SearchException("_page", "The page token belongs to a different search.");
        }

        if (query.CountOnly)
        {
            var count = await CountAsync(connection, transaction, query, request, cancellationToken);
            return new SearchResult { Matches = [], Total = count, Applied = query.Applied, Issues = query.Issues };
        }

        var p = new SqlParameters();
        var builder = new SearchSqlBuilder(p, context.Compartments, request.Compartment, context.Time);
        var (from, where) = builder.Build(query, "h");
        var sortExpressions = query.Sort.Select(k => builder.SortExpression(k, "h")).ToList();
        var forward = cursor?.Forward ?? true;
        var columns = string.Concat(sortExpressions.Select((e, i) => $", {e} AS s{i}"));
        var keyset = cursor is null ? "" : "WHERE " + Keyset(p, query.Sort, cursor, "q");
        var limit = p.Add(query.Count + 1);
        var sql = $"""
            SELECT pg.res_key{string.Concat(query.Sort.Select((_, i) => $", pg.s{i}"))}, {VersionReader.Columns("v")}
            FROM (
                SELECT q.* FROM (
                    SELECT h.res_key AS res_key, h.version_id AS version_id{columns}
                    FROM {from}
                    WHERE {where}
                ) q
                {keyset}
                ORDER BY {OrderBy(query.Sort, forward, "q")}
                LIMIT {limit}
            ) pg
            JOIN resource_versions v ON v.res_key = pg.res_key AND v.version_id = pg.version_id
            ORDER BY {OrderBy(query.Sort, forward, "pg")}
            """;

        var rows = new List<Row>();
        await using (var command = p.CreateCommand(connection, transaction, sql, context.CommandTimeout))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var values = new object?[query.Sort.Count];
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = reader.IsDBNull(i + 1) ? null : reader.GetValue(i + 1);
                }

                rows.Add(new Row(reader.GetInt64(0), values, VersionReader.Read(reader, 1 + values.Length, context.Dialect)));
            }
        }

        var hasMore = rows.Count > query.Count;
        if (hasMore)
        {
            rows.RemoveRange(query.Count, rows.Count - query.Count);
        }

        if (!forward)
        {
            rows.Reverse();
        }

        var storedParameters = parameters.Select(kv => new[] { kv.Key, kv.Value }).ToArray();
        string? Token(Row row, bool next) => context.PageTokens.Encode(new PageCursor
        {
            Kind = CursorKind,
            Forward = next,
            Values = row.SortValues,
            Key = row.Key,
            Hash = hash,
            Parameters = storedParameters,
        });

        string? nextPage = null, previousPage = null;
        if (rows.Count > 0)
        {
            if (forward ? hasMore : true)
            {
                nextPage = Token(rows[^1], next: true);
            }

            if (forward ? cursor is not null : hasMore)
            {
                previousPage = Token(rows[0], next: false);
            }
        }

        int? total = query.Total switch
        {
            TotalMode.Accurate or TotalMode.Estimate => await CountAsync(connection, transaction, query, request, cancellationToken),
            TotalMode.Default when cursor is null && !hasMore => rows.Count,
            _ => null,
        };

        var included = new List<ResourceVersion>();
        if (query.Includes.Count > 0 || query.RevIncludes.Count > 0)
        {
            await AddIncludesAsync(connection, transaction, query, request, rows, included, cancellationToken);
        }

        return new SearchResult
        {
            Matches = rows.Select(r => r.Version).ToList(),
            Included = included,
            Total = total,
            Applied = query.Applied,
            Issues = query.Issues,
            NextPage = nextPage,
            PreviousPage = previousPage,
        };
    }

    private sealed record Row(long Key, object?[] SortValues, ResourceVersion Version);

    /// <summary>The parameters to run (from the token when the request only carries the token) and the decoded cursor.</summary>
    private (IReadOnlyList<KeyValuePair<string, string>>, PageCursor?) ResolvePaging(SearchRequest request)
    {
        var parameters = request.Parameters;
        var token = request.PageToken;
        if (parameters.Any(kv => kv.Key == "_page"))
        {
            token ??= parameters.First(kv => kv.Key == "_page").Value;
            parameters = parameters.Where(kv => kv.Key != "_page").ToList();
        }

        if (token is null)
        {
            return (parameters, null);
        }

        var cursor = context.PageTokens.Decode(token, CursorKind);
        if (parameters.Count == 0 && cursor.Parameters is { } stored)
        {
            parameters = stored.Where(s => s.Length == 2).Select(s => new KeyValuePair<string, string>(s[0], s[1])).ToList();
        }

        return (parameters, cursor);
    }

    private static string Hash(SearchRequest request, IReadOnlyList<KeyValuePair<string, string>> parameters) =>
        PageTokenCodec.Digest(
            [request.ResourceType, request.Compartment?.CompartmentType, request.Compartment?.Id],
            parameters.Where(kv => kv.Key is not ("_format" or "_pretty")).SelectMany(kv => new[] { kv.Key, kv.Value }));

    private async Task<int> CountAsync(DbConnection connection, DbTransaction? transaction, SearchQuery query, SearchRequest request,
        CancellationToken cancellationToken)
    {
        var p = new SqlParameters();
        var builder = new SearchSqlBuilder(p, context.Compartments, request.Compartment, context.Time);
        var (from, where) = builder.Build(query, "h");
        var sql = $"SELECT COUNT(*) FROM {from} WHERE {where}";
        await using var command = p.CreateCommand(connection, transaction, sql, context.CommandTimeout);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    /// <summary>ORDER BY for the sort keys (missing values last in both directions), then the key; reversed for previous pages.</summary>
    private static string OrderBy(IReadOnlyList<SortKey> sort, bool forward, string alias)
    {
        var parts = new List<string>();
        for (var i = 0; i < sort.Count; i++)
        {
            var descending = sort[i].Descending ^ !forward;
            parts.Add($"CASE WHEN {alias}.s{i} IS NULL THEN 1 ELSE 0 END{(forward ? "" : " DESC")}");
            parts.Add($"{alias}.s{i}{(descending ? " DESC" : "")}");
        }

        parts.Add($"{alias}.res_key{(forward ? "" : " DESC")}");
        return string.Join(", ", parts);
    }

    /// <summary>Rows strictly after (forward) or before (backward) the cursor row in the sort order.</summary>
    private static string Keyset(SqlParameters p, IReadOnlyList<SortKey> sort, PageCursor cursor, string alias)
    {
        if (cursor.Values.Count != sort.Count)
        {
            throw new SearchException("_page", "The page token does not match the sort of this search.");
        }

        var alternatives = new List<string>();
        var equalPrefix = new List<string>();
        for (var i = 0; i < sort.Count; i++)
        {
            var column = $"{alias}.s{i}";
            var value = Typed(sort[i], cursor.Values[i]);
            string step;
            if (cursor.Forward)
            {
                // Missing values sort last: nothing comes after a missing value within this key.
                step = value is null ? "" : $"({column} {(sort[i].Descending ? "<" : ">")} {p.Add(value)} OR {column} IS NULL)";
            }
            else
            {
                step = value is null ? $"{column} IS NOT NULL" : $"{column} {(sort[i].Descending ? ">" : "<")} {p.Add(value)}";
            }

            if (step.Length > 0)
            {
                alternatives.Add("(" + string.Join(" AND ", equalPrefix.Append(step)) + ")");
            }

            equalPrefix.Add(value is null ? $"{column} IS NULL" : $"{column} = {p.Add(value)}");
        }

        alternatives.Add("(" + string.Join(" AND ", equalPrefix.Append($"{alias}.res_key {(cursor.Forward ? ">" : "<")} {p.Add(cursor.Key)}")) + ")");
        return "(" + string.Join(" OR ", alternatives) + ")";
    }

    /// <summary>A sort value from a token, as the type the column has (a token's JSON loses the difference of 5 and 5.0).</summary>
    private static object? Typed(SortKey key, object? value)
    {
        if (value is null)
        {
            return null;
        }

        try
        {
            return key.Kind switch
            {
                SortKind.Id => Convert.ToString(value, CultureInfo.InvariantCulture),
                SortKind.LastUpdated => Convert.ToInt64(value, CultureInfo.InvariantCulture),
                _ => key.Parameter!.Type switch
                {
                    SearchParamType.Date => Convert.ToInt64(value, CultureInfo.InvariantCulture),
                    SearchParamType.Number or SearchParamType.Quantity => Convert.ToDouble(value, CultureInfo.InvariantCulture),
                    _ => Convert.ToString(value, CultureInfo.InvariantCulture),
                },
            };
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException)
        {
            throw new SearchException("_page", "The page token does not match the sort of this search.");
        }
    }

    private async Task AddIncludesAsync(DbConnection connection, DbTransaction? transaction, SearchQuery query, SearchRequest request,
        List<Row> rows, List<ResourceVersion> included, CancellationToken cancellationToken)
    {
        var seen = rows.Select(r => r.Key).ToHashSet();
        var current = rows.Select(r => (r.Key, r.Version.ResourceType)).ToList();
        var limit = context.Options.MaxIncludeCount;
        for (var round = 0; round <= context.Options.MaxIncludeIterations && current.Count > 0; round++)
        {
            var includes = query.Includes.Where(s => round == 0 || s.Iterate).ToList();
            var revIncludes = query.RevIncludes.Where(s => round == 0 || s.Iterate).ToList();
            if (includes.Count == 0 && revIncludes.Count == 0)
            {
                break;
            }

            var found = new List<(long Key, string ResourceType)>();
            foreach (var (spec, reverse) in includes.Select(s => (s, false)).Concat(revIncludes.Select(s => (s, true))))
            {
                var remaining = limit - included.Count;
                var fetched = await IncludeAsync(connection, transaction, request, spec, reverse, current, remaining + 1, cancellationToken);
                foreach (var (key, version) in fetched)
                {
                    if (!seen.Add(key))
                    {
                        continue;
                    }

                    if (included.Count >= limit)
                    {
                        query.Issues.Add(new SearchIssue(reverse ? "_revinclude" : "_include",
                            $"More than {limit} resources were to be included; the rest were left out."));
                        return;
                    }

                    included.Add(version);
                    found.Add((key, version.ResourceType));
                }
            }

            current = found;
        }
    }

    private async Task<List<(long Key, ResourceVersion Version)>> IncludeAsync(DbConnection connection, DbTransaction? transaction,
        SearchRequest request, IncludeSpec spec, bool reverse, List<(long Key, string ResourceType)> from, int limit,
        CancellationToken cancellationToken)
    {
        // _include=Source:param applies to Source resources; _revinclude=Source:param:Target to Target resources.
        var keys = from.Where(r => reverse ? spec.TargetType is null || r.ResourceType == spec.TargetType
                : spec.SourceType is null || r.ResourceType == spec.SourceType)
            .Select(r => (object)r.Key).ToList();
        if (keys.Count == 0)
        {
            return [];
        }

        var p = new SqlParameters();
        var builder = new SearchSqlBuilder(p, context.Compartments, request.Compartment, context.Time);
        string sql;
        if (!reverse)
        {
            var conditions = new List<string> { $"x.res_key IN ({p.List(keys)})", "t.is_deleted = 0" };
            if (spec.Param is not null)
            {
                conditions.Add($"x.param = {p.Add(spec.Param)}");
            }

            if (spec.TargetType is not null)
            {
                conditions.Add($"x.target_type = {p.Add(spec.TargetType)}");
            }

            if (request.Compartment is not null)
            {
                conditions.Add(builder.InCompartment("t", spec.TargetType is null ? null : [spec.TargetType]));
            }

            sql = $"""
                SELECT t.res_key, {VersionReader.Columns("v")}
                FROM {IndexTables.Reference} x
                JOIN resources t ON t.res_type = x.target_type AND t.res_id = x.target_id
                JOIN resource_versions v ON v.res_key = t.res_key AND v.version_id = t.version_id
                WHERE {string.Join(" AND ", conditions)}
                LIMIT {p.Add(limit)}
                """;
        }
        else
        {
            var conditions = new List<string> { $"m.res_key IN ({p.List(keys)})", "s.is_deleted = 0" };
            if (spec.SourceType is not null)
            {
                conditions.Add($"x.res_type = {p.Add(spec.SourceType)}");
            }

            if (spec.Param is not null)
            {
                conditions.Add($"x.param = {p.Add(spec.Param)}");
            }

            if (request.Compartment is not null)
            {
                conditions.Add(builder.InCompartment("s", spec.SourceType is null ? null : [spec.SourceType]));
            }

            sql = $"""
                SELECT s.res_key, {VersionReader.Columns("v")}
                FROM resources m
                JOIN {IndexTables.Reference} x ON x.target_type = m.res_type AND x.target_id = m.res_id
                JOIN resources s ON s.res_key = x.res_key
                JOIN resource_versions v ON v.res_key = s.res_key AND v.version_id = s.version_id
                WHERE {string.Join(" AND ", conditions)}
                LIMIT {p.Add(limit)}
                """;
        }

        var result = new List<(long, ResourceVersion)>();
        await using var command = p.CreateCommand(connection, transaction, sql, context.CommandTimeout);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add((reader.GetInt64(0), VersionReader.Read(reader, 1, context.Dialect)));
        }

        return result;
    }
}
