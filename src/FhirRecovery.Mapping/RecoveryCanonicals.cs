namespace FhirRecovery.Mapping;

/// <summary>Canonical URLs and code systems of the recovery IG, US Core and HL7 terminology the mappers write.</summary>
public static class RecoveryCanonicals
{
    public const string Base = "https://fhirrecovery.org/fhir";

    public const string RecoveryGoal = Base + "/StructureDefinition/recovery-goal";
    public const string RecoveryCarePlan = Base + "/StructureDefinition/recovery-care-plan";
    public const string PeerSupportReferral = Base + "/StructureDefinition/peer-support-referral";
    public const string PeerSupportTask = Base + "/StructureDefinition/peer-support-task";
    public const string RecoveryQuestionnaireResponse = Base + "/StructureDefinition/recovery-questionnaire-response";

    public const string ReferralConsentExtension = Base + "/StructureDefinition/referral-consent";
    public const string SafetyInformationExtension = Base + "/StructureDefinition/safety-information";
    public const string PeerSupportPreferencesExtension = Base + "/StructureDefinition/peer-support-preferences";
    public const string GoalInOwnWordsExtension = Base + "/StructureDefinition/goal-in-own-words";
    public const string PersonRatedPriorityExtension = Base + "/StructureDefinition/person-rated-priority";
    public const string GoalAttainmentLevelExtension = Base + "/StructureDefinition/goal-attainment-level";
    public const string StrengthsAndSupportsExtension = Base + "/StructureDefinition/strengths-and-supports";

    public const string RecoveryFramework = Base + "/CodeSystem/recovery-framework";
    public const string ChimeProcess = Base + "/CodeSystem/chime-process";
    public const string LifeDomain = Base + "/CodeSystem/life-domain";
    public const string ReferralReason = Base + "/CodeSystem/referral-reason";
    public const string ReferralStatusReason = Base + "/CodeSystem/referral-status-reason";
    public const string PeerSupportService = Base + "/CodeSystem/peer-support-service";
    public const string PeerSupportReferralStatus = Base + "/CodeSystem/peer-support-referral-status";
    public const string PeerSupportTaskParameter = Base + "/CodeSystem/peer-support-task-parameter";
    public const string PeerSupportOutcome = Base + "/CodeSystem/peer-support-outcome";
    public const string RecoveryCarePlanCategory = Base + "/CodeSystem/recovery-care-plan-category";

    /// <summary>Tags this service puts in meta.tag to say how a resource's content was derived (see <see cref="MappingTags"/>).</summary>
    public const string MappingTagSystem = Base + "/CodeSystem/mapping-tag";

    /// <summary>Identifier systems this service mints where a source gives none (namespaced so they never collide with an EHR's).</summary>
    public const string SidBase = Base + "/sid";

    public const string RecoveryFrameworkToChime = Base + "/ConceptMap/recovery-framework-to-chime";
    public const string PeerSupportToSnomed = Base + "/ConceptMap/peer-support-to-snomed";

    public const string Snomed = "http://snomed.info/sct";
    public const string Loinc = "http://loinc.org";
    public const string SocialServiceProcedure = "410606002";
    public const string ReferralToPeerSupportUs = "461481000124109";
    public const string DataAbsentReason = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";
    public const string TaskCode = "http://hl7.org/fhir/CodeSystem/task-code";

    public const string UsCoreBase = "http://hl7.org/fhir/us/core/StructureDefinition/";
    public const string UsCorePatient = UsCoreBase + "us-core-patient";
    public const string UsCoreGoal = UsCoreBase + "us-core-goal";
    public const string UsCoreCarePlan = UsCoreBase + "us-core-careplan";
    public const string UsCoreServiceRequest = UsCoreBase + "us-core-servicerequest";
    public const string UsCoreQuestionnaireResponse = UsCoreBase + "us-core-questionnaireresponse";
    public const string UsCorePractitioner = UsCoreBase + "us-core-practitioner";
    public const string UsCorePractitionerRole = UsCoreBase + "us-core-practitionerrole";
    public const string UsCoreOrganization = UsCoreBase + "us-core-organization";
    public const string UsCoreCondition = UsCoreBase + "us-core-condition-problems-health-concerns";
    public const string UsCoreCarePlanCategory = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category";
}

/// <summary>The meta.tag codes that mark how the content of an imported resource came about.</summary>
public static class MappingTags
{
    /// <summary>A recovery category was suggested by the rule-based text classifier (no source code mapped).</summary>
    public const string ClassifierSuggested = "classifier-suggested";

    /// <summary>Recovery categories were derived from the source's codes through ConceptMaps.</summary>
    public const string ConceptMapped = "concept-mapped";

    /// <summary>The resource came from an HL7 v2 message (its state changes are answered in v2: RRI^I12).</summary>
    public const string FromHl7v2 = "source-hl7v2";

    /// <summary>The resource was converted from another format (v2, C-CDA, foreign FHIR) by this service.</summary>
    public const string Converted = "converted";

    public static Hl7.Fhir.Model.Coding Coding(string code) => new(RecoveryCanonicals.MappingTagSystem, code, code switch
    {
        ClassifierSuggested => "Category suggested by the text classifier",
        ConceptMapped => "Categories mapped from source codes",
        FromHl7v2 => "Received as an HL7 v2 message",
        _ => "Converted from an EHR format",
    });
}
