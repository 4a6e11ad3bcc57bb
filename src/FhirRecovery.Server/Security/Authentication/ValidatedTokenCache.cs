using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;

namespace FhirRecovery.Server.Security.Authentication;

/// <summary>
/// Bearer tokens already validated, by their exact text, with the access they give. A SMART app sends the same access
/// token with every request, and checking its signature, issuer, audience and lifetime again each time cost more CPU
/// than the read it carried (see docs/benchmarks/issue-4-security.md). An entry is used only before the token's own
/// expiry (<c>exp</c>, without the clock skew validation allows) and for at most <see cref="Lifetime"/>, so changed
/// configuration (trusted issuers, keys) applies within that time. Tokens are not checked for revocation on each request
/// in the first place (they are self-contained JWTs), so keeping the result changes nothing there.
/// </summary>
public sealed class ValidatedTokenCache(TimeProvider clock)
{
    /// <summary>The longest an entry is used, whatever the token's expiry.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>More distinct tokens than this at once: the cache starts over (bounded memory, whatever clients send).</summary>
    public const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, (AccessContext Access, DateTimeOffset Until)> _entries = new(StringComparer.Ordinal);

    public int Count => _entries.Count;

    public bool TryGet(string token, out AccessContext access)
    {
        if (_entries.TryGetValue(token, out var entry))
        {
            if (clock.GetUtcNow() < entry.Until)
            {
                access = entry.Access;
                return true;
            }

            _entries.TryRemove(new KeyValuePair<string, (AccessContext, DateTimeOffset)>(token, entry));
        }

        access = null!;
        return false;
    }

    /// <summary>Keeps a validated token's access until its <c>exp</c> (a token without one is not kept).</summary>
    public void Add(string token, AccessContext access, ClaimsPrincipal principal)
    {
        if (!long.TryParse(principal.FindFirst("exp")?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var exp))
        {
            return;
        }

        var now = clock.GetUtcNow();
        var until = DateTimeOffset.FromUnixTimeSeconds(exp);
        if (until > now + Lifetime)
        {
            until = now + Lifetime;
        }

        if (until <= now)
        {
            return;
        }

        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }

        _entries[token] = (access, until);
    }
}
