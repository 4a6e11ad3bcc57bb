using System.Text;

namespace FhirRecovery.Storage.Sql;

/// <summary>
/// The schema, as numbered migrations written once for both databases from the column types of a dialect.
///
/// <c>resources</c> holds one row per resource (its current version: the row that is locked for the version check);
/// <c>resource_versions</c> every version with its JSON; the <c>idx_*</c> tables the search values of the current
/// version of live resources only (replaced on every write, removed on delete). Instants are UTC ticks (bigint).
/// </summary>
internal static class Schema
{
    public sealed record ColumnTypes(string Key, string KeyColumn, string Text, string Long, string Double, string Flag, string Content);

    public static IReadOnlyList<string> Migrations(ColumnTypes t, bool postgres)
    {
        var v1 = new StringBuilder();
        v1.Append($"""
            CREATE TABLE resources (
                res_key {t.KeyColumn},
                res_type {t.Text} NOT NULL,
                res_id {t.Text} NOT NULL,
                version_id {t.Long} NOT NULL,
                last_updated {t.Long} NOT NULL,
                is_deleted {t.Flag} NOT NULL
            );
            CREATE UNIQUE INDEX ux_resources_type_id ON resources (res_type, res_id);
            CREATE INDEX ix_resources_type_updated ON resources (res_type, last_updated);
            CREATE TABLE resource_versions (
                version_key {t.KeyColumn},
                res_key {t.Key} NOT NULL,
                res_type {t.Text} NOT NULL,
                res_id {t.Text} NOT NULL,
                version_id {t.Long} NOT NULL,
                last_updated {t.Long} NOT NULL,
                is_deleted {t.Flag} NOT NULL,
                method {t.Flag} NOT NULL,
                content {t.Content}
            );
            CREATE UNIQUE INDEX ux_versions_key_version ON resource_versions (res_key, version_id);
            CREATE INDEX ix_versions_updated ON resource_versions (last_updated, version_key);
            CREATE INDEX ix_versions_type_updated ON resource_versions (res_type, last_updated, version_key);
            CREATE TABLE store_settings (
                name {t.Text} PRIMARY KEY,
                value {t.Text} NOT NULL
            );

            """);

        void IndexTable(string table, string columns, params string[] indexes)
        {
            v1.Append($"""
                CREATE TABLE {table} (
                    res_key {t.Key} NOT NULL,
                    res_type {t.Text} NOT NULL,
                    param {t.Text} NOT NULL,
                    grp {t.Flag} NOT NULL,
                    {columns}
                );
                CREATE INDEX ix_{table}_res ON {table} (res_key, param);

                """);
            for (var i = 0; i < indexes.Length; i++)
            {
                v1.Append($"CREATE INDEX ix_{table}_{i} ON {table} ({indexes[i]});\n");
            }
        }

        IndexTable(IndexTables.String, $"value_norm {t.Text} NOT NULL, value_exact {t.Text} NOT NULL",
            "res_type, param, value_norm, res_key");
        IndexTable(IndexTables.Token, $"system {t.Text}, code {t.Text}, text_norm {t.Text}, type_system {t.Text}, type_code {t.Text}",
            "res_type, param, code, system, res_key");
        IndexTable(IndexTables.Date, $"low {t.Long} NOT NULL, high {t.Long} NOT NULL",
            "res_type, param, low, high, res_key", "res_type, param, high, res_key");
        IndexTable(IndexTables.Number, $"value {t.Double} NOT NULL",
            "res_type, param, value, res_key");
        IndexTable(IndexTables.Quantity, $"system {t.Text}, code {t.Text}, unit {t.Text}, value {t.Double} NOT NULL",
            "res_type, param, value, res_key");
        IndexTable(IndexTables.Reference,
            $"target_type {t.Text}, target_id {t.Text}, target_version {t.Text}, url {t.Text}, ident_system {t.Text}, ident_value {t.Text}",
            "res_type, param, target_id, target_type, res_key", "target_id, target_type", "res_type, param, url, res_key",
            "res_type, param, ident_value, res_key");
        IndexTable(IndexTables.Uri, $"value {t.Text} NOT NULL",
            "res_type, param, value, res_key");

        if (postgres)
        {
            // Trigram indexes make :contains an index search; pg_trgm is a trusted extension, but the role may still lack
            // the right to create it, so its absence only costs speed.
            v1.Append("""
                DO $$
                BEGIN
                    BEGIN
                        CREATE EXTENSION IF NOT EXISTS pg_trgm;
                    EXCEPTION WHEN OTHERS THEN
                        RAISE NOTICE 'pg_trgm is not available: :contains searches will scan';
                    END;
                    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
                        EXECUTE 'CREATE INDEX ix_idx_string_trgm ON idx_string USING gin (value_norm gin_trgm_ops)';
                    END IF;
                END
                $$;

                """);
        }

        // v2: live resources of a type in key order, so an unfiltered page (or one filtered by probes only) walks the
        // index and stops at the page size instead of sorting every resource of the type.
        const string v2 = "CREATE INDEX ix_resources_type_live ON resources (res_type, is_deleted, res_key);";

        // v3: the subscription notification outbox (see SubscriptionOutbox). Rows are added in the transaction of the write
        // that triggers them and deleted once delivered; background delivery claims due rows with a lease. IF NOT EXISTS:
        // the table is self-contained, so the migration stays safe whatever its number ends up being.
        var v3 = $"""
            CREATE TABLE IF NOT EXISTS subscription_outbox (
                message_key {t.KeyColumn},
                subscription_id {t.Text} NOT NULL,
                res_type {t.Text} NOT NULL,
                res_id {t.Text} NOT NULL,
                version_id {t.Long} NOT NULL,
                enqueued_at {t.Long} NOT NULL,
                due_at {t.Long} NOT NULL,
                failed_attempts {t.Long} NOT NULL,
                last_error {t.Text},
                lease_owner {t.Text},
                lease_until {t.Long}
            );
            CREATE INDEX IF NOT EXISTS ix_subscription_outbox_due ON subscription_outbox (due_at, message_key);
            CREATE INDEX IF NOT EXISTS ix_subscription_outbox_subscription ON subscription_outbox (subscription_id, message_key);
            """;

        // v4: Bulk Data export jobs (see ExportJobStore), their finished files and the files' NDJSON in chunks. The output
        // lives in the database so that whichever instance a client polls can serve it; a job is claimed with a lease like
        // the outbox's rows, so a job whose instance died is taken up again. IF NOT EXISTS: self-contained, like v3.
        var bytes = postgres ? "bytea" : "BLOB";
        var v4 = $"""
            CREATE TABLE IF NOT EXISTS export_jobs (
                job_id {t.Text} PRIMARY KEY,
                requester {t.Text} NOT NULL,
                request {t.Text} NOT NULL,
                status {t.Text} NOT NULL,
                transaction_time {t.Long} NOT NULL,
                created_at {t.Long} NOT NULL,
                finished_at {t.Long},
                progress {t.Text},
                error {t.Text},
                attempts {t.Long} NOT NULL,
                lease_owner {t.Text},
                lease_until {t.Long}
            );
            CREATE INDEX IF NOT EXISTS ix_export_jobs_status ON export_jobs (status, created_at);
            CREATE TABLE IF NOT EXISTS export_files (
                job_id {t.Text} NOT NULL,
                file_no {t.Long} NOT NULL,
                kind {t.Text} NOT NULL,
                res_type {t.Text} NOT NULL,
                line_count {t.Long} NOT NULL,
                PRIMARY KEY (job_id, file_no)
            );
            CREATE TABLE IF NOT EXISTS export_chunks (
                job_id {t.Text} NOT NULL,
                file_no {t.Long} NOT NULL,
                seq {t.Long} NOT NULL,
                content {bytes} NOT NULL,
                PRIMARY KEY (job_id, file_no, seq)
            );
            """;

        return [v1.ToString(), v2, v3, v4];
    }
}
