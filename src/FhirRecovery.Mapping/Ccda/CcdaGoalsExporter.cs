using System.Globalization;
using System.Security;
using System.Xml;
using System.Xml.Linq;
using Hl7.Fhir.Model;
using static FhirRecovery.Mapping.Ccda.CdaNames;

namespace FhirRecovery.Mapping.Ccda;

/// <summary>
/// A patient's recovery goals as a C-CDA R2.1 document (US Realm Header, one Goals Section) for EHRs that ingest
/// documents: each Goal becomes a Goal Observation with its text in the section narrative (referenced), code, status,
/// dates, author (expressedBy), priority preference and REFR links to health concerns (Goal.addresses Conditions).
/// Recovery categories and notes are listed in the narrative, which is what a document-only EHR shows to people.
/// </summary>
public static class CcdaGoalsExporter
{
    public static string Export(Patient patient, IReadOnlyList<Goal> goals, Func<ResourceReference?, Resource?> resolve, DateTimeOffset now, Guid documentId)
    {
        var v3 = V3;
        var table = new XElement(v3 + "table",
            new XElement(v3 + "thead", new XElement(v3 + "tr",
                new XElement(v3 + "th", "Goal"), new XElement(v3 + "th", "Status"), new XElement(v3 + "th", "Start"), new XElement(v3 + "th", "Target date"),
                new XElement(v3 + "th", "Expressed by"), new XElement(v3 + "th", "Recovery categories"), new XElement(v3 + "th", "Notes"))));
        var body = new XElement(v3 + "tbody");
        table.Add(body);
        var entries = new List<XElement>();
        var index = 0;
        foreach (var goal in goals)
        {
            index++;
            var textId = $"goal-{index}";
            var author = resolve(goal.ExpressedBy);
            var categories = string.Join("; ", goal.Category.SelectMany(c => c.Coding).Select(c => c.Display ?? c.Code));
            var notes = string.Join(" ", goal.Note.Select(n => n.Text));
            body.Add(new XElement(v3 + "tr",
                new XElement(v3 + "td", new XAttribute("ID", textId), goal.Description?.Text ?? ""),
                new XElement(v3 + "td", goal.LifecycleStatus?.ToString() ?? ""),
                new XElement(v3 + "td", (goal.Start as Date)?.Value ?? ""),
                new XElement(v3 + "td", (goal.Target.FirstOrDefault()?.Due as Date)?.Value ?? ""),
                new XElement(v3 + "td", goal.ExpressedBy?.Display ?? AuthorName(author) ?? ""),
                new XElement(v3 + "td", categories),
                new XElement(v3 + "td", notes)));
            entries.Add(new XElement(v3 + "entry", new XAttribute("typeCode", "DRIV"), GoalObservation(goal, textId, author, patient, resolve)));
        }

        var document = new XElement(v3 + "ClinicalDocument",
            new XAttribute(XNamespace.Xmlns + "xsi", Xsi.NamespaceName),
            new XAttribute(XNamespace.Xmlns + "sdtc", Sdtc.NamespaceName),
            new XElement(v3 + "realmCode", new XAttribute("code", "US")),
            new XElement(v3 + "typeId", new XAttribute("root", "2.16.840.1.113883.1.3"), new XAttribute("extension", "POCD_HD000040")),
            Template(UsRealmHeader, "2015-08-01"),
            new XElement(v3 + "id", new XAttribute("root", documentId.ToString())),
            new XElement(v3 + "code", new XAttribute("code", "34133-9"), new XAttribute("codeSystem", "2.16.840.1.113883.6.1"),
                new XAttribute("codeSystemName", "LOINC"), new XAttribute("displayName", "Summary of episode note")),
            new XElement(v3 + "title", "Personal recovery goals"),
            new XElement(v3 + "effectiveTime", new XAttribute("value", CcdaGoalsImporter.Timestamp(now))),
            new XElement(v3 + "confidentialityCode", new XAttribute("code", "N"), new XAttribute("codeSystem", "2.16.840.1.113883.5.25")),
            new XElement(v3 + "languageCode", new XAttribute("code", "en-US")),
            new XElement(v3 + "recordTarget", new XElement(v3 + "patientRole",
                patient.Identifier.Select(Id),
                patient.Address.Select(Address),
                patient.Telecom.Select(Telecom),
                new XElement(v3 + "patient",
                    patient.Name.Select(Name),
                    Gender(patient.Gender),
                    patient.BirthDate is { Length: >= 4 } birth
                        ? new XElement(v3 + "birthTime", new XAttribute("value", birth.Replace("-", "")))
                        : new XElement(v3 + "birthTime", new XAttribute("nullFlavor", "UNK"))))),
            new XElement(v3 + "author",
                new XElement(v3 + "time", new XAttribute("value", CcdaGoalsImporter.Timestamp(now))),
                new XElement(v3 + "assignedAuthor",
                    new XElement(v3 + "id", new XAttribute("root", "2.16.840.1.113883.19.5"), new XAttribute("extension", "FHIRRECOVERY")),
                    new XElement(v3 + "addr", new XAttribute("nullFlavor", "UNK")),
                    new XElement(v3 + "telecom", new XAttribute("nullFlavor", "UNK")),
                    new XElement(v3 + "assignedAuthoringDevice",
                        new XElement(v3 + "manufacturerModelName", "FhirRecovery"),
                        new XElement(v3 + "softwareName", "FhirRecovery C-CDA goals export")))),
            new XElement(v3 + "custodian", new XElement(v3 + "assignedCustodian", new XElement(v3 + "representedCustodianOrganization",
                new XElement(v3 + "id", new XAttribute("root", "2.16.840.1.113883.19.5"), new XAttribute("extension", "FHIRRECOVERY")),
                new XElement(v3 + "name", "FhirRecovery"),
                new XElement(v3 + "telecom", new XAttribute("nullFlavor", "UNK")),
                new XElement(v3 + "addr", new XAttribute("nullFlavor", "UNK"))))),
            new XElement(v3 + "component", new XElement(v3 + "structuredBody", new XElement(v3 + "component",
                new XElement(v3 + "section",
                    Template(GoalsSection, null),
                    new XElement(v3 + "code", new XAttribute("code", "61146-7"), new XAttribute("codeSystem", "2.16.840.1.113883.6.1"),
                        new XAttribute("codeSystemName", "LOINC"), new XAttribute("displayName", "Goals")),
                    new XElement(v3 + "title", "Goals"),
                    new XElement(v3 + "text", table),
                    entries)))));
        var settings = new XmlWriterSettings { Indent = true, OmitXmlDeclaration = false, Encoding = new System.Text.UTF8Encoding(false) };
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using (var writer = XmlWriter.Create(output, settings))
        {
            new XDocument(document).Save(writer);
        }

        return output.ToString();
    }

