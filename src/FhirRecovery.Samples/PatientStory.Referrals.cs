using FhirRecovery.Samples.Catalogue;
using Hl7.Fhir.Model;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.Samples;

/// <summary>
/// How a peer-support referral goes, as the Task states a peer-support organisation reports back (HL7 SDOH closed-loop
/// pattern). Each path ends in the Task status it is named after.
/// </summary>
public enum ReferralPath
{
    Completed,
    InProgress,
    OnHold,
    Accepted,
    Received,
    Requested,

    /// <summary>Rejected by the first organisation (with a reason), then sent to another, which takes it on.</summary>
    Rejected,
    Cancelled,
    Failed,

    /// <summary>A referral sent twice by mistake: the copy and its Task end entered-in-error.</summary>
    Duplicate,
}

/// <summary>When in the person's follow-up period a referral path starts.</summary>
internal enum Alignment
{
    /// <summary>At enrolment.</summary>
    Early,

    /// <summary>So that it ends at the last visit (paths that stop in an early state are recent referrals).</summary>
    Late,

    Random,
}

/// <summary>The steps a Task goes through, one per visit interval.</summary>
internal enum TaskStep
{
    Requested,
    Received,
    AcceptedAwaitingMatch,
    AcceptedMatched,
    FirstContact,
    ContactAttempted,
    Ongoing,
    OnHold,
    Completed,
    Rejected,
    Cancelled,
    Failed,
    EnteredInError,
}

internal sealed record ReferralPlan(ReferralPath Path, int Span, Alignment Alignment, bool WithDuplicate)
{
    public static ReferralPlan For(ReferralPath path, bool withDuplicate = false) => path switch
    {
        ReferralPath.Completed => new(path, 4, Alignment.Random, withDuplicate),
        ReferralPath.InProgress => new(path, 3, Alignment.Random, withDuplicate),
        ReferralPath.OnHold => new(path, 4, Alignment.Late, withDuplicate),
        ReferralPath.Accepted => new(path, 2, Alignment.Late, withDuplicate),
        ReferralPath.Received => new(path, 2, Alignment.Late, withDuplicate),
        ReferralPath.Requested => new(path, 1, Alignment.Late, withDuplicate),
        ReferralPath.Rejected => new(path, 4, Alignment.Random, withDuplicate),
        ReferralPath.Cancelled => new(path, 3, Alignment.Random, withDuplicate),
        ReferralPath.Failed => new(path, 4, Alignment.Random, withDuplicate),
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "a duplicate is planned with its original"),
    };
}

/// <summary>What the person asked for in a peer worker and in the support (peer-support-preference codes).</summary>
internal sealed record PeerPreferences(
    List<string> Modes,
    string? PeerGender,
    List<string> Characteristics,
    List<string> LivedExperience,
    string Timing,
    string? Setting,
    string? Availability,
    string? Note);

/// <summary>One Task of a referral: its owner and its steps, visit by visit from <see cref="StartVisit"/>.</summary>
internal sealed class TaskState(string id, ServiceOrganisation owner, int startVisit, List<TaskStep> steps)
{
    public string Id { get; } = id;
    public ServiceOrganisation Owner { get; } = owner;
    public int StartVisit { get; } = startVisit;
    public List<TaskStep> Steps { get; } = steps;
    public FhirTask? Resource { get; set; }
    public ServiceWorker? PeerWorker { get; set; }
    public DateTime LastChange { get; set; }
    public int Sessions { get; set; }
}

/// <summary>A peer-support referral: the ServiceRequest (what is asked) and its Tasks (what the organisations did).</summary>
internal sealed class ReferralState(int number, string serviceRequestId, ReferralPath path, int startVisit)
{
    public int Number { get; } = number;
    public string ServiceRequestId { get; } = serviceRequestId;
    public ReferralPath Path { get; } = path;
    public int StartVisit { get; } = startVisit;
    public bool SelfReferral { get; init; }
    public ReferralState? DuplicateOf { get; init; }
    public List<GoalState> LinkedGoals { get; init; } = [];
    public List<string> Reasons { get; init; } = [];
    public PeerPreferences Preferences { get; init; } = null!;
    public string? PreferencesResponseId { get; set; }
    public string? SafetySummary { get; init; }
    public List<TaskState> Tasks { get; } = [];
    public ServiceRequest? Resource { get; set; }
    public string? EmittedState { get; set; }
    public DateTime AuthoredOn { get; set; }
}

