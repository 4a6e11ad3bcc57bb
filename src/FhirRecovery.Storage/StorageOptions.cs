namespace FhirRecovery.Storage;

/// <summary>Configuration of the resource store (section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    public const string SqliteProvider = "Sqlite";

    public const string PostgreSqlProvider = "PostgreSQL";

    /// <summary>"Sqlite" (default, embedded) or "PostgreSQL".</summary>
    public string Provider { get; set; } = SqliteProvider;

    /// <summary>
    /// ADO.NET connection string. Empty for SQLite means <see cref="DefaultSqliteConnectionString"/> (a file under
    /// <c>./data/</c>, created on start); PostgreSQL requires one.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Page size when the search has no <c>_count</c>.</summary>
    public int DefaultPageSize { get; set; } = 20;

    /// <summary>Largest page a client may ask for; larger <c>_count</c> values are lowered to it.</summary>
    public int MaxPageSize { get; set; } = 1000;

    /// <summary>Most resources one search adds through <c>_include</c>/<c>_revinclude</c> (the rest are reported as cut off).</summary>
    public int MaxIncludeCount { get; set; } = 1000;

    /// <summary>Most rounds of <c>:iterate</c> includes.</summary>
    public int MaxIncludeIterations { get; set; } = 5;

    /// <summary>How long an SQLite writer waits for the database lock held by another process, in milliseconds.</summary>
    public int SqliteBusyTimeoutMilliseconds { get; set; } = 10_000;

    /// <summary>Command timeout (seconds) for every database statement.</summary>
    public int CommandTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// Secret that signs page tokens. Leave empty: the store then keeps a random one in the database, so every server
    /// instance sharing the database accepts the tokens of the others.
    /// </summary>
    public string? PageTokenSecret { get; set; }

    /// <summary>
    /// Member types added to compartments (compartment type → resource type → linking search parameters), on top of the
    /// R4 CompartmentDefinitions and <see cref="Compartments.CompartmentDefinitions.DefaultAdditions"/> (Task in the
    /// Patient compartment through patient and focus, as in R5), e.g. <c>Storage:CompartmentAdditions:Patient:Basic:0=subject</c>.
    /// </summary>
    public Dictionary<string, Dictionary<string, string[]>>? CompartmentAdditions { get; set; }

    public const string DefaultSqliteConnectionString = "Data Source=data/fhirrecovery.db";
}
