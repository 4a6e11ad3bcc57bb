using FhirRecovery.Conformance.Terminology;
using FhirRecovery.Server.Http;
using FhirRecovery.Storage;

namespace FhirRecovery.Server.Interactions;

/// <summary>The store's and the terminology service's refusals as the REST answers they stand for.</summary>
public static class StoreErrors
{
    /// <summary>The FhirException for a client-caused failure, or null for an unexpected one (a 500).</summary>
    public static FhirException? ToFhir(Exception exception) => exception switch
    {
        FhirException fhir => fhir,
        SearchException search => FhirException.BadRequest($"Search parameter '{search.Parameter}': {search.Message}", search.Parameter),
        VersionConflictException conflict => FhirException.PreconditionFailed(conflict.Message),
        ResourceExistsException exists => FhirException.Conflict(exists.Message),
        TerminologyException terminology => new FhirException(terminology.StatusCode, terminology.Outcome),
        Npgsql.PostgresException postgres => FromPostgres(postgres),
        TimeoutException => Overloaded(),
        // SQLITE_BUSY / SQLITE_LOCKED: another process held the database past Storage:SqliteBusyTimeoutMilliseconds.
        Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 5 or 6 } => Overloaded(),
        { InnerException: { } inner } => ToFhir(inner),
        _ => null,
    };

    /// <summary>
    /// A database command that ran past Storage:CommandTimeoutSeconds (Npgsql wraps it in an NpgsqlException), or a
    /// SQLite database kept locked by another process past the busy timeout: the
    /// request was not wrong, the server is too busy or the query too costly right now; nothing was written (the
    /// transaction rolls back), so a retry later is safe: 503 with Retry-After, not an anonymous 500.
    /// </summary>
    private static FhirException Overloaded()
    {
        var exception = new FhirException(StatusCodes.Status503ServiceUnavailable, Hl7.Fhir.Model.OperationOutcome.IssueType.Timeout,
            "The database did not answer in time; nothing was written: try again later");
        exception.Headers["Retry-After"] = "5";
        return exception;
    }

    /// <summary>
    /// PostgreSQL's refusals a client can cause or cure: concurrent transactions that deadlocked or could not be
    /// serialized (nothing of this request was written, the same request can simply be sent again: 409; single writes
    /// have been retried already, see <see cref="SingleWrite"/>, so this reaches transactions, batch entries and
    /// writes that collided on every attempt), and text
    /// PostgreSQL cannot store (a NUL character, which FHIR strings may not contain anyway: 400).
    /// </summary>
    private static FhirException? FromPostgres(Npgsql.PostgresException postgres) => postgres.SqlState switch
    {
        Npgsql.PostgresErrorCodes.DeadlockDetected or Npgsql.PostgresErrorCodes.SerializationFailure => new FhirException(StatusCodes.Status409Conflict,
            Hl7.Fhir.Model.OperationOutcome.IssueType.Transient,
            "The change collided with a concurrent one and was rolled back; nothing was written: send the same request again"),
        Npgsql.PostgresErrorCodes.UntranslatableCharacter or Npgsql.PostgresErrorCodes.CharacterNotInRepertoire => FhirException.BadRequest(
            "The resource holds a character that cannot be stored (\\u0000, NUL): FHIR strings may not contain control characters other than tab, CR and LF"),
        _ => null,
    };
}
