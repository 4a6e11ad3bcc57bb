using FhirRecovery.Conformance;
using FhirRecovery.Conformance.Questionnaires;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Questionnaires;

/// <summary>$extract and $populate over the store: finding what they work on, and answering as FHIR does.</summary>
public sealed class QuestionnaireOperations(ConformanceEngine engine, StoredQuestionnaires questionnaires, IResourceStore store, TimeProvider clock)
{
    private const int MaxQueryResults = 100;

    public async Task<Resource> ExtractAsync(QuestionnaireResponse response, Questionnaire? questionnaire, string? reference, CancellationToken cancellationToken)
    {
        questionnaire ??= await questionnaires.FindForAsync(response, null, cancellationToken)
                          ?? throw new FhirException(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.NotFound,
                              $"The questionnaire '{response.Questionnaire}' is not known here: nothing says which items to extract", "QuestionnaireResponse.questionnaire");
        var definition = QuestionnaireDefinition.For(questionnaire);

        // Observations are only made from a response that keeps its questionnaire's rules.
        var validation = engine.Validator.Validate(response);
        var questionnaireIssues = new List<Conformance.Validation.ValidationIssue>();
        engine.Questionnaires.ResponseValidator.Validate(response, definition, "QuestionnaireResponse", questionnaireIssues);
        var errors = validation.Issues.Concat(questionnaireIssues).Where(i => i.IsError).Distinct().ToList();
        if (errors.Count > 0)
        {
            var outcome = new OperationOutcome();
            outcome.Issue.AddRange(errors.Select(e => e.ToIssueComponent()));
            throw new FhirException(errors.Any(e => e.Kind == Conformance.Validation.IssueKind.Structure) ? StatusCodes.Status400BadRequest : StatusCodes.Status422UnprocessableEntity, outcome);
        }

        var scored = engine.Questionnaires.Scorer.Score(response, definition).Corrected ?? response;
        var result = engine.Questionnaires.Extractor.Extract(scored, definition, reference);
        if (result.Skipped.Count == 0)
        {
            return result.Transaction;
        }

        var issues = new OperationOutcome();
        issues.Issue.AddRange(result.Skipped.Select(s => Outcomes.Single(OperationOutcome.IssueSeverity.Warning, OperationOutcome.IssueType.NotSupported, s, null).Issue[0]));
        return new Parameters
        {
            Parameter = [new() { Name = "return", Resource = result.Transaction }, new() { Name = "issues", Resource = issues }],
        };
    }

    public async Task<Parameters> PopulateAsync(string? id, PopulateRequest request, CancellationToken cancellationToken)
    {
        var questionnaire = await QuestionnaireForAsync(id, request, cancellationToken);
        if (request.Subject?.Reference is not { Length: > 0 } subjectReference)
        {
            throw FhirException.BadRequest("$populate needs the 'subject' (a Reference to the Patient the response is about)", "subject");
        }

        var data = new StoreData(store);
        var subject = await data.ReadAsync(subjectReference, cancellationToken)
                      ?? throw FhirException.NotFound($"$populate: the subject {subjectReference} is not known");
        var contexts = new Dictionary<string, Resource>(StringComparer.Ordinal);
        foreach (var (name, reference, resource) in request.Contexts)
        {
            var content = resource ?? (reference is ResourceReference { Reference: { } target }
                ? await data.ReadAsync(target, cancellationToken) ?? throw FhirException.NotFound($"$populate: context '{name}' ({target}) is not known")
                : null);
            if (content is not null)
            {
                contexts[name] = content;
            }
        }

        var result = await engine.Questionnaires.Populator.PopulateAsync(QuestionnaireDefinition.For(questionnaire),
            new ResourceReference($"{subject.TypeName}/{subject.Id}"), subject, contexts, data, clock.GetUtcNow(), cancellationToken);
        var output = new Parameters { Parameter = [new() { Name = "response", Resource = result.Response }] };
        if (result.Issues.Count > 0)
        {
            var issues = new OperationOutcome();
            issues.Issue.AddRange(result.Issues.Select(i => Outcomes.Single(OperationOutcome.IssueSeverity.Warning, OperationOutcome.IssueType.Incomplete, i, null).Issue[0]));
            output.Parameter.Add(new() { Name = "issues", Resource = issues });
        }

        return output;
    }

    private async Task<Questionnaire> QuestionnaireForAsync(string? id, PopulateRequest request, CancellationToken cancellationToken)
    {
        if (id is not null)
        {
            var stored = ResourceNames.IsValidId(id) ? await store.ReadAsync("Questionnaire", id, cancellationToken) : null;
            if (stored is { IsDeleted: false, Json: { } json })
            {
                return (Questionnaire)FhirSerialization.ParseStored(json);
            }

            return engine.Definitions.EntriesOf("Questionnaire").FirstOrDefault(e => e.Id == id) is { } entry && engine.Definitions.Resolve(entry) is Questionnaire known
                ? known
                : throw FhirException.NotFound($"Questionnaire/{id} is not known");
        }

        if (request.Questionnaire is { } inline)
        {
            return inline;
        }

        if (request.Canonical is { Length: > 0 } canonical)
        {
            return await questionnaires.FindAsync(canonical, null, cancellationToken)
                   ?? throw FhirException.NotFound($"$populate: the questionnaire '{canonical}' is not known");
        }

        throw FhirException.BadRequest("$populate needs the questionnaire: Questionnaire/{id}/$populate, or the 'questionnaire' or 'canonical' parameter", "questionnaire");
    }

    /// <summary>Reads and searches of $populate's expressions, straight from the store (searches lenient, first page).</summary>
    private sealed class StoreData(IResourceStore store) : IPopulateDataSource
    {
        public async Task<Resource?> ReadAsync(string reference, CancellationToken cancellationToken)
        {
            var parts = reference.Split('/');
            if (parts.Length < 2 || !ResourceNames.IsValidId(parts[^1]) || !char.IsUpper(parts[^2].FirstOrDefault()))
            {
                return null;
            }

            var stored = await store.ReadAsync(parts[^2], parts[^1], cancellationToken);
            return stored is { IsDeleted: false, Json: { } json } ? FhirSerialization.ParseStored(json) : null;
        }

        public async Task<Bundle> SearchAsync(string query, CancellationToken cancellationToken)
        {
            var question = query.IndexOf('?');
            var type = question < 0 ? query : query[..question];
            var parameters = question < 0 ? [] : SearchCriteria.Parse(query[(question + 1)..]);
            if (!parameters.Any(p => p.Key == "_count"))
            {
                parameters.Add(new("_count", MaxQueryResults.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }

            var result = await store.SearchAsync(new SearchRequest { ResourceType = type, Parameters = parameters, Handling = SearchHandling.Lenient }, cancellationToken);
            return new Bundle
            {
                Type = Bundle.BundleType.Searchset,
                Total = result.Total,
                Entry = result.Matches.Where(m => m.Json is not null)
                    .Select(m => new Bundle.EntryComponent { Resource = FhirSerialization.ParseStored(m.Json!), Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match } })
                    .ToList(),
            };
        }
    }
}
