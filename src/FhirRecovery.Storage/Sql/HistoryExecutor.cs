using System.Data.Common;
using System.Globalization;
using FhirRecovery.Storage.Search;

namespace FhirRecovery.Storage.Sql;

/// <summary>Instance, type and system history, newest first, paged with a keyset on (last_updated, version_key).</summary>
internal sealed class HistoryExecutor(StoreContext context)
{
    private const string CursorKind = "history";

    public async Task<HistoryResult> HistoryAsync(DbConnection connection, DbTransaction? transaction, HistoryRequest request,
        CancellationToken cancellationToken)
    {
        if (request.Id is not null && request.ResourceType is null)
        {
            throw new ArgumentException("Instance history needs the resource type as well as the id.", nameof(request));
        }

        if (request.Count is < 0)
        {
            throw new SearchException("_count", $"Invalid value '{request.Count}' for '_count': expected a whole number of 0 or more.");
        }

        var hash = PageTokenCodec.Digest([request.ResourceType, request.Id, request.Since?.UtcTicks.ToString(CultureInfo.InvariantCulture),
            request.At?.UtcTicks.ToString(CultureInfo.InvariantCulture), request.Count?.ToString(CultureInfo.InvariantCulture)]);
        PageCursor? cursor = null;
        if (request.PageToken is { } token)
        {
            cursor = context.PageTokens.Decode(token, CursorKind);
            if (cursor.Hash != hash || cursor.Values.Count != 1)
            {
                throw new SearchException("_page", "The page token belongs to a different history request.");
            }
        }

        var count = Math.Min(request.Count ?? context.Options.DefaultPageSize, context.Options.MaxPageSize);
        var p = new SqlParameters();
        var conditions = Conditions(p, request);
        if (count == 0)
        {
            return new HistoryResult { Entries = [], Total = await CountAsync(connection, transaction, request, cancellationToken) };
        }

        var forward = cursor?.Forward ?? true; // forward = towards older versions
        if (cursor is not null)
        {
            var lastUpdated = Convert.ToInt64(cursor.Values[0], CultureInfo.InvariantCulture);
            var op = forward ? "<" : ">";
            conditions.Add($"(v.last_updated {op} {p.Add(lastUpdated)} OR (v.last_updated = {p.Add(lastUpdated)} AND v.version_key {op} {p.Add(cursor.Key)}))");
        }

        var order = forward ? "v.last_updated DESC, v.version_key DESC" : "v.last_updated, v.version_key";
        var sql = $"""
            SELECT v.version_key, {VersionReader.Columns("v")}
            FROM resource_versions v
            {(conditions.Count > 0 ? "WHERE " + string.Join(" AND ", conditions) : "")}
            ORDER BY {order}
            LIMIT {p.Add(count + 1)}
            """;

        var rows = new List<(long Key, ResourceVersion Version)>();
        await using (var command = p.CreateCommand(connection, transaction, sql, context.CommandTimeout))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetInt64(0), VersionReader.Read(reader, 1, context.Dialect)));
            }
        }

        var hasMore = rows.Count > count;
        if (hasMore)
        {
            rows.RemoveRange(count, rows.Count - count);
        }

        if (!forward)
        {
            rows.Reverse();
        }

        string Token((long Key, ResourceVersion Version) row, bool older) => context.PageTokens.Encode(new PageCursor
        {
            Kind = CursorKind,
            Forward = older,
            Values = [row.Version.LastUpdated.UtcTicks],
            Key = row.Key,
            Hash = hash,
        });

        string? next = null, previous = null;
        if (rows.Count > 0)
        {
            if (!forward || hasMore)
            {
                next = Token(rows[^1], older: true);
            }

            if (forward ? cursor is not null : hasMore)
            {
                previous = Token(rows[0], older: false);
            }
        }

        return new HistoryResult
        {
            Entries = rows.Select(r => r.Version).ToList(),
            Total = cursor is null && !hasMore ? rows.Count : null,
            NextPage = next,
            PreviousPage = previous,
        };
    }

    private static List<string> Conditions(SqlParameters p, HistoryRequest request)
    {
        var conditions = new List<string>();
        if (request.Id is not null)
        {
            conditions.Add($"v.res_key = (SELECT res_key FROM resources WHERE res_type = {p.Add(request.ResourceType)} AND res_id = {p.Add(request.Id)})");
        }
        else if (request.ResourceType is not null)
        {
            conditions.Add($"v.res_type = {p.Add(request.ResourceType)}");
        }

        if (request.Since is { } since)
        {
            conditions.Add($"v.last_updated >= {p.Add(since.UtcTicks)}");
        }

        if (request.At is { } at)
        {
            // The version current at that instant: written by then, and not yet replaced by then.
            conditions.Add($"v.last_updated <= {p.Add(at.UtcTicks)}");
            conditions.Add($"NOT EXISTS (SELECT 1 FROM resource_versions n WHERE n.res_key = v.res_key AND n.version_id > v.version_id AND n.last_updated <= {p.Add(at.UtcTicks)})");
        }

        return conditions;
    }

    private async Task<int> CountAsync(DbConnection connection, DbTransaction? transaction, HistoryRequest request, CancellationToken cancellationToken)
    {
        var p = new SqlParameters();
        var conditions = Conditions(p, request);
        var sql = "SELECT COUNT(*) FROM resource_versions v" + (conditions.Count > 0 ? " WHERE " + string.Join(" AND ", conditions) : "");
        await using var command = p.CreateCommand(connection, transaction, sql, context.CommandTimeout);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }
}
