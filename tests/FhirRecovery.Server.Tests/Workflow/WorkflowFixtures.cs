using System.Collections.Concurrent;
using System.Net;
using FhirRecovery.Server.Subscriptions;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Storage;
using FhirRecovery.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace FhirRecovery.Server.Tests.Workflow;

/// <summary>One request a subscriber endpoint received, and what it answered.</summary>
public sealed record ReceivedNotification(
    HttpMethod Method,
    string Url,
    string? ResourceVersion,
    string? SubscriptionId,
    string? Authorization,
    string? ContentType,
    string Body,
    HttpStatusCode Answer,
    DateTimeOffset At);

/// <summary>
/// A subscriber endpoint in the test process (the primary handler of the server's notification HttpClient): records every
/// request, and answers 500 to the first <see cref="FailFirst"/> ones, 200 afterwards.
/// </summary>
public sealed class TestReceiver : HttpMessageHandler
{
    private readonly ConcurrentQueue<ReceivedNotification> _received = new();
    private int _count;

    public int FailFirst { get; set; }

    public IReadOnlyList<ReceivedNotification> Received => _received.ToArray();

    public IReadOnlyList<ReceivedNotification> Delivered => Received.Where(r => r.Answer == HttpStatusCode.OK).ToList();

    public int Failures => Received.Count(r => r.Answer != HttpStatusCode.OK);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        var answer = Interlocked.Increment(ref _count) <= FailFirst ? HttpStatusCode.InternalServerError : HttpStatusCode.OK;
        _received.Enqueue(new ReceivedNotification(
            request.Method,
            request.RequestUri!.ToString(),
            Header(request, SubscriptionDelivery.ResourceHeader),
            Header(request, SubscriptionDelivery.SubscriptionHeader),
            request.Headers.Authorization?.ToString(),
            request.Content?.Headers.ContentType?.MediaType,
            body,
            answer,
            DateTimeOffset.UtcNow));
        return new HttpResponseMessage(answer) { RequestMessage = request };
    }

    private static string? Header(HttpRequestMessage request, string name) =>
        request.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>The handler outlives the HttpClientFactory's handler rotation: disposing it is a no-op.</summary>
    protected override void Dispose(bool disposing)
    {
    }

    /// <summary>Waits until <paramref name="condition"/> holds (polling), or fails with <paramref name="what"/>.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {seconds} s waiting for: {what}");
            }

            await Task.Delay(50);
        }
    }

    public Task WaitForAsync(Func<TestReceiver, bool> condition, string what, int seconds = 60) =>
        WaitForAsync(() => Task.FromResult(condition(this)), what, seconds);
}

/// <summary>What the workflow fixtures add to a test server: quick retries and notifications sent to a <see cref="TestReceiver"/>.</summary>
public static class WorkflowServer
{
    public static void AddSettings(Dictionary<string, string?> settings)
    {
        settings["Subscriptions:PollInterval"] = "00:00:00.100";
        settings["Subscriptions:InitialRetryDelay"] = "00:00:00.200";
        settings["Subscriptions:MaxRetryDelay"] = "00:00:02";
        settings["Subscriptions:Lease"] = "00:00:10";
        settings["Subscriptions:RequestTimeout"] = "00:00:05";
    }

    public static void AddReceiver(IServiceCollection services, TestReceiver receiver) =>
        services.AddHttpClient(SubscriptionDelivery.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => receiver);

    public static ISubscriptionOutbox Outbox(this FhirServerFixture fixture) => fixture.Factory.Services.GetRequiredService<ISubscriptionOutbox>();

    public static IResourceStore Store(this FhirServerFixture fixture) => fixture.Factory.Services.GetRequiredService<IResourceStore>();
}

public interface IWorkflowFixture
{
    TestReceiver Receiver { get; }
}

public class SqliteWorkflowFixture : SqliteServerFixture, IWorkflowFixture
{
    public TestReceiver Receiver { get; } = new();

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        WorkflowServer.AddSettings(settings);
        return settings;
    }

    protected override void ConfigureServices(IServiceCollection services) => WorkflowServer.AddReceiver(services, Receiver);
}

public class PostgreSqlWorkflowFixture : PostgreSqlServerFixture, IWorkflowFixture
{
    public TestReceiver Receiver { get; } = new();

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        WorkflowServer.AddSettings(settings);
        return settings;
    }

    protected override void ConfigureServices(IServiceCollection services) => WorkflowServer.AddReceiver(services, Receiver);
}

/// <summary>A server on a database that outlives it (SQLite file or PostgreSQL database given), for restart tests.</summary>
public sealed class SharedSqliteServer(string databaseFile, TestReceiver receiver) : SqliteServerFixture
{
    protected override Task<Dictionary<string, string?>> StoreSettingsAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Storage:Provider"] = StorageOptions.SqliteProvider,
        ["Storage:ConnectionString"] = $"Data Source={databaseFile}",
    });

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        WorkflowServer.AddSettings(settings);
        settings["Subscriptions:InitialRetryDelay"] = "00:00:01";
        return settings;
    }

    protected override void ConfigureServices(IServiceCollection services) => WorkflowServer.AddReceiver(services, receiver);
}

public sealed class SharedPostgreSqlServer(string connectionString, TestReceiver receiver) : PostgreSqlServerFixture
{
    protected override Task<Dictionary<string, string?>> StoreSettingsAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Storage:Provider"] = StorageOptions.PostgreSqlProvider,
        ["Storage:ConnectionString"] = connectionString,
    });

    protected override Dictionary<string, string?> Settings()
    {
        var settings = base.Settings();
        WorkflowServer.AddSettings(settings);
        settings["Subscriptions:InitialRetryDelay"] = "00:00:01";
        return settings;
    }

    protected override void ConfigureServices(IServiceCollection services) => WorkflowServer.AddReceiver(services, receiver);
}
