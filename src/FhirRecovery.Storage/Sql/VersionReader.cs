using System.Data.Common;

namespace FhirRecovery.Storage.Sql;

/// <summary>Reads <see cref="ResourceVersion"/>s from rows selected with <see cref="Columns"/>.</summary>
internal static class VersionReader
{
    /// <summary>The version columns of alias <paramref name="v"/> (resource_versions), in the order <see cref="Read"/> expects.</summary>
    public static string Columns(string v) =>
        $"{v}.res_type, {v}.res_id, {v}.version_id, {v}.last_updated, {v}.is_deleted, {v}.method, {v}.content";

    public const int ColumnCount = 7;

    public static ResourceVersion Read(DbDataReader reader, int offset, SqlDialect dialect)
    {
        var isDeleted = Convert.ToInt32(reader.GetValue(offset + 4), System.Globalization.CultureInfo.InvariantCulture) != 0;
        return new ResourceVersion(
            reader.GetString(offset),
            reader.GetString(offset + 1),
            reader.GetInt64(offset + 2),
            new DateTimeOffset(reader.GetInt64(offset + 3), TimeSpan.Zero),
            isDeleted,
            reader.IsDBNull(offset + 6) ? null : dialect.ReadContent(reader, offset + 6))
        {
            Method = (HistoryMethod)Convert.ToInt32(reader.GetValue(offset + 5), System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}
