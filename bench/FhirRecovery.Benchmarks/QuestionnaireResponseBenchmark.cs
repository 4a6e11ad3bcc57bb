using System.Text;
using BenchmarkDotNet.Attributes;
using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Questionnaires;
using FhirRecovery.Samples;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Benchmarks;

/// <summary>
/// Issue 6's figure: QuestionnaireResponse validation against its Questionnaire plus scoring, on one thread, over the
/// responses of the 60-patient sample set (all seven IG questionnaires, in their real mix: goal reviews, check-ins,
/// QPR-15, CHIME check, self-assessment, ...). One operation is one response; responses/s = 1 / mean.
/// <list type="bullet">
/// <item><see cref="QuestionnaireCheckAndScore"/>: what SDC response validation adds (linkIds, order, types, required,
/// options and value sets, enableWhen, limits, and the calculatedExpression scores recomputed and compared), on parsed
/// responses;</item>
/// <item><see cref="ScoreOnly"/>: the scoring a write hook does;</item>
/// <item><see cref="FullValidationFromJson"/>: the whole <c>$validate</c> / validation-on-write path: parse, profile walk,
/// questionnaire check and scoring;</item>
/// <item><see cref="FullValidationOfScoredResponses"/>: the same for the scored responses only (QPR-15, CHIME check,
/// self-assessment: the most expensive ones).</item>
/// </list>
/// </summary>
[MemoryDiagnoser]
public class QuestionnaireResponseBenchmark
{
    /// <summary>Responses in the 60-patient, seed-42 set, and those of the scored questionnaires (QPR-15, CHIME, self-assessment).</summary>
    public const int Responses = 1473;
    public const int ScoredResponses = 344;

    private ConformanceEngine _engine = null!;
    private QuestionnaireResponse[] _responses = null!;
    private (QuestionnaireResponse Response, QuestionnaireDefinition Definition)[] _scored = null!;
    private byte[][] _json = null!;
    private byte[][] _scoredJson = null!;

    public static IReadOnlyList<QuestionnaireResponse> Corpus() =>
        SampleGenerator.Patients(new SampleRequest { Patients = 60, Seed = 42 })
            .SelectMany(p => p.Versions)
            .OfType<QuestionnaireResponse>()
            .ToList();

    [GlobalSetup]
    public void Setup()
    {
        _engine = ConformanceEngine.Create();
        _responses = Corpus().ToArray();
        var serializer = new FhirJsonSerializer();
        _json = _responses.Select(r => Encoding.UTF8.GetBytes(serializer.SerializeToString(r))).ToArray();
        _scored = _responses
            .Select(r => (Response: r, Definition: QuestionnaireDefinition.For(_engine.Questionnaires.Resolver.FindFor(r)!)))
            .Where(p => p.Definition.HasCalculations)
            .ToArray();
        _scoredJson = _scored.Select(p => Encoding.UTF8.GetBytes(serializer.SerializeToString(p.Response))).ToArray();

        if (_responses.Length != Responses || _scored.Length != ScoredResponses)
        {
            throw new InvalidOperationException($"The sample set changed ({_responses.Length} responses, {_scored.Length} scored): update the constants");
        }

        // Valid by construction: a benchmark that finds errors would measure error paths.
        var errors = _json.Count(j => _engine.Validator.Validate(j).HasErrors);
        if (errors > 0)
        {
            throw new InvalidOperationException($"{errors} responses have errors");
        }
    }

    [Benchmark(OperationsPerInvoke = Responses)]
    public int QuestionnaireCheckAndScore()
    {
        var issues = 0;
        foreach (var response in _responses)
        {
            issues += _engine.Questionnaires.ResponseValidator.Validate(response).Count;
        }

        return issues;
    }

    [Benchmark(OperationsPerInvoke = ScoredResponses)]
    public int ScoreOnly()
    {
        var answers = 0;
        foreach (var (response, definition) in _scored)
        {
            answers += _engine.Questionnaires.Scorer.Score(response, definition).Answers.Count;
        }

        return answers;
    }

    [Benchmark(OperationsPerInvoke = Responses)]
    public int FullValidationFromJson()
    {
        var issues = 0;
        foreach (var json in _json)
        {
            issues += _engine.Validator.Validate(json).Issues.Count;
        }

        return issues;
    }

    [Benchmark(OperationsPerInvoke = ScoredResponses)]
    public int FullValidationOfScoredResponses()
    {
        var issues = 0;
        foreach (var json in _scoredJson)
        {
            issues += _engine.Validator.Validate(json).Issues.Count;
        }

        return issues;
    }
}
