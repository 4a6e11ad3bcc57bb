using FhirRecovery.Samples.Catalogue;
using Hl7.Fhir.Model;

namespace FhirRecovery.Samples;

/// <summary>
/// Generates one patient's record over time. Everything is drawn from a random stream of the patient's own (seed,
/// index), so a patient is the same whatever the size of the set, and all dates derive from the start date.
/// </summary>
/// <remarks>
/// The story: at enrolment the person sets 2-6 goals with their care coordinator (goal-setting forms, a baseline
/// QPR-15), a recovery care plan is made, consent is recorded and peer-support referrals are sent. At each follow-up
/// visit (every 4-8 weeks) the goals are reviewed (goal-review form, a goal attainment rating, a new Goal version),
/// daily check-ins arrive in between, and the peer-support organisations move their Tasks on.
/// </remarks>
internal sealed partial class PatientStory
{
    private readonly int _seed;
    private readonly int _index;
    private readonly DateOnly _start;
    private readonly SampleRandom _random;
    private readonly string _pid;
    private readonly List<List<Resource>> _batches = [];

    private Person _person = null!;
    private ServiceOrganisation _clinic = null!;
    private ServiceWorker _coordinator = null!;
    private List<DateTime> _visits = [];
    private readonly List<GoalState> _goals = [];
    private readonly List<ReferralState> _referrals = [];
    private Consent _consent = null!;
    private CarePlan _plan = null!;
    private int _checkIns;

    private PatientStory(int seed, int index, DateOnly start)
    {
        _seed = seed;
        _index = index;
        _start = start;
        _random = SampleRandom.For(seed, index);
        _pid = PatientId(seed, index);
    }

    public static string PatientId(int seed, int index) => $"s{seed}-p{index:D4}";

    public static PatientRecord Generate(int seed, int index, DateOnly start)
    {
        var story = new PatientStory(seed, index, start);
        story.Plan();
        story.Tell();
        var batches = story._batches
            .Select((resources, visit) => new SampleBatch($"patient-{index:D4}-{visit:D2}", OrderForLoading(resources)))
            .Where(b => b.Resources.Count > 0)
            .ToList();
        return new PatientRecord(index, story._pid, batches);
    }

    /// <summary>Referenced types first, so a server that checks references on write finds every target already there.</summary>
    public static IReadOnlyList<Resource> OrderForLoading(IEnumerable<Resource> resources) =>
        resources.Select((r, i) => (r, i)).OrderBy(x => LoadRank(x.r.TypeName)).ThenBy(x => x.i).Select(x => x.r).ToList();

    public static int LoadRank(string type) => type switch
    {
        "Organization" => 0,
        "Practitioner" => 1,
        "PractitionerRole" => 2,
        "Patient" => 3,
        "Consent" => 4,
        "Goal" => 5,
        "QuestionnaireResponse" => 6,
        "ServiceRequest" => 7,
        "Task" => 8,
        "CarePlan" => 9,
        "Group" => 10, // the cohorts: after their members
        _ => 11,
    };

    private int LastVisit => _visits.Count - 1;

    private string ConsentId => $"{_pid}-referral-consent";

    private ResourceReference PatientRef => FhirBuild.Ref("Patient", _pid, _person.Name);

    private ResourceReference CoordinatorRef => FhirBuild.Ref("PractitionerRole", _coordinator.RoleId, _coordinator.Name);

    /// <summary>Annotation authors cannot be PractitionerRoles in R4: notes name the Practitioner.</summary>
    private ResourceReference CoordinatorAsNoteAuthor => FhirBuild.Ref("Practitioner", _coordinator.Id, _coordinator.Name);

    /// <summary>Adds a snapshot of the resource to a visit's batch: later changes to the object make later versions.</summary>
    private void Emit(int visit, Resource resource) => _batches[visit].Add((Resource)resource.DeepCopy());

    // ---------------------------------------------------------------------------------------------------------------
    // Planning: who the person is, which goals and referral paths they get, when the visits are.
    // ---------------------------------------------------------------------------------------------------------------

