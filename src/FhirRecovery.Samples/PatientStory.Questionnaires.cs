using FhirRecovery.Samples.Catalogue;
using Hl7.Fhir.Model;

namespace FhirRecovery.Samples;

/// <summary>Responses to the IG's questionnaires (profiles/questionnaires/): linkIds, answer types and options as defined there.</summary>
internal sealed partial class PatientStory
{
    private QuestionnaireResponse Response(string id, string questionnaire, DateTime authored, ResourceReference author, string summary, string? goalId)
    {
        var response = new QuestionnaireResponse
        {
            Id = id,
            Meta = FhirBuild.Profile(Ig.Profiles.RecoveryQuestionnaireResponse),
            Text = FhirBuild.Narrative(null, summary),
            Questionnaire = questionnaire,
            Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
            Subject = FhirBuild.Ref("Patient", _pid),
            Authored = FhirBuild.DateTime(authored),
            Author = author,
            Source = FhirBuild.Ref("Patient", _pid),
        };
        if (goalId is not null)
        {
            response.Extension.Add(FhirBuild.Extension(Ig.Extensions.PertainsToGoal, FhirBuild.Ref("Goal", goalId)));
        }

        return response;
    }

    private static QuestionnaireResponse.ItemComponent Item(string linkId, params DataType[] answers) => new()
    {
        LinkId = linkId,
        Answer = answers.Select(a => new QuestionnaireResponse.AnswerComponent { Value = a }).ToList(),
    };

    private static QuestionnaireResponse.ItemComponent Group(string linkId, params QuestionnaireResponse.ItemComponent?[] items) => new()
    {
        LinkId = linkId,
        Item = items.OfType<QuestionnaireResponse.ItemComponent>().ToList(),
    };

    private QuestionnaireResponse CreateGoalSetting(GoalState state, string priority, DateTime due)
    {
        var template = state.Template;
        var peerInterest = _referrals.Any(r => r.LinkedGoals.Contains(state));
        var response = Response($"{_pid}-goal-setting-{state.Number}", Ig.Questionnaires.GoalSetting, _visits[0].AddMinutes(10 + state.Number * 5),
            FhirBuild.Ref("Patient", _pid),
            $"{_person.Name}'s goal-setting form for goal {state.Number}, {FhirBuild.Readable(_visits[0])}: \"{template.Text}\"", state.Id);
        response.Item =
        [
            Group("goal",
                Item("goal-text", new FhirString(template.Text)),
                Item("goal-why", new FhirString(template.Why)),
                Item("life-domain", template.LifeDomains.Select(d => (DataType)Codes.LifeDomain(d).ToCoding()).ToArray()),
                Item("recovery-domain", RecoveryFramework.Domain(template.Domain).ToCoding()),
                Item("recovery-theme", RecoveryFramework.Theme(template.Theme).ToCoding()),
                Item("priority", Codes.GoalPriority(priority).ToCoding()),
                Item("target-date", new Date(FhirBuild.Date(due))),
                Item("starting-point", new Integer(StartingPoint(state)))),
            Group("help",
                Item("strengths", new FhirString(template.Strength.Description)),
                Item("supports", new FhirString(template.Support.Description)),
                Item("first-step", new FhirString(template.FirstStep))),
            Item("peer-support-interest", new FhirBoolean(peerInterest)),
        ];
        return response;
    }

    private QuestionnaireResponse CreateGoalReview(GoalState state, int visit, bool stillImportant)
    {
        var byCoordinator = _random.Chance(0.3);
        var author = byCoordinator ? CoordinatorRef : FhirBuild.Ref("Patient", _pid);
        var response = Response($"{_pid}-goal-review-{visit}-{state.Number}", Ig.Questionnaires.GoalReview, _visits[visit].AddMinutes(15 + state.Number * 5),
            author,
            $"{_person.Name}'s review of goal {state.Number} (\"{state.Template.Text}\"), {FhirBuild.Readable(_visits[visit])}: "
            + $"attainment {Signed(state.Level)}{(byCoordinator ? ", entered by the care coordinator in the review meeting" : "")}.",
            state.Id);
        response.Item =
        [
            Item("goal", FhirBuild.Ref("Goal", state.Id)),
            Item("progress", new Integer(Progress(state, visit))),
            Item("attainment", new Integer(state.Level)),
            Item("what-helped", new FhirString(_random.Pick(Phrases.WhatHelped))),
        ];
        if (_random.Chance(0.7))
        {
            response.Item.Add(Item("what-was-hard", new FhirString(_random.Pick(Phrases.WhatWasHard))));
        }

        response.Item.Add(Item("still-important", new FhirBoolean(stillImportant)));
        if (stillImportant)
        {
            response.Item.Add(Item("next-step", new FhirString(_random.Pick(Phrases.NextSteps))));
        }

        return response;
    }

