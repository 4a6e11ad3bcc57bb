using System.Net;
using System.Text;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Security;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Audit;

/// <summary>Auditing of FHIR requests (section <c>Audit</c>).</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Folder of the write-ahead journal: events are appended there before the response is sent and written to the store
    /// in batches; what a crash leaves behind is written at the next start.
    /// </summary>
    public string JournalPath { get; set; } = "data/audit-journal";

    /// <summary>How often the batch of recorded events is written to the store.</summary>
    public int FlushIntervalMilliseconds { get; set; } = 1000;

    /// <summary>
    /// Most events per store session. Small on purpose: on SQLite a session holds the one write lock, and a batch of 500
    /// (about 150 ms) stalled every client write queued behind it; 32 keeps each hold near the cost of one ordinary write.
    /// </summary>
    public int MaxBatch { get; set; } = 32;
}

/// <summary>
/// AuditEvents in the style of IHE Basic Audit Log Patterns (BALP): who (the client application, the user, the network
/// address), what (the resource and version, or the query), the patient concerned, when, and the outcome, for every
/// read, search, write and operation, refusals included.
/// </summary>
public static class AuditEventFactory
{
    public const string ClientSystem = Provenance.ProvenanceWriteHook.ClientSystem;

    /// <summary>The interaction behind an endpoint name (the REST endpoints' names; anything else is an operation).</summary>
    public static (string Subtype, AuditEvent.AuditEventAction Action) Interaction(string? endpoint, string method) => endpoint switch
    {
        "read" or "validate-stored" => ("read", AuditEvent.AuditEventAction.R),
        "vread" => ("vread", AuditEvent.AuditEventAction.R),
        "history-instance" => ("history-instance", AuditEvent.AuditEventAction.R),
        "history-type" => ("history-type", AuditEvent.AuditEventAction.R),
        "history-system" => ("history-system", AuditEvent.AuditEventAction.R),
        "search-type" or "search-type-post" or "search-compartment" => ("search-type", AuditEvent.AuditEventAction.E),
        "search-system" or "search-system-post" => ("search-system", AuditEvent.AuditEventAction.E),
        "create" => ("create", AuditEvent.AuditEventAction.C),
        "update" or "conditional-update" => ("update", AuditEvent.AuditEventAction.U),
        "patch" or "conditional-patch" => ("patch", AuditEvent.AuditEventAction.U),
        "delete" or "conditional-delete" => ("delete", AuditEvent.AuditEventAction.D),
        "batch-transaction" => ("transaction", AuditEvent.AuditEventAction.E),
        "capabilities" => ("capabilities", AuditEvent.AuditEventAction.R),
        _ => ("operation", method == "GET" ? AuditEvent.AuditEventAction.R : AuditEvent.AuditEventAction.E),
    };

