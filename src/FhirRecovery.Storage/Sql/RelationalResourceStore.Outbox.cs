using System.Data.Common;
using System.Globalization;

namespace FhirRecovery.Storage.Sql;

/// <summary>
/// The delivery side of the subscription outbox (table <c>subscription_outbox</c>, migration v3). Every change goes
/// through a write transaction: on SQLite that is the single writer lock the sessions use, on PostgreSQL an ordinary
/// transaction in which the claim skips rows other claimers hold (<c>FOR UPDATE SKIP LOCKED</c>).
/// </summary>
public abstract partial class RelationalResourceStore : ISubscriptionOutbox
{
    /// <summary>Row <c>c</c> is the oldest undelivered notification of its subscription (rows behind it wait their turn).</summary>
    private const string HeadOfSubscription =
        "NOT EXISTS (SELECT 1 FROM subscription_outbox e WHERE e.subscription_id = c.subscription_id AND e.message_key < c.message_key)";

    private const string OutboxColumns = "message_key, subscription_id, res_type, res_id, version_id, enqueued_at, failed_attempts, last_error";

    public async Task<bool> HasDueAsync(CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        var now = OutboxNow();
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var p = new SqlParameters();
        var sql = $"SELECT 1 FROM subscription_outbox c WHERE c.due_at <= {p.Add(now)} AND (c.lease_until IS NULL OR c.lease_until < {p.Add(now)}) AND {HeadOfSubscription} LIMIT 1";
        await using var command = p.CreateCommand(connection, null, sql, Context.CommandTimeout);
        return await command.ExecuteScalarAsync(cancellationToken) is not (null or DBNull);
    }

    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        await using var connection = await OpenConnectionAsync(cancellationToken);
        const string sql = $"SELECT MIN(CASE WHEN c.lease_until IS NOT NULL AND c.lease_until > c.due_at THEN c.lease_until ELSE c.due_at END) FROM subscription_outbox c WHERE {HeadOfSubscription}";
        await using var command = new SqlParameters().CreateCommand(connection, null, sql, Context.CommandTimeout);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : new DateTimeOffset(Convert.ToInt64(value, CultureInfo.InvariantCulture), TimeSpan.Zero);
    }

    public async Task<IReadOnlyList<ClaimedNotification>> ClaimAsync(string owner, int max, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var now = OutboxNow();
        await using var write = await BeginWriteAsync(cancellationToken);
        var p = new SqlParameters();
        var nowParameter = p.Add(now);
        // Only the oldest undelivered row of each subscription is a candidate (the NOT EXISTS), so notifications to one
        // endpoint go one at a time and in order; rows of other subscriptions are independent.
        var sql = $"""
            UPDATE subscription_outbox SET lease_owner = {p.Add(owner)}, lease_until = {p.Add(now + lease.Ticks)}
            WHERE message_key IN (
                SELECT c.message_key FROM subscription_outbox c
                WHERE c.due_at <= {nowParameter} AND (c.lease_until IS NULL OR c.lease_until < {nowParameter})
                  AND {HeadOfSubscription}
                ORDER BY c.message_key
                LIMIT {p.Add(max)}{(Context.Dialect.IsPostgres ? " FOR UPDATE SKIP LOCKED" : "")})
            RETURNING {OutboxColumns}
            """;
        var claimed = new List<ClaimedNotification>();
        await using (var command = p.CreateCommand(write.Connection, write.Transaction, sql, Context.CommandTimeout))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                claimed.Add(new ClaimedNotification(
                    reader.GetInt64(0),
                    new SubscriptionNotification(reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4)),
                    new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero),
                    Convert.ToInt32(reader.GetValue(6), CultureInfo.InvariantCulture),
                    reader.IsDBNull(7) ? null : reader.GetString(7)));
            }
        }

        await write.CommitAsync(cancellationToken);
        claimed.Sort((a, b) => a.Key.CompareTo(b.Key));
        return claimed;
    }

    public async Task<bool> CompleteAsync(long key, string owner, CancellationToken cancellationToken = default)
    {
        var p = new SqlParameters();
        return await OutboxWriteAsync(p, $"DELETE FROM subscription_outbox WHERE message_key = {p.Add(key)} AND lease_owner = {p.Add(owner)}", cancellationToken) == 1;
    }

    public async Task<bool> RescheduleAsync(long key, string owner, DateTimeOffset dueAt, string error, CancellationToken cancellationToken = default)
    {
        var p = new SqlParameters();
        var sql = $"""
            UPDATE subscription_outbox
            SET failed_attempts = failed_attempts + 1, last_error = {p.Add(error.Length > 2000 ? error[..2000] : error)}, due_at = {p.Add(dueAt.UtcTicks)},
                lease_owner = NULL, lease_until = NULL
            WHERE message_key = {p.Add(key)} AND lease_owner = {p.Add(owner)}
            """;
        return await OutboxWriteAsync(p, sql, cancellationToken) == 1;
    }

    public async Task ReleaseAsync(long key, string owner, CancellationToken cancellationToken = default)
    {
        var p = new SqlParameters();
        await OutboxWriteAsync(p, $"UPDATE subscription_outbox SET lease_owner = NULL, lease_until = NULL WHERE message_key = {p.Add(key)} AND lease_owner = {p.Add(owner)}",
            cancellationToken);
    }

    public async Task<int> CountAsync(string? subscriptionId = null, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var p = new SqlParameters();
        var sql = subscriptionId is null
            ? "SELECT COUNT(*) FROM subscription_outbox"
            : $"SELECT COUNT(*) FROM subscription_outbox WHERE subscription_id = {p.Add(subscriptionId)}";
        await using var command = p.CreateCommand(connection, null, sql, Context.CommandTimeout);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private async Task<int> OutboxWriteAsync(SqlParameters p, string sql, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        await using var write = await BeginWriteAsync(cancellationToken);
        int affected;
        await using (var command = p.CreateCommand(write.Connection, write.Transaction, sql, Context.CommandTimeout))
        {
            affected = await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await write.CommitAsync(cancellationToken);
        return affected;
    }

    private long OutboxNow() => Context.Time.GetUtcNow().UtcTicks;

    internal static async Task EnqueueAsync(StoreContext context, DbConnection connection, DbTransaction transaction,
        SubscriptionNotification notification, CancellationToken cancellationToken)
    {
        var now = context.Time.GetUtcNow().UtcTicks;
        var p = new SqlParameters();
        var sql = $"""
            INSERT INTO subscription_outbox (subscription_id, res_type, res_id, version_id, enqueued_at, due_at, failed_attempts)
            VALUES ({p.Add(notification.SubscriptionId)}, {p.Add(notification.ResourceType)}, {p.Add(notification.ResourceId)},
                    {p.Add(notification.VersionId)}, {p.Add(now)}, {p.Add(now)}, 0)
            """;
        await using var command = p.CreateCommand(connection, transaction, sql, context.CommandTimeout);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Count and newest key of a type's version rows (index-only on ix_versions_type_updated): moves with every write of the type.</summary>
    internal static async Task<string> VersionMarkerAsync(StoreContext context, DbConnection connection, DbTransaction transaction,
        string resourceType, CancellationToken cancellationToken)
    {
        var p = new SqlParameters();
        var sql = $"SELECT count(*), coalesce(max(version_key), 0) FROM resource_versions WHERE res_type = {p.Add(resourceType)}";
        await using var command = p.CreateCommand(connection, transaction, sql, context.CommandTimeout);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return $"{reader.GetInt64(0)}:{reader.GetInt64(1)}";
    }
}