internal sealed partial class PatientStory
{
    private ReferralState CreateReferral(int number, ReferralPath path, int startVisit, ReferralState? duplicateOf)
    {
        var srId = $"{_pid}-referral-{number}";
        ReferralState referral;
        if (duplicateOf is not null)
        {
            referral = new ReferralState(number, srId, path, startVisit)
            {
                SelfReferral = duplicateOf.SelfReferral,
                DuplicateOf = duplicateOf,
                LinkedGoals = duplicateOf.LinkedGoals,
                Reasons = duplicateOf.Reasons,
                Preferences = duplicateOf.Preferences,
                SafetySummary = duplicateOf.SafetySummary,
            };
            referral.Tasks.Add(new TaskState($"{srId}-task-1", duplicateOf.Tasks[0].Owner, startVisit, [TaskStep.Requested, TaskStep.EnteredInError]));
            return referral;
        }

        // Goals about peer support are the natural reason for a referral; otherwise any goal the person picks.
        var peerGoals = _goals.Where(g => g.Template.Theme == "peer-support" || g.Template.Strength.Kind == "peer" || g.Template.Support.Kind == "peer").ToList();
        var linked = new List<GoalState> { peerGoals.Count > 0 ? _random.Pick(peerGoals) : _random.Pick(_goals) };
        if (_goals.Count > 2 && _random.Chance(0.35))
        {
            var other = _random.Pick(_goals);
            if (!linked.Contains(other))
            {
                linked.Add(other);
            }
        }

        var reasons = linked.Select(g => g.Template.ReferralReason).Distinct().ToList();
        if (_random.Chance(0.5))
        {
            var extra = _random.Pick<string>(["reduce-isolation", "hope-through-lived-experience", "community-connection", "self-management"]);
            if (!reasons.Contains(extra))
            {
                reasons.Add(extra);
            }
        }

        referral = new ReferralState(number, srId, path, startVisit)
        {
            SelfReferral = _random.Chance(0.35),
            LinkedGoals = linked,
            Reasons = reasons,
            Preferences = ChoosePreferences(),
            SafetySummary = _random.Chance(0.2) ? _random.Pick(Phrases.SafetySummaries) : null,
        };

        var first = _random.Pick(ServiceCatalogue.PeerOrganisations);
        TaskState Task(int n, ServiceOrganisation owner, int start, List<TaskStep> steps) => new($"{srId}-task-{n}", owner, start, steps);
        switch (path)
        {
            case ReferralPath.Completed:
                referral.Tasks.Add(Task(1, first, startVisit, [TaskStep.Requested, TaskStep.AcceptedMatched, TaskStep.FirstContact,
                    .. Enumerable.Repeat(TaskStep.Ongoing, _random.Between(0, Math.Max(0, LastVisit - startVisit - 3))), TaskStep.Completed]));
                break;
            case ReferralPath.InProgress:
                referral.Tasks.Add(Task(1, first, startVisit, [TaskStep.Requested, TaskStep.AcceptedAwaitingMatch, TaskStep.FirstContact,
                    .. Enumerable.Repeat(TaskStep.Ongoing, LastVisit - startVisit - 2)]));
                break;
            case ReferralPath.OnHold:
                referral.Tasks.Add(Task(1, first, startVisit, [TaskStep.Requested, TaskStep.AcceptedMatched, TaskStep.FirstContact, TaskStep.OnHold]));
                break;
            case ReferralPath.Accepted:
                referral.Tasks.Add(Task(1, first, startVisit, [TaskStep.Requested,
                    _random.Chance(0.5) ? TaskStep.AcceptedMatched : TaskStep.AcceptedAwaitingMatch]));
                break;
            case ReferralPath.Received:
                referral.Tasks.Add(Task(1, first, startVisit, [TaskStep.Requested, TaskStep.Received]));
                break;
            case ReferralPath.Requested:
                referral.Tasks.Add(Task(1, first, startVisit, [TaskStep.Requested]));
                break;
            case ReferralPath.Rejected:
                var second = _random.Pick(ServiceCatalogue.PeerOrganisations.Where(o => o != first).ToList());
                referral.Tasks.Add(Task(1, first, startVisit, [TaskStep.Requested, TaskStep.Rejected]));
                referral.Tasks.Add(Task(2, second, startVisit + 1, [TaskStep.Requested, TaskStep.AcceptedMatched, TaskStep.FirstContact,
                    .. Enumerable.Repeat(TaskStep.Ongoing, LastVisit - startVisit - 3)]));
                break;
            case ReferralPath.Cancelled:
                referral.Tasks.Add(Task(1, first, startVisit, [TaskStep.Requested, TaskStep.AcceptedAwaitingMatch, TaskStep.Cancelled]));
                break;
            case ReferralPath.Failed:
                referral.Tasks.Add(Task(1, first, startVisit, [TaskStep.Requested, TaskStep.AcceptedMatched, TaskStep.ContactAttempted, TaskStep.Failed]));
                break;
        }

        return referral;
    }

