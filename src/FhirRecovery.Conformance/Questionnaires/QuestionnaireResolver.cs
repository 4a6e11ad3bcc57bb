using FhirRecovery.Conformance.Definitions;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>
/// Where Questionnaires come from beyond the engine's definitions, e.g. the ones a FHIR server has stored. Called
/// synchronously from validation: an implementation over a database should cache (and the server's does).
/// </summary>
public interface IQuestionnaireSource
{
    /// <summary>The Questionnaire for <c>url</c> or <c>url|version</c>, or null when this source has none.</summary>
    Questionnaire? FindQuestionnaire(string canonical);
}

/// <summary>
/// Resolves a QuestionnaireResponse's <c>questionnaire</c> canonical: first the engine's definitions (the IG's
/// questionnaires, packages loaded with the engine), then the source in scope for the current call
/// (<see cref="Use"/>), then the sources registered for the whole process (<see cref="AddSource"/>).
/// <para>
/// Why a scoped source: the engine is built once per process and may serve several hosts (the test suite runs many
/// servers on one engine), while stored questionnaires belong to one store; a host puts its store's source in scope
/// for each request (an AsyncLocal), so validation finds that store's questionnaires and no other's.
/// </para>
/// </summary>
public sealed class QuestionnaireResolver
{
    private static readonly AsyncLocal<IQuestionnaireSource?> Scoped = new();
    private IQuestionnaireSource[] _sources = [];
    private readonly Lock _gate = new();

    public QuestionnaireResolver(DefinitionResolver definitions)
    {
        Definitions = definitions;
    }

    public DefinitionResolver Definitions { get; }

    /// <summary>Adds a source for every call in this process (after the definitions and any scoped source).</summary>
    public void AddSource(IQuestionnaireSource source)
    {
        lock (_gate)
        {
            _sources = [.. _sources, source];
        }
    }

    /// <summary>Puts <paramref name="source"/> in scope for the current async flow until the result is disposed.</summary>
    public static IDisposable Use(IQuestionnaireSource source)
    {
        var previous = Scoped.Value;
        Scoped.Value = source;
        return new Restore(previous);
    }

    /// <summary>The Questionnaire for a canonical (<c>url</c>, <c>url|version</c>), or null when no source knows it.</summary>
    public Questionnaire? Find(string canonical)
    {
        if (string.IsNullOrEmpty(canonical))
        {
            return null;
        }

        if (Definitions.FindEntry(canonical) is { ResourceType: "Questionnaire" } entry && Definitions.Resolve(entry) is Questionnaire known)
        {
            return known;
        }

        if (Scoped.Value?.FindQuestionnaire(canonical) is { } scoped)
        {
            return scoped;
        }

        foreach (var source in _sources)
        {
            if (source.FindQuestionnaire(canonical) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>The questionnaire a response answers: a contained one for "#id", else by canonical.</summary>
    public Questionnaire? FindFor(QuestionnaireResponse response)
    {
        var canonical = response.Questionnaire;
        if (string.IsNullOrEmpty(canonical))
        {
            return null;
        }

        if (canonical.StartsWith('#'))
        {
            return response.Contained.OfType<Questionnaire>().FirstOrDefault(q => q.Id == canonical[1..]);
        }

        return Find(canonical);
    }

    private sealed class Restore(IQuestionnaireSource? previous) : IDisposable
    {
        public void Dispose() => Scoped.Value = previous;
    }
}
