using Hl7.Fhir.Model;
using static FhirRecovery.Mapping.RecoveryCanonicals;

namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>
/// Writes v2.5.1 messages about a peer-support referral: REF^I12 (the referral itself, e.g. for an EHR that takes
/// referrals only as v2) and RRI^I12 (the return referral information sent when the referral Task changes state:
/// accepted, rejected, completed). RF1-1 carries table 0283 (P pending, A accepted, R rejected); the IG's finer business
/// status rides in RF1-4 under the local name 99FRB, so "support ended" (completed) is told apart from "accepted".
/// </summary>
public static class ReferralMessageWriter
{
    public static string WriteRef(ReferralGraph graph, EhrProfile ehr, string controlId, DateTimeOffset now, string sendingFacility = "FHIRRECOVERY") =>
        Write("REF", graph, ehr, controlId, now, sendingFacility, acknowledging: null);

    /// <summary>RRI^I12; <paramref name="acknowledging"/> is the control id of the REF answered (MSA-2), when known.</summary>
    public static string WriteRri(ReferralGraph graph, EhrProfile ehr, string controlId, DateTimeOffset now, string? acknowledging = null, string sendingFacility = "FHIRRECOVERY") =>
        Write("RRI", graph, ehr, controlId, now, sendingFacility, acknowledging);

