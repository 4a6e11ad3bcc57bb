using FhirRecovery.Samples.Catalogue;
using Hl7.Fhir.Model;

namespace FhirRecovery.Samples;

/// <summary>How a goal goes over the follow-ups.</summary>
internal enum GoalTrajectory
{
    /// <summary>Steady progress, completed and achieved at a follow-up.</summary>
    Achieve,

    /// <summary>Steady progress, still active at the end.</summary>
    Progress,

    /// <summary>Little change; the target date is moved, the goal may be put on hold.</summary>
    Stall,

    /// <summary>A setback first, then recovery.</summary>
    SetbackThenProgress,

    /// <summary>No longer important to the person: cancelled at a follow-up.</summary>
    Cancel,
}

/// <summary>A goal while its story is told: the Goal resource (changed in place, emitted as versions) and its plan.</summary>
internal sealed class GoalState(string id, int number, GoalTemplate template)
{
    public string Id { get; } = id;
    public int Number { get; } = number;
    public GoalTemplate Template { get; } = template;
    public Goal Resource { get; set; } = null!;
    public GoalTrajectory Trajectory { get; private set; }
    public int Level { get; set; }
    public bool Closed { get; set; }

    /// <summary>The follow-up visit where the goal is completed or cancelled (0: never).</summary>
    public int EndVisit { get; private set; }

    /// <summary>The follow-up visit where the goal is paused (0: never).</summary>
    public int HoldVisit { get; private set; }

    /// <summary>The follow-up visit where the target date is moved (0: never).</summary>
    public int RescheduleVisit { get; private set; }

    public bool StartsAccepted { get; private set; }

    public void PlanTrajectory(SampleRandom random, int lastVisit)
    {
        Trajectory = random.Weighted<GoalTrajectory>(
        [
            (GoalTrajectory.Achieve, 35), (GoalTrajectory.Progress, 30), (GoalTrajectory.Stall, 15),
            (GoalTrajectory.SetbackThenProgress, 10), (GoalTrajectory.Cancel, 10),
        ]);
        Level = random.Chance(0.3) ? -2 : -1;
        StartsAccepted = random.Chance(0.15);
        switch (Trajectory)
        {
            case GoalTrajectory.Achieve:
                EndVisit = random.Between(Math.Min(2, lastVisit), lastVisit);
                break;
            case GoalTrajectory.Cancel:
                EndVisit = random.Between(1, lastVisit);
                break;
            case GoalTrajectory.Stall:
                RescheduleVisit = random.Between(1, lastVisit);
                HoldVisit = random.Chance(0.5) && lastVisit >= 2 ? random.Between(2, lastVisit) : 0;
                break;
        }
    }
}

internal sealed partial class PatientStory
{
    private void StartGoal(GoalState state)
    {
        var template = state.Template;
        var start = _visits[0];
        var priority = _random.Weighted<string>([("high-priority", 45), ("medium-priority", 40), ("low-priority", 15)]);
        // The target is set around when the goal will be reached (or the end of follow-up), as a person would aim.
        var aimVisit = state.Trajectory == GoalTrajectory.Achieve ? state.EndVisit : LastVisit;
        var due = Max(_visits[aimVisit].Date.AddDays(_random.Between(-10, 40)), start.Date.AddDays(60));
        var goal = new Goal
        {
            Id = state.Id,
            Meta = FhirBuild.Profile(Ig.Profiles.RecoveryGoal),
            Extension =
            [
                FhirBuild.Extension(Ig.Extensions.PersonRatedPriority, Codes.GoalPriority(priority).ToConcept()),
                Attainment(state.Level, start, "Baseline, at goal setting."),
                Support(template.Strength),
                Support(template.Support),
            ],
            LifecycleStatus = state.StartsAccepted ? Goal.GoalLifecycleStatus.Accepted : Goal.GoalLifecycleStatus.Active,
            AchievementStatus = state.StartsAccepted ? null : Codes.GoalAchievement("in-progress").ToConcept(),
            Category =
            [
                RecoveryFramework.Theme(template.Theme).ToConcept(),
                RecoveryFramework.Domain(template.Domain).ToConcept(),
                Codes.Chime(template.Chime).ToConcept(),
                .. template.LifeDomains.Select(d => Codes.LifeDomain(d).ToConcept()),
            ],
            Description = new CodeableConcept { Text = template.Text },
            Subject = PatientRef,
            Start = new Date(FhirBuild.Date(start)),
            Target = [new Goal.TargetComponent { Due = new Date(FhirBuild.Date(due)) }],
            StatusDate = FhirBuild.Date(start),
            ExpressedBy = PatientRef,
        };
        state.Resource = goal;
        goal.Text = GoalNarrative(state);
        Emit(0, goal);
        Emit(0, CreateGoalSetting(state, priority, due));
    }

