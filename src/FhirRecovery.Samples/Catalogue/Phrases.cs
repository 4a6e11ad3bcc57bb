namespace FhirRecovery.Samples.Catalogue;

/// <summary>Free-text pools for notes and answers, in plain first-person or worker language; written for this project.</summary>
internal static class Phrases
{
    public static IReadOnlyList<string> ProgressNotes { get; } =
    [
        "Did the first step I planned. It felt like a big deal, but it went fine.",
        "Managed two of the three things I set out to do this month.",
        "Slower than I hoped, but I'm still working on it.",
        "Had a bad couple of weeks and let it slide, but I've picked it up again.",
        "Things are moving. I feel more confident than at the start.",
        "I've found it easier since I started doing it at the same time every week.",
        "Talked it through at my review and we broke it into smaller steps.",
        "Someone asked me how it was going and I was proud to tell them.",
    ];

    public static IReadOnlyList<string> StalledNotes { get; } =
    [
        "Haven't managed much on this; other things have taken over.",
        "I was unwell for a few weeks and this went on the back burner.",
        "Not sure this is the right goal for now, but I want to keep it in the plan.",
        "I keep putting it off. We agreed to look at what is getting in the way.",
    ];

    public static IReadOnlyList<string> WorseningNotes { get; } =
    [
        "A setback: I stopped going after a difficult week.",
        "My mood dipped and I couldn't face it. I want to start again slowly.",
        "Things got harder at home, so this has gone backwards for now.",
    ];

    public static IReadOnlyList<string> CancelledNotes { get; } =
    [
        "This isn't important to me any more; I'd rather put my energy into my other goals.",
        "My situation has changed, so this goal doesn't fit now.",
        "We agreed to close this goal and look at it again later if I want to.",
    ];

    public static IReadOnlyList<string> WhatHelped { get; } =
    [
        "Planning it step by step with my care coordinator.",
        "Having someone come along the first time.",
        "Writing it in my diary so I didn't forget.",
        "Hearing how other people in the group did it.",
        "Getting enough sleep the night before.",
        "Rewarding myself afterwards.",
        "Knowing I could stop if it got too much.",
        "Encouragement from my family.",
    ];

    public static IReadOnlyList<string> WhatWasHard { get; } =
    [
        "Getting started in the morning.",
        "Feeling anxious beforehand.",
        "Money for bus fares.",
        "Side effects making me tired.",
        "Worrying about what people would think.",
        "Waiting for other people to get back to me.",
        "A couple of bad weeks with my mood.",
    ];

    public static IReadOnlyList<string> NextSteps { get; } =
    [
        "Keep going at the same pace.",
        "Try it on my own without support.",
        "Take the next small step we agreed on.",
        "Ask for help earlier if I get stuck.",
        "Do it twice a week instead of once.",
        "Talk to my peer worker about it.",
        "Look at it again at the next review.",
    ];

    public static IReadOnlyList<string> CheckInNotes { get; } =
    [
        "Quiet day. Went for a short walk.",
        "Saw a friend for coffee, which was good.",
        "Felt flat most of the day.",
        "Busy day, tired now but OK.",
        "Hard morning, better afternoon.",
        "Cooked a proper dinner.",
        "Didn't sleep well, struggled to get going.",
        "Good day. Did something for my goal.",
        "Anxious about tomorrow's appointment.",
        "Spent time with family.",
    ];

    public static IReadOnlyList<string> SleepOptions { get; } = ["Well", "Some problems", "Badly"];

    public static IReadOnlyList<string> CoordinatorNotes { get; } =
    [
        "Reviewed together at the care-plan meeting; the person is leading on this.",
        "Agreed to keep this goal in the plan and review it in six weeks.",
        "Discussed what support would help; the person chose the next step.",
        "Good progress noted; the person rated it themselves.",
    ];

    public static IReadOnlyList<string> PeerWorkerNotes { get; } =
    [
        "Met at a café near the person's home. Talked about what they want from peer support.",
        "Phone call to arrange the first meeting; the person sounded keen.",
        "Joined the group for the first time and stayed for all of it.",
        "Talked about my own experience of going back to work after being unwell.",
        "Agreed to meet fortnightly for now.",
    ];

    public static IReadOnlyList<string> ClosureSummaries { get; } =
    [
        "Met {0} times over the support period. The person says they feel less alone and has joined a community group they found with their peer worker.",
        "Attended {0} sessions. Worked on the goals in the care plan; the person now goes to the group without support.",
        "{0} meetings, mostly one-to-one. The person feels more hopeful and knows how to contact the service again.",
        "Completed {0} sessions of group peer support. The person has kept in touch with two group members.",
    ];

    public static IReadOnlyList<string> SafetySummaries { get; } =
    [
        "Has had thoughts of self-harm when very isolated. Has a crisis plan and agrees that the peer worker may contact the care coordinator if worried.",
        "Can become very distressed in crowded places. Prefers to meet somewhere quiet and to know the plan in advance.",
        "History of relapse when drinking heavily. Agrees that the peer worker may contact the care coordinator if concerned.",
    ];

    public static IReadOnlyList<string> Availability { get; } =
    [
        "Weekday mornings are best", "After 3 pm on weekdays", "Any time except Mondays", "Tuesdays and Thursdays",
        "Weekends only because of work", "Flexible",
    ];

    public static IReadOnlyList<string> PreferenceNotes { get; } =
    [
        "I would rather meet somewhere that isn't the clinic.",
        "I get nervous on the phone, so messages first please.",
        "I would like to start one-to-one and maybe try a group later.",
        "Please don't call before 10 am.",
    ];

    public static IReadOnlyList<string> GoalSettingWhyFallback { get; } = ["It matters to me."];
}
