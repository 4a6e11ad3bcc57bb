using System.Net;
using System.Text;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>JSON answers escape only what JSON requires ('+' in offsets, apostrophes and non-ASCII stay readable).</summary>
public abstract class JsonEncodingTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    [StoreFact]
    public async Task Offsets_apostrophes_and_accents_are_written_as_they_are()
    {
        var patient = Patient(family: "O'Brien-Zoë");
        patient.BirthDate = "1990-01-01";
        var created = await (await Client.PostAsync("Patient", patient)).ReadAsync<Patient>();
        var observation = Observation($"Patient/{created.Id}");
        observation.Effective = new FhirDateTime("2024-05-01T10:00:00+02:00");
        var stored = await (await Client.PostAsync("Observation", observation)).ReadAsync<Observation>();

        foreach (var url in new[]
                 {
                     $"Observation/{stored.Id}", $"Observation/{stored.Id}?_pretty=true", $"Observation?_id={stored.Id}",
                     $"Observation?_id={stored.Id}&_elements=effective", $"Patient/{created.Id}", $"Patient?_id={created.Id}&_pretty=true",
                 })
        {
            var response = await Client.GetAsync(url);
            await response.AssertStatusAsync(HttpStatusCode.OK);
            var body = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync());
            Assert.DoesNotContain("\\u00", body, StringComparison.Ordinal);
            Assert.Contains(url.StartsWith("Patient", StringComparison.Ordinal) ? "O'Brien-Zoë" : "2024-05-01T10:00:00+02:00", body, StringComparison.Ordinal);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        }
    }

    [StoreFact]
    public async Task An_outcome_reads_without_escapes()
    {
        var response = await Client.GetAsync("Patient?birthdate=not+a+date");
        var body = await response.Content.ReadAsStringAsync();
        Assert.False(response.IsSuccessStatusCode, body);
        Assert.DoesNotContain("\\u0027", body, StringComparison.Ordinal);
    }
}

public sealed class SqliteJsonEncodingTests(SqliteServerFixture fixture) : JsonEncodingTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlJsonEncodingTests(PostgreSqlServerFixture fixture) : JsonEncodingTests(fixture), IClassFixture<PostgreSqlServerFixture>;