    private PeerPreferences ChoosePreferences()
    {
        var modes = new List<string> { _random.Weighted<string>([("one-to-one", 3), ("group", 2)]) };
        foreach (var channel in _random.Sample<string>(["in-person", "telephone", "video-call", "text-chat"], _random.Between(1, 2)))
        {
            modes.Add(channel);
        }

        string? peerGender = null;
        var characteristics = new List<string>();
        if (_person.Gender != AdministrativeGender.Other && _random.Chance(0.4))
        {
            peerGender = _person.Gender == AdministrativeGender.Female ? "female" : "male";
            characteristics.Add("same-gender");
        }

        foreach (var characteristic in _random.Sample<string>(["similar-lived-experience", "similar-age", "similar-life-situation", "similar-cultural-background"], _random.Between(0, 2)))
        {
            characteristics.Add(characteristic);
        }

        if (_person.Language != "en" && _random.Chance(0.5))
        {
            characteristics.Add("same-language");
        }

        var lived = _random.Sample<string>(
            ["psychosis", "mood", "anxiety", "trauma", "self-harm-or-suicidal-crisis", "substance-use", "eating-difficulties", "hospital-admission", "homelessness"],
            _random.Weighted<int>([(0, 2), (1, 5), (2, 2)]));
        return new PeerPreferences(
            modes,
            peerGender,
            characteristics,
            lived,
            _random.Pick<string>(["weekday-daytime", "weekday-evening", "weekend", "flexible-timing"]),
            _random.Chance(0.6) ? _random.Pick<string>(["own-home", "community-venue", "peer-service-premises", "clinical-premises", "outdoors"]) : null,
            _random.Chance(0.5) ? _random.Pick(Phrases.Availability) : null,
            _random.Chance(0.3) ? _random.Pick(Phrases.PreferenceNotes) : null);
    }

    /// <summary>Emits what changed in the referral at this visit: the ServiceRequest and each Task with a step here.</summary>
    private void AdvanceReferral(ReferralState referral, int visit)
    {
        if (visit < referral.StartVisit)
        {
            return;
        }

        if (visit == referral.StartVisit)
        {
            StartServiceRequest(referral, visit);
        }

        foreach (var task in referral.Tasks)
        {
            var step = visit - task.StartVisit;
            if (step >= 0 && step < task.Steps.Count)
            {
                ApplyStep(referral, task, task.Steps[step], visit);
                Emit(visit, task.Resource!);
            }
        }

        UpdateServiceRequest(referral, visit);
    }

