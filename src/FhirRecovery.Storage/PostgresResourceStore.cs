using System.Data.Common;
using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Search;
using FhirRecovery.Storage.Sql;
using FhirRecovery.Storage.Terminology;
using Npgsql;

namespace FhirRecovery.Storage;

/// <summary>
/// The production store: PostgreSQL (jsonb content, index tables, row locks for version checks). Holds no state other
/// instances need, so several servers can share one database.
/// </summary>
public sealed class PostgresResourceStore : RelationalResourceStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresResourceStore(StorageOptions options, SearchParameterRegistry searchParameters, CompartmentDefinitions compartments,
        ICodeExpansion? terminology = null, TimeProvider? time = null)
        : base(PostgresDialect.Instance, options, searchParameters, compartments, terminology, time ?? TimeProvider.System)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new ArgumentException("The PostgreSQL store needs Storage:ConnectionString.", nameof(options));
        }

        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        // Statements repeat with different values: let Npgsql prepare the frequent ones on the server, unless configured.
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        _dataSource = new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
    }

    private protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    private protected override async Task<WriteTransaction> BeginWriteAsync(CancellationToken cancellationToken)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted, cancellationToken);
            return new WriteTransaction(connection, transaction, null);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