    private void Plan()
    {
        _person = Person.Create(_random, _seed, _index);
        _clinic = _random.Pick(ServiceCatalogue.Clinics);
        _coordinator = _random.Pick(ServiceCatalogue.CareCoordinatorsOf(_clinic.Id));

        PlanGoals();
        var referralPlans = PlanReferralPaths();

        // Enough follow-ups for the longest referral path; 2-4 otherwise.
        var followUps = Math.Max(_random.Between(2, 4), referralPlans.Max(p => p.Span) - 1);
        var enrolment = _start.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).AddDays(_random.Between(0, 150));
        _visits = [AtWorkingHours(enrolment)];
        for (var i = 0; i < followUps; i++)
        {
            _visits.Add(AtWorkingHours(_visits[^1].Date.AddDays(_random.Between(28, 56))));
        }

        for (var i = 0; i < _visits.Count; i++)
        {
            _batches.Add([]);
        }

        var number = 0;
        foreach (var plan in referralPlans)
        {
            var startVisit = plan.Alignment switch
            {
                Alignment.Early => 0,
                Alignment.Late => LastVisit - (plan.Span - 1),
                _ => _random.Between(0, LastVisit - (plan.Span - 1)),
            };
            _referrals.Add(CreateReferral(++number, plan.Path, startVisit, duplicateOf: null));
            if (plan.WithDuplicate)
            {
                _referrals.Add(CreateReferral(++number, ReferralPath.Duplicate, startVisit, duplicateOf: _referrals[^1]));
            }
        }

