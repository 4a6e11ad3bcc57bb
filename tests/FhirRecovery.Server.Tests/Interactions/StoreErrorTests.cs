using System.Net;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>Store refusals a client causes answer 4xx with an OperationOutcome, never 500, and leave nothing half-written.</summary>
public abstract class StoreErrorTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    [StoreFact]
    public async Task A_NUL_character_in_a_string_is_stored_or_refused_with_a_400_never_a_500()
    {
        var identifier = TestResources.Unique("nul");
        var body = $$"""{"resourceType":"Patient","identifier":[{"system":"https://fhirrecovery.org/test/patient","value":"{{identifier}}"}],"name":[{"family":"Null\u0000Byte"}]}""";

        var response = await Client.SendAsync(HttpMethod.Post, "Patient", FhirHttp.Body(body));

        // SQLite stores NUL; PostgreSQL cannot (jsonb), and refuses it with nothing written.
        if (response.StatusCode != HttpStatusCode.Created)
        {
            await response.AssertOutcomeAsync(HttpStatusCode.BadRequest, "cannot be stored");
            var search = await (await Client.GetAsync($"Patient?identifier={identifier}&_summary=count")).ReadAsync<Hl7.Fhir.Model.Bundle>();
            Assert.Equal(0, search.Total);
        }

        Assert.Equal(fixture is PostgreSqlServerFixture ? HttpStatusCode.BadRequest : HttpStatusCode.Created, response.StatusCode);
    }
}

public sealed class SqliteStoreErrorTests(SqliteServerFixture fixture) : StoreErrorTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlStoreErrorTests(PostgreSqlServerFixture fixture) : StoreErrorTests(fixture), IClassFixture<PostgreSqlServerFixture>;

/// <summary>The databases' concurrency and timeout failures as REST answers (they cannot be provoked reliably, so mapped directly).</summary>
public class StoreErrorMappingTests
{
    [Theory]
    [InlineData(Npgsql.PostgresErrorCodes.DeadlockDetected, 409)]
    [InlineData(Npgsql.PostgresErrorCodes.SerializationFailure, 409)]
    [InlineData(Npgsql.PostgresErrorCodes.UntranslatableCharacter, 400)]
    public void Deadlocks_serialization_failures_and_NUL_characters_are_client_answers(string sqlState, int status)
    {
        var postgres = new Npgsql.PostgresException("failed", "ERROR", "ERROR", sqlState);

        var direct = StoreErrors.ToFhir(postgres);
        var wrapped = StoreErrors.ToFhir(new InvalidOperationException("while writing", postgres));

        Assert.Equal(status, direct?.Status);
        Assert.Equal(status, wrapped?.Status);
        Assert.IsType<FhirException>(direct);
    }

    [Fact]
    public void A_database_command_timeout_or_a_busy_sqlite_database_is_a_503_to_retry_later_not_a_500()
    {
        // What Npgsql throws when a command runs past Storage:CommandTimeoutSeconds, and SQLite past its busy timeout.
        Exception[] failures =
        [
            new Npgsql.NpgsqlException("Exception while reading from stream", new TimeoutException("Timeout during reading attempt")),
            new Microsoft.Data.Sqlite.SqliteException("SQLite Error 5: 'database is locked'.", 5),
        ];

        foreach (var failure in failures)
        {
            var answer = StoreErrors.ToFhir(failure);

            Assert.Equal(503, answer?.Status);
            Assert.Equal(Hl7.Fhir.Model.OperationOutcome.IssueType.Timeout, answer?.Outcome.Issue[0].Code);
            Assert.True(answer?.Headers.ContainsKey("Retry-After"));
        }
    }
}
