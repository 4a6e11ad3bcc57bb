using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Storage;
using FhirRecovery.Storage.Compartments;
using FhirRecovery.Storage.Search;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.DependencyInjection;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Server.Tests.Workflow;

/// <summary>
/// R4 rest-hook Subscriptions: what the server accepts, what matches, what is delivered where, and the outbox under it
/// (in the write's transaction, claimed exclusively, head of line per subscription, leases) — and delivery to an endpoint
/// that fails twice then succeeds, across a server restart, with nothing lost.
/// </summary>
public abstract class SubscriptionTests(FhirServerFixture fixture)
{
    private const string Endpoint = "http://subscriber.test/fhir";
    private const string FailureCount = "https://fhirrecovery.org/fhir/StructureDefinition/subscription-failure-count";

    private HttpClient Client => fixture.Client;

    private TestReceiver Receiver => ((IWorkflowFixture)fixture).Receiver;

    /// <summary>A database of its own (the fixture's delivery service must not take the rows a test claims by hand).</summary>
    protected abstract Task<(IResourceStore Store, Func<Task> Drop)> IsolatedStoreAsync();

    /// <summary>Another store (another server instance) on the database of a store made by <see cref="IsolatedStoreAsync"/>.</summary>
    protected abstract Task<IResourceStore> SecondInstanceAsync(IResourceStore store);

    /// <summary>Settings for a database that outlives server instances, and how to drop it.</summary>
    protected abstract Task<(Func<TestReceiver, FhirServerFixture> NewServer, Func<Task> Drop)> SharedDatabaseAsync();

    [StoreFact]
    public async Task A_requested_subscription_is_activated_and_unusable_ones_are_refused()
    {
        var subscription = await CreateAsync($"Goal?subject=Patient/{Unique("p")}", FhirHttp.Json);
        Assert.Equal(Subscription.SubscriptionStatus.Active, subscription.Status);

        (string Criteria, Action<Subscription> Change, string Mentions)[] refused =
        [
            ("Patient?name=x", _ => { }, "subscriptions are supported on"),
            ("Goal?no-such-parameter=1", _ => { }, "no-such-parameter"),
            ("Goal?_sort=start-date", _ => { }, "shapes search results"),
            ("Goal?start-date=not-a-date", _ => { }, "not-a-date"),
            ("Goal", s => s.Channel.Type = Subscription.SubscriptionChannelType.Websocket, "rest-hook"),
            ("Goal", s => s.Channel.Endpoint = "ftp://subscriber.test/x", "absolute http or https URL"),
            ("Goal", s => s.Channel.Payload = "text/plain", "is not supported"),
            ("Goal", s => s.Channel.Header = ["no colon here"], "is not 'Name: value'"),
        ];
        foreach (var (criteria, change, mentions) in refused)
        {
            var bad = NewSubscription(criteria, null);
            change(bad);
            await (await Client.PostAsync("Subscription", bad)).AssertRefusedAsync(HttpStatusCode.UnprocessableEntity, mentions);
        }
    }