        foreach (var goal in _goals)
        {
            goal.PlanTrajectory(_random, LastVisit);
        }
    }

    private DateTime AtWorkingHours(DateTime day) => day.Date.AddHours(9).AddMinutes(30 * _random.Between(0, 14));

    private void PlanGoals()
    {
        // The first goal's recovery domain rotates with the patient index, so any four consecutive patients cover all
        // four domains; the others follow the spread seen in practice (mostly personally defined recovery and citizenship).
        var count = _random.Weighted<int>([(2, 4), (3, 5), (4, 3), (5, 1), (6, 1)]);
        var firstDomain = RecoveryFramework.Domains[(int)((_index - 1L + _seed) % 4)];
        var chosen = new List<GoalTemplate> { _random.Pick(GoalTemplates.For(firstDomain)) };
        while (chosen.Count < count)
        {
            var domain = _random.Weighted<RecoveryDomain>(
            [
                (RecoveryDomain.SupportingPersonallyDefinedRecovery, 4),
                (RecoveryDomain.PromotingCitizenship, 4),
                (RecoveryDomain.WorkingRelationship, 2),
                (RecoveryDomain.OrganisationalCommitment, 1),
            ]);
            var template = _random.Pick(GoalTemplates.For(domain));
            if (!chosen.Contains(template))
            {
                chosen.Add(template);
            }
        }

        for (var i = 0; i < chosen.Count; i++)
        {
            _goals.Add(new GoalState($"{_pid}-goal-{i + 1}", i + 1, chosen[i]));
        }
    }

    private List<ReferralPlan> PlanReferralPaths()
    {
        // The primary referral's path rotates with the patient index, so any ten consecutive patients show every Task
        // state the IG allows; some people get a second referral on a common path.
        var paths = new List<ReferralPlan>();
        var rotated = PathRotation[(int)((_index - 1L + _seed) % PathRotation.Length)];
        if (rotated == ReferralPath.Duplicate)
        {
            paths.Add(ReferralPlan.For(_random.Pick<ReferralPath>([ReferralPath.Completed, ReferralPath.InProgress]), withDuplicate: true));
        }
        else
        {
            paths.Add(ReferralPlan.For(rotated));
        }

        if (_random.Chance(0.25))
        {
            paths.Add(ReferralPlan.For(_random.Weighted<ReferralPath>(
            [
                (ReferralPath.Completed, 3), (ReferralPath.InProgress, 3), (ReferralPath.Accepted, 1),
                (ReferralPath.Requested, 1), (ReferralPath.Received, 1), (ReferralPath.Cancelled, 1),
            ])));
        }

        return paths;
    }

    private static readonly ReferralPath[] PathRotation =
    [
        ReferralPath.Completed, ReferralPath.InProgress, ReferralPath.Rejected, ReferralPath.Accepted,
        ReferralPath.Cancelled, ReferralPath.OnHold, ReferralPath.Requested, ReferralPath.Failed,
        ReferralPath.Received, ReferralPath.Duplicate,
    ];

    // ---------------------------------------------------------------------------------------------------------------
    // Telling: visit by visit.
    // ---------------------------------------------------------------------------------------------------------------

    private void Tell()
    {
        for (var visit = 0; visit <= LastVisit; visit++)
        {
            if (visit == 0)
            {
                Emit(0, CreatePatient());
                _consent = CreateConsent();
                Emit(0, _consent);
                foreach (var goal in _goals)
                {
                    StartGoal(goal);
                }

                Emit(0, CreateQpr(0));
                Emit(0, CreateChimeCheck(0));
            }
            else
            {
                AddCheckIns(visit);
                foreach (var goal in _goals.Where(g => !g.Closed))
                {
                    FollowUpGoal(goal, visit);
                }

                // The recovery measure at enrolment, half-way (longer follow-ups) and at the last visit.
                if (visit == LastVisit || (LastVisit >= 4 && visit == LastVisit / 2))
                {
                    Emit(visit, CreateQpr(visit));
                    Emit(visit, CreateChimeCheck(visit));
                }

                // How recovery-oriented the support felt, once, at the last visit.
                if (visit == LastVisit)
                {
                    Emit(visit, CreateSelfAssessment(visit));
                }
            }

            foreach (var referral in _referrals)
            {
                AdvanceReferral(referral, visit);
            }

            UpdateCarePlan(visit);
        }
    }

    private Patient CreatePatient()
    {
        var language = Codes.Language(_person.Language);
        return new Patient
        {
            Id = _pid,
            Text = FhirBuild.Narrative(null,
                $"{_person.Name} (fictional), born {FhirBuild.Date(_person.BirthDate)}, {_person.GenderText}. Speaks {language.Display}. "
                + $"Receives care from {_clinic.Name}."),
            Identifier = [new Identifier($"https://{_clinic.Id}.example.org/patient-id", $"S{_seed}-{_index:D5}")],
            Active = true,
            Name = [new HumanName { Use = HumanName.NameUse.Official, Family = _person.Family, Given = [_person.Given] }],
            Gender = _person.Gender,
            BirthDate = FhirBuild.Date(_person.BirthDate),
            Communication = [new Patient.CommunicationComponent { Language = language.ToConcept(), Preferred = true }],
            ManagingOrganization = FhirBuild.Ref("Organization", _clinic.Id, _clinic.Name),
        };
    }

    private Consent CreateConsent()
    {
        var signed = _visits[0].AddMinutes(20);
        return new Consent
        {
            Id = ConsentId,
            Text = ConsentNarrative(active: true, signed),
            Status = Consent.ConsentState.Active,
            Scope = new Code(Ig.Systems.ConsentScope, "patient-privacy", "Privacy Consent").ToConcept(),
            Category = [new Code(Ig.Systems.Loinc, "59284-0", "Patient Consent").ToConcept()],
            Patient = FhirBuild.Ref("Patient", _pid),
            DateTime = FhirBuild.DateTime(signed),
            Performer = [FhirBuild.Ref("Patient", _pid)],
            Organization = [FhirBuild.Ref("Organization", _clinic.Id)],
            Policy = [new Consent.PolicyComponent { Uri = Ig.PeerSupportSharingPolicy }],
            Provision = new Consent.provisionComponent
            {
                Type = Consent.ConsentProvisionType.Permit,
                Period = new Period(new FhirDateTime(FhirBuild.Date(signed)), new FhirDateTime(FhirBuild.Date(signed.AddYears(2)))),
                Action = [new Code(Ig.Systems.ConsentAction, "disclose", "Disclose").ToConcept()],
                Purpose = [new Coding(Ig.Systems.ActReason, "TREAT", "treatment")],
            },
        };
    }

    private Narrative ConsentNarrative(bool active, DateTime when) => active
        ? FhirBuild.Narrative(null,
            $"{_person.Name} agrees to be referred to peer support and to the referral information being shared with "
            + $"peer-support organisations for that purpose, from {FhirBuild.Readable(when)} for two years.")
        : FhirBuild.Narrative(null,
            $"{_person.Name} withdrew consent to sharing referral information with peer-support organisations on {FhirBuild.Readable(when)}.");

    private void UpdateCarePlan(int visit)
    {
        var activities = _referrals
            .Where(r => r.DuplicateOf is null && r.StartVisit <= visit)
            .Select(r => r.ServiceRequestId)
            .ToList();
        var allGoalsClosed = _goals.All(g => g.Closed);
        if (visit == 0)
        {
            _plan = new CarePlan
            {
                Id = $"{_pid}-recovery-plan",
                Meta = FhirBuild.Profile(Ig.Profiles.RecoveryCarePlan),
                Extension =
                [
                    FhirBuild.Complex(Ig.Extensions.StrengthsAndSupports,
                        ("kind", Codes.StrengthOrSupport(_goals[0].Template.Strength.Kind).ToConcept()),
                        ("description", new FhirString(_goals[0].Template.Strength.Description))),
                ],
                Status = RequestStatus.Active,
                Intent = CarePlan.CarePlanIntent.Plan,
                Category = [Codes.RecoveryCarePlan.ToConcept()],
                Title = $"{_person.Given}'s recovery plan",
                Subject = PatientRef,
                Period = new Period { Start = FhirBuild.Date(_visits[0]) },
                Created = FhirBuild.Date(_visits[0]),
                Author = CoordinatorRef,
                Contributor = [PatientRef, CoordinatorRef],
                Goal = _goals.Select(g => FhirBuild.Ref("Goal", g.Id)).ToList(),
            };
        }
        else
        {
            var changed = activities.Count != _plan.Activity.Count || (allGoalsClosed && _plan.Status == RequestStatus.Active);
            if (!changed)
            {
                return;
            }
        }

        _plan.Activity = activities
            .Select(id => new CarePlan.ActivityComponent { Reference = FhirBuild.Ref("ServiceRequest", id, "Referral to peer support") })
            .ToList();
        if (allGoalsClosed)
        {
            _plan.Status = RequestStatus.Completed;
            _plan.Period!.End = FhirBuild.Date(_visits[visit]);
        }

        var lines = _goals.Select(g => $"Goal: {g.Template.Text}").Concat(activities.Select(_ => "Activity: referral to peer support"));
        _plan.Text = FhirBuild.Narrative($"Recovery care plan for {_person.Name}",
            [$"Made by {_person.Given} with care coordinator {_coordinator.Name} on {FhirBuild.Readable(_visits[0])}"
             + (allGoalsClosed ? $"; completed on {FhirBuild.Readable(_visits[visit])}." : "."), .. lines]);
        Emit(visit, _plan);
    }
}

/// <summary>The fictional person behind a Patient.</summary>
internal sealed record Person(string Given, string Family, AdministrativeGender Gender, DateOnly BirthDate, string Language)
{
    public string Name => $"{Given} {Family}";

    public string GenderText => Gender switch
    {
        AdministrativeGender.Female => "female",
        AdministrativeGender.Male => "male",
        _ => "gender recorded as other",
    };

    public static Person Create(SampleRandom random, int seed, int index)
    {
        var gender = random.Weighted<AdministrativeGender>([(AdministrativeGender.Female, 48), (AdministrativeGender.Male, 46), (AdministrativeGender.Other, 6)]);
        var given = random.Pick(gender switch
        {
            AdministrativeGender.Female => Names.Female,
            AdministrativeGender.Male => Names.Male,
            _ => Names.Neutral,
        });
        var birth = new DateOnly(1955, 1, 1).AddDays(random.Between(0, 365 * 50));
        return new Person(given, random.Pick(Names.Family), gender, birth, random.Weighted(Names.Languages));
    }
}
