using Hl7.Fhir.Model;

namespace FhirRecovery.Samples;

/// <summary>The canonical URLs of the FhirRecovery IG that the generated data uses.</summary>
public static class Ig
{
    public const string Base = "https://fhirrecovery.org/fhir";

    public static class Profiles
    {
        public const string RecoveryGoal = Base + "/StructureDefinition/recovery-goal";
        public const string RecoveryCarePlan = Base + "/StructureDefinition/recovery-care-plan";
        public const string RecoveryQuestionnaireResponse = Base + "/StructureDefinition/recovery-questionnaire-response";
        public const string PeerSupportReferral = Base + "/StructureDefinition/peer-support-referral";
        public const string PeerSupportTask = Base + "/StructureDefinition/peer-support-task";
    }

    public static class Extensions
    {
        public const string PersonRatedPriority = Base + "/StructureDefinition/person-rated-priority";
        public const string GoalAttainmentLevel = Base + "/StructureDefinition/goal-attainment-level";
        public const string StrengthsAndSupports = Base + "/StructureDefinition/strengths-and-supports";
        public const string ReferralConsent = Base + "/StructureDefinition/referral-consent";
        public const string PeerSupportPreferences = Base + "/StructureDefinition/peer-support-preferences";
        public const string SafetyInformation = Base + "/StructureDefinition/safety-information";

        /// <summary>Core extension the IG uses to link a QuestionnaireResponse to the goal it is about.</summary>
        public const string PertainsToGoal = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal";
    }

    public static class Systems
    {
        public const string RecoveryFramework = Base + "/CodeSystem/recovery-framework";
        public const string ChimeProcess = Base + "/CodeSystem/chime-process";
        public const string LifeDomain = Base + "/CodeSystem/life-domain";
        public const string StrengthSupportKind = Base + "/CodeSystem/strength-support-kind";
        public const string RecoveryCarePlanCategory = Base + "/CodeSystem/recovery-care-plan-category";
        public const string PeerSupportService = Base + "/CodeSystem/peer-support-service";
        public const string PeerSupportPreference = Base + "/CodeSystem/peer-support-preference";
        public const string ReferralReason = Base + "/CodeSystem/referral-reason";
        public const string ReferralStatusReason = Base + "/CodeSystem/referral-status-reason";
        public const string PeerSupportReferralStatus = Base + "/CodeSystem/peer-support-referral-status";
        public const string PeerSupportTaskParameter = Base + "/CodeSystem/peer-support-task-parameter";
        public const string PeerSupportOutcome = Base + "/CodeSystem/peer-support-outcome";
        public const string AgreementScale = Base + "/CodeSystem/agreement-scale";

        public const string GoalPriority = "http://terminology.hl7.org/CodeSystem/goal-priority";
        public const string GoalAchievement = "http://terminology.hl7.org/CodeSystem/goal-achievement";
        public const string TaskCode = "http://hl7.org/fhir/CodeSystem/task-code";
        public const string Snomed = "http://snomed.info/sct";
        public const string Language = "urn:ietf:bcp:47";
        public const string GenderIdentity = "http://hl7.org/fhir/gender-identity";
        public const string OrganizationType = "http://terminology.hl7.org/CodeSystem/organization-type";
        public const string ConsentScope = "http://terminology.hl7.org/CodeSystem/consentscope";
        public const string ConsentAction = "http://terminology.hl7.org/CodeSystem/consentaction";
        public const string ActReason = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
        public const string Loinc = "http://loinc.org";
    }

    /// <summary>The questionnaires of profiles/questionnaires/ the responses answer (canonical|version, as rqr-3 asks).</summary>
    public static class Questionnaires
    {
        public const string Version = "0.1.0";
        public const string GoalSetting = Base + "/Questionnaire/recovery-goal-setting|" + Version;
        public const string GoalReview = Base + "/Questionnaire/recovery-goal-review|" + Version;
        public const string Qpr15 = Base + "/Questionnaire/qpr-15|" + Version;
        public const string DailyCheckIn = Base + "/Questionnaire/daily-wellbeing-check-in|" + Version;
        public const string PeerSupportPreferences = Base + "/Questionnaire/peer-support-preferences|" + Version;
        public const string ChimeCheck = Base + "/Questionnaire/chime-recovery-processes|" + Version;
        public const string SelfAssessment = Base + "/Questionnaire/recovery-self-assessment|" + Version;

        public static IReadOnlyList<string> All { get; } = [GoalSetting, GoalReview, Qpr15, DailyCheckIn, PeerSupportPreferences, ChimeCheck, SelfAssessment];
    }

