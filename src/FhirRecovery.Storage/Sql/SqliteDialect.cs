using System.Data.Common;
using FhirRecovery.Storage.Indexing;

namespace FhirRecovery.Storage.Sql;

/// <summary>SQLite: rowid keys, BLOB JSON, one prepared statement per table reused for every row (in-process, so cheap).</summary>
internal sealed class SqliteDialect : SqlDialect
{
    public static readonly SqliteDialect Instance = new();

    public override string Name => "SQLite";

    public override Schema.ColumnTypes Types { get; } =
        new("INTEGER", "INTEGER PRIMARY KEY", "TEXT", "INTEGER", "REAL", "INTEGER", "BLOB");

    public override bool IsPostgres => false;

    // SQLite has one writer at a time: the session's BEGIN IMMEDIATE already holds the write lock.
    public override string ForUpdate => "";

    public override Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask; // BEGIN IMMEDIATE serialises migrating processes

    public override byte[] ReadContent(DbDataReader reader, int ordinal) => reader.GetFieldValue<byte[]>(ordinal);

    public override async Task FlushAsync(DbConnection connection, DbTransaction transaction, PendingWrites pending, int commandTimeout,
        CancellationToken cancellationToken)
    {
        if (pending.HeadUpdates.Count > 0)
        {
            await using var update = Prepare(connection, transaction, commandTimeout,
                "UPDATE resources SET version_id = @p1, last_updated = @p2, is_deleted = @p3 WHERE res_key = @p0", 4);
            foreach (var (key, head) in pending.HeadUpdates)
            {
                await Run(update, cancellationToken, key, head.Version, head.LastUpdated, head.IsDeleted ? 1 : 0);
            }
        }

        if (pending.IndexDeletes.Count > 0)
        {
            foreach (var table in IndexTables.All)
            {
                await using var delete = Prepare(connection, transaction, commandTimeout, $"DELETE FROM {table} WHERE res_key = @p0", 1);
                foreach (var key in pending.IndexDeletes)
                {
                    await Run(delete, cancellationToken, key);
                }
            }
        }

        if (pending.Versions.Count > 0)
        {
            await using var insert = Prepare(connection, transaction, commandTimeout,
                "INSERT INTO resource_versions (res_key, res_type, res_id, version_id, last_updated, is_deleted, method, content) VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7)", 8);
            foreach (var v in pending.Versions)
            {
                await Run(insert, cancellationToken, v.ResKey, v.ResourceType, v.Id, v.Version, v.LastUpdated, v.IsDeleted ? 1 : 0, (int)v.Method, v.Json);
            }
        }

        if (pending.Indexes.Count == 0)
        {
            return;
        }

        var commands = new Dictionary<string, DbCommand>();
        try
        {
            DbCommand For(string table)
            {
                if (!commands.TryGetValue(table, out var command))
                {
                    var columns = IndexTables.ValueColumns[table];
                    var names = string.Join(", ", columns);
                    var values = string.Join(", ", Enumerable.Range(4, columns.Length).Select(i => $"@p{i}"));
                    command = Prepare(connection, transaction, commandTimeout,
                        $"INSERT INTO {table} (res_key, res_type, param, grp, {names}) VALUES (@p0, @p1, @p2, @p3, {values})", 4 + columns.Length);
                    commands[table] = command;
                }

                return command;
            }

            foreach (var (key, (type, index)) in pending.Indexes)
            {
                if (index is null)
                {
                    continue;
                }

                foreach (var r in index.Strings)
                {
                    await Run(For(IndexTables.String), cancellationToken, key, type, r.Param, r.Group, r.Normalized, r.Exact);
                }

                foreach (var r in index.Tokens)
                {
                    await Run(For(IndexTables.Token), cancellationToken, key, type, r.Param, r.Group, r.System, r.Code, r.Text, r.TypeSystem, r.TypeCode);
                }

                foreach (var r in index.Dates)
                {
                    await Run(For(IndexTables.Date), cancellationToken, key, type, r.Param, r.Group, r.Low, r.High);
                }

                foreach (var r in index.Numbers)
                {
                    await Run(For(IndexTables.Number), cancellationToken, key, type, r.Param, r.Group, r.Value);
                }

                foreach (var r in index.Quantities)
                {
                    await Run(For(IndexTables.Quantity), cancellationToken, key, type, r.Param, r.Group, r.System, r.Code, r.Unit, r.Value);
                }

                foreach (var r in index.References)
                {
                    await Run(For(IndexTables.Reference), cancellationToken, key, type, r.Param, r.Group, r.TargetType, r.TargetId,
                        r.TargetVersion, r.Url, r.IdentifierSystem, r.IdentifierValue);
                }

                foreach (var r in index.Uris)
                {
                    await Run(For(IndexTables.Uri), cancellationToken, key, type, r.Param, r.Group, r.Value);
                }
            }
        }
        finally
        {
            foreach (var command in commands.Values)
            {
                await command.DisposeAsync();
            }
        }
    }

    private static DbCommand Prepare(DbConnection connection, DbTransaction transaction, int timeout, string sql, int parameterCount)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = timeout;
        for (var i = 0; i < parameterCount; i++)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = $"@p{i}";
            parameter.Value = DBNull.Value;
            command.Parameters.Add(parameter);
        }

        command.Prepare();
        return command;
    }

    private static Task<int> Run(DbCommand command, CancellationToken cancellationToken, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        return command.ExecuteNonQueryAsync(cancellationToken);
    }
}
