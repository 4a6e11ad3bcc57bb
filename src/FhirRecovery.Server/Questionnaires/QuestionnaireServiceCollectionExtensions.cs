using FhirRecovery.Conformance.Questionnaires;
using FhirRecovery.Server.Endpoints;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Questionnaires;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

// In the DI namespace (the usual home of AddXxx extensions), so the host needs no extra using.
namespace Microsoft.Extensions.DependencyInjection;

public static class QuestionnaireServiceCollectionExtensions
{
    /// <summary>
    /// Questionnaire behaviour of the server (SDC): responses validated against stored questionnaires too, scores
    /// recomputed on write (<see cref="QuestionnaireScoringHook"/>), <c>$extract</c> and <c>$populate</c>.
    /// </summary>
    public static IServiceCollection AddRecoveryQuestionnaires(this IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddSingleton<StoredQuestionnaires>();
        services.AddSingleton<QuestionnaireOperations>();

        // Scores are settled before the store write, so every hook after the write sees the response as stored.
        services.AddSingleton<IResourceWriteHook, QuestionnaireScoringHook>();
        services.AddSingleton<IResourceWriteHook>(sp => sp.GetRequiredService<StoredQuestionnaires>());
        services.AddSingleton<IFhirEndpointModule, QuestionnaireEndpoints>();
        services.AddSingleton<ICapabilityStatementContributor, QuestionnaireCapabilities>();
        services.AddTransient<IStartupFilter, StoredQuestionnaireScope>();
        return services;
    }
}

