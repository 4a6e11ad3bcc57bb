using System.Net;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Storage;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>
/// Write hooks (workflow rules, provenance, notifications) run inside the write's store session: a refusal writes
/// nothing, what a hook writes lands with the write, and a failing transaction takes the hook's writes with it.
/// </summary>
public abstract class WriteHookTests(FhirServerFixture fixture)
{
    private HttpClient Client => fixture.Client;

    [StoreFact]
    public async Task A_hook_that_refuses_a_write_answers_with_its_status_and_nothing_is_stored()
    {
        var patient = Patient(family: RecordingHook.Refused);
        patient.Id = Unique("refused");
        var response = await Client.PutAsync($"Patient/{patient.Id}", FhirHttp.Body(FhirHttp.ToJson(patient)));
        await response.AssertOutcomeAsync(HttpStatusCode.Conflict, "refused by the test hook");
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"Patient/{patient.Id}")).StatusCode);
    }

    [StoreFact]
    public async Task What_a_hook_writes_after_a_write_is_stored_with_it_and_the_hook_sees_the_previous_version()
    {
        var patient = Patient(family: "Before");
        patient.Id = Unique("hooked");
        await (await Client.PutAsync($"Patient/{patient.Id}", FhirHttp.Body(FhirHttp.ToJson(patient)))).AssertStatusAsync(HttpStatusCode.Created);
        patient.Name[0].Family = "After";
        await (await Client.PutAsync($"Patient/{patient.Id}", FhirHttp.Body(FhirHttp.ToJson(patient)))).AssertStatusAsync(HttpStatusCode.OK);

        var note = await (await Client.GetAsync($"Basic/{patient.Id}-note")).ReadAsync<Basic>();
        Assert.Equal("Update of Patient after version 1", note.Code.Text);
    }

    [StoreFact]
    public async Task A_failing_transaction_leaves_no_trace_of_the_hooks_writes()
    {
        var patient = Patient(family: "InTransaction");
        patient.Id = Unique("tx");
        var refused = Patient(family: RecordingHook.Refused);
        refused.Id = Unique("tx-refused");
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Entry =
            [
                new Bundle.EntryComponent { FullUrl = $"urn:uuid:{Guid.NewGuid()}", Resource = patient, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"Patient/{patient.Id}" } },
                new Bundle.EntryComponent { FullUrl = $"urn:uuid:{Guid.NewGuid()}", Resource = refused, Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.PUT, Url = $"Patient/{refused.Id}" } },
            ],
        };

        var response = await Client.PostAsync("", FhirHttp.Body(FhirHttp.ToJson(bundle)));
        await response.AssertOutcomeAsync(HttpStatusCode.Conflict, "refused by the test hook");
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"Patient/{patient.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync($"Basic/{patient.Id}-note")).StatusCode);
    }
}

/// <summary>Refuses Patients named <see cref="Refused"/>; after each Patient write, records a Basic naming the previous version.</summary>
public sealed class RecordingHook : IResourceWriteHook
{
    public const string Refused = "RefuseMe";

    public ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken)
    {
        if (context.Resource is Patient { Name: [{ Family: Refused }, ..] })
        {
            throw FhirException.Conflict("refused by the test hook");
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken)
    {
        if (context.ResourceType != "Patient")
        {
            return;
        }

        var note = new Basic
        {
            Id = $"{context.Id}-note",
            Code = new CodeableConcept { Text = $"{context.Kind} of Patient after version {context.Previous?.VersionId.ToString() ?? "none"}" },
        };
        await context.Session.UpdateAsync(note, null, cancellationToken);
    }
}

public sealed class SqliteHookFixture : SqliteServerFixture
{
    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IResourceWriteHook, RecordingHook>();
}

public sealed class PostgreSqlHookFixture : PostgreSqlServerFixture
{
    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IResourceWriteHook, RecordingHook>();
}

public sealed class SqliteWriteHookTests(SqliteHookFixture fixture) : WriteHookTests(fixture), IClassFixture<SqliteHookFixture>;

public sealed class PostgreSqlWriteHookTests(PostgreSqlHookFixture fixture) : WriteHookTests(fixture), IClassFixture<PostgreSqlHookFixture>;
