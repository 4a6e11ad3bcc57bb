using FhirRecovery.Conformance.Questionnaires;

namespace FhirRecovery.Server.Questionnaires;

/// <summary>
/// Puts this server's stored questionnaires in scope for each request, so validation ($validate, writes) finds them
/// (the engine is shared per process; see <see cref="QuestionnaireResolver.Use"/>).
/// </summary>
internal sealed class StoredQuestionnaireScope(StoredQuestionnaires questionnaires) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, nextMiddleware) =>
        {
            using (QuestionnaireResolver.Use(questionnaires))
            {
                await nextMiddleware(context);
            }
        });
        next(app);
    };
}
