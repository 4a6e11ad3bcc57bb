using Microsoft.IdentityModel.JsonWebTokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace FhirRecovery.Server.Security.Embedded;

/// <summary>
/// SMART Backend Services clients authenticate with a <c>private_key_jwt</c> assertion typed <c>typ: JWT</c> and addressed
/// to the token endpoint (<c>aud</c> = its URL). OpenIddict 7 expects the newer <c>client-authentication+jwt</c> type and
/// the issuer as audience; these two handlers accept the SMART form as well, for assertions only (self-issued: iss = sub =
/// the client), leaving signature, lifetime and the rest of OpenIddict's checks in place.
/// </summary>
internal static class SmartClientAssertions
{
    private const string Marker = "fhirrecovery:smart-client-assertion";

    public static void Register(OpenIddictServerBuilder server)
    {
        server.AddEventHandler(AcceptSmartAssertion.Descriptor);
        server.AddEventHandler(RestoreAssertionType.Descriptor);
    }

    private sealed class AcceptSmartAssertion : IOpenIddictServerHandler<ValidateTokenContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .UseSingletonHandler<AcceptSmartAssertion>()
            .SetOrder(Protection.ValidateIdentityModelToken.Descriptor.Order - 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ValidateTokenContext context)
        {
            if (context.TokenValidationParameters?.ValidTypes is not { } types
                || !types.Contains(OpenIddictConstants.JsonWebTokenTypes.ClientAuthentication, StringComparer.Ordinal)
                || string.IsNullOrEmpty(context.Token))
            {
                return ValueTask.CompletedTask;
            }

            JsonWebToken token;
            try
            {
                token = new JsonWebToken(context.Token);
            }
            catch (ArgumentException)
            {
                return ValueTask.CompletedTask;
            }

            var type = token.Typ;
            var selfIssued = !string.IsNullOrEmpty(token.Issuer) && token.TryGetPayloadValue<string>("sub", out var subject) && subject == token.Issuer
                             && (string.IsNullOrEmpty(context.Request?.ClientId) || context.Request.ClientId == subject);
            if (!selfIssued || !(string.IsNullOrEmpty(type) || string.Equals(type, "JWT", StringComparison.OrdinalIgnoreCase)))
            {
                return ValueTask.CompletedTask;
            }

            // SMART addresses the assertion to the token endpoint; OpenIddict would want the issuer. Either is accepted,
            // checked here (OpenIddict's own audience check is what is replaced); typ is the only other check relaxed.
            if ((context.Options.Issuer ?? context.BaseUri) is { } issuer)
            {
                var accepted = new[] { issuer.AbsoluteUri, issuer.AbsoluteUri.TrimEnd('/'), new Uri(issuer, "connect/token").AbsoluteUri };
                if (!token.Audiences.Any(a => accepted.Contains(a, StringComparer.Ordinal)))
                {
                    context.Reject(OpenIddictConstants.Errors.InvalidClient, "The client assertion's aud must be the token endpoint's URL");
                    return ValueTask.CompletedTask;
                }

                context.TokenValidationParameters.ValidateAudience = false;
                foreach (var audience in accepted)
                {
                    context.ValidAudiences.Add(audience);
                }
            }

            context.TokenValidationParameters.ValidTypes = null;
            context.Transaction.Properties[Marker] = true;
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>OpenIddict derives the token type from typ: an assertion typed JWT must be known as an assertion again.</summary>
    private sealed class RestoreAssertionType : IOpenIddictServerHandler<ValidateTokenContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .UseSingletonHandler<RestoreAssertionType>()
            .SetOrder(Protection.ValidatePrincipal.Descriptor.Order - 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ValidateTokenContext context)
        {
            if (context.Principal is { } principal
                && context.ValidTokenTypes.Contains(OpenIddictConstants.TokenTypeIdentifiers.Private.ClientAssertion)
                && context.Transaction.Properties.Remove(Marker))
            {
                principal.SetTokenType(OpenIddictConstants.TokenTypeIdentifiers.Private.ClientAssertion);
            }

            return ValueTask.CompletedTask;
        }
    }
}