    [StoreFact]
    public async Task Matching_writes_are_put_to_the_endpoint_with_the_version_that_matched()
    {
        var patient = Unique("p");
        var subscription = NewSubscription($"Goal?subject=Patient/{patient}", FhirHttp.Json);
        subscription.Channel.Header = ["Authorization: Bearer s3cret"];
        subscription = await (await Client.PostAsync("Subscription", subscription)).ReadAsync<Subscription>();

        var goal = await (await Client.PostAsync("Goal", Goal($"Patient/{patient}"))).ReadAsync<Goal>();
        await (await Client.PostAsync("Goal", Goal($"Patient/{Unique("other")}"))).AssertStatusAsync(HttpStatusCode.Created);
        goal.Description.Text = "Walk to the lake every day";
        await (await Client.PutAsync($"Goal/{goal.Id}", goal)).AssertStatusAsync(HttpStatusCode.OK);
        await (await Client.DeleteAsync($"Goal/{goal.Id}")).AssertStatusAsync(HttpStatusCode.NoContent);

        await Receiver.WaitForAsync(r => For(r, subscription.Id).Count >= 2, "two notifications");
        await TestReceiver.WaitForAsync(async () => await fixture.Outbox().CountAsync(subscription.Id) == 0, "an empty outbox");
        var received = For(Receiver, subscription.Id);
        Assert.Equal(2, received.Count); // the other patient's goal and the deletion match nothing
        Assert.All(received, r =>
        {
            Assert.Equal(HttpMethod.Put, r.Method);
            Assert.Equal($"{Endpoint}/Goal/{goal.Id}", r.Url);
            Assert.Equal("Bearer s3cret", r.Authorization);
            Assert.Equal(FhirHttp.Json, r.ContentType);
        });
        Assert.Equal([$"Goal/{goal.Id}/_history/1", $"Goal/{goal.Id}/_history/2"], received.Select(r => r.ResourceVersion));
        var bodies = received.Select(r => new FhirJsonDeserializer().Deserialize<Goal>(r.Body)).ToList();
        Assert.Equal(["1", "2"], bodies.Select(b => b.Meta.VersionId));
        Assert.Equal("Walk to the lake every day", bodies[1].Description.Text);
    }

    [StoreFact]
    public async Task Notifications_without_payload_are_empty_posts_and_follow_the_workflow()
    {
        var task = Example<FhirTask>("Task-tom-peer-support-task.json");
        var referral = Example<ServiceRequest>("ServiceRequest-tom-peer-support-referral.json");
        referral.Id = Unique("psr");
        referral.Status = RequestStatus.Active;
        referral.Meta.VersionId = null;
        await (await Client.PutAsync($"ServiceRequest/{referral.Id}", referral)).AssertStatusAsync(HttpStatusCode.Created);
        var onTasks = await CreateAsync($"Task?status=completed&focus=ServiceRequest/{referral.Id}", payload: null);
        var onReferral = await CreateAsync($"ServiceRequest?_id={referral.Id}&status=completed", payload: null);

        task.Id = Unique("pst");
        task.Meta.VersionId = null;
        task.Focus = new ResourceReference($"ServiceRequest/{referral.Id}");
        foreach (var status in new[] { FhirTask.TaskStatus.Requested, FhirTask.TaskStatus.Accepted, FhirTask.TaskStatus.InProgress, FhirTask.TaskStatus.Completed })
        {
            task.Status = status;
            await (await Client.PutAsync($"Task/{task.Id}", task)).AssertStatusAsync(status == FhirTask.TaskStatus.Requested ? HttpStatusCode.Created : HttpStatusCode.OK);
        }

        await Receiver.WaitForAsync(r => For(r, onTasks.Id).Count >= 1 && For(r, onReferral.Id).Count >= 1, "the completed task and the completed referral");
        await TestReceiver.WaitForAsync(async () => await fixture.Outbox().CountAsync() == 0, "an empty outbox");
        var taskNotification = Assert.Single(For(Receiver, onTasks.Id));
        Assert.Equal(HttpMethod.Post, taskNotification.Method);
        Assert.Equal(Endpoint, taskNotification.Url);
        Assert.Equal("", taskNotification.Body);
        Assert.Equal($"Task/{task.Id}/_history/4", taskNotification.ResourceVersion);
        // The referral was completed by the workflow hook in the task's write, and notified from there.
        Assert.Equal($"ServiceRequest/{referral.Id}/_history/2", Assert.Single(For(Receiver, onReferral.Id)).ResourceVersion);
    }

