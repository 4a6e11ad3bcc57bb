using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>HEAD answers like GET without a body: read, vread, search, history, capabilities and errors.</summary>
public abstract class HeadTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    private async Task<HttpResponseMessage> HeadAsync(string url, params (string, string)[] headers)
    {
        var response = await Client.SendAsync(HttpMethod.Head, url, null, headers);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        return response;
    }

    [StoreFact]
    public async Task Head_on_read_and_vread_answers_the_versioning_headers_without_a_body()
    {
        var created = await (await Client.PostAsync("Patient", Patient(family: "Headless"))).ReadAsync<Patient>();

        var read = await HeadAsync($"Patient/{created.Id}");
        var vread = await HeadAsync($"Patient/{created.Id}/_history/1");

        foreach (var response in new[] { read, vread })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("W/\"1\"", response.ETag());
            Assert.Equal(created.Meta.LastUpdated!.Value.ToUniversalTime().ToString("R"), response.Content.Headers.LastModified?.ToString("R"));
            Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        }

        // The length of the body a GET would send (the common read sends the stored JSON with its length, not chunked).
        var body = await (await Client.GetAsync($"Patient/{created.Id}")).Content.ReadAsByteArrayAsync();
        Assert.Equal(body.Length, (await Client.GetAsync($"Patient/{created.Id}")).Content.Headers.ContentLength);
        Assert.Equal(body.Length, read.Content.Headers.ContentLength);

        var notModified = await HeadAsync($"Patient/{created.Id}", ("If-None-Match", "W/\"1\""));
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    }

    [StoreFact]
    public async Task Head_on_search_history_and_metadata_answers_200_without_a_body()
    {
        foreach (var url in new[] { "Patient?family=Headless", "Patient/_history", "metadata", "" })
        {
            var response = await HeadAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"HEAD /fhir/{url}: {(int)response.StatusCode}");
        }
    }

    [StoreFact]
    public async Task Head_on_an_error_answers_its_status_without_a_body()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await HeadAsync("Patient/not-there-at-all")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await HeadAsync("Patient?no-such-parameter=1", ("Prefer", "handling=strict"))).StatusCode);
    }
}

public sealed class SqliteHeadTests(SqliteServerFixture fixture) : HeadTests(fixture), IClassFixture<SqliteServerFixture>;

public sealed class PostgreSqlHeadTests(PostgreSqlServerFixture fixture) : HeadTests(fixture), IClassFixture<PostgreSqlServerFixture>;
