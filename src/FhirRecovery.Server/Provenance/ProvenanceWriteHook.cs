using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Security;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.Provenance;

/// <summary>Provenance records for writes (section <c>Provenance</c>).</summary>
public sealed class ProvenanceOptions
{
    public const string Section = "Provenance";

    /// <summary>Whether every create and update through the API gets a Provenance.</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>
/// A Provenance for every create and update made through the API (patch included), written in the same store session as
/// the write, so both land or neither does: target = the new version, agents from the token (the user, <c>fhirUser</c>,
/// as author; the client application as performer), activity CREATE/UPDATE. The writes of one session (one REST write,
/// or every entry of a transaction Bundle) share their Provenance: one per activity, targeting each version written, as
/// FHIR recommends for transactions (a 100-entry import is one Provenance, not 100). A client may send its own
/// Provenance in the <c>X-Provenance</c> header (JSON): its agents, reasons, policies, entities and signatures are kept,
/// target and recorded are the server's. A malformed X-Provenance refuses the write (400).
/// </summary>
public sealed class ProvenanceWriteHook(IOptionsMonitor<ProvenanceOptions> options, IHttpContextAccessor http, TimeProvider clock) : IResourceWriteHook
{
    public const string Header = "X-Provenance";
    public const string ClientSystem = "urn:fhirrecovery:oauth-client";
    public const string SubjectSystem = "urn:fhirrecovery:oauth-subject";

    private static readonly object ParsedKey = new();

    // The versions each open session has written, until it commits (sessions that never commit are simply collected).
    private readonly ConditionalWeakTable<IStoreSession, List<(ResourceReference Target, bool Created)>> _pending = new();

    public ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken)
    {
        if (Applies(context))
        {
            // Parsed (and refused if malformed) before anything is written.
            _ = ClientProvenance();
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken)
    {
        if (!Applies(context))
        {
            return ValueTask.CompletedTask;
        }

        var session = context.Session;
        if (!_pending.TryGetValue(session, out var targets))
        {
            targets = [];
            _pending.Add(session, targets);
            session.OnCommitting(ct => WriteAsync(session, ct));
        }

        targets.Add((new ResourceReference($"{written.ResourceType}/{written.Id}/_history/{written.VersionId}"),
            context.Kind == WriteKind.Create || context.Previous is null));
        return ValueTask.CompletedTask;
    }

    private async System.Threading.Tasks.Task WriteAsync(IStoreSession session, CancellationToken cancellationToken)
    {
        if (!_pending.TryGetValue(session, out var targets))
        {
            return;
        }

        _pending.Remove(session);
        var agents = AgentsFromToken(CurrentAccess.Caller).ToList();
        var recorded = clock.GetUtcNow();
        // The server's own record: not limited by the client's scopes (who the client is stays in the agents).
        using var system = CurrentAccess.AsSystem();
        foreach (var group in targets.GroupBy(t => t.Created))
        {
            var provenance = (Hl7.Fhir.Model.Provenance?)ClientProvenance()?.DeepCopy() ?? new Hl7.Fhir.Model.Provenance();
            provenance.Id = ResourceNames.NewId();
            provenance.Meta = null;
            provenance.Target = group.Select(t => t.Target).ToList();
            provenance.Recorded = recorded;
            provenance.Activity ??= group.Key
                ? new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "CREATE", "create")
                : new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "UPDATE", "revise");
            provenance.Agent.AddRange(agents.Select(a => (Hl7.Fhir.Model.Provenance.AgentComponent)a.DeepCopy()));
            if (provenance.Agent.Count == 0)
            {
                provenance.Agent.Add(new Hl7.Fhir.Model.Provenance.AgentComponent
                {
                    Type = AgentType("performer"),
                    Who = new ResourceReference { Display = "anonymous (Auth:Mode=None)" },
                });
            }

            await session.CreateAsync(provenance, cancellationToken);
        }
    }

    private bool Applies(WriteContext context) =>
        options.CurrentValue.Enabled
        && context.Kind != WriteKind.Delete
        && context.ResourceType is not ("Provenance" or "AuditEvent")
        // Also in a history import: who loaded the data, and when, is part of its record like any client write.
        // The server's own writes (start-up loading, background work) are not client writes.
        && CurrentAccess.Caller is { Kind: not "system" }
        && http.HttpContext is not null;

    private static IEnumerable<Hl7.Fhir.Model.Provenance.AgentComponent> AgentsFromToken(AccessContext? access)
    {
        if (access is null || access.Kind != "token")
        {
            yield break;
        }

        ResourceReference? user = null;
        if (access.FhirUser is { } fhirUser)
        {
            user = new ResourceReference(fhirUser);
        }
        else if (access.Subject is { } subject && subject != access.ClientId)
        {
            user = new ResourceReference { Identifier = new Identifier(SubjectSystem, subject), Display = subject };
        }

        var client = access.ClientId is { } clientId
            ? new ResourceReference { Identifier = new Identifier(ClientSystem, clientId), Display = clientId }
            : null;
        if (user is not null)
        {
            yield return new Hl7.Fhir.Model.Provenance.AgentComponent { Type = AgentType("author"), Who = user };
        }

        if (client is not null)
        {
            yield return new Hl7.Fhir.Model.Provenance.AgentComponent { Type = AgentType("performer"), Who = client, OnBehalfOf = user };
        }
    }

    private static CodeableConcept AgentType(string code) =>
        new("http://terminology.hl7.org/CodeSystem/provenance-participant-type", code, code);

    /// <summary>The X-Provenance header of the request as a Provenance (once per request), or null.</summary>
    private Hl7.Fhir.Model.Provenance? ClientProvenance()
    {
        var httpContext = http.HttpContext;
        if (httpContext is null)
        {
            return null;
        }

        if (httpContext.Items.TryGetValue(ParsedKey, out var cached))
        {
            return cached as Hl7.Fhir.Model.Provenance;
        }

        Hl7.Fhir.Model.Provenance? parsed = null;
        if (httpContext.Request.Headers[Header].FirstOrDefault() is { Length: > 0 } text)
        {
            Resource resource;
            try
            {
                resource = FhirSerialization.Parse(System.Text.Encoding.UTF8.GetBytes(text), FhirFormat.Json, Header);
            }
            catch (FhirException ex)
            {
                throw FhirException.BadRequest($"{Header} is not a Provenance in FHIR JSON: {ex.Message}", Header);
            }

            parsed = resource as Hl7.Fhir.Model.Provenance ?? throw FhirException.BadRequest($"{Header} holds a {resource.TypeName}, not a Provenance", Header);
        }

        httpContext.Items[ParsedKey] = parsed;
        return parsed;
    }
}
