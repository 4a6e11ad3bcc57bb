using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using FhirRecovery.Mapping.Classification;
using Hl7.Fhir.Model;
using static FhirRecovery.Mapping.Ccda.CdaNames;
using static FhirRecovery.Mapping.RecoveryCanonicals;

namespace FhirRecovery.Mapping.Ccda;

/// <summary>
/// C-CDA R2.1 → recovery goals. Reads the Goals Section (2.16.840.1.113883.10.20.22.2.60) and goals in the Plan of
/// Treatment (2.16.840.1.113883.10.20.22.2.10): each Goal Observation (4.121, moodCode GOL) becomes a recovery Goal
/// with its text (the narrative it references, else its own text, value ST or code), dates (effectiveTime low → start,
/// high → target due), status (statusCode), author (the entry's, else the document's: expressedBy; the patient when the
/// author id is one of the patient's), related health concerns (REFR to a Health Concern Act or Problem Observation →
/// Condition, Goal.addresses) and priority preference (4.143 → Goal.priority). XML is read with DTDs refused.
/// </summary>
public sealed class CcdaGoalsImporter(RecoveryClassifier classifier)
{
    public ConversionResult Import(string xml, EhrProfile ehr, bool useTextClassifier)
    {
        XDocument document;
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml), SafeReader);
            document = XDocument.Load(reader, LoadOptions.SetLineInfo);
        }
        catch (XmlException ex)
        {
            throw new MappingException($"The C-CDA document is not well-formed XML (line {ex.LineNumber}, position {ex.LinePosition}): {ex.Message}", "ClinicalDocument");
        }

        var root = document.Root;
        if (root is null || root.Name != V3 + "ClinicalDocument")
        {
            throw new MappingException($"The root element is {root?.Name.ToString() ?? "missing"}, not ClinicalDocument in urn:hl7-org:v3", "/");
        }

        var issues = new List<OperationOutcome.IssueComponent>();
        var documentId = Ii(root.Child("id"));
        var assembly = new BundleAssembly(ehr, $"{ehr.SourceUri}#{documentId?.Value ?? "document"}");
        var patientRole = root.Child("recordTarget").Child("patientRole");
        if (patientRole is null)
        {
            throw new MappingException("recordTarget/patientRole is required: whose goals these are", "/ClinicalDocument/recordTarget");
        }

        var patient = MapPatient(patientRole, ehr);
        if (patient.Identifier.Count == 0)
        {
            throw new MappingException("recordTarget/patientRole/id is required: the patient must be identifiable", "/ClinicalDocument/recordTarget/patientRole/id");
        }

        var patientRef = assembly.Add(patient, patient.Identifier[0], null, Display(patient.Name.FirstOrDefault()));
        var documentAuthor = root.Child("author");
        var sections = root.Child("component").Child("structuredBody").Children("component").Select(c => c.Child("section")).OfType<XElement>()
            .Where(s => s.HasTemplate(GoalsSection) || s.HasTemplate(PlanOfTreatmentSection))
            .ToList();
        var goals = sections.SelectMany(s => s.Children("entry").SelectMany(e => e.Elements())
                .Where(o => o.Name == V3 + "observation" && ((string?)o.Attribute("moodCode") == "GOL" || o.HasTemplate(GoalObservation)))
                .Select(o => (Section: s, Observation: o)))
            .ToList();
        if (goals.Count == 0)
        {
            throw new MappingException(sections.Count == 0
                ? "The document has no Goals Section (2.16.840.1.113883.10.20.22.2.60) or Plan of Treatment Section (2.16.840.1.113883.10.20.22.2.10)"
                : "The Goals/Plan of Treatment sections hold no Goal Observation (2.16.840.1.113883.10.20.22.4.121, moodCode GOL)", "/ClinicalDocument/component/structuredBody");
        }

        var errors = new List<OperationOutcome.IssueComponent>();
        var index = 0;
        foreach (var (section, observation) in goals)
        {
            index++;
            try
            {
                MapGoal(observation, section, index, documentId, documentAuthor, patient, patientRef, ehr, assembly, useTextClassifier);
            }
            catch (MappingException ex)
            {
                errors.AddRange(ex.Issues);
            }
        }

        if (errors.Count > 0)
        {
            throw new MappingException(errors);
        }

        assembly.Issues.AddRange(issues);
        return assembly.ToResult();
    }

    private void MapGoal(XElement observation, XElement section, int index, Identifier? documentId, XElement? documentAuthor, Patient patient,
        ResourceReference patientRef, EhrProfile ehr, BundleAssembly assembly, bool useTextClassifier)
    {
        var where = PathOf(observation);
        var text = GoalText(observation, section);
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new MappingException("The Goal Observation has no text: give text (or a reference into the section narrative), a value of type ST, or a code with displayName", where);
        }

        var key = Ii(observation.Child("id"))
                  ?? BundleAssembly.Minted("ccda-goal", $"{documentId?.System}/{documentId?.Value}/{index}");
        var goal = new Goal
        {
            Identifier = [key],
            Description = new CodeableConcept { Text = text.Trim() },
            Subject = RefI12MapperCopy(patientRef),
            LifecycleStatus = (string?)observation.Child("statusCode")?.Attribute("code") switch
            {
                null or "active" => Goal.GoalLifecycleStatus.Active,
                "completed" => Goal.GoalLifecycleStatus.Completed,
                "cancelled" or "aborted" => Goal.GoalLifecycleStatus.Cancelled,
                "suspended" or "held" => Goal.GoalLifecycleStatus.OnHold,
                "new" => Goal.GoalLifecycleStatus.Proposed,
                "nullified" => Goal.GoalLifecycleStatus.EnteredInError,
                var other => throw new MappingException($"statusCode '{other}' is not an act status a goal can have", where + "/statusCode"),
            },
        };
        foreach (var coded in new[] { observation.Child("code"), ValueOf(observation, "CD") ?? ValueOf(observation, "CE") }.OfType<XElement>())
        {
            if (Coding(coded) is { } coding)
            {
                goal.Description.Coding.Add(coding);
            }
        }

        var effective = observation.Child("effectiveTime");
        var start = Date(effective.Attr("value") ?? effective.Child("low").Attr("value"), where + "/effectiveTime", ehr);
        var due = Date(effective.Child("high").Attr("value"), where + "/effectiveTime/high", ehr);
        if (start is not null)
        {
            goal.Start = new Date(start);
        }

        if (due is not null)
        {
            goal.Target.Add(new Goal.TargetComponent { Due = new Date(due) });
        }

        var author = observation.Child("author") ?? documentAuthor;
        goal.ExpressedBy = author is null ? AbsentAuthor() : MapAuthor(author, patient, patientRef, ehr, assembly, where);
        if (author?.Child("time").Attr("value") is { } authored && Date(authored, where + "/author/time", ehr) is { } authoredDate)
        {
            goal.StatusDate = authoredDate;
        }

        foreach (var relationship in observation.Children("entryRelationship"))
        {
            var target = relationship.Elements().FirstOrDefault();
            if (target is null)
            {
                continue;
            }

            if (target.HasTemplate(PriorityPreference) || (target.Name == V3 + "observation" && target.Child("code").Attr("code") == "225773000"))
            {
                goal.Priority = Priority(target.Child("value").Attr("code"));
                continue;
            }

            if ((string?)relationship.Attribute("typeCode") == "REFR" && MapConcern(target, patientRef, ehr, assembly) is { } concern)
            {
                goal.Addresses.Add(concern);
            }
        }

        var classification = classifier.ClassifyGoal(ehr, goal.Description.Coding, goal.Description.Text, useTextClassifier);
        Classify.Apply(goal, classification);
        assembly.Add(goal, key, RecoveryGoal);
    }

    private static ResourceReference RefI12MapperCopy(ResourceReference reference) => (ResourceReference)reference.DeepCopy();

    /// <summary>expressedBy is required by the recovery profile; when the document names no author at all, say so rather than guess.</summary>
    public static ResourceReference AbsentAuthor()
    {
        var reference = new ResourceReference { Display = "Author not recorded in the source" };
        reference.Extension.Add(new Extension(DataAbsentReason, new Code("unknown")));
        return reference;
    }

    private static ResourceReference MapAuthor(XElement author, Patient patient, ResourceReference patientRef, EhrProfile ehr, BundleAssembly assembly, string where)
    {
        var assigned = author.Child("assignedAuthor");
        var ids = assigned.Children("id").Select(Ii).OfType<Identifier>().ToList();
        if (ids.Any(id => patient.Identifier.Any(p => p.System == id.System && p.Value == id.Value)) || assigned.Child("code").Attr("code") == "ONESELF")
        {
            return RefI12MapperCopy(patientRef);
        }

        var person = assigned.Child("assignedPerson");
        if (ids.Count == 0)
        {
            if (person is null)
            {
                return AbsentAuthor();
            }

            throw new MappingException("The author's assignedAuthor has no id: the author cannot be identified", where + "/author/assignedAuthor/id");
        }

        var practitioner = new Practitioner { Identifier = ids, Active = true };
        if (Name(person.Child("name")) is { } name)
        {
            practitioner.Name.Add(name);
        }

        foreach (var telecom in assigned.Children("telecom").Select(Telecom).OfType<ContactPoint>())
        {
            practitioner.Telecom.Add(telecom);
        }

        return assembly.Add(practitioner, ids[0], null, Display(practitioner.Name.FirstOrDefault()));
    }

    private static ResourceReference? MapConcern(XElement target, ResourceReference patientRef, EhrProfile ehr, BundleAssembly assembly)
    {
        // A Health Concern Act wraps the problem observation(s); a Problem Observation may also be referenced directly.
        var problem = target.Name == V3 + "act"
            ? target.Children("entryRelationship").Select(r => r.Child("observation")).OfType<XElement>().FirstOrDefault()
            : target.Name == V3 + "observation" ? target : null;
        var code = problem is null ? null : Coding(ValueOf(problem, "CD") ?? problem.Child("value"));
        var text = problem?.Child("text")?.Value.Trim() is { Length: > 0 } t ? t : code?.Display;
        if (code is null && text is null)
        {
            return null;
        }

        var key = Ii(target.Child("id")) ?? Ii(problem?.Child("id"));
        if (key is null)
        {
            return null;
        }

        var condition = new Condition
        {
            Identifier = [key],
            Category = [new CodeableConcept("http://hl7.org/fhir/us/core/CodeSystem/condition-category", "health-concern", "Health Concern")],
            Code = new CodeableConcept { Text = text },
            Subject = RefI12MapperCopy(patientRef),
        };
        if (code is not null)
        {
            condition.Code.Coding.Add(code);
        }

        return assembly.Add(condition, key, null, text);
    }

    private static string? GoalText(XElement observation, XElement section)
    {
        var text = observation.Child("text");
        if (text.Child("reference").Attr("value") is { } reference && reference.StartsWith('#'))
        {
            var id = reference[1..];
            var target = section.Child("text")?.Descendants().FirstOrDefault(e => (string?)e.Attribute("ID") == id);
            if (target is not null && Normalize(target.Value) is { Length: > 0 } narrative)
            {
                return narrative;
            }
        }

        if (text is not null && Normalize(string.Concat(text.Nodes().OfType<XText>().Select(t => t.Value))) is { Length: > 0 } own)
        {
            return own;
        }

        if (ValueOf(observation, "ST") is { } value && Normalize(value.Value) is { Length: > 0 } st)
        {
            return st;
        }

        var code = observation.Child("code");
        return code.Child("originalText")?.Value is { Length: > 0 } original && Normalize(original) is { Length: > 0 } o ? o : code.Attr("displayName");
    }

    private static string Normalize(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private static XElement? ValueOf(XElement observation, string type) =>
        observation.Children("value").FirstOrDefault(v => ((string?)v.Attribute(Xsi + "type"))?.Split(':').Last() == type);

    private static Hl7.Fhir.Model.Coding? Coding(XElement? element)
    {
        if (element?.Attr("code") is not { } code || element.Attr("codeSystem") is not { } oid)
        {
            return null;
        }

        return new Hl7.Fhir.Model.Coding(SystemFor(oid), code, element.Attr("displayName"));
    }

    /// <summary>II: root (an OID or UUID) + extension → system + value; a root alone is itself the identifier.</summary>
    public static Identifier? Ii(XElement? id)
    {
        if (id?.Attr("root") is not { } root)
        {
            return null;
        }

        var isUuid = Guid.TryParse(root, out _);
        return id.Attr("extension") is { } extension
            ? new Identifier(isUuid ? $"urn:uuid:{root.ToLowerInvariant()}" : SystemFor(root), extension)
            : new Identifier("urn:ietf:rfc:3986", isUuid ? $"urn:uuid:{root.ToLowerInvariant()}" : $"urn:oid:{root}");
    }

    private static Patient MapPatient(XElement patientRole, EhrProfile ehr)
    {
        var patient = new Patient { Identifier = patientRole.Children("id").Select(Ii).OfType<Identifier>().ToList() };
        var person = patientRole.Child("patient");
        foreach (var name in person.Children("name").Select(Name).OfType<HumanName>())
        {
            patient.Name.Add(name);
        }

        patient.Gender = person.Child("administrativeGenderCode").Attr("code") switch
        {
            "M" => AdministrativeGender.Male,
            "F" => AdministrativeGender.Female,
            "UN" => AdministrativeGender.Other,
            _ => person.Child("administrativeGenderCode")?.Attr("nullFlavor") is not null ? AdministrativeGender.Unknown : null,
        };
        if (person.Child("birthTime").Attr("value") is { Length: >= 8 } birth)
        {
            patient.BirthDate = $"{birth[..4]}-{birth[4..6]}-{birth[6..8]}";
        }

        foreach (var address in patientRole.Children("addr"))
        {
            var fhir = new Address
            {
                City = address.Child("city")?.Value,
                State = address.Child("state")?.Value,
                PostalCode = address.Child("postalCode")?.Value,
                Country = address.Child("country")?.Value,
                Use = address.Attr("use") switch
                {
                    "HP" or "H" => Hl7.Fhir.Model.Address.AddressUse.Home,
                    "WP" => Hl7.Fhir.Model.Address.AddressUse.Work,
                    _ => null,
                },
            };
            foreach (var line in address.Children("streetAddressLine"))
            {
                fhir.LineElement.Add(new FhirString(line.Value));
            }

            patient.Address.Add(fhir);
        }

        foreach (var telecom in patientRole.Children("telecom").Select(Telecom).OfType<ContactPoint>())
        {
            patient.Telecom.Add(telecom);
        }

        return patient;
    }

    public static HumanName? Name(XElement? name)
    {
        if (name is null)
        {
            return null;
        }

        var human = new HumanName { Family = name.Child("family")?.Value };
        foreach (var given in name.Children("given"))
        {
            human.GivenElement.Add(new FhirString(given.Value));
        }

        foreach (var prefix in name.Children("prefix"))
        {
            human.PrefixElement.Add(new FhirString(prefix.Value));
        }

        foreach (var suffix in name.Children("suffix"))
        {
            human.SuffixElement.Add(new FhirString(suffix.Value));
        }

        if (human.Family is null && !human.Given.Any() && Normalize(name.Value) is { Length: > 0 } text)
        {
            human.Text = text;
        }

        return human.Family is null && !human.Given.Any() && human.Text is null ? null : human;
    }

    private static ContactPoint? Telecom(XElement telecom)
    {
        if (telecom.Attr("value") is not { } value)
        {
            return null;
        }

        var colon = value.IndexOf(':');
        var scheme = colon < 0 ? "" : value[..colon];
        var use = telecom.Attr("use") switch
        {
            "HP" or "H" => ContactPoint.ContactPointUse.Home,
            "WP" => ContactPoint.ContactPointUse.Work,
            "MC" => ContactPoint.ContactPointUse.Mobile,
            _ => (ContactPoint.ContactPointUse?)null,
        };
        return scheme switch
        {
            "tel" => new ContactPoint(ContactPoint.ContactPointSystem.Phone, use, value[(colon + 1)..]),
            "mailto" => new ContactPoint(ContactPoint.ContactPointSystem.Email, use, value[(colon + 1)..]),
            "fax" => new ContactPoint(ContactPoint.ContactPointSystem.Fax, use, value[(colon + 1)..]),
            _ => new ContactPoint(ContactPoint.ContactPointSystem.Url, use, value),
        };
    }

    private static CodeableConcept? Priority(string? snomed) => snomed switch
    {
        "394849002" => new CodeableConcept("http://terminology.hl7.org/CodeSystem/goal-priority", "high-priority", "High Priority"),
        "394848005" => new CodeableConcept("http://terminology.hl7.org/CodeSystem/goal-priority", "medium-priority", "Medium Priority"),
        "394847000" => new CodeableConcept("http://terminology.hl7.org/CodeSystem/goal-priority", "low-priority", "Low Priority"),
        _ => null,
    };

    /// <summary>A CDA TS as a FHIR date (the recovery profile types Goal start and due as dates).</summary>
    private static string? Date(string? value, string where, EhrProfile ehr)
    {
        if (value is null)
        {
            return null;
        }

        try
        {
            var fhir = Hl7v2.V2Types.ParseTimestamp(value, new Hl7v2.Er7Location("TS", 0), ehr.TimeZone);
            return fhir is { Length: > 10 } ? fhir[..10] : fhir;
        }
        catch (Hl7v2.Hl7v2Exception)
        {
            throw new MappingException($"'{value}' is not a valid CDA timestamp (YYYYMMDD[HHMM[SS]][+ZZZZ])", where);
        }
    }

    public static string? Display(HumanName? name) =>
        name is null ? null : name.Text ?? string.Join(" ", name.Prefix.Concat(name.Given).Append(name.Family).Where(s => !string.IsNullOrEmpty(s)));

    internal static string Timestamp(DateTimeOffset value) => value.ToString("yyyyMMddHHmmsszzz", CultureInfo.InvariantCulture).Replace(":", "");
}

/// <summary>Writes a classification into a Goal: one category per coding, and the marks that tell mapped from suggested.</summary>
public static class Classify
{
    public static void Apply(Goal goal, ClassificationResult classification)
    {
        foreach (var coding in classification.Mapped.Where(c => !goal.Category.Any(cat => cat.Coding.Any(x => x.System == c.System && x.Code == c.Code))))
        {
            goal.Category.Add(new CodeableConcept { Coding = [coding] });
        }

        foreach (var suggestion in classification.Suggested)
        {
            goal.Category.Add(new CodeableConcept { Coding = [suggestion.Coding] });
        }

        goal.Meta ??= new Meta();
        if (classification.MapsUsed.Count > 0)
        {
            goal.Meta.Tag.Add(MappingTags.Coding(MappingTags.ConceptMapped));
        }

        if (classification.SuggestionNote is { } note)
        {
            goal.Meta.Tag.Add(MappingTags.Coding(MappingTags.ClassifierSuggested));
            goal.Note.Add(new Annotation { TextElement = new Markdown(note) });
        }
    }
}