    public static AuditEvent Create(AuditRecord record)
    {
        var (subtype, action) = Interaction(record.Endpoint, record.Method);
        var audit = new AuditEvent
        {
            Id = record.Id,
            Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation"),
            Subtype = [new Coding("http://hl7.org/fhir/restful-interaction", subtype, subtype)],
            Action = action,
            Period = new Period { Start = record.Started.ToString("o"), End = record.Recorded.ToString("o") },
            Recorded = record.Recorded,
            Outcome = record.Status switch
            {
                < 400 => AuditEvent.AuditEventOutcome.N0,
                < 500 => AuditEvent.AuditEventOutcome.N4,
                _ => AuditEvent.AuditEventOutcome.N8,
            },
            OutcomeDesc = $"{record.Status} {Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(record.Status)}"
                          + (record.Error is null ? "" : $": {record.Error}"),
            Source = new AuditEvent.SourceComponent
            {
                Site = record.Host,
                Observer = new ResourceReference { Display = "FhirRecovery FHIR server", Identifier = new Identifier("urn:fhirrecovery:server", record.Observer) },
                Type = [new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server")],
            },
        };

        var access = record.Access;
        // The client application (BALP: the app's agent; its network address).
        audit.Agent.Add(new AuditEvent.AgentComponent
        {
            Type = new CodeableConcept("http://dicom.nema.org/resources/ontology/DCM", "110150", "Application"),
            Who = access?.ClientId is { } client
                ? new ResourceReference { Identifier = new Identifier(ClientSystem, client), Display = client }
                : new ResourceReference { Display = access?.Kind == "anonymous" ? "anonymous (Auth:Mode=None)" : "unauthenticated client" },
            Requestor = access?.FhirUser is null && access?.Subject is null,
            Network = record.RemoteAddress is { } address
                ? new AuditEvent.NetworkComponent { Address = address, Type = address.Contains(':') ? AuditEvent.AuditEventAgentNetworkType.N2 : AuditEvent.AuditEventAgentNetworkType.N2 }
                : null,
            Policy = access?.Scopes is { Count: > 0 } scopes ? [string.Join(' ', scopes)] : [],
        });

        // The user (fhirUser, else the token subject).
        if (access?.FhirUser is { } fhirUser || access?.Subject is { })
        {
            audit.Agent.Add(new AuditEvent.AgentComponent
            {
                Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/extra-security-role-type", "humanuser", "human user"),
                Who = access!.FhirUser is { } user
                    ? new ResourceReference(user)
                    : new ResourceReference { Identifier = new Identifier(Provenance.ProvenanceWriteHook.SubjectSystem, access.Subject), Display = access.Subject },
                AltId = access.Subject,
                Requestor = true,
            });
        }

        // What: the resource (and version) or the query.
        if (record.Resource is { } resource)
        {
            audit.Entity.Add(new AuditEvent.EntityComponent
            {
                What = new ResourceReference(resource),
                Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
                Role = new Coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource"),
            });
        }

        // Operations are named only by their path ($recovery-summary, $export-ehr...): without it the record would not say what was done.
        if (record.Query is { Length: > 0 } query || action == AuditEvent.AuditEventAction.E || subtype == "operation")
        {
            audit.Entity.Add(new AuditEvent.EntityComponent
            {
                Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
                Role = new Coding("http://terminology.hl7.org/CodeSystem/object-role", "24", "Query"),
                Description = $"{record.Method} {record.Path}",
                Query = Encoding.UTF8.GetBytes(record.Query ?? ""),
            });
        }

        // Whose data: the patient in context, and patients named by the request.
        foreach (var patient in record.Patients.Distinct(StringComparer.Ordinal))
        {
            audit.Entity.Add(new AuditEvent.EntityComponent
            {
                What = new ResourceReference($"Patient/{patient}"),
                Type = new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"),
                Role = new Coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"),
            });
        }

        return audit;
    }

    /// <summary>The patient ids a request concerns, as far as the request shows them.</summary>
    public static List<string> PatientsOf(AccessContext? access, string? type, string? id, RouteValueDictionary route, IQueryCollection query)
    {
        var patients = new List<string>();
        if (access?.Patient is { } context)
        {
            patients.Add(context);
        }

        if (access?.UserPatient is { Length: > 1 } user)
        {
            patients.Add(user);
        }

        if (type == "Patient" && id is not null && ResourceNames.IsValidId(id))
        {
            patients.Add(id);
        }

        if (route.TryGetValue("compartment", out var compartment) && compartment as string == "Patient" && route["id"] is string compartmentId && ResourceNames.IsValidId(compartmentId))
        {
            patients.Add(compartmentId);
        }

        foreach (var name in new[] { "patient", "subject" })
        {
            foreach (var value in query[name])
            {
                foreach (var part in (value ?? "").Split(','))
                {
                    var reference = part.StartsWith("Patient/", StringComparison.Ordinal) ? part["Patient/".Length..] : name == "patient" ? part : null;
                    if (reference is not null && ResourceNames.IsValidId(reference))
                    {
                        patients.Add(reference);
                    }
                }
            }
        }

        return patients;
    }
}

/// <summary>
/// What the middleware saw of one request: the journal's line (JSON, see <see cref="AuditJournalJson"/>), turned into an
/// AuditEvent only when it is stored, off the request.
/// </summary>
public sealed record AuditRecord(
    string? Endpoint,
    string Method,
    string Path,
    string? Query,
    string? Resource,
    int Status,
    string? Error,
    AccessSnapshot? Access,
    IReadOnlyList<string> Patients,
    string? RemoteAddress,
    string? Host,
    DateTimeOffset Started,
    DateTimeOffset Recorded)
{
    /// <summary>The AuditEvent's id, fixed when the request is recorded: stored twice (a journal replayed), it is stored once.</summary>
    public string Id { get; init; } = ResourceNames.NewId();

    /// <summary>The server instance that saw the request (its journal may be replayed by another).</summary>
    public string Observer { get; init; } = Environment.MachineName;

    public static string? Address(IPAddress? address) => address?.ToString();
}

/// <summary>The journal's JSON: generated serialisation, a fraction of the cost of serialising the AuditEvent itself.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(AuditRecord))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class AuditJournalJson : System.Text.Json.Serialization.JsonSerializerContext;
