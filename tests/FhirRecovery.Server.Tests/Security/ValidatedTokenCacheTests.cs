using System.Globalization;
using System.Net;
using System.Security.Claims;
using FhirRecovery.Server.Security;
using FhirRecovery.Server.Security.Authentication;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace FhirRecovery.Server.Tests.Security;

/// <summary>A validated token is reused only while it is still valid: never past its exp, never longer than the cache lifetime.</summary>
public sealed class ValidatedTokenCacheTests
{
    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly DateTimeOffset Start = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static ClaimsPrincipal Expiring(DateTimeOffset exp) =>
        new(new ClaimsIdentity([new Claim("exp", exp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)), new Claim("scope", "system/*.rs")], "test"));

    [Fact]
    public void A_token_is_not_reused_past_its_expiry()
    {
        var clock = new Clock(Start);
        var cache = new ValidatedTokenCache(clock);
        var access = AccessContext.FromPrincipal(Expiring(Start.AddSeconds(30)), new AuthOptions());
        cache.Add("token-a", access, Expiring(Start.AddSeconds(30)));

        Assert.True(cache.TryGet("token-a", out var found));
        Assert.Same(access, found);
        clock.Now = Start.AddSeconds(30);
        Assert.False(cache.TryGet("token-a", out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void A_long_lived_token_is_validated_again_after_the_cache_lifetime()
    {
        var clock = new Clock(Start);
        var cache = new ValidatedTokenCache(clock);
        cache.Add("token-b", AccessContext.FromPrincipal(Expiring(Start.AddHours(8)), new AuthOptions()), Expiring(Start.AddHours(8)));

        clock.Now = Start + ValidatedTokenCache.Lifetime - TimeSpan.FromSeconds(1);
        Assert.True(cache.TryGet("token-b", out _));
        clock.Now = Start + ValidatedTokenCache.Lifetime;
        Assert.False(cache.TryGet("token-b", out _));
    }

    [Fact]
    public void Tokens_without_expiry_or_already_expired_are_not_kept_and_other_texts_do_not_match()
    {
        var cache = new ValidatedTokenCache(new Clock(Start));
        var principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("scope", "system/*.rs")], "test"));
        cache.Add("no-exp", AccessContext.FromPrincipal(principal, new AuthOptions()), principal);
        cache.Add("expired", AccessContext.FromPrincipal(principal, new AuthOptions()), Expiring(Start.AddSeconds(-1)));
        cache.Add("kept", AccessContext.FromPrincipal(principal, new AuthOptions()), Expiring(Start.AddMinutes(1)));

        Assert.False(cache.TryGet("no-exp", out _));
        Assert.False(cache.TryGet("expired", out _));
        Assert.False(cache.TryGet("kept ", out _));
        Assert.False(cache.TryGet("KEPT", out _));
        Assert.True(cache.TryGet("kept", out _));
    }
}

/// <summary>Through the server: a reused token keeps its scopes' limits, and a forged variant of a cached token is still refused.</summary>
public sealed class CachedTokenTests(SqliteSmartFixture fixture) : IClassFixture<SqliteSmartFixture>
{
    [StoreFact]
    public async Task A_token_used_again_is_still_held_to_its_scopes_and_a_tampered_copy_is_refused()
    {
        var token = TestTokens.Mint("system/Patient.rs");
        var client = fixture.ClientWith(token);
        for (var i = 0; i < 3; i++)
        {
            await (await client.GetAsync("Patient?_count=1")).AssertStatusAsync(HttpStatusCode.OK);
            await (await client.GetAsync("Goal?_count=1")).AssertOutcomeAsync(HttpStatusCode.Forbidden);
        }

        Assert.True(fixture.Factory.Services.GetRequiredService<ValidatedTokenCache>().TryGet(token, out _));

        // The same header and payload with the signature of another token: not the cached text, so validated, and refused.
        var other = TestTokens.Mint("system/Patient.rs", clientId: "someone-else");
        var tampered = string.Join('.', token.Split('.')[..2]) + "." + other.Split('.')[2];
        var refused = await fixture.ClientWith(tampered).GetAsync("Patient?_count=1");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }
}
