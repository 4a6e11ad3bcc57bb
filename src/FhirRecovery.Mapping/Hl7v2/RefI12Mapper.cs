using FhirRecovery.Mapping.Classification;
using Hl7.Fhir.Model;
using static FhirRecovery.Mapping.RecoveryCanonicals;

namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>
/// REF^I12 (patient referral) → a peer-support referral: ServiceRequest (peer-support-referral) + Task
/// (peer-support-task) + Patient + referring Practitioner and PractitionerRole + the referring and receiving
/// Organizations + Consent (CON) + Conditions (DG1). Every problem found is collected, with its segment and field, and
/// reported together as one <see cref="Hl7v2Exception"/>: nothing is returned unless the whole referral maps.
/// </summary>
/// <remarks>
/// Field use (v2.5.1): RF1-1 status (0283), RF1-2 priority (0280), RF1-3 type (0281), RF1-5 category (0284), RF1-6
/// originating referral id (required: the key of the referral), RF1-7 effective date, RF1-8 expiration date, RF1-10
/// reasons (mapped to the IG's referral-reason codes by the EHR's ConceptMaps), RF1-11 external ids. PRD-1 RP = the
/// referring provider (PRD-2 name, PRD-3 address, PRD-5 telecom, PRD-7 ids; required), RT = the peer-support
/// organisation referred to (PRD-2.1 its name, PRD-7 ids; else MSH-6). PID-3/5/7/8/11/13/15. DG1-3 diagnosis, DG1-6 type.
/// NTE-3 notes; NTE-4 = RISK marks safety information. CON (required: consent is part of a peer-support referral):
/// CON-2 type, CON-4 form number, CON-11 status (A/L = given), CON-13 decision time, CON-14/15 period.
/// </remarks>
public sealed class RefI12Mapper(RecoveryClassifier classifier)
{
    public const string RiskNoteType = "RISK";

