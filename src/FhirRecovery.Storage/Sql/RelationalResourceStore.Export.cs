using System.Data.Common;
using System.Globalization;

namespace FhirRecovery.Storage.Sql;

/// <summary>
/// Bulk Data export jobs (tables <c>export_jobs</c>, <c>export_files</c>, <c>export_chunks</c>, migration v4). A worker's
/// writes for a job first renew its lease with <c>WHERE lease_owner = @owner</c>: when that touches no row the job was
/// cancelled or taken over, and the write is abandoned in the same transaction.
/// </summary>
public abstract partial class RelationalResourceStore : IExportJobStore
{
    private const string JobColumns = "job_id, requester, request, status, transaction_time, created_at, finished_at, progress, error, attempts";

    public async Task CreateJobAsync(ExportJob job, CancellationToken cancellationToken = default)
    {
        var p = new SqlParameters();
        var sql = $"""
            INSERT INTO export_jobs (job_id, requester, request, status, transaction_time, created_at, attempts)
            VALUES ({p.Add(job.Id)}, {p.Add(job.Requester)}, {p.Add(job.Request)}, {p.Add(StatusName(job.Status))},
                    {p.Add(job.TransactionTime.UtcTicks)}, {p.Add(job.CreatedAt.UtcTicks)}, 0)
            """;
        await JobWriteAsync(p, sql, cancellationToken);
    }

    public async Task<ExportJob?> GetJobAsync(string id, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var p = new SqlParameters();
        await using var command = p.CreateCommand(connection, null, $"SELECT {JobColumns} FROM export_jobs WHERE job_id = {p.Add(id)}", Context.CommandTimeout);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadJob(reader) : null;
    }

    public async Task<bool> DeleteJobAsync(string id, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        await using var write = await BeginWriteAsync(cancellationToken);
        var deleted = await RemoveJobRowsAsync(write, id, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return deleted;
    }

    public async Task<IReadOnlyList<ExportJob>> ClaimJobsAsync(string owner, int max, TimeSpan lease, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var now = Context.Time.GetUtcNow().UtcTicks;
        await using var write = await BeginWriteAsync(cancellationToken);
        var p = new SqlParameters();
        var sql = $"""
            UPDATE export_jobs SET status = {p.Add(StatusName(ExportJobStatus.Running))}, lease_owner = {p.Add(owner)},
                lease_until = {p.Add(now + lease.Ticks)}, attempts = attempts + 1
            WHERE job_id IN (
                SELECT c.job_id FROM export_jobs c
                WHERE c.status IN ({p.Add(StatusName(ExportJobStatus.Queued))}, {p.Add(StatusName(ExportJobStatus.Running))})
                  AND (c.lease_until IS NULL OR c.lease_until < {p.Add(now)})
                ORDER BY c.created_at, c.job_id
                LIMIT {p.Add(max)}{(Context.Dialect.IsPostgres ? " FOR UPDATE SKIP LOCKED" : "")})
            RETURNING {JobColumns}
            """;
        var claimed = new List<ExportJob>();
        await using (var command = p.CreateCommand(write.Connection, write.Transaction, sql, Context.CommandTimeout))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                claimed.Add(ReadJob(reader));
            }
        }

