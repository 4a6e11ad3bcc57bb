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
        { InnerException: { } inner } => ToFhir(inner),
        _ => null,
    };

    /// <summary>
    /// PostgreSQL's refusals a client can cause or cure: concurrent transactions that deadlocked or could not be
    /// serialized (nothing of this request was written, the same request can simply be sent again: 409), and text
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