    /// <summary>The policy the referral consents point at (the one the IG's examples use).</summary>
    public const string PeerSupportSharingPolicy = Base + "/policy/peer-support-information-sharing";
}

/// <summary>A code with its system and display, as the generator's catalogues hold them.</summary>
public sealed record Code(string System, string Value, string Display)
{
    public Coding ToCoding() => new(System, Value, Display);

    public CodeableConcept ToConcept() => new() { Coding = [ToCoding()] };

    public override string ToString() => $"{System}#{Value}";
}

/// <summary>The four recovery domains of the framework (Le Boutillier et al. 2011) and their themes.</summary>
public enum RecoveryDomain
{
    PromotingCitizenship,
    OrganisationalCommitment,
    SupportingPersonallyDefinedRecovery,
    WorkingRelationship,
}

public static class RecoveryFramework
{
    private static readonly Dictionary<RecoveryDomain, Code> DomainCodes = new()
    {
        [RecoveryDomain.PromotingCitizenship] = Framework("promoting-citizenship", "Promoting citizenship"),
        [RecoveryDomain.OrganisationalCommitment] = Framework("organisational-commitment", "Organisational commitment"),
        [RecoveryDomain.SupportingPersonallyDefinedRecovery] = Framework("supporting-personally-defined-recovery", "Supporting personally defined recovery"),
        [RecoveryDomain.WorkingRelationship] = Framework("working-relationship", "Working relationship"),
    };

    private static readonly Dictionary<string, (RecoveryDomain Domain, Code Code)> Themes = new List<(RecoveryDomain, string, string)>
    {
        (RecoveryDomain.PromotingCitizenship, "seeing-beyond-service-user", "Seeing beyond \"service user\""),
        (RecoveryDomain.PromotingCitizenship, "service-user-rights", "Service user rights"),
        (RecoveryDomain.PromotingCitizenship, "social-inclusion", "Social inclusion"),
        (RecoveryDomain.PromotingCitizenship, "meaningful-occupation", "Meaningful occupation"),
        (RecoveryDomain.OrganisationalCommitment, "recovery-vision", "Recovery vision"),
        (RecoveryDomain.OrganisationalCommitment, "workplace-support-structures", "Workplace support structures"),
        (RecoveryDomain.OrganisationalCommitment, "quality-improvement", "Quality improvement"),
        (RecoveryDomain.OrganisationalCommitment, "care-pathway", "Care pathway"),
        (RecoveryDomain.OrganisationalCommitment, "workforce-planning", "Workforce planning"),
        (RecoveryDomain.SupportingPersonallyDefinedRecovery, "individuality", "Individuality"),
        (RecoveryDomain.SupportingPersonallyDefinedRecovery, "informed-choice", "Informed choice"),
        (RecoveryDomain.SupportingPersonallyDefinedRecovery, "peer-support", "Peer support"),
        (RecoveryDomain.SupportingPersonallyDefinedRecovery, "strengths-focus", "Strengths focus"),
        (RecoveryDomain.SupportingPersonallyDefinedRecovery, "holistic-approach", "Holistic approach"),
        (RecoveryDomain.WorkingRelationship, "partnership", "Partnership"),
        (RecoveryDomain.WorkingRelationship, "inspiring-hope", "Inspiring hope"),
    }.ToDictionary(t => t.Item2, t => (t.Item1, Framework(t.Item2, t.Item3)), StringComparer.Ordinal);

    public static IReadOnlyList<RecoveryDomain> Domains { get; } = Enum.GetValues<RecoveryDomain>();

    public static Code Domain(RecoveryDomain domain) => DomainCodes[domain];

    public static Code Theme(string code) =>
        Themes.TryGetValue(code, out var theme) ? theme.Code : throw new ArgumentException($"'{code}' is not a recovery-framework theme", nameof(code));

    public static RecoveryDomain DomainOf(string themeCode) =>
        Themes.TryGetValue(themeCode, out var theme) ? theme.Domain : throw new ArgumentException($"'{themeCode}' is not a recovery-framework theme", nameof(themeCode));

    /// <summary>The domain a domain code names (null for anything else).</summary>
    public static RecoveryDomain? FromDomainCode(string code) =>
        DomainCodes.Where(d => d.Value.Value == code).Select(d => (RecoveryDomain?)d.Key).FirstOrDefault();

    private static Code Framework(string code, string display) => new(Ig.Systems.RecoveryFramework, code, display);
}