    private void StartServiceRequest(ReferralState referral, int visit)
    {
        // A self-referral is made by the person in the days after a visit; a clinician's during it.
        var authored = referral.DuplicateOf is { } original
            ? original.AuthoredOn.AddMinutes(7)
            : referral.SelfReferral
                ? _visits[visit].Date.AddDays(_random.Between(1, 3)).AddHours(_random.Between(8, 20)).AddMinutes(5 * _random.Between(0, 11))
                : _visits[visit].AddMinutes(40);
        referral.AuthoredOn = authored;
        if (referral.DuplicateOf is null && (referral.SelfReferral || _random.Chance(0.5)))
        {
            var preferences = CreatePreferencesResponse(referral, authored.AddMinutes(-10));
            referral.PreferencesResponseId = preferences.Id;
            Emit(visit, preferences);
        }
        else if (referral.DuplicateOf is { } copied)
        {
            referral.PreferencesResponseId = copied.PreferencesResponseId;
        }

        var requester = referral.SelfReferral ? PatientRef : CoordinatorRef;
        var preferencesExtension = FhirBuild.Complex(Ig.Extensions.PeerSupportPreferences);
        var p = referral.Preferences;
        foreach (var mode in p.Modes)
        {
            preferencesExtension.Extension.Add(new Extension("mode", Codes.PeerPreference(mode).ToConcept()));
        }

        preferencesExtension.Extension.Add(new Extension("language", Codes.Language(_person.Language).ToConcept()));
        if (p.PeerGender is { } gender)
        {
            preferencesExtension.Extension.Add(new Extension("peerGender", Codes.GenderIdentity(gender).ToConcept()));
        }

        preferencesExtension.Extension.AddRange(p.Characteristics.Select(c => new Extension("peerCharacteristic", Codes.PeerPreference(c).ToConcept())));
        preferencesExtension.Extension.AddRange(p.LivedExperience.Select(c => new Extension("livedExperience", Codes.PeerPreference(c).ToConcept())));
        preferencesExtension.Extension.Add(new Extension("timing", Codes.PeerPreference(p.Timing).ToConcept()));
        if (p.Setting is { } setting)
        {
            preferencesExtension.Extension.Add(new Extension("setting", Codes.PeerPreference(setting).ToConcept()));
        }

        if (p.Availability is { } availability)
        {
            preferencesExtension.Extension.Add(new Extension("availability", new FhirString(availability)));
        }

        if (p.Note is { } note)
        {
            preferencesExtension.Extension.Add(new Extension("note", new FhirString(note)));
        }

        var safety = FhirBuild.Complex(Ig.Extensions.SafetyInformation,
            ("riskIdentified", new FhirBoolean(referral.SafetySummary is not null)),
            ("summary", referral.SafetySummary is null ? null : new FhirString(referral.SafetySummary)),
            ("date", new FhirDateTime(FhirBuild.DateTime(authored))));

        var request = new ServiceRequest
        {
            Id = referral.ServiceRequestId,
            Meta = FhirBuild.Profile(Ig.Profiles.PeerSupportReferral),
            Extension =
            [
                FhirBuild.Extension(Ig.Extensions.ReferralConsent, FhirBuild.Ref("Consent", ConsentId)),
                preferencesExtension,
                safety,
            ],
            Status = RequestStatus.Active,
            Intent = RequestIntent.Order,
            Category = [Codes.SocialServiceProcedure.ToConcept()],
            Code = new CodeableConcept { Coding = [Codes.PeerSupportReferral.ToCoding()], Text = "Referral to peer support" },
            Subject = PatientRef,
            AuthoredOn = FhirBuild.DateTime(authored),
            Requester = requester,
            Performer = [FhirBuild.Ref("Organization", referral.Tasks[0].Owner.Id, referral.Tasks[0].Owner.Name)],
            ReasonCode = referral.Reasons.Select(r => Codes.ReferralReason(r).ToConcept()).ToList(),
            SupportingInfo =
            [
                .. referral.LinkedGoals.Select(g => FhirBuild.Ref("Goal", g.Id)),
                .. referral.PreferencesResponseId is { } qr ? [FhirBuild.Ref("QuestionnaireResponse", qr)] : Array.Empty<ResourceReference>(),
            ],
        };
        if (referral.DuplicateOf is { } duplicated)
        {
            request.Note = [FhirBuild.Note(null, null, $"Sent from the referral form a second time, minutes after ServiceRequest/{duplicated.ServiceRequestId}.")];
        }
        else if (_random.Chance(0.4))
        {
            request.Note = [FhirBuild.Note(referral.SelfReferral ? PatientRef : CoordinatorAsNoteAuthor, authored, p.Modes.Contains("group")
                ? "Would like to try a group but may want to meet one-to-one first."
                : "Prefers to start with one person rather than a group.")];
        }

        referral.Resource = request;
    }

