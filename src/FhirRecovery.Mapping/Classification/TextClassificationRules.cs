using System.Text.RegularExpressions;

namespace FhirRecovery.Mapping.Classification;

/// <summary>One transparent keyword rule: when the text matches <see cref="Pattern"/>, suggest <see cref="Code"/> of <see cref="System"/>.</summary>
public sealed record TextRule(string Id, string System, string Code, string Display, Regex Pattern);

/// <summary>
/// The rules of the text classifier. Deliberately simple and readable (word stems, no weights, no model): a suggestion
/// can always be explained by the rule id and the words that matched, and a person can check it. Suggestions are
/// marked as such wherever they are written; they never replace a code the source gave.
/// </summary>
public static class TextClassificationRules
{
    private static TextRule Rule(string system, string code, string display, string pattern) =>
        new($"{system[(system.LastIndexOf('/') + 1)..]}:{code}", system, code, display,
            new Regex(@"\b(?:" + pattern + ")", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromMilliseconds(200)));

    public static readonly IReadOnlyList<TextRule> LifeDomain =
    [
        Rule(RecoveryCanonicals.LifeDomain, "work", "Work and employment", @"job|work(?:ing|place)?\b|employ|career|paid|volunteer"),
        Rule(RecoveryCanonicals.LifeDomain, "education", "Education and learning", @"stud(?:y|ies|ying)|course|college|school|universit|learn|class(?:es)?\b|exam"),
        Rule(RecoveryCanonicals.LifeDomain, "housing", "Housing and living situation", @"hous|home\b|flat\b|apartment|tenan|rent\b|move out|own place"),
        Rule(RecoveryCanonicals.LifeDomain, "relationships-social-network", "Relationships and social network", @"friend|lonel|isolat|social|meet (?:new )?people|peer"),
        Rule(RecoveryCanonicals.LifeDomain, "family-and-caring", "Family life and caring roles", @"famil|daughter|son\b|sons\b|child|parent|mother|father|mum\b|dad\b|sister|brother|grandchild|partner\b|carer"),
        Rule(RecoveryCanonicals.LifeDomain, "physical-health", "Physical health", @"exercis|walk|weight|sleep|diet|fitness|smok|swim|gym\b|physical"),
        Rule(RecoveryCanonicals.LifeDomain, "mental-health", "Mental health and wellbeing", @"anxi|mood|voices|panic|stress|depress|wellbeing|well-being|mental|relapse"),
        Rule(RecoveryCanonicals.LifeDomain, "leisure", "Leisure and recreation", @"hobb|choir|sing|music|paint|garden|fishing|football|reading|\bart\b|guitar|knit|photograph"),
        Rule(RecoveryCanonicals.LifeDomain, "spirituality", "Spirituality and personal meaning", @"church|faith|pray|meditat|spiritual|mosque|temple"),
        Rule(RecoveryCanonicals.LifeDomain, "finances", "Finances and benefits", @"money|debt|budget|benefit|bills?\b|financ|savings"),
        Rule(RecoveryCanonicals.LifeDomain, "daily-living", "Daily living and self-care", @"cook|shopping|clean|laundry|self-care|routine|get up"),
        Rule(RecoveryCanonicals.LifeDomain, "community-participation", "Community participation and citizenship", @"communit|vote|voting|neighbour|club\b|associat"),
        Rule(RecoveryCanonicals.LifeDomain, "substance-use", "Alcohol and drug use", @"alcohol|drink|drugs?\b|cannabis|sober|substance"),
        Rule(RecoveryCanonicals.LifeDomain, "legal-matters", "Legal matters", @"court|legal|probation|lawyer|solicitor"),
    ];

    public static readonly IReadOnlyList<TextRule> Chime =
    [
        Rule(RecoveryCanonicals.ChimeProcess, "connectedness", "Connectedness", @"friend|group|peer|famil|communit|lonel|connect|together|belong"),
        Rule(RecoveryCanonicals.ChimeProcess, "hope-and-optimism", "Hope and optimism about the future", @"hope|future|optimis|dream|look forward"),
        Rule(RecoveryCanonicals.ChimeProcess, "identity", "Identity", @"myself|identity|who i am|confiden|self-esteem|self esteem"),
        Rule(RecoveryCanonicals.ChimeProcess, "meaning-in-life", "Meaning in life", @"meaning|purpose|role\b|volunteer|faith|spiritual"),
        Rule(RecoveryCanonicals.ChimeProcess, "empowerment", "Empowerment", @"control|decid|choice|independen|manag|rights|cop(?:e|ing)|on my own"),
    ];

    public static readonly IReadOnlyList<TextRule> ReferralReason =
    [
        Rule(RecoveryCanonicals.ReferralReason, "reduce-isolation", "Reduce loneliness and isolation", @"lonel|isolat|alone\b|no friends"),
        Rule(RecoveryCanonicals.ReferralReason, "hope-through-lived-experience", "Hope through lived experience", @"lived experience|been through|hope"),
        Rule(RecoveryCanonicals.ReferralReason, "support-personal-goal", "Support with a personal recovery goal", @"goal"),
        Rule(RecoveryCanonicals.ReferralReason, "self-management", "Build self-management and coping", @"cop(?:e|ing)|self-manag|manage (?:my|his|her|their)"),
        Rule(RecoveryCanonicals.ReferralReason, "transition-support", "Support during a transition", @"discharg|transition|leaving hospital|after (?:the )?admission"),
        Rule(RecoveryCanonicals.ReferralReason, "service-navigation", "Help to find and use services", @"navigat|find (?:services|help)|benefits office"),
        Rule(RecoveryCanonicals.ReferralReason, "community-connection", "Connect with community", @"communit|join (?:a|the)|club\b"),
        Rule(RecoveryCanonicals.ReferralReason, "rights-and-advocacy", "Understand and assert rights", @"rights|advoca"),
        Rule(RecoveryCanonicals.ReferralReason, "work-or-study", "Work, study or volunteering", @"job|employ|stud(?:y|ies)|volunteer|college"),
    ];
}