/// <summary>Codes of the IG's small code systems, by name, so the generator never spells a code twice.</summary>
public static class Codes
{
    public static Code Chime(string code) => new(Ig.Systems.ChimeProcess, code, code switch
    {
        "connectedness" => "Connectedness",
        "hope-and-optimism" => "Hope and optimism about the future",
        "identity" => "Identity",
        "meaning-in-life" => "Meaning in life",
        "empowerment" => "Empowerment",
        _ => throw new ArgumentException($"unknown CHIME process '{code}'", nameof(code)),
    });

    public static Code LifeDomain(string code) => new(Ig.Systems.LifeDomain, code, code switch
    {
        "work" => "Work and employment",
        "education" => "Education and learning",
        "housing" => "Housing and living situation",
        "relationships-social-network" => "Relationships and social network",
        "family-and-caring" => "Family life and caring roles",
        "physical-health" => "Physical health",
        "mental-health" => "Mental health and wellbeing",
        "leisure" => "Leisure and recreation",
        "spirituality" => "Spirituality and personal meaning",
        "finances" => "Finances and benefits",
        "daily-living" => "Daily living and self-care",
        "community-participation" => "Community participation and citizenship",
        "substance-use" => "Alcohol and drug use",
        "legal-matters" => "Legal matters",
        _ => throw new ArgumentException($"unknown life domain '{code}'", nameof(code)),
    });

    public static Code StrengthOrSupport(string code) => new(Ig.Systems.StrengthSupportKind, code, code switch
    {
        "quality" => "Personal quality",
        "skill-or-talent" => "Skill or talent",
        "interest" => "Interest or passion",
        "value-or-belief" => "Value or belief",
        "coping-strategy" => "Coping strategy",
        "family" => "Family",
        "friends" => "Friends",
        "peer" => "Peer",
        "professional" => "Professional",
        "community-resource" => "Community resource",
        "faith-community" => "Faith community",
        "companion-animal" => "Companion animal",
        _ => throw new ArgumentException($"unknown strength or support kind '{code}'", nameof(code)),
    });

    public static Code GoalPriority(string code) => new(Ig.Systems.GoalPriority, code, code switch
    {
        "high-priority" => "High Priority",
        "medium-priority" => "Medium Priority",
        "low-priority" => "Low Priority",
        _ => throw new ArgumentException($"unknown goal priority '{code}'", nameof(code)),
    });

    public static Code GoalAchievement(string code) => new(Ig.Systems.GoalAchievement, code, code switch
    {
        "in-progress" => "In Progress",
        "improving" => "Improving",
        "worsening" => "Worsening",
        "no-change" => "No Change",
        "achieved" => "Achieved",
        "sustaining" => "Sustaining",
        "not-achieved" => "Not Achieved",
        "no-progress" => "No Progress",
        "not-attainable" => "Not Attainable",
        _ => throw new ArgumentException($"unknown goal achievement '{code}'", nameof(code)),
    });

    public static Code PeerPreference(string code) => new(Ig.Systems.PeerSupportPreference, code, code switch
    {
        "one-to-one" => "One-to-one",
        "group" => "Group",
        "in-person" => "In person",
        "telephone" => "Telephone",
        "online" => "Online",
        "video-call" => "Video call",
        "text-chat" => "Text chat or messaging",
        "same-gender" => "Same gender",
        "same-language" => "Same language",
        "similar-age" => "Similar age",
        "similar-cultural-background" => "Similar cultural background",
        "similar-lived-experience" => "Similar lived experience",
        "similar-life-situation" => "Similar life situation",
        "psychosis" => "Psychosis",
        "mood" => "Depression or bipolar experience",
        "anxiety" => "Anxiety",
        "trauma" => "Trauma",
        "self-harm-or-suicidal-crisis" => "Self-harm or suicidal crisis",
        "substance-use" => "Alcohol or drug use",
        "eating-difficulties" => "Eating difficulties",
        "hospital-admission" => "Hospital admission",
        "compulsory-care" => "Compulsory care",
        "homelessness" => "Homelessness",
        "weekday-daytime" => "Weekday daytime",
        "weekday-evening" => "Weekday evening",
        "weekend" => "Weekend",
        "flexible-timing" => "Flexible",
        "own-home" => "Own home",
        "community-venue" => "Community venue",
        "peer-service-premises" => "Peer-support service premises",
        "clinical-premises" => "Clinical service premises",
        "outdoors" => "Outdoors",
        _ => throw new ArgumentException($"unknown peer-support preference '{code}'", nameof(code)),
    });

