using System.Collections.Concurrent;
using System.Net;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FhirRecovery.Server.Tests.Security;

/// <summary>A server with Auth:Mode=None whose log is kept, to see what it says at start-up.</summary>
public sealed class AnonymousModeFixture : SqliteServerFixture
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Log { get; } = new();

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(new KeepingLoggerProvider(Log));

    private sealed class KeepingLoggerProvider(ConcurrentQueue<(LogLevel, string)> log) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            log.Enqueue((logLevel, formatter(state, exception)));

        public void Dispose()
        {
        }
    }
}

/// <summary>
/// Anonymous access exists only when an operator switches security off (Auth:Mode=None); the server must then say so
/// where operators and client developers look: the start-up log and the CapabilityStatement.
/// </summary>
public sealed class AnonymousModeTests(AnonymousModeFixture fixture) : IClassFixture<AnonymousModeFixture>
{
    [StoreFact]
    public async Task With_security_switched_off_the_server_warns_at_start_up_and_in_its_capability_statement()
    {
        Assert.Contains(fixture.Log, l => l.Level == LogLevel.Warning && l.Message.Contains("SECURITY IS OFF (Auth:Mode=None)", StringComparison.Ordinal));

        var statement = await (await fixture.Client.GetAsync("metadata")).ReadAsync<CapabilityStatement>();
        Assert.Contains("security is switched off (Auth:Mode=None)", statement.Description, StringComparison.Ordinal);
        var security = statement.Rest[0].Security;
        Assert.Contains("security is switched off", security.Description, StringComparison.Ordinal);
        Assert.Empty(security.Service);
        Assert.DoesNotContain(security.Extension, e => e.Url.Contains("oauth-uris", StringComparison.Ordinal));

        // No authorization server to discover, and anonymous requests work.
        await (await fixture.Client.GetAsync(".well-known/smart-configuration")).AssertOutcomeAsync(HttpStatusCode.NotFound);
        await (await fixture.Client.GetAsync("Patient")).AssertStatusAsync(HttpStatusCode.OK);
    }
}