    private void FollowUpGoal(GoalState state, int visit)
    {
        var goal = state.Resource;
        var when = _visits[visit];
        string achievement;
        string note;
        var still = true;
        switch (state.Trajectory)
        {
            case GoalTrajectory.Achieve:
                state.Level = visit >= state.EndVisit
                    ? Math.Max(state.Level, _random.Between(0, 2))
                    : Math.Min(state.Level + _random.Between(0, 1), 0);
                achievement = visit >= state.EndVisit ? "achieved" : state.Level > -1 ? "improving" : "in-progress";
                note = _random.Pick(Phrases.ProgressNotes);
                break;
            case GoalTrajectory.Progress:
                state.Level = Math.Min(state.Level + _random.Between(0, 1), 1);
                achievement = _random.Chance(0.6) ? "improving" : "in-progress";
                note = _random.Pick(Phrases.ProgressNotes);
                break;
            case GoalTrajectory.SetbackThenProgress when visit == 1:
                state.Level = Math.Max(state.Level - 1, -2);
                achievement = "worsening";
                note = _random.Pick(Phrases.WorseningNotes);
                break;
            case GoalTrajectory.SetbackThenProgress:
                state.Level = Math.Min(state.Level + 1, 1);
                achievement = "improving";
                note = _random.Pick(Phrases.ProgressNotes);
                break;
            case GoalTrajectory.Cancel when visit >= state.EndVisit:
                achievement = "not-achieved";
                note = _random.Pick(Phrases.CancelledNotes);
                still = false;
                break;
            default:
                achievement = _random.Chance(0.5) ? "no-change" : "no-progress";
                note = _random.Pick(Phrases.StalledNotes);
                break;
        }

        // Ratings go after the earlier ones, so the extension list reads as the rating history.
        var lastRating = goal.Extension.FindLastIndex(e => e.Url == Ig.Extensions.GoalAttainmentLevel);
        goal.Extension.Insert(lastRating + 1, Attainment(state.Level, when, achievement == "worsening" ? note : null));
        goal.Note.Add(FhirBuild.Note(PatientRef, when, note));
        if (_random.Chance(0.3))
        {
            goal.Note.Add(FhirBuild.Note(CoordinatorAsNoteAuthor, when.AddMinutes(45), _random.Pick(Phrases.CoordinatorNotes)));
        }

        goal.AchievementStatus = Codes.GoalAchievement(achievement).ToConcept();
        goal.StatusDate = FhirBuild.Date(when);
        goal.StatusReason = null;
        goal.LifecycleStatus = Goal.GoalLifecycleStatus.Active;
        if (state.Trajectory == GoalTrajectory.Achieve && visit >= state.EndVisit)
        {
            goal.LifecycleStatus = Goal.GoalLifecycleStatus.Completed;
            goal.OutcomeCode = [new CodeableConcept { Text = state.Template.Achieved }];
            state.Closed = true;
        }
        else if (state.Trajectory == GoalTrajectory.Cancel && visit >= state.EndVisit)
        {
            goal.LifecycleStatus = Goal.GoalLifecycleStatus.Cancelled;
            goal.StatusReason = "No longer a priority for the person.";
            state.Closed = true;
        }
        else if (state.Trajectory == GoalTrajectory.Stall)
        {
            if (visit == state.RescheduleVisit)
            {
                var due = DateTime.Parse(((Date)goal.Target[0].Due!).Value!, System.Globalization.CultureInfo.InvariantCulture);
                goal.Target[0].Due = new Date(FhirBuild.Date(Max(due, when).AddDays(_random.Between(60, 120))));
                goal.Note.Add(FhirBuild.Note(PatientRef, when.AddMinutes(5), "We moved the target date so it feels manageable again."));
            }

            if (state.HoldVisit > 0 && visit >= state.HoldVisit)
            {
                goal.LifecycleStatus = Goal.GoalLifecycleStatus.OnHold;
                goal.StatusReason = "Paused by the person while other things come first.";
            }
        }

        goal.Text = GoalNarrative(state);
        Emit(visit, goal);
        Emit(visit, CreateGoalReview(state, visit, still));
    }

    private static DateTime Max(DateTime a, DateTime b) => a > b ? a : b;

    private Extension Attainment(int level, DateTime when, string? note) =>
        FhirBuild.Complex(Ig.Extensions.GoalAttainmentLevel,
            ("level", new Integer(level)),
            ("date", new FhirDateTime(FhirBuild.DateTime(when))),
            ("ratedBy", FhirBuild.Ref("Patient", _pid)),
            ("note", note is null ? null : new FhirString(note)));

    private Extension Support(NamedSupport support) =>
        FhirBuild.Complex(Ig.Extensions.StrengthsAndSupports,
            ("kind", Codes.StrengthOrSupport(support.Kind).ToConcept()),
            ("description", new FhirString(support.Description)),
            ("supporter", support.ByCareCoordinator ? CoordinatorRef : null));

    private Narrative GoalNarrative(GoalState state)
    {
        var goal = state.Resource;
        var template = state.Template;
        var lifeDomains = string.Join(", ", template.LifeDomains.Select(d => Codes.LifeDomain(d).Display.ToLowerInvariant()));
        var status = goal.LifecycleStatus switch
        {
            Goal.GoalLifecycleStatus.OnHold => "on hold",
            var s => s?.ToString().ToLowerInvariant() ?? "unknown",
        };
        var achievement = goal.AchievementStatus?.Coding.FirstOrDefault()?.Display?.ToLowerInvariant();
        return FhirBuild.Narrative($"Goal ({_person.Given}'s own words)",
            template.Text,
            $"{RecoveryFramework.Theme(template.Theme).Display} ({RecoveryFramework.Domain(template.Domain).Display.ToLowerInvariant()}); "
            + $"CHIME: {Codes.Chime(template.Chime).Display.ToLowerInvariant()}; life domain: {lifeDomains}. "
            + $"Started {goal.Start}, target {goal.Target[0].Due}. Status: {status}{(achievement is null ? "" : $", {achievement}")} "
            + $"({goal.StatusDate}). Latest goal attainment rating: {Signed(state.Level)}.");
    }

    private static string Signed(int level) => level > 0 ? $"+{level}" : level.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