    public static Code ReferralReason(string code) => new(Ig.Systems.ReferralReason, code, code switch
    {
        "reduce-isolation" => "Reduce loneliness and isolation",
        "hope-through-lived-experience" => "Hope through lived experience",
        "support-personal-goal" => "Support with a personal recovery goal",
        "self-management" => "Build self-management and coping",
        "transition-support" => "Support during a transition",
        "service-navigation" => "Help to find and use services",
        "community-connection" => "Connect with community",
        "rights-and-advocacy" => "Understand and assert rights",
        "work-or-study" => "Work, study or volunteering",
        _ => throw new ArgumentException($"unknown referral reason '{code}'", nameof(code)),
    });

    public static Code StatusReason(string code) => new(Ig.Systems.ReferralStatusReason, code, code switch
    {
        "no-capacity" => "No capacity",
        "outside-service-area" => "Outside service area",
        "preferences-cannot-be-met" => "Preferences cannot be met",
        "declined-by-person" => "Declined by the person",
        "unable-to-contact" => "Unable to contact",
        "needs-other-support" => "Needs a different kind of support",
        "consent-withdrawn" => "Consent withdrawn",
        "referral-incomplete" => "Referral incomplete",
        "duplicate-referral" => "Duplicate referral",
        _ => throw new ArgumentException($"unknown referral status reason '{code}'", nameof(code)),
    });

    public static Code BusinessStatus(string code) => new(Ig.Systems.PeerSupportReferralStatus, code, code switch
    {
        "received" => "Referral received",
        "under-review" => "Under review",
        "awaiting-match" => "Accepted, awaiting a peer match",
        "peer-matched" => "Peer worker matched",
        "contact-attempted" => "Contact attempted",
        "first-contact-made" => "First contact made",
        "support-ongoing" => "Support ongoing",
        "support-ended" => "Support ended",
        "not-taken-up" => "Not taken up",
        _ => throw new ArgumentException($"unknown referral business status '{code}'", nameof(code)),
    });

    public static Code TaskParameter(string code) => new(Ig.Systems.PeerSupportTaskParameter, code, code switch
    {
        "linked-goal" => "Linked recovery goal",
        "referral-consent" => "Consent to referral",
        "preferences-response" => "Peer-support preferences response",
        "referral-outcome" => "Referral outcome",
        "contact-made" => "First contact made",
        "matched-peer-worker" => "Matched peer worker",
        "sessions-attended" => "Sessions attended",
        "closure-summary" => "Closure summary",
        _ => throw new ArgumentException($"unknown task parameter '{code}'", nameof(code)),
    });

    public static Code ReferralOutcome(string code) => new(Ig.Systems.PeerSupportOutcome, code, code switch
    {
        "engaged-goal-progress" => "Engaged, with progress towards goals",
        "engaged" => "Engaged",
        "partially-engaged" => "Partially engaged",
        "not-engaged" => "Did not engage",
        "declined" => "Declined",
        "transferred" => "Transferred",
        _ => throw new ArgumentException($"unknown referral outcome '{code}'", nameof(code)),
    });

    public static Code AgreementScale(int score) => score switch
    {
        0 => new(Ig.Systems.AgreementScale, "disagree-strongly", "Disagree strongly"),
        1 => new(Ig.Systems.AgreementScale, "disagree", "Disagree"),
        2 => new(Ig.Systems.AgreementScale, "not-sure", "Not sure"),
        3 => new(Ig.Systems.AgreementScale, "agree", "Agree"),
        4 => new(Ig.Systems.AgreementScale, "agree-strongly", "Agree strongly"),
        _ => throw new ArgumentOutOfRangeException(nameof(score), score, "QPR answers score 0..4"),
    };

    public static Code Language(string code) => new(Ig.Systems.Language, code, code switch
    {
        "en" => "English",
        "no" => "Norwegian",
        "nl" => "Dutch",
        "fi" => "Finnish",
        "sv" => "Swedish",
        "ar" => "Arabic",
        "pl" => "Polish",
        "es" => "Spanish",
        _ => throw new ArgumentException($"unknown language '{code}'", nameof(code)),
    });

    public static Code GenderIdentity(string code) => new(Ig.Systems.GenderIdentity, code, code);

    public static Code RecoveryCarePlan { get; } = new(Ig.Systems.RecoveryCarePlanCategory, "recovery-care-plan", "Recovery care plan");

    public static Code PeerSupportReferral { get; } = new(Ig.Systems.PeerSupportService, "peer-support-referral", "Referral to peer support");

    public static Code SocialServiceProcedure { get; } = new(Ig.Systems.Snomed, "410606002", "Social service procedure");

    public static Code FulfillTask { get; } = new(Ig.Systems.TaskCode, "fulfill", "Fulfill the focal request");
}
