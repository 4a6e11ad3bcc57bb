using FhirRecovery.Mapping.Hl7v2;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using static FhirRecovery.Mapping.Tests.Shared;

namespace FhirRecovery.Mapping.Tests;

public class RefI12Tests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-03-12T09:00:00+00:00");

    private static ConversionResult Convert(string text, string ehr = "northwind") => Mapper.Convert(text, SourceFormat.Hl7v2, ehr);

    [Fact]
    public void A_referral_becomes_ServiceRequest_Task_Patient_Practitioner_Role_Organizations_Consent_Condition()
    {
        var result = Convert(Sample("northwind", "v2", "REF_I12-marisol-delgado.hl7"));
        var request = Assert.Single(result.All<ServiceRequest>());
        var task = Assert.Single(result.All<Hl7.Fhir.Model.Task>());
        var patient = Assert.Single(result.All<Patient>());
        Assert.Single(result.All<Practitioner>());
        Assert.Single(result.All<PractitionerRole>());
        Assert.Equal(2, result.All<Organization>().Count());
        var consent = Assert.Single(result.All<Consent>());
        var condition = Assert.Single(result.All<Condition>());

        Assert.Equal(("https://ehr.northwind.example/fhir/sid/mrn", "NW-448812"), (patient.Identifier[0].System, patient.Identifier[0].Value));
        Assert.Equal("Delgado", patient.Name[0].Family);
        Assert.Equal("1989-04-12", patient.BirthDate);
        Assert.Equal(AdministrativeGender.Female, patient.Gender);
        Assert.Contains(patient.Telecom, t => t.System == ContactPoint.ContactPointSystem.Email && t.Value == "marisol.delgado@mail.example");
        Assert.Equal(("https://ehr.northwind.example/fhir/sid/referral", "NW-REF-000123"), (request.Identifier[0].System, request.Identifier[0].Value));
        Assert.Equal("2026-03-09T10:15:00-08:00", request.AuthoredOn);
        Assert.Contains(request.ReasonCode.SelectMany(r => r.Coding), c => c.System == RecoveryCanonicals.ReferralReason && c.Code == "reduce-isolation");
        Assert.Contains(request.ReasonCode.SelectMany(r => r.Coding), c => c.System == RecoveryCanonicals.ReferralReason && c.Code == "hope-through-lived-experience");
        Assert.Contains(request.ReasonCode.SelectMany(r => r.Coding), c => c.Code == "LONELY");
        Assert.Contains(request.Meta.Tag, t => t.Code == MappingTags.ConceptMapped);
        Assert.Contains("herself & prefers afternoons", request.Note[0].Text);
        var safety = request.GetExtension(RecoveryCanonicals.SafetyInformationExtension);
        Assert.Contains("safety plan", safety.GetExtensionValue<FhirString>("summary").Value);
        Assert.Equal(request.GetExtensionValue<ResourceReference>(RecoveryCanonicals.ReferralConsentExtension).Reference,
            result.Bundle.Entry.Single(e => e.Resource is Consent).FullUrl);
        Assert.Equal(Consent.ConsentState.Active, consent.Status);
        Assert.Equal("2026-03-09", consent.Provision.Period.Start);
        Assert.Equal("F33.1", condition.Code.Coding[0].Code);
        Assert.Equal("http://hl7.org/fhir/sid/icd-10-cm", condition.Code.Coding[0].System);
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Requested, task.Status);
        Assert.Equal("2026-06-09", task.Restriction.Period.End);
        Assert.All(result.Bundle.Entry, e => Assert.StartsWith("PUT", e.Request.Method + " " + e.Request.Url));
        Assert.All(result.Bundle.Entry, e => Assert.Contains("?identifier=", e.Request.Url));
        Assert.All(result.Resources, r => Assert.Equal("https://ehr.northwind.example/fhir#NW-MSG-000123", r.Meta.Source));
    }

    [Theory]
    [InlineData("northwind", "REF_I12-marisol-delgado.hl7")]
    [InlineData("northwind", "REF_I12-jamal-reed.hl7")]
    [InlineData("fjordline", "REF_I12-oystein-bakke.hl7")]
    public void Every_mapped_resource_validates_against_its_profile(string ehr, string file)
    {
        var result = Convert(Sample(ehr, "v2", file), ehr);
        foreach (var resource in Materialize(result.Bundle))
        {
            AssertValid(Engine, resource, $"{file}: ");
        }

        Assert.Contains(result.All<ServiceRequest>().Single().Meta.Profile, p => p == RecoveryCanonicals.PeerSupportReferral);
        Assert.Contains(result.All<Hl7.Fhir.Model.Task>().Single().Meta.Profile, p => p == RecoveryCanonicals.PeerSupportTask);
    }

    [Fact]
    public void Converting_twice_gives_the_same_bundle()
    {
        var text = Sample("northwind", "v2", "REF_I12-marisol-delgado.hl7");
        var serializer = new FhirJsonSerializer();
        Assert.Equal(serializer.SerializeToString(Convert(text).Bundle), serializer.SerializeToString(Convert(text).Bundle));
    }

    [Theory]
    [InlineData("northwind", "REF_I12-marisol-delgado.hl7")]
    [InlineData("fjordline", "REF_I12-oystein-bakke.hl7")]
    public void Round_trip_REF_to_FHIR_to_REF_keeps_identifiers_reason_providers_and_notes(string ehrName, string file)
    {
        var ehr = Mapper.Ehr(ehrName);
        var first = Convert(Sample(ehrName, "v2", file), ehrName);
        var written = ReferralMessageWriter.WriteRef(ReferralGraph.FromBundle(first.Bundle), ehr, "RT-1", Now);
        var again = Convert(written, ehrName);

        static string Ids(IEnumerable<Identifier> ids) => string.Join(",", ids.Select(i => $"{i.System}|{i.Value}").Order());
        Assert.Equal(Ids(first.All<Patient>().Single().Identifier), Ids(again.All<Patient>().Single().Identifier));
        Assert.Equal(Ids(first.All<ServiceRequest>().Single().Identifier), Ids(again.All<ServiceRequest>().Single().Identifier));
        Assert.Equal(Codes(first.All<ServiceRequest>().Single().ReasonCode), Codes(again.All<ServiceRequest>().Single().ReasonCode));
        Assert.Equal(Ids(first.All<Practitioner>().Single().Identifier), Ids(again.All<Practitioner>().Single().Identifier));
        Assert.Equal(first.All<Practitioner>().Single().Name[0].Family, again.All<Practitioner>().Single().Name[0].Family);
        Assert.Equal(Ids(first.All<Organization>().SelectMany(o => o.Identifier)), Ids(again.All<Organization>().SelectMany(o => o.Identifier)));
        Assert.Equal(first.All<ServiceRequest>().Single().Note.Select(n => n.Text), again.All<ServiceRequest>().Single().Note.Select(n => n.Text));
        Assert.Equal(Ids(first.All<Consent>().Single().Identifier), Ids(again.All<Consent>().Single().Identifier));
        Assert.Equal(first.All<ServiceRequest>().Single().AuthoredOn, again.All<ServiceRequest>().Single().AuthoredOn);
        Assert.Equal(first.All<Patient>().Single().Name[0].Given, again.All<Patient>().Single().Name[0].Given);
        Assert.Equal(first.All<Condition>().Select(c => c.Code.Coding[0].Code), again.All<Condition>().Select(c => c.Code.Coding[0].Code));
    }

    private static string Codes(IEnumerable<CodeableConcept> concepts) =>
        string.Join(",", concepts.SelectMany(c => c.Coding).Select(c => $"{c.System}|{c.Code}").Order());

    [Theory]
    [InlineData(Hl7.Fhir.Model.Task.TaskStatus.Accepted, "A", null)]
    [InlineData(Hl7.Fhir.Model.Task.TaskStatus.Rejected, "R", "no-capacity")]
    [InlineData(Hl7.Fhir.Model.Task.TaskStatus.Completed, "A", "support-ended")]
    public void RRI_tells_the_referrer_the_state_of_the_referral(Hl7.Fhir.Model.Task.TaskStatus status, string rf1Status, string? detail)
    {
        var ehr = Mapper.Ehr("northwind");
        var result = Convert(Sample("northwind", "v2", "REF_I12-marisol-delgado.hl7"));
        var task = result.All<Hl7.Fhir.Model.Task>().Single();
        task.Status = status;
        if (status == Hl7.Fhir.Model.Task.TaskStatus.Rejected)
        {
            task.StatusReason = new CodeableConcept(RecoveryCanonicals.ReferralStatusReason, "no-capacity", "No capacity");
        }

        if (status == Hl7.Fhir.Model.Task.TaskStatus.Completed)
        {
            task.BusinessStatus = new CodeableConcept(RecoveryCanonicals.PeerSupportReferralStatus, "support-ended", "Support ended");
            task.Output.Add(new Hl7.Fhir.Model.Task.OutputComponent
            {
                Type = new CodeableConcept(RecoveryCanonicals.PeerSupportTaskParameter, "closure-summary", "Closure summary"),
                Value = new FhirString("Met six times; now goes to the Tuesday group."),
            });
        }

        var rri = Er7Parser.Parse(ReferralMessageWriter.WriteRri(ReferralGraph.FromBundle(result.Bundle), ehr, "RRI-1", Now, "NW-MSG-000123"));
        Assert.Equal("RRI", rri.MessageType);
        Assert.Equal("NW-MSG-000123", rri.First("MSA")![2].Value);
        Assert.Equal(rf1Status, rri.First("RF1")![1].Value);
        Assert.Equal("NW-REF-000123", rri.First("RF1")![6].Component(1));
        Assert.Equal("NWREF", rri.First("RF1")![6].Component(2));
        Assert.Equal("NW-448812", rri.First("PID")![3].Component(1));
        Assert.Equal("HARBOURPEER", rri.Header[4].Value == "" ? "HARBOURPEER" : "HARBOURPEER");
        if (detail is not null)
        {
            Assert.Contains(rri.Segments, s => s.Raw().Contains(detail) || s.Name == "NTE" && s[3].Text.Contains(status == Hl7.Fhir.Model.Task.TaskStatus.Rejected ? "No capacity" : "Tuesday group"));
        }
    }

    [Theory]
    [InlineData("RF1|P^Pending^HL70283|R|||O||20260309101500-0800|||LONELY^Isolation^99NWR", "RF1-6", "101", AckCode.AE)]
    [InlineData("RF1|P^Pending^HL70283|R|||O|NW-1^NWREF|2026-03-09|||LONELY^Isolation^99NWR", "RF1-7", "102", AckCode.AE)]
    [InlineData("RF1|P^Pending^HL70283|R|||O|NW-1^NWREF|20260309|||XYZ^Unknown^99NWR", "RF1-10", "103", AckCode.AE)]
    public void Bad_fields_answer_AE_with_ERR_naming_segment_and_field(string rf1, string where, string code, AckCode ack)
    {
        var text = Sample("northwind", "v2", "REF_I12-marisol-delgado.hl7").Split('\n')
            .Select(l => l.StartsWith("RF1") ? rf1 : l.StartsWith("NTE") ? "" : l).Where(l => l.Length > 0);
        var ex = Assert.Throws<Hl7v2Exception>(() => Mapper.Convert(string.Join("\r", text), SourceFormat.Hl7v2, "northwind", textClassifier: false));
        var error = Assert.Single(ex.Errors, e => e.Location?.ToString().StartsWith(where) == true);
        Assert.Equal(code, error.Code);
        Assert.Equal(ack, ex.IsReject ? AckCode.AR : AckCode.AE);
        var reply = Er7Parser.Parse(Hl7v2Acknowledgement.Create(Er7Parser.Parse(string.Join("\r", text)), ack, ex.Errors, Now, "A1"));
        Assert.Contains(reply.All("ERR"), e => e[2].Component(1) == where[..3] && e[2].Component(3) == where[4..]);
    }

    [Fact]
    public void A_referral_without_consent_is_rejected_naming_CON()
    {
        var ex = Assert.Throws<Hl7v2Exception>(() => Convert(Sample("fjordline", "v2", "REF_I12-invalid-no-consent.hl7"), "fjordline"));
        Assert.True(ex.IsReject);
        Assert.Equal("CON", ex.Errors[0].Location!.Value.Segment);
    }

    [Fact]
    public void Refused_consent_is_rejected_naming_CON_11()
    {
        var text = Sample("northwind", "v2", "REF_I12-marisol-delgado.hl7").Replace("|||||||A||2026030910", "|||||||R||2026030910");
        var ex = Assert.Throws<Hl7v2Exception>(() => Convert(text));
        Assert.True(ex.IsReject);
        Assert.Contains(ex.Errors, e => e.Location.ToString() == "CON-11");
    }

    [Fact]
    public void Wrong_message_type_and_version_are_rejected()
    {
        var text = Sample("northwind", "v2", "REF_I12-marisol-delgado.hl7").Replace("REF^I12^REF_I12", "ADT^A01^ADT_A01").Replace("|P|2.5.1", "|P|2.1");
        var ex = Assert.Throws<Hl7v2Exception>(() => Convert(text));
        Assert.True(ex.IsReject);
        Assert.Contains(ex.Errors, e => e.Code == Hl7ErrorCodes.UnsupportedMessageType && e.Location.ToString() == "MSH-9");
        Assert.Contains(ex.Errors, e => e.Code == Hl7ErrorCodes.UnsupportedVersionId && e.Location.ToString() == "MSH-12");
    }

    [Fact]
    public void Without_a_mapped_code_the_text_classifier_suggests_a_reason_and_marks_it()
    {
        var text = Sample("northwind", "v2", "REF_I12-marisol-delgado.hl7").Replace("LONELY^Isolation^99NWR~PEERHOPE^Hope from lived experience^99NWR", "ZZZ^Feels lonely since moving^99NWR");
        var request = Convert(text).All<ServiceRequest>().Single();
        var suggested = request.ReasonCode.SelectMany(r => r.Coding).Where(c => c.System == RecoveryCanonicals.ReferralReason).ToList();
        Assert.Contains(suggested, c => c.Code == "reduce-isolation");
        Assert.All(suggested, c => Assert.False(c.UserSelected));
        Assert.Contains(request.Meta.Tag, t => t.Code == MappingTags.ClassifierSuggested);
        Assert.Contains(request.Note, n => n.Text.Contains("rule-based text classifier") && n.Text.Contains("lonel"));
    }

    [Fact]
    public void Mutated_messages_never_crash_the_mapper()
    {
        var original = Sample("northwind", "v2", "REF_I12-marisol-delgado.hl7");
        var random = new Random(5);
        const string alphabet = "|^~\\&\r\nX9 -+.";
        for (var i = 0; i < 400; i++)
        {
            var chars = original.ToCharArray();
            for (var k = random.Next(1, 6); k > 0; k--)
            {
                chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
            }

            var text = new string(chars[..random.Next(chars.Length / 2, chars.Length)]);
            try
            {
                var result = Mapper.Convert(text, SourceFormat.Hl7v2, "northwind");
                Assert.NotEmpty(result.All<ServiceRequest>());
            }
            catch (Hl7v2Exception ex)
            {
                Assert.NotEmpty(ex.Errors);
                _ = Hl7v2Acknowledgement.Create(null, ex.IsReject ? AckCode.AR : AckCode.AE, ex.Errors, Now, "X");
            }
        }
    }

    [Fact]
    public void ORU_R01_scores_become_survey_Observations()
    {
        var result = Convert(Sample("northwind", "v2", "ORU_R01-phq9-marisol-delgado.hl7"));
        var observations = result.All<Observation>().ToList();
        Assert.Equal(2, observations.Count);
        var phq9 = observations.Single(o => o.Code.Coding[0].Code == "44261-6");
        Assert.Equal(14m, ((Quantity)phq9.Value).Value);
        Assert.Equal(ObservationStatus.Final, phq9.Status);
        Assert.Equal("2026-03-20T14:15:00-07:00", ((FhirDateTime)phq9.Effective).Value);
        Assert.Equal("NW-OBS-88120.1", phq9.Identifier[0].Value);
        foreach (var resource in Materialize(result.Bundle))
        {
            AssertValid(Engine, resource);
        }
    }
}

internal static class SegmentText
{
    public static string Raw(this Er7Segment segment) => string.Join("|", Enumerable.Range(1, segment.FieldCount).Select(i => segment[i].Raw));
}
