using System.Data.Common;
using System.Globalization;
using FhirRecovery.Storage.Search;

namespace FhirRecovery.Storage.Sql;

/// <summary>
/// Counting over the index tables: the matches are selected by the search's own SQL (so every search feature, chains,
/// <c>_has</c> and compartments included, can scope a count), then the token rows are grouped by bucket. Nothing but
/// keys and codes leaves the database.
/// </summary>
public abstract partial class RelationalResourceStore : ISearchAggregation
{
    public async Task<TokenAggregationResult> CountByCodeAsync(TokenAggregation request, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        ArgumentNullException.ThrowIfNull(request);
        var type = request.Search.ResourceType ?? throw new ArgumentException("A count by code needs the resource type searched.", nameof(request));
        if (request.ThroughReference is not null && request.TargetType is null)
        {
            throw new ArgumentException("ThroughReference needs TargetType.", nameof(request));
        }

        var parameters = request.Search.Parameters
            .Where(kv => kv.Key is not ("_count" or "_sort" or "_total" or "_summary" or "_elements" or "_page")
                         && !kv.Key.StartsWith("_include", StringComparison.Ordinal) && !kv.Key.StartsWith("_revinclude", StringComparison.Ordinal))
            .ToList();
        var query = Context.Parser.Parse(request.Search, parameters);
        var scope = request.Scope is { } s
            ? (s.ReferenceParameter, Type: s.Targets.ResourceType ?? throw new ArgumentException("A scope needs the type of its targets.", nameof(request)),
                Query: Context.Parser.Parse(s.Targets, s.Targets.Parameters), s.Targets.Compartment)
            : default;

        // The matches, as CTEs evaluated once each: the scope's targets (e.g. a group's members), then the search's
        // FROM/WHERE narrowed to the matches whose reference rows point at one of them. MATERIALIZED is what keeps this
        // fast whatever the planner believes: on a freshly loaded PostgreSQL database (no statistics yet, autovacuum has
        // not analysed the tables) every estimate is one row, and the inlined subqueries became nested loops that
        // re-ran the scope's search for every goal and every token row (a minute for 200 goals, a command timeout under
        // load). SQLite reads MATERIALIZED the same way.
        string Matches(SqlParameters p)
        {
            var (from, where) = new SearchSqlBuilder(p, Context.Compartments, request.Search.Compartment, Context.Time).Build(query, "h");
            if (request.Scope is null)
            {
                return $"WITH matches AS MATERIALIZED (SELECT h.res_key FROM {from} WHERE {where})";
            }

            var (targetFrom, targetWhere) = new SearchSqlBuilder(p, Context.Compartments, scope.Compartment, Context.Time).Build(scope.Query, "sh");
            return $"""
                WITH scope_targets AS MATERIALIZED (SELECT sh.res_id FROM {targetFrom} WHERE {targetWhere}),
                matches AS MATERIALIZED (
                    SELECT h.res_key FROM {from} WHERE {where}
                      AND h.res_key IN (SELECT sr.res_key FROM idx_reference sr
                                        WHERE sr.res_type = {p.Add(type)} AND sr.param = {p.Add(scope.ReferenceParameter)} AND sr.target_type = {p.Add(scope.Type)}
                                          AND sr.target_id IN (SELECT res_id FROM scope_targets)))
                """;
        }

        await using var connection = await OpenConnectionAsync(cancellationToken);
        var totalParameters = new SqlParameters();
        int total;
        await using (var command = totalParameters.CreateCommand(connection, null, $"{Matches(totalParameters)} SELECT COUNT(*) FROM matches", Context.CommandTimeout))
        {
            total = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        }

        var counts = request.Buckets.ToDictionary(b => b.Name, _ => 0, StringComparer.Ordinal);
        var bucketRows = request.Buckets.SelectMany(b => b.Codes.Select(c => (b.Name, c.System, c.Code))).ToList();
        if (total == 0 || bucketRows.Count == 0)
        {
            return new TokenAggregationResult(total, counts);
        }

        var p = new SqlParameters();
        var matches = Matches(p);
        // PostgreSQL's text columns are COLLATE "C"; literal rows from parameters carry the default collation, and text
        // equality needs one: say which.
        var collate = Context.Dialect.IsPostgres ? " COLLATE \"C\"" : "";
        var buckets = string.Join("\n    UNION ALL ", bucketRows.Select(r => $"SELECT {p.Add(r.Name)} AS bucket, {p.Add(r.System)} AS sys, {p.Add(r.Code)} AS code"));
        var typeParameter = p.Add(type);
        var tokenParameter = p.Add(request.TokenParameter);
        string sql;
        if (request.ThroughReference is null)
        {
            sql = $"""
                {matches}
                SELECT b.bucket, COUNT(DISTINCT t.res_key)
                FROM idx_token t
                JOIN (
                    {buckets}
                ) b ON t.code = b.code{collate} AND t.system = b.sys{collate}
                WHERE t.res_type = {typeParameter} AND t.param = {tokenParameter}
                  AND t.res_key IN (SELECT res_key FROM matches)
                GROUP BY b.bucket
                """;
        }
        else
        {
            var targetType = p.Add(request.TargetType!);
            var reference = p.Add(request.ThroughReference);
            // On PostgreSQL each match's reference rows are looked up by res_key, driven from the matches by a join.
            // PostgreSQL underestimates the matches (independent estimates of several EXISTS), and the "IN (SELECT ...)"
            // form let it scan the (res_type, param, url) index once per match, or loop over the whole CTE per reference
            // row: 2-3.4 s for 5,000-10,000 questionnaire responses, against 80-130 ms driven from the matches. SQLite
            // plans the IN form well and the join form worse (twice as slow), so it keeps the IN form. Neither needs
            // "r.url IS NOT NULL": the join on u.value implies it.
            var byMatch = Context.Dialect.IsPostgres
                ? (From: "FROM matches m JOIN idx_reference r ON r.res_key = m.res_key", Where: "")
                : (From: "FROM idx_reference r", Where: " AND r.res_key IN (SELECT res_key FROM matches)");
            sql = $"""
                {matches},
                x AS (
                    SELECT r.res_key AS mk, th.res_key AS tk
                    {byMatch.From}
                    JOIN resources th ON th.res_type = {targetType} AND th.res_id = r.target_id AND th.is_deleted = 0
                    WHERE r.res_type = {typeParameter} AND r.param = {reference} AND r.target_type = {targetType}{byMatch.Where}
                    UNION
                    SELECT r.res_key AS mk, u.res_key AS tk
                    {byMatch.From}
                    JOIN idx_uri u ON u.res_type = {targetType} AND u.param = 'url' AND u.value = r.url
                    WHERE r.res_type = {typeParameter} AND r.param = {reference}{byMatch.Where}
                )
                SELECT b.bucket, COUNT(DISTINCT x.mk)
                FROM x
                JOIN idx_token t ON t.res_key = x.tk AND t.param = {tokenParameter} AND t.res_type = {targetType}
                JOIN (
                    {buckets}
                ) b ON t.code = b.code{collate} AND t.system = b.sys{collate}
                GROUP BY b.bucket
                """;
        }

        await using (var command = p.CreateCommand(connection, null, sql, Context.CommandTimeout))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                counts[reader.GetString(0)] = Convert.ToInt32(reader.GetValue(1), CultureInfo.InvariantCulture);
            }
        }

        return new TokenAggregationResult(total, counts);
    }
}
