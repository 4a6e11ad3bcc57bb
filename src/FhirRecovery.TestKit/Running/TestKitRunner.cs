using System.Diagnostics;
using FhirRecovery.Conformance;
using FhirRecovery.TestKit.Auth;
using FhirRecovery.TestKit.Model;
using FhirRecovery.TestKit.Suites;

namespace FhirRecovery.TestKit.Running;

/// <summary>Hears about a run as it goes (the CLI's live progress).</summary>
public interface ITestKitObserver
{
    void SuiteStarting(KitSuite suite)
    {
    }

    void TestStarting(KitTest test)
    {
    }

    void TestFinished(TestResult result)
    {
    }
}

/// <summary>
/// Runs the chosen suites against one server, one test after the other (tests of a suite build on each other, and a
/// server under test should not see the kit's own concurrency), and collects the results.
/// </summary>
public sealed class TestKitRunner(KitSettings settings, ITestKitObserver? observer = null, Func<ConformanceEngine>? engine = null)
{
    public async Task<KitReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var suites = SuiteCatalog.Select(settings.Suites);
        using var http = new HttpClient(settings.Handler ?? new SocketsHttpHandler { AllowAutoRedirect = false }, disposeHandler: settings.Handler is null)
        {
            Timeout = settings.RequestTimeout,
        };

        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        TokenResponse? backend = null;
        if (settings.ClientId is not null && settings.PrivateKeyJwk is not null)
        {
            backend = await BackendServicesAuthorizer.AuthorizeAsync(http, settings.Server, settings.ClientId, settings.PrivateKeyJwk, settings.Scope, cancellationToken);
        }

        var context = new KitContext(settings, http, settings.Token ?? backend?.AccessToken, backend, engine ?? (() => ConformanceEngine.Create()));
        var results = new List<TestResult>();
        foreach (var suite in suites)
        {
            observer?.SuiteStarting(suite);
            foreach (var test in suite.Tests)
            {
                cancellationToken.ThrowIfCancellationRequested();
                observer?.TestStarting(test);
                var result = await RunOneAsync(test, context);
                results.Add(result);
                observer?.TestFinished(result);
            }
        }

        return new KitReport(settings.Server.AbsoluteUri, started, clock.Elapsed, results);
    }

    private static async Task<TestResult> RunOneAsync(KitTest test, KitContext context)
    {
        var watch = Stopwatch.StartNew();
        TestOutcome outcome;
        string? message = null;
        try
        {
            await test.Body(context);
            outcome = TestOutcome.Passed;
        }
        catch (TestSkippedException ex)
        {
            outcome = TestOutcome.Skipped;
            message = ex.Message;
        }
        catch (TestFailedException ex)
        {
            outcome = TestOutcome.Failed;
            message = ex.Message;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or InvalidOperationException or FormatException
                                       or System.Text.Json.JsonException or Hl7.Fhir.Serialization.DeserializationFailedException or NullReferenceException or ArgumentException)
        {
            // An answer the test could not make sense of is the server's failure to meet the requirement, not the kit's crash.
            outcome = TestOutcome.Failed;
            message = $"{ex.GetType().Name}: {ex.Message}";
        }

        return new TestResult(test, outcome, message, watch.Elapsed, context.TakeExchanges());
    }
}