    private void UpdateServiceRequest(ReferralState referral, int visit)
    {
        var request = referral.Resource!;
        var statuses = referral.Tasks.Where(t => t.Resource is not null).Select(t => t.Resource!.Status).ToList();
        var current = referral.Tasks.Last(t => t.Resource is not null);
        request.Status =
            statuses.Contains(FhirTask.TaskStatus.EnteredInError) ? RequestStatus.EnteredInError
            : statuses.Contains(FhirTask.TaskStatus.Completed) ? RequestStatus.Completed
            : statuses.Any(s => s is FhirTask.TaskStatus.Requested or FhirTask.TaskStatus.Received or FhirTask.TaskStatus.Accepted or FhirTask.TaskStatus.InProgress) ? RequestStatus.Active
            : statuses.Contains(FhirTask.TaskStatus.OnHold) ? RequestStatus.OnHold
            : RequestStatus.Revoked;
        request.Performer = [FhirBuild.Ref("Organization", current.Owner.Id, current.Owner.Name)];

        var state = $"{request.Status}|{current.Owner.Id}";
        if (state == referral.EmittedState)
        {
            return;
        }

        referral.EmittedState = state;
        var who = referral.SelfReferral ? $"self-referral by {_person.Name}" : $"{_person.Name}, referred by care coordinator {_coordinator.Name}";
        var preferences = string.Join(", ", referral.Preferences.Modes.Select(m => Codes.PeerPreference(m).Display.ToLowerInvariant()));
        request.Text = FhirBuild.Narrative(referral.SelfReferral ? "Self-referral to peer support" : "Referral to peer support",
            $"{who}, {FhirBuild.Readable(referral.AuthoredOn)}, to {current.Owner.Name}. Status: {StatusText(request.Status)}.",
            $"Reasons: {string.Join("; ", referral.Reasons.Select(r => Codes.ReferralReason(r).Display.ToLowerInvariant()))}. Prefers {preferences}. "
            + (referral.SafetySummary is null ? "No known risks." : "Safety information shared with the person's agreement."));
        Emit(visit, request);
    }

    private static string StatusText(Enum? status) => status switch
    {
        null => "unknown",
        RequestStatus.EnteredInError => "entered in error",
        RequestStatus.OnHold => "on hold",
        FhirTask.TaskStatus.InProgress => "in progress",
        FhirTask.TaskStatus.OnHold => "on hold",
        FhirTask.TaskStatus.EnteredInError => "entered in error",
        _ => status.ToString().ToLowerInvariant(),
    };

    /// <summary>When the step happened: after the previous change, before the visit the batch belongs to.</summary>
    private DateTime StepTime(TaskState task, int visit)
    {
        var earliest = Max(task.LastChange.AddDays(1), _visits[visit - 1].Date.AddDays(1));
        var latest = _visits[visit].Date.AddDays(-1);
        var days = Math.Max(0, (int)(latest - earliest.Date).TotalDays);
        return earliest.Date.AddDays(_random.Between(0, days)).AddHours(_random.Between(9, 17)).AddMinutes(5 * _random.Between(0, 11));
    }