    /// <summary>
    /// QPR-15: answer codes only (the item wording is licensed and not in the IG). Scores drift upwards over the visits,
    /// as recovery measures usually do in services that work; the read-only total is the sum (0-60).
    /// </summary>
    private QuestionnaireResponse CreateQpr(int visit)
    {
        var baseline = 1.3 + (SampleRandom.For(_seed, _index, 1).NextDouble() * 1.3);
        var mean = Math.Min(3.6, baseline + (visit * 0.18));
        var scores = Enumerable.Range(0, 15).Select(_ => Math.Clamp((int)Math.Round(mean + (_random.NextGaussian() * 0.7)), 0, 4)).ToList();
        var total = scores.Sum();
        var response = Response($"{_pid}-qpr-{visit}", Ig.Questionnaires.Qpr15, _visits[visit].AddMinutes(-20), FhirBuild.Ref("Patient", _pid),
            $"{_person.Name}'s QPR-15 answers, {FhirBuild.Readable(_visits[visit])} ({(visit == 0 ? "baseline" : "follow-up")}; answer codes only, "
            + $"item wording not included). Total score {total} of 60.", null);
        response.Item =
        [
            Group("qpr", scores.Select((score, i) => Item($"qpr-{i + 1:D2}", Codes.AgreementScale(score).ToCoding())).ToArray()),
            Item("total", new Integer(total)),
        ];
        return response;
    }

    /// <summary>Where the person puts a new goal on the 0-10 progress scale: mostly near the start.</summary>
    private int StartingPoint(GoalState state) => SampleRandom.For(_seed, _index, 40 + state.Number).Between(0, 3);

    /// <summary>The 0-10 progress rating at a review: moves with the goal attainment level, clamped to the scale.</summary>
    private int Progress(GoalState state, int visit) => Math.Clamp(StartingPoint(state) + visit + (2 * state.Level), 0, 10);

    /// <summary>
    /// The CHIME recovery processes check at the QPR-15's times: one 0-4 score per process drifting upwards with the
    /// visits, from a stream of its own (so the rest of the story does not change); the total is their sum (0-20).
    /// </summary>
    private QuestionnaireResponse CreateChimeCheck(int visit)
    {
        var random = SampleRandom.For(_seed, _index, 20 + visit);
        var mean = Math.Min(3.5, 1.4 + (SampleRandom.For(_seed, _index, 2).NextDouble() * 1.2) + (visit * 0.15));
        string[] processes = ["connectedness", "hope-and-optimism", "identity", "meaning-in-life", "empowerment"];
        var scores = processes.Select(_ => Math.Clamp((int)Math.Round(mean + (random.NextGaussian() * 0.8)), 0, 4)).ToList();
        var response = Response($"{_pid}-chime-{visit}", Ig.Questionnaires.ChimeCheck, _visits[visit].AddMinutes(-15), FhirBuild.Ref("Patient", _pid),
            $"{_person.Name}'s CHIME recovery processes check, {FhirBuild.Readable(_visits[visit])}: "
            + string.Join(", ", processes.Select((p, i) => $"{Codes.Chime(p).Display.ToLowerInvariant()} {scores[i]}")) + $"; total {scores.Sum()} of 20.", null);
        response.Item =
        [
            Group("processes", processes.Select((p, i) => Item($"chime-{p}", Codes.AgreementScale(scores[i]).ToCoding())).ToArray()),
            Item("total", new Integer(scores.Sum())),
        ];
        return response;
    }

    /// <summary>
    /// The recovery-oriented support self-assessment at the last visit: one 0-4 score per theme of the framework. As in
    /// the review behind the project, people experience personally defined recovery and the working relationship as
    /// better supported than citizenship and organisational commitment. Domain scores and total are the sums.
    /// </summary>
    private QuestionnaireResponse CreateSelfAssessment(int visit)
    {
        var random = SampleRandom.For(_seed, _index, 30);
        (string Domain, double Mean, string[] Themes)[] domains =
        [
            ("promoting-citizenship", 1.8, ["seeing-beyond-service-user", "service-user-rights", "social-inclusion", "meaningful-occupation"]),
            ("organisational-commitment", 2.0, ["recovery-vision", "workplace-support-structures", "quality-improvement", "care-pathway", "workforce-planning"]),
            ("supporting-personally-defined-recovery", 2.9, ["individuality", "informed-choice", "peer-support", "strengths-focus", "holistic-approach"]),
            ("working-relationship", 3.0, ["partnership", "inspiring-hope"]),
        ];
        var scores = domains.Select(d => d.Themes.Select(_ => Math.Clamp((int)Math.Round(d.Mean + (random.NextGaussian() * 0.9)), 0, 4)).ToList()).ToList();
        var sums = scores.Select(s => s.Sum()).ToList();
        var response = Response($"{_pid}-self-assessment-{visit}", Ig.Questionnaires.SelfAssessment, _visits[visit].AddMinutes(-10), FhirBuild.Ref("Patient", _pid),
            $"{_person.Name}'s view of how recovery-oriented the support was, {FhirBuild.Readable(_visits[visit])}: "
            + string.Join(", ", domains.Select((d, i) => $"{RecoveryFramework.Domain(RecoveryFramework.DomainOf(d.Themes[0])).Display.ToLowerInvariant()} {sums[i]} of {4 * d.Themes.Length}"))
            + $"; total {sums.Sum()} of 64.", null);
        var items = domains.Select((d, i) => Group(d.Domain, d.Themes.Select((t, j) => Item($"theme-{t}", Codes.AgreementScale(scores[i][j]).ToCoding())).ToArray())).ToList();
        items.Add(Group("scores", [.. domains.Select((d, i) => Item($"score-{d.Domain}", new Integer(sums[i]))), Item("score-total", new Integer(sums.Sum()))]));
        response.Item = items;
        return response;
    }

