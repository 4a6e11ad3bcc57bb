namespace FhirRecovery.Storage.Terminology;

/// <summary>
/// The terminology the search needs for <c>:in</c>/<c>:not-in</c> (value set expansion) and <c>:below</c>/<c>:above</c>
/// on codes (hierarchies). Every answer includes the code itself where that applies; null means "cannot tell" (unknown
/// value set or code system, or one that cannot be expanded locally), which the search reports as an error rather than
/// silently matching nothing.
/// </summary>
public interface ICodeExpansion
{
    /// <summary>The codes of a value set (<c>url</c> or <c>url|version</c>).</summary>
    IReadOnlySet<(string? System, string Code)>? Expand(string valueSetUrl);

    /// <summary>The code and every code it subsumes (is-a).</summary>
    IReadOnlySet<(string? System, string Code)>? Descendants(string system, string code);

    /// <summary>The code and every code that subsumes it.</summary>
    IReadOnlySet<(string? System, string Code)>? Ancestors(string system, string code);
}