    public ConversionResult Map(Er7Message message, EhrProfile ehr, bool useTextClassifier)
    {
        var errors = new List<Hl7v2Error>();
        CheckHeader(message, "REF", "I12", errors);
        var rf1 = Required(message, "RF1", errors);
        var pid = Required(message, "PID", errors);
        var con = message.First("CON");
        if (con is null)
        {
            errors.Add(new Hl7v2Error(new Er7Location("CON", 0), Hl7ErrorCodes.SegmentSequenceError,
                "CON segment missing: a peer-support referral needs the person's consent") { Reject = true });
        }

        if (errors.Count > 0)
        {
            throw new Hl7v2Exception(errors);
        }

        var assembly = new BundleAssembly(ehr, $"{ehr.SourceUri}#{message.ControlId}");
        var reader = new FieldReader(ehr, errors);

        // The referral's key: everything else of it hangs off this identifier.
        var referralId = V2Types.EntityIdentifier(rf1![6], ehr);
        if (referralId is null)
        {
            errors.Add(new Hl7v2Error(rf1.Where(6), Hl7ErrorCodes.RequiredFieldMissing, "RF1-6 (originating referral identifier) is required: it identifies the referral"));
        }

        var patient = MapPatient(pid!, ehr, reader);
        var referring = message.All("PRD").FirstOrDefault(p => p[1].Value == "RP");
        if (referring is null)
        {
            errors.Add(new Hl7v2Error(new Er7Location("PRD", 0, 1), Hl7ErrorCodes.RequiredFieldMissing, "A PRD segment with PRD-1 = RP (referring provider) is required"));
        }

        var referredTo = message.All("PRD").FirstOrDefault(p => p[1].Value == "RT");
        var receivingFacility = message.Header[6];
        if (referredTo is null && receivingFacility.IsEmpty)
        {
            errors.Add(new Hl7v2Error(new Er7Location("PRD", 0, 1), Hl7ErrorCodes.RequiredFieldMissing,
                "The peer-support organisation is missing: send a PRD with PRD-1 = RT, or MSH-6 (receiving facility)"));
        }

        var authoredOn = reader.Timestamp(rf1, 7) ?? reader.Timestamp(message.Header, 7);
        if (authoredOn is null)
        {
            errors.Add(new Hl7v2Error(rf1.Where(7), Hl7ErrorCodes.RequiredFieldMissing, "RF1-7 (effective date) or MSH-7 is required: when the referral was made"));
        }

        var expires = reader.Timestamp(rf1, 8);
        var consent = MapConsent(con!, ehr, reader, referralId);
        var notes = new List<Annotation>();
        string? risk = null;
        foreach (var nte in message.All("NTE"))
        {
            var text = string.Join("\n", nte[3].Repetitions.Select(r => r.Text)).Trim();
            if (text.Length == 0)
            {
                continue;
            }

            if (nte[4].Value == RiskNoteType)
            {
                risk = risk is null ? text : risk + "\n" + text;
            }
            else
            {
                notes.Add(new Annotation { TextElement = new Markdown(text) });
            }
        }

        var reasonSource = new List<(CodeableConcept Concept, Er7Location Where)>();
        var rep = 0;
        foreach (var reason in rf1[10].Repetitions)
        {
            rep++;
            if (V2Types.Concept(reason, ehr) is { } concept)
            {
                reasonSource.Add((concept, rf1.Where(10, rep)));
            }
        }

        var reasonText = string.Join(" ", reasonSource.Select(r => r.Concept.Text ?? string.Join(" ", r.Concept.Coding.Select(c => c.Display)))
            .Concat(notes.Select(n => n.Text)));
        var reasons = classifier.ClassifyReason(ehr, reasonSource.SelectMany(r => r.Concept.Coding).ToList(), reasonText, useTextClassifier);
        if (reasons.Mapped.Count == 0 && reasons.Suggested.Count == 0)
        {
            errors.Add(new Hl7v2Error(rf1.Where(10), reasonSource.Count == 0 ? Hl7ErrorCodes.RequiredFieldMissing : Hl7ErrorCodes.TableValueNotFound,
                reasonSource.Count == 0
                    ? "RF1-10 (referral reason) is required"
                    : $"RF1-10: no ConceptMap of EHR '{ehr.Name}' maps {string.Join(", ", reasonSource.SelectMany(r => r.Concept.Coding).Select(c => $"{ehr.V2NameForSystem(c.System) ?? c.System}#{c.Code}"))} to a peer-support referral reason"));
        }

        if (errors.Count > 0)
        {
            throw new Hl7v2Exception(errors);
        }

        var patientRef = assembly.Add(patient.Resource, patient.Key, null, patient.Display);
        var requesterOrg = MapFacility(message.Header[4], ehr, assembly);
        var (requester, requesterDisplay) = MapReferringProvider(referring!, ehr, reader, assembly, requesterOrg);
        var performer = referredTo is not null ? MapReferredTo(referredTo, ehr, assembly) : MapFacility(receivingFacility, ehr, assembly)!;
        if (errors.Count > 0)
        {
            throw new Hl7v2Exception(errors);
        }

        var consentResource = consent!.Value.Resource;
        consentResource.Patient = Copy(patientRef);
        consentResource.Performer = [Copy(patientRef)];
        if (requesterOrg is not null)
        {
            consentResource.Organization = [Copy(requesterOrg)];
        }

        var consentRef = assembly.Add(consentResource, consent.Value.Key, null);

        var request = new ServiceRequest
        {
            Identifier = [referralId!],
            Status = RequestStatus.Active,
            Intent = RequestIntent.Order,
            Priority = Priority(rf1[2].Value),
            Category = [new CodeableConcept(Snomed, SocialServiceProcedure, "Social service procedure")],
            Code = new CodeableConcept(PeerSupportService, "peer-support-referral", "Referral to peer support") { Text = "Referral to peer support" },
            Subject = Copy(patientRef),
            AuthoredOn = authoredOn,
            Requester = Copy(requester),
            Performer = [Copy(performer)],
            Note = notes,
        };
        foreach (var extra in rf1[11].Repetitions.Select(e => V2Types.EntityIdentifier(e, ehr)).OfType<Identifier>())
        {
            extra.Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0203", "FILL", "Filler Identifier");
            request.Identifier.Add(extra);
        }

        foreach (var field in new[] { 3, 5 })
        {
            if (V2Types.Concept(rf1[field], ehr) is { } category)
            {
                foreach (var coding in category.Coding.Where(c => c.System is null))
                {
                    coding.System = field == 3 ? "http://terminology.hl7.org/CodeSystem/v2-0281" : "http://terminology.hl7.org/CodeSystem/v2-0284";
                }

                request.Category.Add(category);
            }
        }

        request.ReasonCode = BuildReasons(reasonSource.Select(r => r.Concept).ToList(), reasons);
        if (reasons.SuggestionNote is { } suggestionNote)
        {
            request.Note.Add(new Annotation { TextElement = new Markdown(suggestionNote) });
            request.Meta = new Meta { Tag = [MappingTags.Coding(MappingTags.ClassifierSuggested)] };
        }
        else if (reasons.MapsUsed.Count > 0)
        {
            request.Meta = new Meta { Tag = [MappingTags.Coding(MappingTags.ConceptMapped)] };
        }

        request.Extension.Add(new Extension(ReferralConsentExtension, Copy(consentRef)));
        if (risk is not null)
        {
            request.Extension.Add(new Extension
            {
                Url = SafetyInformationExtension,
                Extension =
                [
                    new Extension("riskIdentified", new FhirBoolean(true)),
                    new Extension("summary", new FhirString(risk)),
                ],
            });
        }

        var conditionIndex = 0;
        foreach (var dg1 in message.All("DG1"))
        {
            conditionIndex++;
            if (MapDiagnosis(dg1, ehr, reader, referralId!, conditionIndex, patientRef) is { } condition)
            {
                request.ReasonReference.Add(assembly.Add(condition.Resource, condition.Key, null));
            }
        }

        var requestRef = assembly.Add(request, referralId!, PeerSupportReferral, "Referral to peer support");

        var task = new Hl7.Fhir.Model.Task
        {
            Identifier = [(Identifier)referralId!.DeepCopy()],
            Status = TaskStatus(rf1[1].Value, out var businessStatus),
            BusinessStatus = new CodeableConcept(PeerSupportReferralStatus, businessStatus),
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            Priority = request.Priority,
            Code = new CodeableConcept(TaskCode, "fulfill", "Fulfill the focal request"),
            Focus = Copy(requestRef),
            For = Copy(patientRef),
            AuthoredOn = authoredOn,
            Requester = Copy(requester),
            Owner = Copy(performer),
            Input =
            [
                new Hl7.Fhir.Model.Task.ParameterComponent
                {
                    Type = new CodeableConcept(PeerSupportTaskParameter, "referral-consent", "Consent to referral"),
                    Value = Copy(consentRef),
                },
            ],
        };
        if (expires is not null)
        {
            task.Restriction = new Hl7.Fhir.Model.Task.RestrictionComponent { Period = new Period { End = expires } };
        }

        if (task.Status == Hl7.Fhir.Model.Task.TaskStatus.Rejected)
        {
            task.StatusReason = V2Types.Concept(rf1[4], ehr) ?? new CodeableConcept { Text = "Rejected by the sender's referral status (RF1-1 = R)" };
        }

        task.Meta = new Meta { Tag = [MappingTags.Coding(MappingTags.FromHl7v2)] };
        assembly.Add(task, referralId!, PeerSupportTask);
        if (requesterDisplay is not null)
        {
            request.Requester.Display = requesterDisplay;
            task.Requester.Display = requesterDisplay;
        }

        return assembly.ToResult();
    }

    internal static void CheckHeader(Er7Message message, string type, string trigger, List<Hl7v2Error> errors)
    {
        var header = message.Header;
        if (message.MessageType != type || message.TriggerEvent != trigger)
        {
            var code = message.MessageType != type ? Hl7ErrorCodes.UnsupportedMessageType : Hl7ErrorCodes.UnsupportedEventCode;
            errors.Add(new Hl7v2Error(header.Where(9), code, $"MSH-9 is {message.MessageType}^{message.TriggerEvent}; this mapper takes {type}^{trigger}") { Reject = true });
        }

        if (message.ControlId.Length == 0)
        {
            errors.Add(new Hl7v2Error(header.Where(10), Hl7ErrorCodes.RequiredFieldMissing, "MSH-10 (message control id) is required") { Reject = true });
        }

        var version = message.Version;
        if (version.Length == 0 || !version.StartsWith("2.", StringComparison.Ordinal) || string.CompareOrdinal(version, "2.3") < 0)
        {
            errors.Add(new Hl7v2Error(header.Where(12), Hl7ErrorCodes.UnsupportedVersionId,
                $"MSH-12 version '{version}' is not supported: send HL7 v2.3 or later (v2.5.1 preferred)") { Reject = true });
        }

        if (message.ProcessingId is { Length: > 0 } processing && processing is not ("P" or "D" or "T"))
        {
            errors.Add(new Hl7v2Error(header.Where(11), Hl7ErrorCodes.UnsupportedProcessingId, $"MSH-11 processing id '{processing}' is not P, D or T") { Reject = true });
        }
    }

    internal static Er7Segment? Required(Er7Message message, string name, List<Hl7v2Error> errors)
    {
        var segment = message.First(name);
        if (segment is null)
        {
            errors.Add(new Hl7v2Error(new Er7Location(name, 0), Hl7ErrorCodes.SegmentSequenceError, $"{name} segment missing") { Reject = true });
        }

        return segment;
    }

    internal static (Patient Resource, Identifier Key, string? Display) MapPatient(Er7Segment pid, EhrProfile ehr, FieldReader reader)
    {
        var patient = new Patient();
        foreach (var cx in pid[3].Repetitions)
        {
            if (V2Types.Identifier(cx, ehr) is { } identifier)
            {
                patient.Identifier.Add(identifier);
            }
        }

        if (patient.Identifier.Count == 0)
        {
            reader.Errors.Add(new Hl7v2Error(pid.Where(3), Hl7ErrorCodes.RequiredFieldMissing, "PID-3 (patient identifier list) is required"));
        }

        foreach (var xpn in pid[5].Repetitions)
        {
            if (V2Types.Name(xpn) is { } name)
            {
                patient.Name.Add(name);
            }
        }

        if (reader.Timestamp(pid, 7) is { } birth)
        {
            patient.BirthDate = birth.Length > 10 ? birth[..10] : birth;
        }

        patient.Gender = pid[8].Value switch
        {
            "M" => AdministrativeGender.Male,
            "F" => AdministrativeGender.Female,
            "O" or "A" or "N" => AdministrativeGender.Other,
            "U" => AdministrativeGender.Unknown,
            "" => null,
            var other => reader.Invalid<AdministrativeGender?>(pid.Where(8), $"PID-8 '{other}' is not an administrative sex (table 0001: M, F, O, U, A, N)"),
        };
        foreach (var xad in pid[11].Repetitions)
        {
            if (V2Types.Address(xad) is { } address)
            {
                patient.Address.Add(address);
            }
        }

        foreach (var field in new[] { 13, 14 })
        {
            foreach (var xtn in pid[field].Repetitions)
            {
                if (V2Types.Telecom(xtn) is { } telecom)
                {
                    telecom.Use ??= field == 14 ? ContactPoint.ContactPointUse.Work : null;
                    patient.Telecom.Add(telecom);
                }
            }
        }

        if (V2Types.Concept(pid[15], ehr) is { } language)
        {
            patient.Communication.Add(new Patient.CommunicationComponent { Language = language });
        }

        var display = patient.Name.FirstOrDefault() is { } n ? string.Join(" ", n.Given.Append(n.Family).Where(s => !string.IsNullOrEmpty(s))) : null;
        return (patient, patient.Identifier.FirstOrDefault() ?? new Identifier(), display);
    }

    internal static ResourceReference? MapFacility(Er7Field hd, EhrProfile ehr, BundleAssembly assembly)
    {
        var name = hd.Component(1);
        var universal = hd.Component(2);
        if (name.Length == 0 && universal.Length == 0)
        {
            return null;
        }

        var organization = new Organization { Active = true, Name = name.Length > 0 ? name : universal };
        var key = universal.Length > 0 && hd.Component(3) == "ISO"
            ? new Identifier("urn:ietf:rfc:3986", $"urn:oid:{universal}")
            : BundleAssembly.Minted("v2-facility", name);
        organization.Identifier.Add(key);
        return assembly.Add(organization, key, null, organization.Name);
    }

    private static (ResourceReference Reference, string? Display) MapReferringProvider(Er7Segment prd, EhrProfile ehr, FieldReader reader, BundleAssembly assembly, ResourceReference? organization)
    {
        var practitioner = new Practitioner { Active = true };
        foreach (var pln in prd[7].Repetitions)
        {
            if (ProviderIdentifier(pln) is { } identifier)
            {
                practitioner.Identifier.Add(identifier);
            }
        }

        if (practitioner.Identifier.Count == 0)
        {
            reader.Errors.Add(new Hl7v2Error(prd.Where(7), Hl7ErrorCodes.RequiredFieldMissing, "PRD-7 (provider identifiers) of the referring provider is required"));
            return (new ResourceReference(), null);
        }

        if (V2Types.Name(prd[2]) is { } name)
        {
            practitioner.Name.Add(name);
        }

        if (V2Types.Address(prd[3]) is { } address)
        {
            practitioner.Address.Add(address);
        }

        foreach (var xtn in prd[5].Repetitions)
        {
            if (V2Types.Telecom(xtn) is { } telecom)
            {
                practitioner.Telecom.Add(telecom);
            }
        }

        var display = practitioner.Name.FirstOrDefault() is { } n ? string.Join(" ", n.Prefix.Concat(n.Given).Append(n.Family).Where(s => !string.IsNullOrEmpty(s))) : null;
        var key = practitioner.Identifier[0];
        var practitionerRef = assembly.Add(practitioner, key, null, display);
        if (organization is null)
        {
            return (practitionerRef, display);
        }

        // The role ties the person to the referring organisation (MSH-4): that is who the peer service answers to.
        var roleKey = BundleAssembly.Minted("v2-practitioner-role", $"{key.Value}@{organization.Display}");
        var role = new PractitionerRole
        {
            Identifier = [roleKey],
            Active = true,
            Practitioner = Copy(practitionerRef),
            Organization = Copy(organization),
            Code = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0286", "RP", "Referring Provider")],
            Telecom = practitioner.Telecom.Select(t => (ContactPoint)t.DeepCopy()).ToList(),
        };
        return (assembly.Add(role, roleKey, null, display), display);
    }

    private static ResourceReference MapReferredTo(Er7Segment prd, EhrProfile ehr, BundleAssembly assembly)
    {
        var organization = new Organization { Active = true, Name = V2Types.NullIfEmpty(prd[2].Component(1)) };
        foreach (var pln in prd[7].Repetitions)
        {
            if (ProviderIdentifier(pln) is { } identifier)
            {
                organization.Identifier.Add(identifier);
            }
        }

        if (V2Types.Address(prd[3]) is { } address)
        {
            organization.Address.Add(address);
        }

        foreach (var xtn in prd[5].Repetitions)
        {
            if (V2Types.Telecom(xtn) is { } telecom)
            {
                organization.Telecom.Add(telecom);
            }
        }

        if (organization.Identifier.Count == 0)
        {
            organization.Identifier.Add(BundleAssembly.Minted("v2-facility", organization.Name ?? "unnamed"));
        }

        return assembly.Add(organization, organization.Identifier[0], null, organization.Name);
    }

    /// <summary>PLN: id^type^state^expiration. NPI gets its FHIR system; other types a system named after the type.</summary>
    public static Identifier? ProviderIdentifier(Er7Field pln)
    {
        var value = pln.Component(1);
        if (value.Length == 0)
        {
            return null;
        }

        var type = pln.Component(2);
        return type switch
        {
            "NPI" => new Identifier("http://hl7.org/fhir/sid/us-npi", value),
            "" => new Identifier($"{SidBase}/v2-provider-id", value),
            _ => new Identifier($"{SidBase}/v2-provider-id/{Uri.EscapeDataString(type)}", value),
        };
    }

    public static object?[] Pln(Identifier identifier)
    {
        const string prefix = SidBase + "/v2-provider-id/";
        var type = identifier.System switch
        {
            "http://hl7.org/fhir/sid/us-npi" => "NPI",
            { } s when s.StartsWith(prefix, StringComparison.Ordinal) => Uri.UnescapeDataString(s[prefix.Length..]),
            _ => null,
        };
        return [identifier.Value, type];
    }

    private static (Consent Resource, Identifier Key)? MapConsent(Er7Segment con, EhrProfile ehr, FieldReader reader, Identifier? referralId)
    {
        var status = con[11].Value;
        Consent.ConsentState? state = status switch
        {
            "A" or "L" => Consent.ConsentState.Active,
            "R" => Consent.ConsentState.Rejected,
            "X" => Consent.ConsentState.Inactive,
            "P" => Consent.ConsentState.Proposed,
            "" => null,
            _ => reader.Invalid<Consent.ConsentState?>(con.Where(11), $"CON-11 '{status}' is not a consent status (table 0498: A, L, R, X, P)"),
        };
        if (status.Length == 0)
        {
            reader.Errors.Add(new Hl7v2Error(con.Where(11), Hl7ErrorCodes.RequiredFieldMissing, "CON-11 (consent status) is required"));
        }
        else if (state is not null and not Consent.ConsentState.Active)
        {
            reader.Errors.Add(new Hl7v2Error(con.Where(11), Hl7ErrorCodes.TableValueNotFound,
                $"CON-11 = {status}: the person's consent is not given, so the peer-support referral cannot be accepted") { Reject = true });
        }

        var type = V2Types.Concept(con[2], ehr);
        if (type is null)
        {
            reader.Errors.Add(new Hl7v2Error(con.Where(2), Hl7ErrorCodes.RequiredFieldMissing, "CON-2 (consent type) is required: what the person agreed to"));
        }

        var decided = reader.Timestamp(con, 13);
        var key = V2Types.EntityIdentifier(con[4], ehr)
                  ?? BundleAssembly.Minted("v2-consent", $"{referralId?.System}/{referralId?.Value}/{(con[1].Value is { Length: > 0 } set ? set : "1")}");
        var consent = new Consent
        {
            Identifier = [key],
            Status = state ?? Consent.ConsentState.Active,
            Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy", "Privacy Consent"),
            Category = [new CodeableConcept(Loinc, "59284-0", "Patient Consent")],
            DateTime = decided,
            PolicyRule = type,
            Provision = new Consent.provisionComponent { Type = Consent.ConsentProvisionType.Permit },
        };
        var start = reader.Timestamp(con, 14);
        var end = reader.Timestamp(con, 15);
        if (start is not null || end is not null)
        {
            consent.Provision.Period = new Period { Start = start, End = end };
        }

        return (consent, key);
    }

    private static (Condition Resource, Identifier Key)? MapDiagnosis(Er7Segment dg1, EhrProfile ehr, FieldReader reader, Identifier referralId, int index, ResourceReference patient)
    {
        var code = V2Types.Concept(dg1[3], ehr);
        if (code is null)
        {
            reader.Errors.Add(new Hl7v2Error(dg1.Where(3), Hl7ErrorCodes.RequiredFieldMissing, "DG1-3 (diagnosis code) is required"));
            return null;
        }

        var key = V2Types.EntityIdentifier(dg1[20], ehr)
                  ?? BundleAssembly.Minted("v2-diagnosis", $"{referralId.System}/{referralId.Value}/{(dg1[1].Value is { Length: > 0 } set ? set : index.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        var condition = new Condition
        {
            Identifier = [key],
            Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")],
            Code = code,
            Subject = Copy(patient),
            RecordedDate = reader.Timestamp(dg1, 5),
            ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
        };
        if (dg1[6].Value is { Length: > 0 } type)
        {
            condition.Category.Add(new CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0052", type));
        }

        return (condition, key);
    }

    private static List<CodeableConcept> BuildReasons(List<CodeableConcept> source, ClassificationResult reasons)
    {
        var result = new List<CodeableConcept>();
        var mapped = reasons.Mapped.ToList();
        foreach (var concept in source)
        {
            // Each source reason keeps its own codes and gains the referral-reason codes its codes map to.
            var copy = (CodeableConcept)concept.DeepCopy();
            foreach (var coding in mapped.Where(m => concept.Coding.Any(c => c.System == m.System && c.Code == m.Code)).ToList())
            {
                mapped.Remove(coding);
            }

            result.Add(copy);
        }

        // Mapped targets go to the first source reason they came from; targets with no source (text suggestions) stand alone.
        foreach (var coding in mapped)
        {
            var home = result.FirstOrDefault(r => !r.Coding.Any(c => c.System == ReferralReason));
            if (home is not null)
            {
                home.Coding.Add(coding);
            }
            else
            {
                result.Add(new CodeableConcept { Coding = [coding] });
            }
        }

        foreach (var suggestion in reasons.Suggested)
        {
            result.Add(new CodeableConcept { Coding = [suggestion.Coding], Text = suggestion.Coding.Display });
        }

        // A source reason that mapped to nothing still needs a code of the required value set: it rides along on the first mapped one.
        var unmapped = result.Where(r => !r.Coding.Any(c => c.System == ReferralReason)).ToList();
        if (unmapped.Count > 0 && result.FirstOrDefault(r => r.Coding.Any(c => c.System == ReferralReason)) is { } anchor)
        {
            foreach (var orphan in unmapped)
            {
                result.Remove(orphan);
                anchor.Coding.AddRange(orphan.Coding);
                anchor.Text ??= orphan.Text;
            }
        }

        return result;
    }

    private static RequestPriority? Priority(string code) => code switch
    {
        "S" => RequestPriority.Stat,
        "A" => RequestPriority.Asap,
        "U" => RequestPriority.Urgent,
        "R" => RequestPriority.Routine,
        _ => null,
    };

    public static string? PriorityCode(RequestPriority? priority) => priority switch
    {
        RequestPriority.Stat => "S",
        RequestPriority.Asap => "A",
        RequestPriority.Urgent => "U",
        RequestPriority.Routine => "R",
        _ => null,
    };

    private static Hl7.Fhir.Model.Task.TaskStatus TaskStatus(string rf1Status, out string businessStatus)
    {
        switch (rf1Status)
        {
            case "A":
                businessStatus = "awaiting-match";
                return Hl7.Fhir.Model.Task.TaskStatus.Accepted;
            case "R":
                businessStatus = "not-taken-up";
                return Hl7.Fhir.Model.Task.TaskStatus.Rejected;
            default:
                businessStatus = "received";
                return Hl7.Fhir.Model.Task.TaskStatus.Requested;
        }
    }

    internal static ResourceReference Copy(ResourceReference reference) => (ResourceReference)reference.DeepCopy();
}

/// <summary>Reads typed field values, collecting errors (with their location) instead of stopping at the first.</summary>
public sealed class FieldReader(EhrProfile ehr, List<Hl7v2Error> errors)
{
    public List<Hl7v2Error> Errors { get; } = errors;

    public string? Timestamp(Er7Segment segment, int field)
    {
        var value = segment[field].Value;
        try
        {
            return V2Types.ParseTimestamp(value, segment.Where(field), ehr.TimeZone);
        }
        catch (Hl7v2Exception ex)
        {
            Errors.AddRange(ex.Errors);
            return null;
        }
    }

    public T Invalid<T>(Er7Location where, string message)
    {
        Errors.Add(new Hl7v2Error(where, Hl7ErrorCodes.TableValueNotFound, message));
        return default!;
    }
}