    /// <summary>1-2 daily check-ins between two visits, in the evening.</summary>
    private void AddCheckIns(int visit)
    {
        var from = _visits[visit - 1].Date.AddDays(1);
        var days = (int)(_visits[visit].Date - from).TotalDays;
        var count = _random.Between(1, 2);
        var picked = _random.Sample(Enumerable.Range(0, days).ToList(), count).Order().ToList();
        var openGoals = _goals.Where(g => !g.Closed).ToList();
        foreach (var day in picked)
        {
            var when = from.AddDays(day).AddHours(19).AddMinutes(5 * _random.Between(0, 40));
            var mood = Math.Clamp((int)Math.Round(4.5 + (visit * 0.4) + (_random.NextGaussian() * 1.6)), 0, 10);
            var sleep = _random.Weighted<string>([(Phrases.SleepOptions[0], 5), (Phrases.SleepOptions[1], 4), (Phrases.SleepOptions[2], 2)]);
            var connected = _random.Chance(0.4 + (mood * 0.05));
            var meaningful = _random.Chance(0.3 + (mood * 0.05));
            var goal = openGoals.Count > 0 && _random.Chance(0.25) ? _random.Pick(openGoals) : null;
            var note = _random.Chance(0.6) ? _random.Pick(Phrases.CheckInNotes) : null;
            _checkIns++;
            var response = Response($"{_pid}-check-in-{_checkIns:D2}", Ig.Questionnaires.DailyCheckIn, when, FhirBuild.Ref("Patient", _pid),
                $"{_person.Name}'s daily check-in, {FhirBuild.Date(when)}: mood {mood}/10, slept {sleep.ToLowerInvariant()}"
                + $"{(connected ? ", in touch with someone they care about" : "")}{(meaningful ? ", did something worthwhile" : "")}.",
                goal?.Id);
            response.Item =
            [
                Item("mood", new Integer(mood)),
                Item("sleep", new FhirString(sleep)),
                Item("connected", new FhirBoolean(connected)),
                Item("meaningful", new FhirBoolean(meaningful)),
            ];
            if (note is not null)
            {
                response.Item.Add(Item("note", new FhirString(note)));
            }

            Emit(visit, response);
        }
    }

    /// <summary>The peer-support preferences form, answered when the referral is made; the referral carries the same choices.</summary>
    private QuestionnaireResponse CreatePreferencesResponse(ReferralState referral, DateTime when)
    {
        var preferences = referral.Preferences;
        var response = Response($"{_pid}-peer-preferences-{referral.Number}", Ig.Questionnaires.PeerSupportPreferences, when, FhirBuild.Ref("Patient", _pid),
            $"{_person.Name}'s peer-support preferences, {FhirBuild.Readable(when)}: "
            + string.Join(", ", preferences.Modes.Select(m => Codes.PeerPreference(m).Display.ToLowerInvariant())) + ".",
            referral.LinkedGoals[0].Id);
        var items = new List<QuestionnaireResponse.ItemComponent>
        {
            Item("mode", preferences.Modes.Select(m => (DataType)Codes.PeerPreference(m).ToCoding()).ToArray()),
            Item("language", Codes.Language(_person.Language).ToCoding()),
        };
        items.Add(Item("gender-preference", new FhirBoolean(preferences.PeerGender is not null)));
        if (preferences.PeerGender is { } gender)
        {
            items.Add(Item("peer-gender", Codes.GenderIdentity(gender).ToCoding()));
        }

        if (preferences.Characteristics.Count > 0)
        {
            items.Add(Item("peer-characteristic", preferences.Characteristics.Select(c => (DataType)Codes.PeerPreference(c).ToCoding()).ToArray()));
        }

        if (preferences.LivedExperience.Count > 0)
        {
            items.Add(Item("lived-experience", preferences.LivedExperience.Select(c => (DataType)Codes.PeerPreference(c).ToCoding()).ToArray()));
        }

        items.Add(Item("timing", Codes.PeerPreference(preferences.Timing).ToCoding()));
        if (preferences.Setting is { } setting)
        {
            items.Add(Item("setting", Codes.PeerPreference(setting).ToCoding()));
        }

        if (preferences.Note is { } note)
        {
            items.Add(Item("anything-else", new FhirString(note)));
        }

        // The referral is only made with the person's consent (its Consent resource records the same decision).
        items.Add(Group("consent", Item("consent-share", new FhirBoolean(true))));
        response.Item = items;
        return response;
    }
}