    [StoreFact]
    public async Task Questionnaire_responses_are_notified_and_a_subscription_switched_off_gets_nothing()
    {
        var response = Example<QuestionnaireResponse>("QuestionnaireResponse-ingrid-goal-setting.json");
        response.Meta.VersionId = null;
        var identifier = Unique("qr");
        response.Identifier = new Identifier("https://fhirrecovery.org/test/qr", identifier);
        var on = await CreateAsync($"QuestionnaireResponse?identifier=https://fhirrecovery.org/test/qr|{identifier}", FhirHttp.Json);
        var off = NewSubscription($"QuestionnaireResponse?identifier=https://fhirrecovery.org/test/qr|{identifier}", FhirHttp.Json);
        off.Status = Subscription.SubscriptionStatus.Off;
        off = await (await Client.PostAsync("Subscription", off)).ReadAsync<Subscription>();

        var created = await (await Client.PostAsync("QuestionnaireResponse", response)).ReadAsync<QuestionnaireResponse>();
        await Receiver.WaitForAsync(r => For(r, on.Id).Count >= 1, "the response");
        Assert.Equal($"{Endpoint}/QuestionnaireResponse/{created.Id}", For(Receiver, on.Id)[0].Url);
        Assert.Empty(For(Receiver, off.Id));
        Assert.Equal(0, await fixture.Outbox().CountAsync(off.Id));
    }

    [StoreFact]
    public async Task The_outbox_commits_with_the_write_and_claims_exclusively_oldest_first_under_a_lease()
    {
        var (store, drop) = await IsolatedStoreAsync();
        try
        {
            var outbox = (ISubscriptionOutbox)store;
            await EnqueueAsync(store, commit: true, ("a", 1), ("a", 2), ("a", 3), ("b", 1));
            await EnqueueAsync(store, commit: false, ("c", 1)); // rolled back with its write
            Assert.Equal(4, await outbox.CountAsync());
            Assert.Equal(0, await outbox.CountAsync("c"));

            // One per subscription, the oldest first; leased rows are nobody else's.
            var first = await outbox.ClaimAsync("one", 10, TimeSpan.FromMinutes(1));
            Assert.Equal(["a/1", "b/1"], first.Select(Name));
            Assert.Empty(await outbox.ClaimAsync("two", 10, TimeSpan.FromMinutes(1)));
            Assert.False(await outbox.CompleteAsync(first[0].Key, "two"));
            Assert.True(await outbox.CompleteAsync(first[0].Key, "one"));

            // A failed attempt is counted and waits its turn; the rows behind it wait too.
            var second = Assert.Single(await outbox.ClaimAsync("two", 10, TimeSpan.FromMinutes(1)));
            Assert.Equal("a/2", Name(second));
            Assert.True(await outbox.RescheduleAsync(second.Key, "two", DateTimeOffset.UtcNow.AddMilliseconds(300), "HTTP 500"));
            Assert.Empty(await outbox.ClaimAsync("two", 10, TimeSpan.FromMinutes(1)));
            Assert.NotNull(await outbox.NextDueAsync());
            await Task.Delay(400);
            var retried = Assert.Single(await outbox.ClaimAsync("three", 10, TimeSpan.FromMilliseconds(200)));
            Assert.Equal(("a/2", 1, "HTTP 500"), (Name(retried), retried.FailedAttempts, retried.LastError));

            // A claimer that goes silent loses its lease: the row is claimed again (at-least-once).
            await Task.Delay(300);
            var again = Assert.Single(await outbox.ClaimAsync("four", 10, TimeSpan.FromMinutes(1)));
            Assert.Equal("a/2", Name(again));
            Assert.False(await outbox.CompleteAsync(again.Key, "three"));
            await outbox.ReleaseAsync(again.Key, "four");
            Assert.Equal("a/2", Name(Assert.Single(await outbox.ClaimAsync("five", 10, TimeSpan.FromMinutes(1)))));
        }
        finally
        {
            await drop();
        }
    }