    private static XElement GoalObservation(Goal goal, string textId, Resource? author, Patient patient, Func<ResourceReference?, Resource?> resolve)
    {
        var v3 = V3;
        var coding = goal.Description?.Coding.FirstOrDefault(c => OidFor(c.System) is not null);
        var observation = new XElement(v3 + "observation", new XAttribute("classCode", "OBS"), new XAttribute("moodCode", "GOL"),
            Template(CdaNames.GoalObservation, "2022-06-01"),
            goal.Identifier.Select(Id),
            coding is null
                ? new XElement(v3 + "code", new XAttribute("nullFlavor", "OTH"), new XElement(v3 + "originalText", new XElement(v3 + "reference", new XAttribute("value", "#" + textId))))
                : new XElement(v3 + "code", new XAttribute("code", coding.Code ?? ""), new XAttribute("codeSystem", OidFor(coding.System)!),
                    coding.Display is null ? null : new XAttribute("displayName", coding.Display),
                    new XElement(v3 + "originalText", new XElement(v3 + "reference", new XAttribute("value", "#" + textId)))),
            new XElement(v3 + "text", new XElement(v3 + "reference", new XAttribute("value", "#" + textId))),
            new XElement(v3 + "statusCode", new XAttribute("code", goal.LifecycleStatus switch
            {
                Goal.GoalLifecycleStatus.Completed => "completed",
                Goal.GoalLifecycleStatus.Cancelled or Goal.GoalLifecycleStatus.Rejected => "cancelled",
                Goal.GoalLifecycleStatus.OnHold => "suspended",
                Goal.GoalLifecycleStatus.EnteredInError => "nullified",
                _ => "active",
            })));
        var start = (goal.Start as Date)?.Value;
        var due = (goal.Target.FirstOrDefault()?.Due as Date)?.Value;
        if (start is not null || due is not null)
        {
            observation.Add(new XElement(v3 + "effectiveTime",
                start is null ? null : new XElement(v3 + "low", new XAttribute("value", start.Replace("-", ""))),
                due is null ? null : new XElement(v3 + "high", new XAttribute("value", due.Replace("-", "")))));
        }

        if (author is Patient or Practitioner)
        {
            var ids = author is Patient p ? p.Identifier : ((Practitioner)author).Identifier;
            var name = author is Patient p2 ? p2.Name.FirstOrDefault() : ((Practitioner)author).Name.FirstOrDefault();
            observation.Add(new XElement(v3 + "author",
                Template("2.16.840.1.113883.10.20.22.4.119", null),
                new XElement(v3 + "time", goal.StatusDate is { } date ? new XAttribute("value", date.Replace("-", "")) : new XAttribute("nullFlavor", "UNK")),
                new XElement(v3 + "assignedAuthor",
                    ids.Select(Id),
                    author is Patient ? new XElement(v3 + "code", new XAttribute("code", "ONESELF"), new XAttribute("codeSystem", "2.16.840.1.113883.5.111"), new XAttribute("displayName", "self")) : null,
                    name is null ? null : new XElement(v3 + "assignedPerson", Name(name)))));
        }

        if (goal.Priority?.Coding.FirstOrDefault()?.Code is { } priority)
        {
            var snomed = priority switch
            {
                "high-priority" => "394849002",
                "medium-priority" => "394848005",
                _ => "394847000",
            };
            observation.Add(new XElement(v3 + "entryRelationship", new XAttribute("typeCode", "REFR"),
                new XElement(v3 + "observation", new XAttribute("classCode", "OBS"), new XAttribute("moodCode", "EVN"),
                    Template(PriorityPreference, null),
                    new XElement(v3 + "id", new XAttribute("root", BundleAssembly.NameBasedUuid($"priority|{textId}|{goal.Identifier.FirstOrDefault()?.Value}").ToString())),
                    new XElement(v3 + "code", new XAttribute("code", "225773000"), new XAttribute("codeSystem", "2.16.840.1.113883.6.96"), new XAttribute("displayName", "Preference")),
                    new XElement(v3 + "value", new XAttribute(Xsi + "type", "CD"), new XAttribute("code", snomed), new XAttribute("codeSystem", "2.16.840.1.113883.6.96")))));
        }

        foreach (var concern in goal.Addresses.Select(resolve).OfType<Condition>())
        {
            var code = concern.Code?.Coding.FirstOrDefault(c => OidFor(c.System) is not null);
            observation.Add(new XElement(v3 + "entryRelationship", new XAttribute("typeCode", "REFR"),
                new XElement(v3 + "act", new XAttribute("classCode", "ACT"), new XAttribute("moodCode", "EVN"),
                    Template(HealthConcernAct, "2015-08-01"),
                    concern.Identifier.Select(Id),
                    new XElement(v3 + "code", new XAttribute("code", "75310-3"), new XAttribute("codeSystem", "2.16.840.1.113883.6.1"), new XAttribute("displayName", "Health concerns document")),
                    new XElement(v3 + "statusCode", new XAttribute("code", "active")),
                    new XElement(v3 + "entryRelationship", new XAttribute("typeCode", "REFR"),
                        new XElement(v3 + "observation", new XAttribute("classCode", "OBS"), new XAttribute("moodCode", "EVN"),
                            Template(ProblemObservation, "2015-08-01"),
                            new XElement(v3 + "id", new XAttribute("root", BundleAssembly.NameBasedUuid($"problem|{concern.Identifier.FirstOrDefault()?.Value}").ToString())),
                            new XElement(v3 + "code", new XAttribute("code", "75322-8"), new XAttribute("codeSystem", "2.16.840.1.113883.6.1"), new XAttribute("displayName", "Complaint")),
                            concern.Code?.Text is { } text ? new XElement(v3 + "text", text) : null,
                            new XElement(v3 + "statusCode", new XAttribute("code", "completed")),
                            code is null
                                ? new XElement(v3 + "value", new XAttribute(Xsi + "type", "CD"), new XAttribute("nullFlavor", "OTH"))
                                : new XElement(v3 + "value", new XAttribute(Xsi + "type", "CD"), new XAttribute("code", code.Code ?? ""),
                                    new XAttribute("codeSystem", OidFor(code.System)!), code.Display is null ? null : new XAttribute("displayName", code.Display)))))));
        }

        return observation;
    }

