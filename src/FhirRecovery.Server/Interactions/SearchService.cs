using FhirRecovery.Server.Configuration;
using FhirRecovery.Server.Http;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Interactions;

/// <summary>What a search is asked to do, before the store sees it.</summary>
public sealed record SearchInput(
    string? ResourceType,
    IReadOnlyList<KeyValuePair<string, string>> Parameters,
    CompartmentScope? Compartment,
    SearchHandling Handling,
    Subsetting Subsetting);

/// <summary>
/// Search (type, system and compartment): applies the server's limits to the parameters, runs the store's search and
/// makes the searchset Bundle, with paging links that carry the store's page tokens.
/// </summary>
public sealed class SearchService(IResourceStore store, IOptionsMonitor<LimitOptions> limits, TimeProvider clock)
{
    public async Task<SearchBundle> SearchAsync(SearchInput input, string baseUrl, IStoreSession? session, CancellationToken cancellationToken)
    {
        var notes = new List<OperationOutcome.IssueComponent>();
        var (request, pathForLinks) = Prepare(input, baseUrl, notes);
        SearchResult result;
        try
        {
            result = session is null
                ? await store.SearchAsync(request, cancellationToken)
                : await session.SearchAsync(request, cancellationToken);
        }
        catch (SearchException ex)
        {
            throw FhirException.BadRequest($"Search parameter '{ex.Parameter}': {ex.Message}", ex.Parameter);
        }

        return ToBundle(result, input, request, pathForLinks, baseUrl, notes);
    }

    private (SearchRequest Request, string LinkBase) Prepare(SearchInput input, string baseUrl, List<OperationOutcome.IssueComponent> notes)
    {
        var limit = limits.CurrentValue;
        var parameters = new List<KeyValuePair<string, string>>();
        string? pageToken = null;
        var hasCount = false;
        var includes = 0;
        foreach (var (name, value) in input.Parameters)
        {
            if (name == "_page")
            {
                pageToken = value;
                continue;
            }

            if (SearchCriteria.ResponseParameters.Contains(name))
            {
                continue;
            }

            if (name == "_count")
            {
                if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count))
                {
                    throw FhirException.BadRequest($"_count '{value}' is not a non-negative integer", "_count");
                }

                if (count > limit.MaxPageSize)
                {
                    notes.Add(Note($"_count {count} was lowered to the server's maximum page size, {limit.MaxPageSize}"));
                    count = limit.MaxPageSize;
                }

                hasCount = true;
                parameters.Add(new(name, count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                continue;
            }

            if (name.StartsWith("_include", StringComparison.Ordinal) || name.StartsWith("_revinclude", StringComparison.Ordinal))
            {
                includes++;
            }

            parameters.Add(new(name, value));
        }

        if (includes > limit.MaxIncludeParameters)
        {
            throw new FhirException(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.TooCostly,
                $"{includes} _include/_revinclude parameters; at most {limit.MaxIncludeParameters} are allowed (Limits:MaxIncludeParameters)", "_include");
        }

        if (!hasCount && pageToken is null)
        {
            parameters.Add(new("_count", limit.DefaultPageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var linkBase = input.Compartment is { } c
            ? $"{baseUrl}/{c.CompartmentType}/{c.Id}/{input.ResourceType ?? "*"}"
            : input.ResourceType is null ? baseUrl : $"{baseUrl}/{input.ResourceType}";
        return (new SearchRequest
        {
            ResourceType = input.ResourceType,
            // A page token stands for the whole search it came from: the store takes the parameters from it.
            Parameters = pageToken is null ? parameters : [],
            Compartment = input.Compartment,
            Handling = input.Handling,
            PageToken = pageToken,
        }, linkBase);
    }

    private SearchBundle ToBundle(SearchResult result, SearchInput input, SearchRequest request, string linkBase, string baseUrl, List<OperationOutcome.IssueComponent> notes)
    {
        var now = clock.GetUtcNow();
        var stored = new List<ResourceVersion?>();
        var bundle = new Bundle
        {
            Id = Guid.NewGuid().ToString(),
            Meta = new Meta { LastUpdated = now },
            Type = Bundle.BundleType.Searchset,
            Total = result.Total,
        };

        // Links keep what the REST layer applies itself (_elements, _format, _summary) besides the store's parameters or page token.
        var carried = input.Parameters.Where(p => p.Key is "_elements" or "_format" or "_summary").ToList();
        var storeParameters = result.Applied.Count > 0 ? result.Applied : request.Parameters;
        var applied = storeParameters.Concat(carried.Where(c => !storeParameters.Any(a => a.Key == c.Key))).ToList();
        bundle.Link.Add(new Bundle.LinkComponent { Relation = "self", Url = Link(linkBase, request.PageToken is { } token ? carried.Prepend(new("_page", token)) : applied) });
        if (request.PageToken is null)
        {
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "first", Url = Link(linkBase, applied) });
        }

        if (result.NextPage is { } next)
        {
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "next", Url = Link(linkBase, carried.Prepend(new("_page", next))) });
        }

        if (result.PreviousPage is { } previous)
        {
            bundle.Link.Add(new Bundle.LinkComponent { Relation = "previous", Url = Link(linkBase, carried.Prepend(new("_page", previous))) });
        }

        if (input.Subsetting.Summary != SummaryType.Count)
        {
            foreach (var match in result.Matches)
            {
                bundle.Entry.Add(Entry(match, Bundle.SearchEntryMode.Match, baseUrl));
                stored.Add(match);
            }

            foreach (var included in result.Included)
            {
                bundle.Entry.Add(Entry(included, Bundle.SearchEntryMode.Include, baseUrl));
                stored.Add(included);
            }
        }

        notes.AddRange(result.Issues.Select(i => new OperationOutcome.IssueComponent
        {
            Severity = OperationOutcome.IssueSeverity.Warning,
            Code = OperationOutcome.IssueType.NotSupported,
            Diagnostics = $"Parameter '{i.Parameter}' was ignored: {i.Message}",
            Details = new CodeableConcept { Text = $"Parameter '{i.Parameter}' was ignored: {i.Message}" },
        }));
        if (notes.Count > 0)
        {
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = $"urn:uuid:{Guid.NewGuid()}",
                Resource = new OperationOutcome { Id = Guid.NewGuid().ToString(), Issue = notes },
                Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Outcome },
            });
            stored.Add(null);
        }

        return new SearchBundle(bundle, now, stored);
    }

    private static Bundle.EntryComponent Entry(ResourceVersion version, Bundle.SearchEntryMode mode, string baseUrl) => new()
    {
        FullUrl = $"{baseUrl}/{version.ResourceType}/{version.Id}",
        Search = new Bundle.SearchComponent { Mode = mode },
    };

    private static OperationOutcome.IssueComponent Note(string message) => new()
    {
        Severity = OperationOutcome.IssueSeverity.Information,
        Code = OperationOutcome.IssueType.Informational,
        Diagnostics = message,
        Details = new CodeableConcept { Text = message },
    };

    private static string Link(string linkBase, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var query = SearchCriteria.ToQueryString(parameters);
        return query.Length == 0 ? linkBase : $"{linkBase}?{query}";
    }
}