    private static string Write(string type, ReferralGraph graph, EhrProfile ehr, string controlId, DateTimeOffset now, string sendingFacility, string? acknowledging)
    {
        var request = graph.Request;
        var task = graph.Task;
        var builder = new Er7MessageBuilder();
        var isReturn = type == "RRI";
        var (from, to) = isReturn ? (graph.PeerOrganization, graph.ReferrerOrganization) : (graph.ReferrerOrganization, graph.PeerOrganization);
        builder.Segment("MSH")
            .Set(3, "FHIRRECOVERY")
            .Set(4, from is null ? [sendingFacility] : Facility(from))
            .Set(6, Facility(to))
            .Set(7, V2Types.FormatTimestamp(now))
            .Set(9, type, "I12", $"{type}_I12")
            .Set(10, controlId)
            .Set(11, "P")
            .Set(12, "2.5.1");
        if (isReturn && acknowledging is not null)
        {
            builder.Segment("MSA").Set(1, "AA").Set(2, acknowledging);
        }

        var rf1 = builder.Segment("RF1");
        var (status, statusDisplay) = task?.Status switch
        {
            Hl7.Fhir.Model.Task.TaskStatus.Accepted or Hl7.Fhir.Model.Task.TaskStatus.InProgress or Hl7.Fhir.Model.Task.TaskStatus.Completed
                or Hl7.Fhir.Model.Task.TaskStatus.OnHold => ("A", "Accepted"),
            Hl7.Fhir.Model.Task.TaskStatus.Rejected or Hl7.Fhir.Model.Task.TaskStatus.Cancelled or Hl7.Fhir.Model.Task.TaskStatus.Failed => ("R", "Rejected"),
            _ => ("P", "Pending"),
        };
        rf1.Set(1, status, statusDisplay, "HL70283")
            .Set(2, ReferralPriority(request.Priority ?? task?.Priority));
        if (request.Category.SelectMany(c => c.Coding).FirstOrDefault(c => c.System == "http://terminology.hl7.org/CodeSystem/v2-0281") is { } referralType)
        {
            rf1.Set(3, V2Types.Ce(referralType, ehr));
        }

        if (task?.BusinessStatus?.Coding.FirstOrDefault() is { } business)
        {
            rf1.Set(4, V2Types.Ce(business, ehr));
        }

        if (request.Category.SelectMany(c => c.Coding).FirstOrDefault(c => c.System == "http://terminology.hl7.org/CodeSystem/v2-0284") is { } category)
        {
            rf1.Set(5, V2Types.Ce(category, ehr));
        }

        var placer = request.Identifier.FirstOrDefault(i => !IsFiller(i));
        if (placer is not null)
        {
            rf1.Set(6, V2Types.Ei(placer, ehr));
        }

        rf1.Set(7, V2Types.FormatFhirDateTime(request.AuthoredOn));
        if (task?.Restriction?.Period?.End is { } expires)
        {
            rf1.Set(8, V2Types.FormatFhirDateTime(expires));
        }

        if (isReturn && task?.LastModified is { } modified)
        {
            rf1.Set(9, V2Types.FormatFhirDateTime(modified));
        }

        foreach (var reason in request.ReasonCode)
        {
            // A source code goes first with the IG's referral-reason code as the alternate (CE's two triplets).
            var primary = reason.Coding.FirstOrDefault(c => c.System != ReferralReason) ?? reason.Coding.FirstOrDefault();
            var alternate = reason.Coding.FirstOrDefault(c => c.System == ReferralReason && c != primary);
            rf1.Add(10, V2Types.Ce(primary, ehr, alternate).Take(6).ToArray());
        }

        foreach (var filler in request.Identifier.Where(IsFiller))
        {
            rf1.Add(11, V2Types.Ei(filler, ehr));
        }

        var referrerPrd = builder.Segment("PRD").Set(1, "RP", "Referring Provider", "HL70286");
        if (graph.Referrer is { } referrer)
        {
            if (referrer.Name.FirstOrDefault() is { } name)
            {
                referrerPrd.Set(2, V2Types.Xpn(name));
            }

            if (referrer.Address.FirstOrDefault() is { } address)
            {
                referrerPrd.Set(3, V2Types.Xad(address));
            }

            foreach (var telecom in referrer.Telecom)
            {
                referrerPrd.Add(5, V2Types.Xtn(telecom));
            }

            foreach (var identifier in referrer.Identifier)
            {
                referrerPrd.Add(7, RefI12Mapper.Pln(identifier));
            }
        }

        if (graph.PeerOrganization is { } peer)
        {
            var prd = builder.Segment("PRD").Set(1, "RT", "Referred to Provider", "HL70286").Set(2, peer.Name);
            if (peer.Address.FirstOrDefault() is { } address)
            {
                prd.Set(3, V2Types.Xad(address));
            }

            foreach (var telecom in peer.Telecom)
            {
                prd.Add(5, V2Types.Xtn(telecom));
            }

            foreach (var identifier in peer.Identifier.Where(i => i.System != $"{SidBase}/v2-facility"))
            {
                prd.Add(7, RefI12Mapper.Pln(identifier));
            }
        }

        WritePatient(builder, graph.Patient, ehr);
        var set = 0;
        foreach (var diagnosis in graph.Diagnoses)
        {
            set++;
            var dg1 = builder.Segment("DG1").Set(1, set.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Set(3, V2Types.Ce(diagnosis.Code?.Coding.FirstOrDefault(), ehr, diagnosis.Code?.Coding.Skip(1).FirstOrDefault()).Take(6).ToArray())
                .Set(5, V2Types.FormatFhirDateTime(diagnosis.RecordedDate));
            if (diagnosis.Category.SelectMany(c => c.Coding).FirstOrDefault(c => c.System == "http://terminology.hl7.org/CodeSystem/v2-0052") is { } diagnosisType)
            {
                dg1.Set(6, diagnosisType.Code);
            }

            if (diagnosis.Identifier.FirstOrDefault(i => i.System != $"{SidBase}/v2-diagnosis") is { } diagnosisId)
            {
                dg1.Set(20, V2Types.Ei(diagnosisId, ehr));
            }
        }

        var note = 0;
        IEnumerable<string> notes = request.Note.Select(n => n.Text).OfType<string>()
            .Where(n => !n.StartsWith("Recovery categories suggested", StringComparison.Ordinal));
        if (isReturn && task is not null)
        {
            notes = TaskNotes(task).Concat(task.Note.Select(n => n.Text).OfType<string>());
        }

        foreach (var text in notes)
        {
            note++;
            builder.Segment("NTE").Set(1, note.ToString(System.Globalization.CultureInfo.InvariantCulture)).Set(2, "L").Set(3, text);
        }

        if (!isReturn && request.GetExtension(SafetyInformationExtension) is { } safety
            && safety.GetExtensionValue<FhirString>("summary")?.Value is { } risk)
        {
            note++;
            builder.Segment("NTE").Set(1, note.ToString(System.Globalization.CultureInfo.InvariantCulture)).Set(2, "L").Set(3, risk)
                .Set(4, RefI12Mapper.RiskNoteType, "Risk and safety information", "99FRS");
        }

        if (!isReturn && graph.Consent is { } consent)
        {
            var con = builder.Segment("CON").Set(1, "1");
            if (consent.PolicyRule?.Coding.FirstOrDefault() is { } consentType)
            {
                con.Set(2, V2Types.Ce(consentType, ehr));
            }
            else if (consent.PolicyRule?.Text is { } consentText)
            {
                con.Set(2, null, consentText);
            }

            if (consent.Identifier.FirstOrDefault(i => i.System != $"{SidBase}/v2-consent") is { } form)
            {
                con.Set(4, V2Types.Ei(form, ehr));
            }

            con.Set(11, consent.Status switch
            {
                Consent.ConsentState.Active => "A",
                Consent.ConsentState.Rejected => "R",
                Consent.ConsentState.Inactive => "X",
                _ => "P",
            });
            con.Set(13, V2Types.FormatFhirDateTime(consent.DateTime));
            con.Set(14, V2Types.FormatFhirDateTime(consent.Provision?.Period?.Start));
            con.Set(15, V2Types.FormatFhirDateTime(consent.Provision?.Period?.End));
        }

        return builder.ToString();
    }

    private static IEnumerable<string> TaskNotes(Hl7.Fhir.Model.Task task)
    {
        if (task.StatusReason is { } reason)
        {
            yield return $"Status reason: {reason.Text ?? reason.Coding.FirstOrDefault()?.Display ?? reason.Coding.FirstOrDefault()?.Code}";
        }

        foreach (var output in task.Output)
        {
            var kind = output.Type?.Coding.FirstOrDefault(c => c.System == PeerSupportTaskParameter)?.Code;
            var text = output.Value switch
            {
                CodeableConcept cc => cc.Coding.FirstOrDefault()?.Display ?? cc.Text,
                ResourceReference r => r.Display ?? r.Reference,
                PrimitiveType p => p.ToString(),
                _ => null,
            };
            if (kind is not null && text is not null)
            {
                yield return $"{output.Type!.Coding[0].Display ?? kind}: {text}";
            }
        }
    }

    private static void WritePatient(Er7MessageBuilder builder, Patient patient, EhrProfile ehr)
    {
        var pid = builder.Segment("PID").Set(1, "1");
        foreach (var identifier in patient.Identifier)
        {
            pid.Add(3, V2Types.Cx(identifier, ehr));
        }

        foreach (var name in patient.Name)
        {
            pid.Add(5, V2Types.Xpn(name));
        }

        pid.Set(7, V2Types.FormatFhirDateTime(patient.BirthDate));
        pid.Set(8, patient.Gender switch
        {
            AdministrativeGender.Male => "M",
            AdministrativeGender.Female => "F",
            AdministrativeGender.Other => "O",
            AdministrativeGender.Unknown => "U",
            _ => null,
        });
        foreach (var address in patient.Address)
        {
            pid.Add(11, V2Types.Xad(address));
        }

        foreach (var telecom in patient.Telecom.Where(t => t.Use != ContactPoint.ContactPointUse.Work))
        {
            pid.Add(13, V2Types.Xtn(telecom));
        }

        foreach (var telecom in patient.Telecom.Where(t => t.Use == ContactPoint.ContactPointUse.Work))
        {
            pid.Add(14, V2Types.Xtn(telecom));
        }

        if (patient.Communication.FirstOrDefault()?.Language?.Coding.FirstOrDefault() is { } language)
        {
            pid.Set(15, V2Types.Ce(language, ehr));
        }
    }

    private static bool IsFiller(Identifier identifier) => identifier.Type?.Coding.Any(c => c.Code == "FILL") == true;

    /// <summary>The organisation as an HD (namespace^universal id^ISO), the inverse of <see cref="RefI12Mapper.MapFacility"/>.</summary>
    private static object?[] Facility(Organization? organization)
    {
        if (organization is null)
        {
            return [];
        }

        var oid = organization.Identifier.FirstOrDefault(i => i.System == "urn:ietf:rfc:3986" && i.Value?.StartsWith("urn:oid:", StringComparison.Ordinal) == true)?.Value?[8..];
        var ns = organization.Identifier.FirstOrDefault(i => i.System == $"{SidBase}/v2-facility")?.Value ?? organization.Name;
        return oid is null ? [ns] : [ns, oid, "ISO"];
    }

    private static string? ReferralPriority(RequestPriority? priority) => RefI12Mapper.PriorityCode(priority);
}
