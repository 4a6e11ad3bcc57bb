using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Conformance.Validation;

namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>
/// Questionnaire behaviour of the engine (SDC): finding questionnaires, validating and scoring responses, extracting
/// Observations, pre-filling responses. One per engine; the response validator is registered with the profile
/// validator as a <see cref="IResourceCheck"/>.
/// </summary>
public sealed class QuestionnaireServices
{
    public QuestionnaireServices(DefinitionResolver definitions, IBindingChecker? bindings)
    {
        Resolver = new QuestionnaireResolver(definitions);
        Scorer = new QuestionnaireScorer();
        ResponseValidator = new QuestionnaireResponseValidator(Resolver, bindings, Scorer);
        Extractor = new ObservationExtractor();
        Populator = new QuestionnairePopulator();
    }

    public QuestionnaireResolver Resolver { get; }

    public QuestionnaireScorer Scorer { get; }

    public QuestionnaireResponseValidator ResponseValidator { get; }

    public ObservationExtractor Extractor { get; }

    public QuestionnairePopulator Populator { get; }
}