    private static XElement Template(string root, string? extension) =>
        new(V3 + "templateId", new XAttribute("root", root), extension is null ? null : new XAttribute("extension", extension));

    /// <summary>An identifier as II: OID and UUID systems become the root; other systems a name-based UUID root (CDA needs an OID or UUID).</summary>
    private static XElement Id(Identifier identifier)
    {
        if (identifier.System == "urn:ietf:rfc:3986" && identifier.Value is { } uri)
        {
            return new XElement(V3 + "id", new XAttribute("root", uri.StartsWith("urn:oid:", StringComparison.Ordinal) ? uri[8..] : uri.Replace("urn:uuid:", "")));
        }

        var root = OidFor(identifier.System)
                   ?? (identifier.System?.StartsWith("urn:uuid:", StringComparison.Ordinal) == true ? identifier.System[9..]
                       : BundleAssembly.NameBasedUuid(identifier.System ?? "").ToString());
        return new XElement(V3 + "id", new XAttribute("root", root), identifier.Value is null ? null : new XAttribute("extension", identifier.Value));
    }

    private static XElement Name(HumanName name) =>
        new(V3 + "name",
            name.Prefix.Select(p => new XElement(V3 + "prefix", p)),
            name.Given.Select(g => new XElement(V3 + "given", g)),
            name.Family is null ? null : new XElement(V3 + "family", name.Family),
            name.Suffix.Select(s => new XElement(V3 + "suffix", s)),
            name.Family is null && !name.Given.Any() ? name.Text : null);

