using System.Text;
using System.Text.Json;
using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Validation;
using FhirRecovery.TestKit.Auth;
using FhirRecovery.TestKit.Running;
using Hl7.Fhir.Model;

namespace FhirRecovery.TestKit.Model;

/// <summary>
/// What a test sees: the server (with the run's credentials, and with a patient's token when given), the conformance
/// engine, a run id that makes created data unique, and the checks that fail or skip the test.
/// </summary>
public sealed class KitContext
{
    private const int ExcerptLength = 2000;
    private readonly List<RecordedExchange> _exchanges = [];
    private readonly Lazy<ConformanceEngine> _engine;
    private CapabilityStatement? _capability;

    internal KitContext(KitSettings settings, HttpClient http, string? token, TokenResponse? backendToken, Func<ConformanceEngine> engine)
    {
        Settings = settings;
        Http = http;
        BackendToken = backendToken;
        Fhir = new FhirServerClient(http, settings.Server, token, Record);
        _engine = new Lazy<ConformanceEngine>(engine);
        RunId = DateTimeOffset.UtcNow.ToString("MMddHHmmss", System.Globalization.CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
    }

    public KitSettings Settings { get; }

    /// <summary>Raw HTTP, for what is not under the FHIR base (discovery, the token endpoint).</summary>
    public HttpClient Http { get; }

    /// <summary>The server with the run's credentials (none when none were given).</summary>
    public FhirServerClient Fhir { get; }

    /// <summary>The token response of the Backend Services authorization, when the run used it.</summary>
    public TokenResponse? BackendToken { get; }

    public bool HasCredentials => Fhir.Token is not null;

    /// <summary>Unique per run: ids and identifiers made from it do not meet earlier runs' data.</summary>
    public string RunId { get; }

    public ConformanceEngine Engine => _engine.Value;

    internal IReadOnlyList<RecordedExchange> TakeExchanges()
    {
        var taken = _exchanges.ToList();
        _exchanges.Clear();
        return taken;
    }

    internal void Record(RecordedExchange exchange) => _exchanges.Add(exchange);

    /// <summary>The server's CapabilityStatement (read once per run).</summary>
    public async Task<CapabilityStatement> CapabilityAsync()
    {
        if (_capability is null)
        {
            var response = await Fhir.GetAsync("metadata");
            Expect(response.Status == 200, $"GET metadata answered HTTP {response.Status}");
            _capability = response.As<CapabilityStatement>();
        }

        return _capability;
    }

    /// <summary>A client confined to one patient, and that patient's id; the test skips when no patient token was given.</summary>
    public (FhirServerClient Client, string PatientId) PatientAccess()
    {
        var token = Settings.PatientToken ?? throw new TestSkippedException("no patient-confined token (--patient-token): the compartment tests need one");
        var patient = Settings.PatientId ?? PatientClaim(token)
                      ?? throw new TestSkippedException("the patient token is not a JWT with a 'patient' claim: give the patient's id (--patient-id)");
        return (Fhir.WithToken(token), patient);
    }

    public static void Expect(bool condition, string message)
    {
        if (!condition)
        {
            throw new TestFailedException(message);
        }
    }

    public static void ExpectStatus(FhirResponse response, params int[] expected)
    {
        if (!expected.Contains(response.Status))
        {
            var outcome = response.Resource is OperationOutcome oo ? ": " + string.Join("; ", oo.Issue.Select(i => i.Diagnostics ?? i.Details?.Text).OfType<string>()) : "";
            throw new TestFailedException($"{response.Url} answered HTTP {response.Status}, expected {string.Join(" or ", expected)}{Excerpt(outcome, 500)}");
        }
    }

    public static TestSkippedException Skip(string reason) => new(reason);

    /// <summary>Validates a resource against its declared profiles (or its core type); the issues at error level.</summary>
    public IReadOnlyList<ValidationIssue> ValidationErrors(Resource resource, IEnumerable<string>? profiles = null) =>
        Engine.Validator.Validate(resource, profiles).Issues.Where(i => i.IsError).ToList();

    /// <summary>Fails the test with the validator's errors for <paramref name="what"/>, if any.</summary>
    public void ExpectValid(Resource resource, string what, IEnumerable<string>? profiles = null)
    {
        var errors = ValidationErrors(resource, profiles);
        Expect(errors.Count == 0, $"{what} does not validate: " + string.Join("; ", errors.Take(5).Select(e => $"{e.Expression}: {e.Message}")));
    }

    public static string? Excerpt(string? text, int length = ExcerptLength) =>
        text is null || text.Length <= length ? text : text[..length] + $"… ({text.Length} characters)";

    /// <summary>The <c>patient</c> claim of a JWT (read, not verified: the server verifies it).</summary>
    public static string? PatientClaim(string token)
    {
        var parts = token.Split('.');
        if (parts.Length < 2)
        {
            return null;
        }

        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
            using var json = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload)));
            return json.RootElement.TryGetProperty("patient", out var patient) && patient.ValueKind == JsonValueKind.String ? patient.GetString() : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }
}
