namespace FhirRecovery.Storage;

/// <summary>A named set of codes counted together (e.g. a recovery domain: its own code and the codes of its themes).</summary>
public sealed record CodeBucket(string Name, IReadOnlyList<CodeBucketCode> Codes);

public sealed record CodeBucketCode(string System, string Code);

/// <summary>
/// Counts the resources a search matches by the codes of a token search parameter, in the database: the search's SQL
/// selects the resources, the index rows of the token parameter are grouped by bucket. With
/// <see cref="ThroughReference"/>, the codes are those of the resources the matches refer to through that reference
/// parameter (local references by type and id, canonical references by the target's <c>url</c>), e.g. the recovery focus
/// of the Questionnaire a QuestionnaireResponse answers.
/// </summary>
public sealed record TokenAggregation
{
    /// <summary>The resources counted; paging, sorting and include parameters are ignored.</summary>
    public required SearchRequest Search { get; init; }

    /// <summary>The token parameter carrying the codes (on the matches, or on the targets of <see cref="ThroughReference"/>).</summary>
    public required string TokenParameter { get; init; }

    /// <summary>A reference parameter of the searched type, or null to count the matches' own codes.</summary>
    public string? ThroughReference { get; init; }

    /// <summary>The type of the referenced resources that carry <see cref="TokenParameter"/> (required with <see cref="ThroughReference"/>).</summary>
    public string? TargetType { get; init; }

    public required IReadOnlyList<CodeBucket> Buckets { get; init; }

    /// <summary>
    /// Narrows the matches to those whose reference parameter points to a resource another search finds (e.g. goals whose
    /// subject is a patient of an organisation). Unlike a chained parameter, it is evaluated from the (usually few)
    /// targets towards the matches, which keeps it fast over large populations.
    /// </summary>
    public ReferenceScope? Scope { get; init; }
}

/// <summary>Matches whose <paramref name="ReferenceParameter"/> points to one of the resources <paramref name="Targets"/> finds.</summary>
public sealed record ReferenceScope(string ReferenceParameter, SearchRequest Targets);

/// <summary>How many matches there are, and how many distinct matches have a code of each bucket (0 for none).</summary>
public sealed record TokenAggregationResult(int Total, IReadOnlyDictionary<string, int> Counts);

/// <summary>Aggregates over the search index (implemented by the relational stores): counts without loading resources.</summary>
public interface ISearchAggregation
{
    Task<TokenAggregationResult> CountByCodeAsync(TokenAggregation request, CancellationToken cancellationToken = default);
}