        await write.CommitAsync(cancellationToken);
        return claimed.OrderBy(j => j.CreatedAt).ToList();
    }

    public Task<bool> RenewLeaseAsync(string id, string owner, TimeSpan lease, string? progress, CancellationToken cancellationToken = default) =>
        UnderLeaseAsync(id, owner, lease, progress, (_, _) => Task.CompletedTask, cancellationToken);

    public Task<bool> DiscardUnfinishedAsync(string id, string owner, CancellationToken cancellationToken = default) =>
        UnderLeaseAsync(id, owner, null, null, async (write, ct) =>
        {
            var p = new SqlParameters();
            var job = p.Add(id);
            await ExecuteAsync(write, p,
                $"DELETE FROM export_chunks WHERE job_id = {job} AND file_no NOT IN (SELECT f.file_no FROM export_files f WHERE f.job_id = {job})", ct);
        }, cancellationToken);

    public Task<bool> AppendChunkAsync(string id, string owner, int fileNumber, int sequence, byte[] content, TimeSpan lease,
        CancellationToken cancellationToken = default) =>
        UnderLeaseAsync(id, owner, lease, null, async (write, ct) =>
        {
            var p = new SqlParameters();
            await ExecuteAsync(write, p,
                $"INSERT INTO export_chunks (job_id, file_no, seq, content) VALUES ({p.Add(id)}, {p.Add((long)fileNumber)}, {p.Add((long)sequence)}, {p.Add(content)})", ct);
        }, cancellationToken);

    public Task<bool> FinishFileAsync(string id, string owner, ExportFile file, CancellationToken cancellationToken = default) =>
        UnderLeaseAsync(id, owner, null, null, async (write, ct) =>
        {
            var p = new SqlParameters();
            await ExecuteAsync(write, p, $"""
                INSERT INTO export_files (job_id, file_no, kind, res_type, line_count)
                VALUES ({p.Add(id)}, {p.Add((long)file.Number)}, {p.Add(file.Kind == ExportFileKind.Error ? "error" : "output")}, {p.Add(file.ResourceType)}, {p.Add(file.Count)})
                """, ct);
        }, cancellationToken);

    public async Task<IReadOnlyList<ExportFile>> FilesAsync(string id, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var p = new SqlParameters();
        await using var command = p.CreateCommand(connection, null,
            $"SELECT file_no, kind, res_type, line_count FROM export_files WHERE job_id = {p.Add(id)} ORDER BY file_no", Context.CommandTimeout);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var files = new List<ExportFile>();
        while (await reader.ReadAsync(cancellationToken))
        {
            files.Add(new ExportFile(Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture),
                reader.GetString(1) == "error" ? ExportFileKind.Error : ExportFileKind.Output, reader.GetString(2), reader.GetInt64(3)));
        }

        return files;
    }

    public async Task<bool> FinishJobAsync(string id, string owner, ExportJobStatus status, string? error, CancellationToken cancellationToken = default)
    {
        var p = new SqlParameters();
        var sql = $"""
            UPDATE export_jobs SET status = {p.Add(StatusName(status))}, error = {p.Add(Truncate(error))}, finished_at = {p.Add(Context.Time.GetUtcNow().UtcTicks)},
                progress = NULL, lease_owner = NULL, lease_until = NULL
            WHERE job_id = {p.Add(id)} AND lease_owner = {p.Add(owner)}
            """;
        return await JobWriteAsync(p, sql, cancellationToken) == 1;
    }

    public async Task ReleaseJobAsync(string id, string owner, CancellationToken cancellationToken = default)
    {
        var p = new SqlParameters();
        await JobWriteAsync(p, $"UPDATE export_jobs SET lease_owner = NULL, lease_until = NULL WHERE job_id = {p.Add(id)} AND lease_owner = {p.Add(owner)}",
            cancellationToken);
    }

    public async Task<bool> CopyFileAsync(string id, int fileNumber, Stream destination, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var p = new SqlParameters();
        var sql = $"""
            SELECT c.content FROM export_files f JOIN export_chunks c ON c.job_id = f.job_id AND c.file_no = f.file_no
            WHERE f.job_id = {p.Add(id)} AND f.file_no = {p.Add((long)fileNumber)}
            ORDER BY c.seq
            """;
        var any = false;
        await using (var command = p.CreateCommand(connection, null, sql, Context.CommandTimeout))
        await using (var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                any = true;
                var chunk = reader.GetFieldValue<byte[]>(0);
                await destination.WriteAsync(chunk, cancellationToken);
            }
        }

        if (any)
        {
            return true;
        }

        // A finished file without chunks is empty (a type with nothing to export); no row at all: no such file.
        var q = new SqlParameters();
        await using var exists = q.CreateCommand(connection, null,
            $"SELECT 1 FROM export_files WHERE job_id = {q.Add(id)} AND file_no = {q.Add((long)fileNumber)}", Context.CommandTimeout);
        return await exists.ExecuteScalarAsync(cancellationToken) is not (null or DBNull);
    }

    public async Task<int> DeleteFinishedBeforeAsync(DateTimeOffset finishedBefore, CancellationToken cancellationToken = default)
    {
        EnsureInitialized();
        var ids = new List<string>();
        await using (var connection = await OpenConnectionAsync(cancellationToken))
        {
            var p = new SqlParameters();
            await using var command = p.CreateCommand(connection, null,
                $"SELECT job_id FROM export_jobs WHERE finished_at IS NOT NULL AND finished_at < {p.Add(finishedBefore.UtcTicks)}", Context.CommandTimeout);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                ids.Add(reader.GetString(0));
            }
        }

        // One job per transaction: a big job's chunks must not hold the writer lock for long.
        var deleted = 0;
        foreach (var id in ids)
        {
            if (await DeleteJobAsync(id, cancellationToken))
            {
                deleted++;
            }
        }

        return deleted;
    }

    /// <summary>Runs <paramref name="work"/> in one transaction after renewing the lease; nothing happens when the lease is lost.</summary>
    private async Task<bool> UnderLeaseAsync(string id, string owner, TimeSpan? lease, string? progress,
        Func<WriteTransaction, CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        await using var write = await BeginWriteAsync(cancellationToken);
        var p = new SqlParameters();
        var set = new List<string> { $"lease_owner = {p.Add(owner)}" };
        if (lease is { } l)
        {
            set.Add($"lease_until = {p.Add(Context.Time.GetUtcNow().UtcTicks + l.Ticks)}");
        }

        if (progress is not null)
        {
            set.Add($"progress = {p.Add(Truncate(progress))}");
        }

        var sql = $"""
            UPDATE export_jobs SET {string.Join(", ", set)}
            WHERE job_id = {p.Add(id)} AND lease_owner = {p.Add(owner)} AND status = {p.Add(StatusName(ExportJobStatus.Running))}
            """;
        if (await ExecuteAsync(write, p, sql, cancellationToken) != 1)
        {
            return false;
        }

        await work(write, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return true;
    }

    private async Task<bool> RemoveJobRowsAsync(WriteTransaction write, string id, CancellationToken cancellationToken)
    {
        var p = new SqlParameters();
        var job = p.Add(id);
        // The job row first: on PostgreSQL that waits for (and then defeats) a worker's lease renewal in flight.
        var deleted = await ExecuteAsync(write, p, $"DELETE FROM export_jobs WHERE job_id = {job}", cancellationToken);
        var q = new SqlParameters();
        await ExecuteAsync(write, q, $"DELETE FROM export_files WHERE job_id = {q.Add(id)}", cancellationToken);
        var r = new SqlParameters();
        await ExecuteAsync(write, r, $"DELETE FROM export_chunks WHERE job_id = {r.Add(id)}", cancellationToken);
        return deleted == 1;
    }

    private async Task<int> JobWriteAsync(SqlParameters p, string sql, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        await using var write = await BeginWriteAsync(cancellationToken);
        var affected = await ExecuteAsync(write, p, sql, cancellationToken);
        await write.CommitAsync(cancellationToken);
        return affected;
    }

    private async Task<int> ExecuteAsync(WriteTransaction write, SqlParameters p, string sql, CancellationToken cancellationToken)
    {
        await using var command = p.CreateCommand(write.Connection, write.Transaction, sql, Context.CommandTimeout);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static ExportJob ReadJob(DbDataReader reader) => new()
    {
        Id = reader.GetString(0),
        Requester = reader.GetString(1),
        Request = reader.GetString(2),
        Status = Enum.Parse<ExportJobStatus>(reader.GetString(3), ignoreCase: true),
        TransactionTime = new DateTimeOffset(reader.GetInt64(4), TimeSpan.Zero),
        CreatedAt = new DateTimeOffset(reader.GetInt64(5), TimeSpan.Zero),
        FinishedAt = reader.IsDBNull(6) ? null : new DateTimeOffset(reader.GetInt64(6), TimeSpan.Zero),
        Progress = reader.IsDBNull(7) ? null : reader.GetString(7),
        Error = reader.IsDBNull(8) ? null : reader.GetString(8),
        Attempts = Convert.ToInt32(reader.GetValue(9), CultureInfo.InvariantCulture),
    };

    private static string StatusName(ExportJobStatus status) => status.ToString().ToLowerInvariant();

    private static string? Truncate(string? text) => text is { Length: > 2000 } ? text[..2000] : text;
}
