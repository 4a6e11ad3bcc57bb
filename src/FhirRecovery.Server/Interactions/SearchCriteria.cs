using FhirRecovery.Server.Http;
using FhirRecovery.Storage;
using Microsoft.Extensions.Primitives;

namespace FhirRecovery.Server.Interactions;

/// <summary>Search parameters as name/value pairs in request order, from a query string, a form body or a conditional URL.</summary>
public static class SearchCriteria
{
    /// <summary>Parameters the REST layer handles itself and never hands to the store.</summary>
    public static readonly HashSet<string> ResponseParameters = new(StringComparer.Ordinal) { "_format", "_pretty", "_elements", "_page" };

    /// <summary>Parses <c>a=1&amp;b=2</c> (a leading '?' allowed), unescaping names and values.</summary>
    public static List<KeyValuePair<string, string>> Parse(string query)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=');
            var name = Unescape(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? "" : Unescape(pair[(equals + 1)..]);
            result.Add(new(name, value));
        }

        return result;
    }

    public static List<KeyValuePair<string, string>> From(IEnumerable<KeyValuePair<string, StringValues>> collection) =>
        collection.SelectMany(p => p.Value.Select(v => new KeyValuePair<string, string>(p.Key, v ?? ""))).ToList();

    public static string ToQueryString(IEnumerable<KeyValuePair<string, string>> parameters) =>
        string.Join("&", parameters.Select(p => $"{Uri.EscapeDataString(p.Key).Replace("%3A", ":")}={Uri.EscapeDataString(p.Value).Replace("%2C", ",").Replace("%7C", "|")}"));

    private static string Unescape(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    /// <summary>
    /// The matches of a conditional create/update/delete or conditional reference (<c>Patient?identifier=x</c>), at most
    /// two (enough to tell none, one and several apart). Unknown parameters fail the request rather than match everything.
    /// </summary>
    public static async Task<IReadOnlyList<ResourceVersion>> MatchAsync(IStoreSession session, string type, string criteria, string what, CancellationToken cancellationToken)
    {
        var parameters = Parse(criteria)
            .Where(p => p.Key is not ("_count" or "_sort" or "_include" or "_revinclude" or "_summary" or "_total" or "_elements" or "_format"))
            .ToList();
        if (parameters.Count == 0)
        {
            throw FhirException.BadRequest($"{what}: the search criteria '{criteria}' are empty; they would match every {type}");
        }

        parameters.Add(new("_count", "2"));
        var result = await session.SearchAsync(new SearchRequest
        {
            ResourceType = type,
            Parameters = parameters,
            Handling = SearchHandling.Strict,
        }, cancellationToken);
        // A page of one with a next page still means several matches.
        return result.Matches.Count == 1 && result.NextPage is not null ? [.. result.Matches, result.Matches[0]] : result.Matches;
    }
}
