using System.Collections.Concurrent;
using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Conformance.Questionnaires;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Server.Questionnaires;

/// <summary>
/// The Questionnaires a QuestionnaireResponse may name: the engine's (the IG's, loaded packages) and the ones stored on
/// this server. As an <see cref="IQuestionnaireSource"/> it serves validation, which is synchronous: lookups are cached
/// for <see cref="CacheLifetime"/> (so several server instances on one database see each other's new questionnaires
/// soon) and the cache is cleared whenever this instance writes a Questionnaire (the hook half).
/// </summary>
public sealed class StoredQuestionnaires(IResourceStore store, ConformanceEngine engine, TimeProvider clock) : IQuestionnaireSource, IResourceWriteHook
{
    public static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(30);

    private static readonly FhirJsonDeserializer Json = new(new DeserializerSettings().UsingMode(DeserializationMode.Ostrich));
    private readonly ConcurrentDictionary<string, (Questionnaire? Questionnaire, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);

    public QuestionnaireResolver Resolver => engine.Questionnaires.Resolver;

    public Questionnaire? FindQuestionnaire(string canonical)
    {
        if (_cache.TryGetValue(canonical, out var cached) && cached.Expires > clock.GetUtcNow())
        {
            return cached.Questionnaire;
        }

        // Validation is synchronous; ASP.NET Core has no synchronization context, so waiting here cannot deadlock,
        // and the cache keeps it to one query per questionnaire and lifetime.
        var found = SearchAsync(canonical, null, CancellationToken.None).GetAwaiter().GetResult();
        _cache[canonical] = (found, clock.GetUtcNow() + CacheLifetime);
        return found;
    }

    /// <summary>
    /// The questionnaire of a response: contained, the engine's, or stored, read through <paramref name="session"/>
    /// when given (so a transaction that writes a Questionnaire and its responses sees the new one).
    /// </summary>
    public async Task<Questionnaire?> FindForAsync(QuestionnaireResponse response, IStoreSession? session, CancellationToken cancellationToken)
    {
        if (response.Questionnaire is not { Length: > 0 } canonical)
        {
            return null;
        }

        if (canonical.StartsWith('#') || engine.Definitions.FindEntry(canonical) is { ResourceType: "Questionnaire" })
        {
            return Resolver.FindFor(response);
        }

        return await SearchAsync(canonical, session, cancellationToken);
    }

    /// <summary>A Questionnaire by canonical: the engine's first, then the store's (the exact version asked for, else the latest).</summary>
    public async Task<Questionnaire?> FindAsync(string canonical, IStoreSession? session, CancellationToken cancellationToken) =>
        engine.Definitions.FindEntry(canonical) is { ResourceType: "Questionnaire" } entry && engine.Definitions.Resolve(entry) is Questionnaire known
            ? known
            : await SearchAsync(canonical, session, cancellationToken);

    private async Task<Questionnaire?> SearchAsync(string canonical, IStoreSession? session, CancellationToken cancellationToken)
    {
        var (url, version) = DefinitionResolver.SplitCanonical(canonical);
        List<KeyValuePair<string, string>> parameters = [new("url", url), new("_sort", "-_lastUpdated"), new("_count", "50")];
        if (version is not null)
        {
            parameters.Add(new("version", version));
        }

        var request = new SearchRequest { ResourceType = "Questionnaire", Parameters = parameters, Handling = SearchHandling.Lenient };
        var result = session is null ? await store.SearchAsync(request, cancellationToken) : await session.SearchAsync(request, cancellationToken);
        foreach (var match in result.Matches)
        {
            if (match.Json is { } json && Json.DeserializeResource(System.Text.Encoding.UTF8.GetString(json)) is Questionnaire questionnaire && questionnaire.Url == url
                && (version is null || questionnaire.Version == version))
            {
                return questionnaire;
            }
        }

        return null;
    }

    public ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken)
    {
        if (context.ResourceType == "Questionnaire")
        {
            // A new or changed questionnaire may answer lookups that found nothing (or an older version) before.
            // Also in a history import: the cache must follow the store whatever the write's mode.
            _cache.Clear();
        }

        return ValueTask.CompletedTask;
    }
}
