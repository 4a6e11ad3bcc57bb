using System.Data.Common;

namespace FhirRecovery.Storage.Sql;

/// <summary>Values of a statement being built; SQL text only ever holds their placeholders (@p0, @p1...).</summary>
internal sealed class SqlParameters
{
    private readonly List<object?> _values = [];

    public IReadOnlyList<object?> Values => _values;

    public string Add(object? value)
    {
        _values.Add(value);
        return "@p" + (_values.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public string List(IEnumerable<object> values) => string.Join(", ", values.Select(Add));

    private static readonly AsyncLocal<Action<string, IReadOnlyList<object?>>?> TraceLocal = new();

    /// <summary>Sees the statements built in this async flow before they run (tests check query plans with it).</summary>
    internal static Action<string, IReadOnlyList<object?>>? Trace
    {
        get => TraceLocal.Value;
        set => TraceLocal.Value = value;
    }

    public DbCommand CreateCommand(DbConnection connection, DbTransaction? transaction, string sql, int timeout)
    {
        Trace?.Invoke(sql, _values);
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = timeout;
        for (var i = 0; i < _values.Count; i++)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            parameter.Value = _values[i] ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