    private void ApplyStep(ReferralState referral, TaskState task, TaskStep step, int visit)
    {
        DateTime when;
        if (step == TaskStep.Requested)
        {
            // The second organisation's Task is made when the first one says no.
            var rejected = referral.Tasks.FirstOrDefault(t => t != task && t.Resource?.Status == FhirTask.TaskStatus.Rejected);
            when = rejected is not null ? rejected.LastChange.AddHours(2) : referral.AuthoredOn.AddMinutes(5);
            task.Resource = NewTask(referral, task, when);
        }
        else
        {
            when = StepTime(task, visit);
        }

        var resource = task.Resource!;
        task.LastChange = when;
        resource.LastModified = FhirBuild.DateTime(when);
        resource.StatusReason = null;
        var peerWorkerRef = () => FhirBuild.Ref("PractitionerRole", task.PeerWorker!.RoleId, task.PeerWorker.Name);
        var peerWorkerAsNoteAuthor = () => FhirBuild.Ref("Practitioner", task.PeerWorker!.Id, task.PeerWorker.Name);
        switch (step)
        {
            case TaskStep.Requested:
                resource.Status = FhirTask.TaskStatus.Requested;
                break;
            case TaskStep.Received:
                resource.Status = FhirTask.TaskStatus.Received;
                resource.BusinessStatus = Codes.BusinessStatus("under-review").ToConcept();
                break;
            case TaskStep.AcceptedAwaitingMatch:
                resource.Status = FhirTask.TaskStatus.Accepted;
                resource.BusinessStatus = Codes.BusinessStatus("awaiting-match").ToConcept();
                break;
            case TaskStep.AcceptedMatched:
                resource.Status = FhirTask.TaskStatus.Accepted;
                resource.BusinessStatus = Codes.BusinessStatus("peer-matched").ToConcept();
                MatchPeerWorker(referral, task);
                SetOutput(resource, "matched-peer-worker", peerWorkerRef());
                break;
            case TaskStep.FirstContact:
                resource.Status = FhirTask.TaskStatus.InProgress;
                resource.BusinessStatus = Codes.BusinessStatus("first-contact-made").ToConcept();
                MatchPeerWorker(referral, task);
                resource.ExecutionPeriod = new Period { Start = FhirBuild.DateTime(when) };
                SetOutput(resource, "matched-peer-worker", peerWorkerRef());
                SetOutput(resource, "contact-made", new FhirDateTime(FhirBuild.DateTime(when)));
                resource.Note.Add(FhirBuild.Note(peerWorkerAsNoteAuthor(), when, _random.Pick(Phrases.PeerWorkerNotes)));
                task.Sessions = 1;
                break;
            case TaskStep.ContactAttempted:
                resource.Status = FhirTask.TaskStatus.InProgress;
                resource.BusinessStatus = Codes.BusinessStatus("contact-attempted").ToConcept();
                resource.ExecutionPeriod = new Period { Start = FhirBuild.DateTime(when) };
                resource.Note.Add(FhirBuild.Note(peerWorkerAsNoteAuthor(), when, "Phoned twice and sent a text message; no answer yet."));
                break;
            case TaskStep.Ongoing:
                resource.Status = FhirTask.TaskStatus.InProgress;
                resource.BusinessStatus = Codes.BusinessStatus("support-ongoing").ToConcept();
                task.Sessions += _random.Between(2, 5);
                SetOutput(resource, "sessions-attended", new UnsignedInt(task.Sessions));
                if (_random.Chance(0.5))
                {
                    resource.Note.Add(FhirBuild.Note(peerWorkerAsNoteAuthor(), when, _random.Pick(Phrases.PeerWorkerNotes)));
                }

                break;
            case TaskStep.OnHold:
                resource.Status = FhirTask.TaskStatus.OnHold;
                resource.BusinessStatus = Codes.BusinessStatus("support-ongoing").ToConcept();
                resource.StatusReason = new CodeableConcept { Text = "Paused at the person's request for a few weeks (in hospital)." };
                task.Sessions += _random.Between(1, 3);
                SetOutput(resource, "sessions-attended", new UnsignedInt(task.Sessions));
                resource.Note.Add(FhirBuild.Note(peerWorkerAsNoteAuthor(), when, "Agreed to pause and get back in touch when the person is home."));
                break;
            case TaskStep.Completed:
                resource.Status = FhirTask.TaskStatus.Completed;
                resource.BusinessStatus = Codes.BusinessStatus("support-ended").ToConcept();
                task.Sessions += _random.Between(2, 6);
                resource.ExecutionPeriod!.End = FhirBuild.DateTime(when);
                SetOutput(resource, "referral-outcome", Codes.ReferralOutcome(
                    _random.Weighted<string>([("engaged-goal-progress", 5), ("engaged", 3), ("partially-engaged", 2), ("transferred", 1)])).ToConcept());
                SetOutput(resource, "sessions-attended", new UnsignedInt(task.Sessions));
                SetOutput(resource, "closure-summary", new FhirString(string.Format(
                    System.Globalization.CultureInfo.InvariantCulture, _random.Pick(Phrases.ClosureSummaries), task.Sessions)));
                break;
            case TaskStep.Rejected:
                resource.Status = FhirTask.TaskStatus.Rejected;
                resource.BusinessStatus = Codes.BusinessStatus("not-taken-up").ToConcept();
                var reason = _random.Pick<string>(["outside-service-area", "no-capacity", "preferences-cannot-be-met"]);
                resource.StatusReason = Codes.StatusReason(reason).ToConcept();
                resource.Note.Add(FhirBuild.Note(FhirBuild.Ref("Organization", task.Owner.Id, task.Owner.Name), when, reason switch
                {
                    "outside-service-area" => $"We cover {task.Owner.Area} only; another peer-support organisation is closer to the person's home.",
                    "no-capacity" => "Our waiting list is closed for new referrals this quarter.",
                    _ => "We cannot offer what the person asked for at the moment.",
                }));
                break;
            case TaskStep.Cancelled:
                resource.Status = FhirTask.TaskStatus.Cancelled;
                resource.BusinessStatus = Codes.BusinessStatus("not-taken-up").ToConcept();
                // Withdrawing consent ends every referral, so only a person with this one referral withdraws it.
                var withdrawn = _referrals.Count(r => r.DuplicateOf is null) == 1 && _random.Chance(0.5);
                resource.StatusReason = Codes.StatusReason(withdrawn ? "consent-withdrawn" : "declined-by-person").ToConcept();
                resource.ExecutionPeriod = new Period { End = FhirBuild.DateTime(when) };
                SetOutput(resource, "referral-outcome", Codes.ReferralOutcome("declined").ToConcept());
                if (withdrawn && _consent.Status == Consent.ConsentState.Active)
                {
                    WithdrawConsent(visit, when.AddMinutes(-30));
                }

                break;
            case TaskStep.Failed:
                resource.Status = FhirTask.TaskStatus.Failed;
                resource.BusinessStatus = Codes.BusinessStatus("not-taken-up").ToConcept();
                resource.StatusReason = Codes.StatusReason("unable-to-contact").ToConcept();
                resource.ExecutionPeriod!.End = FhirBuild.DateTime(when);
                SetOutput(resource, "referral-outcome", Codes.ReferralOutcome("not-engaged").ToConcept());
                break;
            case TaskStep.EnteredInError:
                resource.Status = FhirTask.TaskStatus.EnteredInError;
                resource.BusinessStatus = null;
                resource.StatusReason = Codes.StatusReason("duplicate-referral").ToConcept();
                resource.Note.Add(FhirBuild.Note(FhirBuild.Ref("Organization", task.Owner.Id, task.Owner.Name), when,
                    $"Duplicate of the referral ServiceRequest/{referral.DuplicateOf!.ServiceRequestId}; handled there."));
                break;
        }

        resource.Text = TaskNarrative(referral, task);
    }

