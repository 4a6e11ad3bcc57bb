using FhirRecovery.Mapping;
using FhirRecovery.Mapping.Hl7v2;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Mapping;

/// <summary>
/// Closes the v2 loop: when the Task of a referral that came in as REF^I12 changes state to accepted, rejected,
/// cancelled or completed, an RRI^I12 for the referrer is written in the same store session, as a Communication in
/// status <c>preparation</c> (an outbox entry: payload <c>x-application/hl7-v2+er7</c>, basedOn the Task, recipient the
/// referring organisation) that an interface engine picks up with <c>Communication?status=preparation</c> and marks
/// <c>completed</c> once delivered. Because it lives in the store, any server instance can write it and any can send it.
/// </summary>
public sealed class ReferralReturnHook(EhrMappingService mapping, TimeProvider clock) : IResourceWriteHook
{
    public const string MediaType = "x-application/hl7-v2+er7";

    private static readonly HashSet<Hl7.Fhir.Model.Task.TaskStatus> Reported =
    [
        Hl7.Fhir.Model.Task.TaskStatus.Accepted, Hl7.Fhir.Model.Task.TaskStatus.Rejected,
        Hl7.Fhir.Model.Task.TaskStatus.Cancelled, Hl7.Fhir.Model.Task.TaskStatus.Completed,
    ];

    public ValueTask BeforeWriteAsync(WriteContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public async ValueTask AfterWriteAsync(WriteContext context, ResourceVersion written, CancellationToken cancellationToken)
    {
        // A history import replays decisions the referrer was told of when they were made: no RRI^I12 for them again.
        if (context.IsHistoryImport || context.Resource is not Hl7.Fhir.Model.Task { Status: { } status } task || !Reported.Contains(status))
        {
            return;
        }

        var previous = context.Previous?.Json is { } previousJson ? FhirSerialization.ParseStored(previousJson) as Hl7.Fhir.Model.Task : null;
        if (previous?.Status == status)
        {
            return;
        }

        // Only referrals that came in as REF^I12 are answered in v2 (the tag may be dropped by a client's PUT: the previous version counts too).
        static bool FromV2(Resource? resource) => resource?.Meta?.Tag.Any(t => t.System == RecoveryCanonicals.MappingTagSystem && t.Code == MappingTags.FromHl7v2) == true;
        if (!FromV2(task) && !FromV2(previous))
        {
            return;
        }

        var session = context.Session;
        async Task<Resource?> Read(ResourceReference? reference)
        {
            if (reference?.Reference?.Split('/') is not [.., var type, var id])
            {
                return null;
            }

            return await session.ReadAsync(type, id, cancellationToken) is { IsDeleted: false, Json: { } json } ? FhirSerialization.ParseStored(json) : null;
        }

        if (await Read(task.Focus) is not ServiceRequest request || await Read(request.Subject) is not Patient patient)
        {
            return;
        }

        var requester = await Read(request.Requester);
        var role = requester as PractitionerRole;
        var referrerOrganization = role is null ? requester as Organization : await Read(role.Organization) as Organization;
        var graph = new ReferralGraph(request, task, patient)
        {
            Referrer = requester as Practitioner ?? (role is null ? null : await Read(role.Practitioner) as Practitioner),
            ReferrerOrganization = referrerOrganization,
            PeerOrganization = await Read(task.Owner) as Organization ?? await Read(request.Performer.FirstOrDefault()) as Organization,
        };
        var source = request.Meta?.Source ?? "";
        var ehr = mapping.EhrNames.Select(mapping.Ehr).FirstOrDefault(e => source.StartsWith(e.SourceUri, StringComparison.Ordinal)) ?? mapping.Ehr(null);
        var answered = source.Contains('#') ? source[(source.IndexOf('#') + 1)..] : null;
        var controlId = $"RRI-{context.Id}-{written.VersionId}";
        var message = ReferralMessageWriter.WriteRri(graph, ehr, controlId, clock.GetUtcNow(), answered);
        var outbox = new Communication
        {
            Id = ResourceNames.NewId(),
            Identifier = [new Identifier($"{RecoveryCanonicals.SidBase}/hl7v2-message", controlId)],
            Status = EventStatus.Preparation,
            Category = [new CodeableConcept($"{RecoveryCanonicals.SidBase}/outbox", "hl7v2-rri-i12", "HL7 v2 RRI^I12 to send")],
            BasedOn = [new ResourceReference($"Task/{context.Id}")],
            PartOf = [new ResourceReference($"ServiceRequest/{request.Id}")],
            Subject = new ResourceReference($"Patient/{patient.Id}"),
            Recipient = referrerOrganization?.Id is { } org ? [new ResourceReference($"Organization/{org}")] : [],
            Payload = [new Communication.PayloadComponent { Content = new Attachment { ContentType = MediaType, Data = System.Text.Encoding.UTF8.GetBytes(message) } }],
        };
        await session.CreateAsync(outbox, cancellationToken);
    }
}
