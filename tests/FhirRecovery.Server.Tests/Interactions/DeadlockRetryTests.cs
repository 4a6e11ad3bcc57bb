using System.Net;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Storage;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Interactions;

/// <summary>
/// A single write that PostgreSQL picks as the victim of a real deadlock is retried in a fresh session and succeeds: the
/// client never sees the collision. The deadlock is forced with two sessions locking two rows in opposite order: the
/// server's write holds its resource's row and (through a test hook) waits for a Basic's row, which another session
/// holds while it asks for the resource's row.
/// </summary>
public sealed class DeadlockRetryTests(PostgreSqlDeadlockFixture fixture) : IClassFixture<PostgreSqlDeadlockFixture>
{
    private HttpClient Client => fixture.Client;

    [StoreFact]
    public async Task An_update_that_deadlocks_is_retried_and_succeeds() =>
        await AssertRetriedAsync(id => Client.PutAsync($"Patient/{id}", new Patient { Id = id, Gender = AdministrativeGender.Female }), HttpStatusCode.OK);

    [StoreFact]
    public async Task A_patch_that_deadlocks_is_retried_and_succeeds() =>
        await AssertRetriedAsync(id => Client.SendAsync(HttpMethod.Patch, $"Patient/{id}",
            FhirHttp.Body("""[{"op":"replace","path":"/gender","value":"female"}]""", "application/json-patch+json")), HttpStatusCode.OK);

    [StoreFact]
    public async Task A_delete_that_deadlocks_is_retried_and_succeeds() =>
        await AssertRetriedAsync(id => Client.DeleteAsync($"Patient/{id}"), HttpStatusCode.NoContent);

    private async System.Threading.Tasks.Task AssertRetriedAsync(Func<string, Task<HttpResponseMessage>> write, HttpStatusCode expected)
    {
        var patientId = (await (await Client.PostAsync("Patient", Patient())).ReadAsync<Patient>()).Id;
        var lockId = Unique("lock");
        await (await Client.PutAsync($"Basic/{lockId}", new Basic { Id = lockId, Code = new CodeableConcept { Text = "lock" } })).AssertStatusAsync(HttpStatusCode.Created);

        var connectionString = fixture.Factory.Services.GetRequiredService<IOptions<StorageOptions>>().Value.ConnectionString;
        await using var other = new NpgsqlConnection(connectionString);
        await other.OpenAsync();
        await using var transaction = await other.BeginTransactionAsync();
        // The server's transaction starts waiting first; with the other session's deadlock check postponed, it is the
        // server's that PostgreSQL finds in the cycle and aborts (deadlock_timeout is per session).
        await ExecuteAsync(other, "SET LOCAL deadlock_timeout = '30s'");
        await ExecuteAsync(other, "SELECT 1 FROM resources WHERE res_type = 'Basic' AND res_id = @id FOR UPDATE", lockId);
        var waiting = fixture.Hook.Arm(patientId, lockId);

        var answer = write(patientId);
        await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        // Close the cycle as soon as the server's transaction waits for the Basic's row: PostgreSQL checks a waiter for
        // deadlocks once, deadlock_timeout (1 s) after it began waiting.
        await WaitForLockWaitAsync(connectionString!);
        await ExecuteAsync(other, "SELECT 1 FROM resources WHERE res_type = 'Patient' AND res_id = @id FOR UPDATE", patientId);
        await transaction.RollbackAsync();
        var response = await answer;

        await response.AssertStatusAsync(expected);
        Assert.Equal(2, fixture.Hook.Attempts(patientId)); // the first attempt was the deadlock's victim
        var untouched = await (await Client.GetAsync($"Basic/{lockId}")).ReadAsync<Basic>();
        Assert.Equal("1", untouched.Meta.VersionId); // what the failed attempt wrote was rolled back
    }

    private static async System.Threading.Tasks.Task WaitForLockWaitAsync(string connectionString)
    {
        await using var monitor = new NpgsqlConnection(connectionString);
        await monitor.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", monitor);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The server's write never waited for the locked row");
            await System.Threading.Tasks.Task.Delay(5);
        }
    }

    private static async System.Threading.Tasks.Task ExecuteAsync(NpgsqlConnection connection, string sql, string? id = null)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (id is not null)
        {
            command.Parameters.AddWithValue("id", id);
        }

        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// Armed for one resource id: the first write of it, once written (its row locked), writes the given Basic too in the
/// same session, which blocks while another session holds that Basic's row. Counts the attempts per id since it was armed.
/// </summary>
public sealed class DeadlockingHook : IResourceWriteHook
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _attempts = new();
    private (string Id, string LockId, TaskCompletionSource Waiting)? _armed;

    public System.Threading.Tasks.Task Arm(string id, string lockId)
    {
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _attempts[id] = 0;
        _armed = (id, lockId, waiting);
        return waiting.Task;
    }

    public int Attempts(string id) => _attempts.GetValueOrDefault(id);

    public ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken)
    {
        _attempts.AddOrUpdate(context.Id, 1, (_, n) => n + 1);
        if (_armed is not { } armed || armed.Id != context.Id)
        {
            return;
        }

        _armed = null;
        armed.Waiting.SetResult();
        await context.Session.UpdateAsync(new Basic { Id = armed.LockId, Code = new CodeableConcept { Text = "written by the deadlock's victim" } }, null, cancellationToken);
    }
}

public sealed class PostgreSqlDeadlockFixture : PostgreSqlServerFixture
{
    public DeadlockingHook Hook { get; } = new();

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IResourceWriteHook>(Hook);
}