    private FhirTask NewTask(ReferralState referral, TaskState task, DateTime when)
    {
        var resource = new FhirTask
        {
            Id = task.Id,
            Meta = FhirBuild.Profile(Ig.Profiles.PeerSupportTask),
            Intent = FhirTask.TaskIntent.Order,
            Code = Codes.FulfillTask.ToConcept(),
            Focus = FhirBuild.Ref("ServiceRequest", referral.ServiceRequestId),
            For = PatientRef,
            AuthoredOn = FhirBuild.DateTime(when),
            Requester = referral.SelfReferral ? PatientRef : CoordinatorRef,
            Owner = FhirBuild.Ref("Organization", task.Owner.Id, task.Owner.Name),
        };
        resource.Input.AddRange(referral.LinkedGoals.Select(g => new FhirTask.ParameterComponent
        {
            Type = Codes.TaskParameter("linked-goal").ToConcept(),
            Value = FhirBuild.Ref("Goal", g.Id),
        }));
        resource.Input.Add(new FhirTask.ParameterComponent
        {
            Type = Codes.TaskParameter("referral-consent").ToConcept(),
            Value = FhirBuild.Ref("Consent", ConsentId),
        });
        if (referral.PreferencesResponseId is { } qr)
        {
            resource.Input.Add(new FhirTask.ParameterComponent
            {
                Type = Codes.TaskParameter("preferences-response").ToConcept(),
                Value = FhirBuild.Ref("QuestionnaireResponse", qr),
            });
        }

        return resource;
    }

