using System.Collections.Concurrent;

namespace FhirRecovery.Conformance.Terminology;

/// <summary>Outcome of checking a code against the grammar of its system.</summary>
internal readonly record struct GrammarResult(bool IsValid, string? Display, string? Error)
{
    public static GrammarResult Valid(string? display = null) => new(true, display, null);

    public static GrammarResult Invalid(string error) => new(false, null, error);
}

/// <summary>A code system whose codes are defined by a syntax rather than listed: every code is decided by parsing it.</summary>
internal interface ICodeGrammar
{
    string System { get; }

    string Name { get; }

    bool CaseSensitive { get; }

    GrammarResult Check(string code);
}

/// <summary>Remembers results, so the validator's repeated checks of the same units and tags are a dictionary lookup.</summary>
internal abstract class CodeGrammar : ICodeGrammar
{
    private const int MaxCachedCodes = 50_000;
    private readonly ConcurrentDictionary<string, GrammarResult> _cache = new(StringComparer.Ordinal);

    public abstract string System { get; }

    public abstract string Name { get; }

    public abstract bool CaseSensitive { get; }

    public GrammarResult Check(string code)
    {
        if (_cache.TryGetValue(code, out var cached))
        {
            return cached;
        }

        var result = Parse(code);
        if (_cache.Count < MaxCachedCodes)
        {
            _cache.TryAdd(code, result);
        }

        return result;
    }

    protected abstract GrammarResult Parse(string code);

    protected static bool IsAsciiAlpha(char c) => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z';

    protected static bool IsAsciiDigit(char c) => c is >= '0' and <= '9';

    protected static bool IsAsciiAlphanumeric(char c) => IsAsciiAlpha(c) || IsAsciiDigit(c);
}

/// <summary><c>urn:ietf:rfc:3986</c>: any absolute URI.</summary>
internal sealed class UriGrammar : CodeGrammar
{
    public override string System => "urn:ietf:rfc:3986";

    public override string Name => "Uniform Resource Identifier (RFC 3986)";

    public override bool CaseSensitive => true;

    protected override GrammarResult Parse(string code) =>
        code.Length > 0 && !code.Any(char.IsWhiteSpace) && Uri.TryCreate(code, UriKind.Absolute, out _)
            ? GrammarResult.Valid()
            : GrammarResult.Invalid($"'{code}' is not an absolute URI.");
}