    [StoreFact]
    public async Task Concurrent_claimers_never_take_the_same_notification()
    {
        var (store, drop) = await IsolatedStoreAsync();
        var second = await SecondInstanceAsync(store);
        try
        {
            await EnqueueAsync(store, commit: true, Enumerable.Range(0, 60).Select(i => ($"s{i}", 1L)).ToArray());
            // Two server instances on one database, two delivery loops each.
            var claimed = await Task.WhenAll(Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
            {
                var outbox = (ISubscriptionOutbox)(c % 2 == 0 ? store : second);
                var mine = new List<string>();
                while (await outbox.ClaimAsync($"claimer-{c}", 3, TimeSpan.FromMinutes(1)) is { Count: > 0 } batch)
                {
                    mine.AddRange(batch.Select(Name));
                }

                return mine;
            })));
            var all = claimed.SelectMany(c => c).ToList();
            Assert.Equal(60, all.Count);
            Assert.Equal(60, all.Distinct().Count());
        }
        finally
        {
            if (second is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }

            await drop();
        }
    }

    [StoreFact]
    public async Task A_receiver_that_fails_twice_then_succeeds_gets_every_notification_across_a_server_restart()
    {
        var receiver = new TestReceiver { FailFirst = 2 };
        var (newServer, drop) = await SharedDatabaseAsync();
        var patient = Unique("p");
        var expected = new List<string>();
        string subscriptionId;
        try
        {
            var first = newServer(receiver);
            await first.InitializeAsync();
            try
            {
                var subscription = NewSubscription($"Goal?subject=Patient/{patient}", FhirHttp.Json);
                subscriptionId = (await (await first.Client.PostAsync("Subscription", subscription)).ReadAsync<Subscription>()).Id;
                for (var i = 0; i < 3; i++)
                {
                    var goal = await (await first.Client.PostAsync("Goal", Goal($"Patient/{patient}", $"Goal {i}"))).ReadAsync<Goal>();
                    expected.Add($"Goal/{goal.Id}/_history/1");
                }

                // Two failures (the first attempt and the retry after 1 s); the Subscription shows it.
                await receiver.WaitForAsync(r => r.Failures >= 2, "two failed deliveries");
                Subscription failing = null;
                await TestReceiver.WaitForAsync(async () =>
                {
                    failing = await (await first.Client.GetAsync($"Subscription/{subscriptionId}")).ReadAsync<Subscription>();
                    return failing.GetExtension(FailureCount)?.Value is UnsignedInt { Value: 2 };
                }, "the subscription to show two failures");
                Assert.Equal(Subscription.SubscriptionStatus.Error, failing.Status);
                Assert.Contains("HTTP 500", failing.Error);
                Assert.Contains("attempt 2", failing.Error);
                Assert.Empty(receiver.Delivered);
            }
            finally
            {
                // Stopped while the head notification waits for its third attempt (2 s back-off).
                await first.DisposeAsync();
            }

            Assert.Empty(receiver.Delivered);
            var second = newServer(receiver);
            await second.InitializeAsync();
            try
            {
                var more = await (await second.Client.PostAsync("Goal", Goal($"Patient/{patient}", "After the restart"))).ReadAsync<Goal>();
                expected.Add($"Goal/{more.Id}/_history/1");
                more.Description.Text = "After the restart, changed";
                await (await second.Client.PutAsync($"Goal/{more.Id}", more)).AssertStatusAsync(HttpStatusCode.OK);
                expected.Add($"Goal/{more.Id}/_history/2");

                await receiver.WaitForAsync(r => expected.All(e => r.Delivered.Any(d => d.ResourceVersion == e)), "every notification delivered", seconds: 90);
                await TestReceiver.WaitForAsync(async () => await second.Outbox().CountAsync(subscriptionId) == 0, "an empty outbox");
                // In order: the head waited for the endpoint, the others behind it.
                Assert.Equal(expected, receiver.Delivered.Select(d => d.ResourceVersion).Distinct().ToList());
                Assert.Equal(2, receiver.Failures);
                Assert.All(receiver.Received.Take(3), r => Assert.Equal(expected[0], r.ResourceVersion));

                await TestReceiver.WaitForAsync(async () =>
                    (await (await second.Client.GetAsync($"Subscription/{subscriptionId}")).ReadAsync<Subscription>()).Status == Subscription.SubscriptionStatus.Active,
                    "the subscription active again");
                var recovered = await (await second.Client.GetAsync($"Subscription/{subscriptionId}")).ReadAsync<Subscription>();
                Assert.Null(recovered.Error);
                Assert.Null(recovered.GetExtension(FailureCount));
                var history = await (await second.Client.GetAsync($"Subscription/{subscriptionId}/_history")).ReadAsync<Bundle>();
                Assert.Contains(history.Entry, e => e.Resource is Subscription { Status: Subscription.SubscriptionStatus.Error } s && s.Error.Contains("HTTP 500"));
            }
            finally
            {
                await second.DisposeAsync();
            }
        }
        finally
        {
            await drop();
        }
    }

    [StoreFact]
    public async Task The_subscriptions_marker_moves_with_every_subscription_write_and_only_then()
    {
        var (store, drop) = await IsolatedStoreAsync();
        try
        {
            async Task<string?> MarkerAsync()
            {
                await using var session = await store.BeginAsync();
                return await ((ISubscriptionOutboxSession)session).SubscriptionsMarkerAsync();
            }

            var before = await MarkerAsync();
            Assert.NotNull(before);
            await EnqueueAsync(store, commit: true); // a Patient: not a Subscription
            Assert.Equal(before, await MarkerAsync());

            var subscription = NewSubscription("Goal?status=active", null);
            subscription.Id = Unique("s");
            await using (var session = await store.BeginAsync())
            {
                await session.CreateAsync(subscription);
                // This session's own view is not everyone's yet: no marker to cache against.
                Assert.Null(await ((ISubscriptionOutboxSession)session).SubscriptionsMarkerAsync());
                await session.CommitAsync();
            }

            var created = await MarkerAsync();
            Assert.NotEqual(before, created);
            await using (var session = await store.BeginAsync())
            {
                await session.DeleteAsync("Subscription", subscription.Id, null);
                await session.CommitAsync();
            }

            Assert.NotEqual(created, await MarkerAsync());
        }
        finally
        {
            await drop();
        }
    }

    [StoreFact]
    public async Task A_subscription_made_on_one_instance_is_honoured_by_another_that_already_wrote()
    {
        var receiver = new TestReceiver();
        var (newServer, drop) = await SharedDatabaseAsync();
        var patient = Unique("p");
        try
        {
            var first = newServer(receiver);
            var second = newServer(receiver);
            await first.InitializeAsync();
            await second.InitializeAsync();
            try
            {
                // The first instance writes (and so learns there is no subscription) before the second adds one.
                await (await first.Client.PostAsync("Goal", Goal($"Patient/{patient}", "Before"))).AssertStatusAsync(HttpStatusCode.Created);
                var subscription = await (await second.Client.PostAsync("Subscription", NewSubscription($"Goal?subject=Patient/{patient}", FhirHttp.Json))).ReadAsync<Subscription>();

                var goal = await (await first.Client.PostAsync("Goal", Goal($"Patient/{patient}", "After"))).ReadAsync<Goal>();

                await receiver.WaitForAsync(r => r.Delivered.Any(d => d.SubscriptionId == subscription.Id && d.ResourceVersion == $"Goal/{goal.Id}/_history/1"),
                    "the goal written on the first instance notified");
            }
            finally
            {
                await first.DisposeAsync();
                await second.DisposeAsync();
            }
        }
        finally
        {
            await drop();
        }
    }

    private static List<ReceivedNotification> For(TestReceiver receiver, string subscriptionId) =>
        receiver.Delivered.Where(r => r.SubscriptionId == subscriptionId).ToList();

    private static string Name(ClaimedNotification claimed) => $"{claimed.Notification.SubscriptionId}/{claimed.Notification.VersionId}";

    private static async Task EnqueueAsync(IResourceStore store, bool commit, params (string Subscription, long Version)[] notifications)
    {
        await using var session = await store.BeginAsync();
        var patient = Patient();
        patient.Id = Unique("p");
        await session.CreateAsync(patient);
        foreach (var (subscription, version) in notifications)
        {
            await ((ISubscriptionOutboxSession)session).EnqueueAsync(new SubscriptionNotification(subscription, "Patient", patient.Id, version));
        }

        if (commit)
        {
            await session.CommitAsync();
        }
    }

    private async Task<Subscription> CreateAsync(string criteria, string? payload)
    {
        var response = await Client.PostAsync("Subscription", NewSubscription(criteria, payload));
        await response.AssertStatusAsync(HttpStatusCode.Created);
        return await response.ReadAsync<Subscription>();
    }

    private static Subscription NewSubscription(string criteria, string? payload) => new()
    {
        Status = Subscription.SubscriptionStatus.Requested,
        Reason = "Tell the referrer's system what changed",
        Criteria = criteria,
        Channel = new Subscription.ChannelComponent { Type = Subscription.SubscriptionChannelType.RestHook, Endpoint = Endpoint, Payload = payload },
    };

    /// <summary>The connection string of each isolated store, for a second instance on its database.</summary>
    protected static readonly System.Collections.Concurrent.ConcurrentDictionary<IResourceStore, string> Connections = new();

    /// <summary>A store of the fixture's kind over another database, built from the fixture's definitions.</summary>
    protected async Task<IResourceStore> NewStoreAsync(StorageOptions options)
    {
        var services = fixture.Factory.Services;
        var store = StorageServiceCollectionExtensions.Create(options, services.GetRequiredService<SearchParameterRegistry>(),
            services.GetRequiredService<CompartmentDefinitions>());
        await store.InitializeAsync();
        return store;
    }
}