    /// <summary>Sets an output (each output type at most once: the IG slices Task.output closed, 0..1 each).</summary>
    private static void SetOutput(FhirTask task, string type, DataType value)
    {
        task.Output.RemoveAll(o => o.Type.Coding.Any(c => c.Code == type));
        task.Output.Add(new FhirTask.OutputComponent { Type = Codes.TaskParameter(type).ToConcept(), Value = value });
        task.Output.Sort((a, b) => OutputOrder(a).CompareTo(OutputOrder(b)));
    }

    private static int OutputOrder(FhirTask.OutputComponent output) =>
        Array.IndexOf(["referral-outcome", "contact-made", "matched-peer-worker", "sessions-attended", "closure-summary"], output.Type.Coding[0].Code);

    private void MatchPeerWorker(ReferralState referral, TaskState task)
    {
        if (task.PeerWorker is not null)
        {
            return;
        }

        var workers = ServiceCatalogue.PeerWorkersOf(task.Owner.Id);
        var preferred = referral.Preferences.PeerGender is { } gender ? workers.Where(w => w.Gender == gender).ToList() : [];
        task.PeerWorker = _random.Pick(preferred.Count > 0 ? preferred : workers);
    }

    private void WithdrawConsent(int visit, DateTime when)
    {
        _consent.Status = Consent.ConsentState.Inactive;
        _consent.Provision!.Period!.End = FhirBuild.Date(when);
        _consent.Text = ConsentNarrative(active: false, when);
        Emit(visit, _consent);
    }

    private Narrative TaskNarrative(ReferralState referral, TaskState task)
    {
        var resource = task.Resource!;
        var parts = new List<string>
        {
            $"Status: {StatusText(resource.Status)}"
            + (resource.BusinessStatus?.Coding.FirstOrDefault()?.Display is { } business ? $" ({business.ToLowerInvariant()})" : "")
            + $", last changed {FhirBuild.Readable(task.LastChange)}"
            + (resource.StatusReason is { } reason ? $"; reason: {(reason.Coding.FirstOrDefault()?.Display ?? reason.Text)}" : "") + ".",
        };
        if (task.PeerWorker is not null && resource.Status != FhirTask.TaskStatus.Rejected)
        {
            parts.Add($"Peer worker: {task.PeerWorker.Name}." + (task.Sessions > 1 ? $" Sessions attended: {task.Sessions}." : ""));
        }

        return FhirBuild.Narrative($"Peer-support referral task",
            [$"{task.Owner.Name}, for {_person.Name}'s {(referral.SelfReferral ? "self-referral" : "referral")}.", .. parts]);
    }
}