    private static XElement Gender(AdministrativeGender? gender) => gender switch
    {
        AdministrativeGender.Male => new XElement(V3 + "administrativeGenderCode", new XAttribute("code", "M"), new XAttribute("codeSystem", "2.16.840.1.113883.5.1")),
        AdministrativeGender.Female => new XElement(V3 + "administrativeGenderCode", new XAttribute("code", "F"), new XAttribute("codeSystem", "2.16.840.1.113883.5.1")),
        AdministrativeGender.Other => new XElement(V3 + "administrativeGenderCode", new XAttribute("code", "UN"), new XAttribute("codeSystem", "2.16.840.1.113883.5.1")),
        _ => new XElement(V3 + "administrativeGenderCode", new XAttribute("nullFlavor", "UNK")),
    };

    private static XElement Address(Address address) =>
        new(V3 + "addr",
            address.Use switch
            {
                Hl7.Fhir.Model.Address.AddressUse.Home => new XAttribute("use", "HP"),
                Hl7.Fhir.Model.Address.AddressUse.Work => new XAttribute("use", "WP"),
                _ => null,
            },
            address.Line.Select(l => new XElement(V3 + "streetAddressLine", l)),
            address.City is null ? null : new XElement(V3 + "city", address.City),
            address.State is null ? null : new XElement(V3 + "state", address.State),
            address.PostalCode is null ? null : new XElement(V3 + "postalCode", address.PostalCode),
            address.Country is null ? null : new XElement(V3 + "country", address.Country));

    private static XElement Telecom(ContactPoint telecom) =>
        new(V3 + "telecom",
            new XAttribute("value", telecom.System switch
            {
                ContactPoint.ContactPointSystem.Email => "mailto:",
                ContactPoint.ContactPointSystem.Fax => "fax:",
                ContactPoint.ContactPointSystem.Url => "",
                _ => "tel:",
            } + telecom.Value),
            telecom.Use switch
            {
                ContactPoint.ContactPointUse.Home => new XAttribute("use", "HP"),
                ContactPoint.ContactPointUse.Work => new XAttribute("use", "WP"),
                ContactPoint.ContactPointUse.Mobile => new XAttribute("use", "MC"),
                _ => null,
            });

    private static string? AuthorName(Resource? author) => author switch
    {
        Patient p => CcdaGoalsImporter.Display(p.Name.FirstOrDefault()),
        Practitioner p => CcdaGoalsImporter.Display(p.Name.FirstOrDefault()),
        _ => null,
    };

    /// <summary>Escapes text for use outside the XML tree (kept for callers writing narrative fragments).</summary>
    public static string EscapeText(string text) => SecurityElement.Escape(text) ?? "";
}