public sealed class SqliteSubscriptionTests(SqliteWorkflowFixture fixture) : SubscriptionTests(fixture), IClassFixture<SqliteWorkflowFixture>
{
    protected override async Task<(IResourceStore Store, Func<Task> Drop)> IsolatedStoreAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"fhirrecovery-outbox-{Guid.NewGuid():N}.db");
        var store = await NewStoreAsync(new StorageOptions { ConnectionString = $"Data Source={file}" });
        Connections[store] = $"Data Source={file}";
        return (store, () => Delete(file));
    }

    protected override Task<IResourceStore> SecondInstanceAsync(IResourceStore store) =>
        NewStoreAsync(new StorageOptions { ConnectionString = Connections[store] });

    protected override Task<(Func<TestReceiver, FhirServerFixture> NewServer, Func<Task> Drop)> SharedDatabaseAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"fhirrecovery-restart-{Guid.NewGuid():N}.db");
        return Task.FromResult<(Func<TestReceiver, FhirServerFixture>, Func<Task>)>((receiver => new SharedSqliteServer(file, receiver), () => Delete(file)));
    }

    private static Task Delete(string file)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var path in new[] { file, file + "-wal", file + "-shm" })
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
        }

        return Task.CompletedTask;
    }
}

public sealed class PostgreSqlSubscriptionTests(PostgreSqlWorkflowFixture fixture) : SubscriptionTests(fixture), IClassFixture<PostgreSqlWorkflowFixture>
{
    protected override async Task<(IResourceStore Store, Func<Task> Drop)> IsolatedStoreAsync()
    {
        var database = await (await PostgreSqlServer.GetAsync()).CreateDatabaseAsync("fhirrecovery_outbox");
        var store = await NewStoreAsync(new StorageOptions { Provider = StorageOptions.PostgreSqlProvider, ConnectionString = database.ConnectionString });
        Connections[store] = database.ConnectionString;
        return (store, async () =>
        {
            await ((PostgresResourceStore)store).DisposeAsync();
            await database.DisposeAsync();
        });
    }

    protected override Task<IResourceStore> SecondInstanceAsync(IResourceStore store) =>
        NewStoreAsync(new StorageOptions { Provider = StorageOptions.PostgreSqlProvider, ConnectionString = Connections[store] });

    protected override async Task<(Func<TestReceiver, FhirServerFixture> NewServer, Func<Task> Drop)> SharedDatabaseAsync()
    {
        var database = await (await PostgreSqlServer.GetAsync()).CreateDatabaseAsync("fhirrecovery_restart");
        return (receiver => new SharedPostgreSqlServer(database.ConnectionString, receiver), async () => await database.DisposeAsync());
    }
}
