using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FhirRecovery.Server.Tests.Infrastructure;
using FhirRecovery.Testing;
using Hl7.Fhir.Model;
using Xunit.Abstractions;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Security;

/// <summary>One patient's data in the BOLA matrix; every id and text in it is unique, so any of it in an answer is a leak.</summary>
public sealed record BolaPatient(string Patient, string Family, string Goal, string DeletableGoal, string Survey, string Task, string Response, string CarePlan,
    string GoalText, string Referral, string Message, string MessageText)
{
    /// <summary>What must never appear in an answer to the other patient (unless the request itself named it).</summary>
    public IEnumerable<string> Secrets => [Patient, Family, Goal, DeletableGoal, Survey, Task, Response, CarePlan, GoalText, Referral, Message, MessageText];
}

/// <summary>
/// One row of the matrix: an interaction or search feature, built for a target patient (the caller's own, or the other).
/// <see cref="Shows"/> picks what the caller's own answer must contain (the positive control: the probe is not vacuous).
/// </summary>
public sealed record BolaProbe(string Name, Func<BolaPatient, HttpRequestMessage> Request, Func<BolaPatient, string?> Shows, bool Writes = false);

/// <summary>
/// The BOLA (broken object-level authorization) matrix: two patients × every interaction and search feature × SMART v1,
/// v2 and user-level scopes. With patient A in context, each probe aimed at patient B must be denied (403/404) or answer
/// without any of B's data (ids, names, texts, counts); aimed at A it must work. Writes aimed at B must leave B's data
/// unchanged. New interactions are one line in <see cref="Probes"/>.
/// </summary>
public abstract class BolaMatrixTests(FhirServerFixture fixture, ITestOutputHelper output)
{
    private const string AppClient = "bola-app";
    private const string AdminClient = "bola-admin";
    private static readonly SemaphoreSlim SeedLock = new(1, 1);
    private static readonly Dictionary<FhirServerFixture, (BolaPatient A, BolaPatient B, string Practitioner)> Seeded = [];

    /// <summary>Scope sets the caller gets (the patient in context is A; the user-level row acts as patient A's own login).</summary>
    public static readonly (string Name, string Scopes, bool PatientContext)[] ScopeVariants =
    [
        ("SMART v1 patient/*.read+write", "launch/patient patient/*.read patient/*.write", true),
        ("SMART v2 patient/*.cruds", "launch/patient patient/*.cruds", true),
        ("SMART v2 per type", "launch/patient patient/Patient.rs patient/Goal.cruds patient/Observation.rs patient/Task.rs patient/QuestionnaireResponse.rs "
                              + "patient/CarePlan.rs patient/Provenance.rs patient/AuditEvent.rs patient/Practitioner.rs patient/ServiceRequest.rs patient/Communication.rs "
                              + "patient/Questionnaire.rs patient/Consent.rs patient/Condition.rs", true),
        ("SMART v2 user/*.cruds as patient user", "openid fhirUser user/*.cruds", false),
    ];

    private const string GoalReview = "https://fhirrecovery.org/fhir/Questionnaire/recovery-goal-review|0.1.0";

    private static HttpRequestMessage Get(string url) => new(HttpMethod.Get, url);

    /// <summary>Patient A's app: A in context, or (user scopes) A's own login.</summary>
    private static string CallerToken((string Name, string Scopes, bool PatientContext) variant, BolaPatient a) => variant.PatientContext
        ? TestTokens.Mint(variant.Scopes, patient: a.Patient, clientId: AppClient)
        : TestTokens.Mint(variant.Scopes, fhirUser: $"http://localhost/fhir/Patient/{a.Patient}", clientId: AppClient);

    private static HttpRequestMessage Send(HttpMethod method, string url, Resource? body = null, string? mediaType = null, string? text = null)
    {
        var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = FhirHttp.Body(body);
        }
        else if (text is not null)
        {
            request.Content = FhirHttp.Body(text, mediaType ?? FhirHttp.Json);
        }

        return request;
    }

    private static Bundle Batch(Bundle.BundleType type, params (Bundle.HTTPVerb Method, string Url, Resource? Resource)[] entries) => new()
    {
        Type = type,
        Entry = entries.Select(e => new Bundle.EntryComponent
        {
            FullUrl = e.Resource is null ? null : $"urn:uuid:{Guid.NewGuid()}",
            Resource = e.Resource,
            Request = new Bundle.RequestComponent { Method = e.Method, Url = e.Url },
        }).ToList(),
    };

    private static Goal GoalFor(string patient, string id, string text)
    {
        var goal = Goal($"Patient/{patient}", text);
        goal.Id = id;
        return goal;
    }

    /// <summary>Every interaction and search feature of the REST API. Add a row for each new one.</summary>
    public static IReadOnlyList<BolaProbe> Probes(string practitioner) =>
    [
        // Instance level
        new("read Patient", t => Get($"Patient/{t.Patient}"), t => t.Family),
        new("read Goal", t => Get($"Goal/{t.Goal}"), t => t.GoalText),
        new("read Goal with _elements", t => Get($"Goal/{t.Goal}?_elements=description"), t => t.GoalText),
        new("vread Goal", t => Get($"Goal/{t.Goal}/_history/1"), t => t.GoalText),
        new("history of a Goal", t => Get($"Goal/{t.Goal}/_history"), t => t.GoalText),
        new("read Observation", t => Get($"Observation/{t.Survey}"), t => t.Survey),
        new("read Task", t => Get($"Task/{t.Task}"), t => t.Task),
        new("read QuestionnaireResponse", t => Get($"QuestionnaireResponse/{t.Response}"), t => t.Response),
        new("read CarePlan", t => Get($"CarePlan/{t.CarePlan}"), t => t.CarePlan),
        new("$validate of a stored Goal", t => Get($"Goal/{t.Goal}/$validate"), _ => "OperationOutcome"),
        new("conditional read (If-None-Match)", t =>
        {
            var request = Get($"Goal/{t.Goal}");
            request.Headers.TryAddWithoutValidation("If-None-Match", "W/\"999\"");
            return request;
        }, t => t.GoalText),

        // Type and system level history
        new("history of Goal type", _ => Get("Goal/_history?_count=50"), _ => "\"history\""),
        new("history of the system", _ => Get("_history?_count=50"), _ => "\"history\""),

        // Search
        new("search Goal by patient", t => Get($"Goal?patient=Patient/{t.Patient}"), t => t.Goal),
        new("search Goal by subject id", t => Get($"Goal?subject={t.Patient}"), t => t.Goal),
        new("search Goal by _id", t => Get($"Goal?_id={t.Goal}"), t => t.Goal),
        new("search Goal, no criteria", _ => Get("Goal?_count=100"), t => t.Goal),
        new("search Goal, _total=accurate", t => Get($"Goal?subject=Patient/{t.Patient}&_total=accurate"), t => t.Goal),
        new("search Goal, _summary=count", t => Get($"Goal?subject=Patient/{t.Patient}&_summary=count"), _ => "\"total\""),
        new("search Goal, _sort", t => Get($"Goal?subject=Patient/{t.Patient}&_sort=-_lastUpdated"), t => t.Goal),
        new("search Observation by category", t => Get($"Observation?subject=Patient/{t.Patient}&category=survey"), t => t.Survey),
        new("search Task by patient", t => Get($"Task?patient=Patient/{t.Patient}"), t => t.Task),
        new("search QuestionnaireResponse", t => Get($"QuestionnaireResponse?subject=Patient/{t.Patient}"), t => t.Response),
        new("search Patient by name", t => Get($"Patient?family={t.Family}"), t => t.Patient),
        new("search Patient, no criteria", _ => Get("Patient?_count=100"), t => t.Patient),
        new("search via POST _search", t => Send(HttpMethod.Post, "Goal/_search", text: $"subject=Patient/{t.Patient}", mediaType: "application/x-www-form-urlencoded"), t => t.Goal),
        new("compartment search Patient/x/Goal", t => Get($"Patient/{t.Patient}/Goal"), t => t.Goal),
        new("compartment search Patient/x/*", t => Get($"Patient/{t.Patient}/*?_type=Goal,Task,CarePlan&_count=50"), t => t.Goal),
        new("system search _type", _ => Get("?_type=Goal,Observation&_count=100"), t => t.Goal),
        new("system search with patient criteria", t => Get($"?_type=Goal&patient=Patient/{t.Patient}"), t => t.Goal),
        new("_include Goal:subject", t => Get($"Goal?_id={t.Goal}&_include=Goal:subject"), t => t.Family),
        new("_include of a shared Practitioner", t => Get($"Goal?subject=Patient/{t.Patient}&_include=Goal:expressed-by"), t => t.Goal),
        new("_revinclude Goal:subject", t => Get($"Patient?_id={t.Patient}&_revinclude=Goal:subject"), t => t.Goal),
        new("_revinclude from a shared Practitioner", _ => Get($"Practitioner?_id={practitioner}&_revinclude=Goal:expressed-by"), t => practitioner),
        new("_include:iterate", t => Get($"Task?_id={t.Task}&_include=Task:focus&_include:iterate=Goal:subject"), t => t.Family),
        new("_revinclude:iterate", t => Get($"Patient?_id={t.Patient}&_revinclude=Goal:subject&_revinclude:iterate=Task:focus"), t => t.Task),
        new("_has", t => Get($"Patient?_has:Goal:subject:_id={t.Goal}"), t => t.Patient),
        new("_has with criteria on the patient", t => Get($"Patient?_id={t.Patient}&_has:Goal:subject:lifecycle-status=active"), t => t.Patient),
        new("chain subject:Patient.family", t => Get($"Goal?subject:Patient.family={t.Family}"), t => t.Goal),
        new("chain subject.family (untyped)", t => Get($"Goal?patient.family={t.Family}"), t => t.Goal),
        new("chain two levels Task focus→Goal→Patient", t => Get($"Task?focus:Goal.subject:Patient.family={t.Family}"), t => t.Task),
        new("Provenance of a Goal", t => Get($"Provenance?target=Goal/{t.Goal}"), _ => "Bundle"),
        new("AuditEvent by patient", t => Get($"AuditEvent?patient=Patient/{t.Patient}"), _ => "Bundle"),

        // Recovery messages (recovery-communication): by patient, goal, referral and about, and what they refer to
        new("read Communication", t => Get($"Communication/{t.Message}"), t => t.MessageText),
        new("read ServiceRequest (referral)", t => Get($"ServiceRequest/{t.Referral}"), t => t.Referral),
        new("search Communication by patient", t => Get($"Communication?patient=Patient/{t.Patient}"), t => t.MessageText),
        new("search Communication by goal", t => Get($"Communication?goal=Goal/{t.Goal}"), t => t.MessageText),
        new("search Communication by referral", t => Get($"Communication?referral=ServiceRequest/{t.Referral}"), t => t.MessageText),
        new("search Communication by about", t => Get($"Communication?about=Goal/{t.Goal}"), t => t.MessageText),
        new("chain Communication about:Goal.subject", t => Get($"Communication?about:Goal.subject=Patient/{t.Patient}"), t => t.MessageText),
        new("_include Communication:about", t => Get($"Communication?_id={t.Message}&_include=Communication:about"), t => t.GoalText),
        new("_revinclude Communication:about", t => Get($"Goal?_id={t.Goal}&_revinclude=Communication:about"), t => t.MessageText),
        new("_has Communication:about", t => Get($"Goal?_has:Communication:about:_id={t.Message}"), t => t.GoalText),

        // Operations
        new("$recovery-summary", t => Get($"Patient/{t.Patient}/$recovery-summary"), t => t.MessageText),
        new("$recovery-summary as HTML", t => Get($"Patient/{t.Patient}/$recovery-summary?_format=html"), t => t.GoalText),
        new("$recovery-summary (POST)", t => Send(HttpMethod.Post, $"Patient/{t.Patient}/$recovery-summary", new Parameters()), t => t.GoalText),
        new("$export-ehr (US Core)", t => Get($"Patient/{t.Patient}/$export-ehr"), t => t.GoalText),
        new("$export-ehr (C-CDA)", t => Get($"Patient/{t.Patient}/$export-ehr?format=ccda"), t => t.GoalText),
        new("$extract of a stored response", t => Get($"QuestionnaireResponse/{t.Response}/$extract"), t => t.Response),
        new("$populate for the patient", t => Get($"Questionnaire/recovery-goal-review/$populate?subject=Patient/{t.Patient}"), t => t.GoalText),
        new("$populate for the caller with the patient's goal in context", t => Send(HttpMethod.Post, "Questionnaire/$populate", new Parameters
        {
            Parameter =
            [
                new() { Name = "canonical", Value = new Canonical(GoalReview) },
                new() { Name = "subject", Value = new ResourceReference("Patient/CALLER") },
                new() { Name = "context", Part = [new() { Name = "name", Value = new FhirString("goal") }, new() { Name = "content", Value = new ResourceReference($"Goal/{t.Goal}") }] },
            ],
        }), _ => "QuestionnaireResponse"),

        // Batch and transaction entries
        new("batch GET read", t => Send(HttpMethod.Post, "", Batch(Bundle.BundleType.Batch, (Bundle.HTTPVerb.GET, $"Goal/{t.Goal}", null))), t => t.GoalText),
        new("batch GET search", t => Send(HttpMethod.Post, "", Batch(Bundle.BundleType.Batch, (Bundle.HTTPVerb.GET, $"Goal?subject=Patient/{t.Patient}", null))), t => t.Goal),
        new("batch GET history", t => Send(HttpMethod.Post, "", Batch(Bundle.BundleType.Batch, (Bundle.HTTPVerb.GET, $"Goal/{t.Goal}/_history", null))), t => t.Goal),
        new("transaction GET read", t => Send(HttpMethod.Post, "", Batch(Bundle.BundleType.Transaction, (Bundle.HTTPVerb.GET, $"Goal/{t.Goal}", null))), t => t.GoalText),
        new("transaction GET vread", t => Send(HttpMethod.Post, "", Batch(Bundle.BundleType.Transaction, (Bundle.HTTPVerb.GET, $"Goal/{t.Goal}/_history/1", null))), t => t.GoalText),

        // Writes
        new("update (PUT)", t => Send(HttpMethod.Put, $"Goal/{t.Goal}", GoalFor(t.Patient, t.Goal, t.GoalText)), t => t.Goal, Writes: true),
        new("update moving a goal to the caller", t => Send(HttpMethod.Put, $"Goal/{t.Goal}", GoalFor("CALLER", t.Goal, t.GoalText)), t => t.Goal, Writes: true),
        new("patch (JSON Patch)", t => Send(HttpMethod.Patch, $"Goal/{t.Goal}", mediaType: "application/json-patch+json",
            text: $"[{{\"op\":\"replace\",\"path\":\"/description/text\",\"value\":\"{t.GoalText}\"}}]"), t => t.Goal, Writes: true),
        new("delete", t => Send(HttpMethod.Delete, $"Goal/{t.DeletableGoal}"), _ => null, Writes: true),
        new("conditional delete", t => Send(HttpMethod.Delete, $"Goal?_id={t.DeletableGoal}"), _ => null, Writes: true),
        new("conditional update", t => Send(HttpMethod.Put, $"Goal?_id={t.Goal}", GoalFor(t.Patient, t.Goal, t.GoalText)), t => t.Goal, Writes: true),
        new("conditional patch", t => Send(HttpMethod.Patch, $"Goal?_id={t.Goal}", mediaType: "application/json-patch+json",
            text: $"[{{\"op\":\"replace\",\"path\":\"/description/text\",\"value\":\"{t.GoalText}\"}}]"), t => t.Goal, Writes: true),
        new("create for the patient", t => Send(HttpMethod.Post, "Goal", Goal($"Patient/{t.Patient}", "Created by the probe")), _ => "Created by the probe", Writes: true),
        new("conditional create matching the patient's goal", t =>
        {
            var request = Send(HttpMethod.Post, "Goal", Goal($"Patient/{t.Patient}", "Conditional probe"));
            request.Headers.TryAddWithoutValidation("If-None-Exist", $"_id={t.Goal}");
            return request;
        }, _ => "Goal", Writes: true),
        new("transaction PUT", t => Send(HttpMethod.Post, "", Batch(Bundle.BundleType.Transaction, (Bundle.HTTPVerb.PUT, $"Goal/{t.Goal}", GoalFor(t.Patient, t.Goal, t.GoalText)))),
            t => t.Goal, Writes: true),
        new("batch DELETE", t => Send(HttpMethod.Post, "", Batch(Bundle.BundleType.Batch, (Bundle.HTTPVerb.DELETE, $"Goal/{t.DeletableGoal}", null))), _ => "batch-response",
            Writes: true),
    ];

    private async Task<(BolaPatient A, BolaPatient B, string Practitioner)> SeedAsync()
    {
        await SeedLock.WaitAsync();
        try
        {
            if (Seeded.TryGetValue(fixture, out var seeded))
            {
                return seeded;
            }

            var admin = fixture.ClientWith(TestTokens.Mint("system/*.cruds", clientId: AdminClient));
            var practitioner = new Practitioner { Id = Unique("bola-prac"), Name = [new HumanName { Family = "Shared" }] };
            await (await admin.PutAsync($"Practitioner/{practitioner.Id}", practitioner)).AssertStatusAsync(HttpStatusCode.Created);
            seeded = (await SeedPatientAsync(admin, "A", practitioner.Id), await SeedPatientAsync(admin, "B", practitioner.Id), practitioner.Id);
            Seeded[fixture] = seeded;
            return seeded;
        }
        finally
        {
            SeedLock.Release();
        }
    }

    private static async Task<BolaPatient> SeedPatientAsync(HttpClient admin, string label, string practitioner)
    {
        var tag = Guid.NewGuid().ToString("N")[..10];
        var patient = Patient(family: $"Fam{label}{tag}");
        patient.Id = $"bola-{label.ToLowerInvariant()}-{tag}";
        await (await admin.PutAsync($"Patient/{patient.Id}", patient)).AssertStatusAsync(HttpStatusCode.Created);
        var goalText = $"GoalSecret{label}{tag}";
        var goal = Goal($"Patient/{patient.Id}", goalText);
        goal.ExpressedBy = new ResourceReference($"Practitioner/{practitioner}");
        var goalId = (await (await admin.PostAsync("Goal", goal)).ReadAsync<Goal>()).Id;
        var survey = (await (await admin.PostAsync("Observation", TokenAndScopeTests.Observation(patient.Id, "survey"))).ReadAsync<Observation>()).Id;
        var task = new Hl7.Fhir.Model.Task
        {
            Status = Hl7.Fhir.Model.Task.TaskStatus.Requested,
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            For = new ResourceReference($"Patient/{patient.Id}"),
            Focus = new ResourceReference($"Goal/{goalId}"),
            Description = $"Task of {label}",
        };
        var taskId = (await (await admin.PostAsync("Task", task)).ReadAsync<Hl7.Fhir.Model.Task>()).Id;
        // A goal review (scored, extractable), so $extract and the summary have something of the patient's to show.
        var response = new QuestionnaireResponse
        {
            Questionnaire = GoalReview,
            Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
            Subject = new ResourceReference($"Patient/{patient.Id}"),
            Authored = "2026-04-01T10:00:00+02:00",
            Item =
            [
                new() { LinkId = "goal", Answer = [new() { Value = new ResourceReference($"Goal/{goalId}") }] },
                new() { LinkId = "progress", Answer = [new() { Value = new Integer(6) }] },
                new() { LinkId = "attainment", Answer = [new() { Value = new Integer(1) }] },
            ],
        };
        var responseId = (await (await admin.PostAsync("QuestionnaireResponse", response)).ReadAsync<QuestionnaireResponse>()).Id;
        var carePlan = new CarePlan
        {
            Status = RequestStatus.Active,
            Intent = CarePlan.CarePlanIntent.Plan,
            Subject = new ResourceReference($"Patient/{patient.Id}"),
            Goal = [new ResourceReference($"Goal/{goalId}")],
        };
        var carePlanId = (await (await admin.PostAsync("CarePlan", carePlan)).ReadAsync<CarePlan>()).Id;
        var referral = new ServiceRequest
        {
            Status = RequestStatus.Active,
            Intent = RequestIntent.Order,
            Subject = new ResourceReference($"Patient/{patient.Id}"),
            Code = new CodeableConcept { Text = "Peer support" },
            SupportingInfo = [new ResourceReference($"Goal/{goalId}")],
        };
        var referralId = (await (await admin.PostAsync("ServiceRequest", referral)).ReadAsync<ServiceRequest>()).Id;
        var messageText = $"MessageSecret{label}{tag}";
        var message = new Communication
        {
            Status = EventStatus.Completed,
            Subject = new ResourceReference($"Patient/{patient.Id}"),
            Sender = new ResourceReference($"Patient/{patient.Id}"),
            Recipient = [new ResourceReference($"Practitioner/{practitioner}")],
            About = [new ResourceReference($"Goal/{goalId}"), new ResourceReference($"ServiceRequest/{referralId}")],
            Sent = "2026-04-02T09:00:00Z",
            Payload = [new Communication.PayloadComponent { Content = new FhirString(messageText) }],
        };
        var messageId = (await (await admin.PostAsync("Communication", message)).ReadAsync<Communication>()).Id;
        return new BolaPatient(patient.Id, patient.Name[0].Family, goalId, "", survey, taskId, responseId, carePlanId, goalText, referralId, messageId, messageText);
    }

    private static async Task<BolaPatient> WithDeletableGoalAsync(HttpClient admin, BolaPatient patient)
    {
        var goal = await (await admin.PostAsync("Goal", Goal($"Patient/{patient.Patient}", "Deletable"))).ReadAsync<Goal>();
        return patient with { DeletableGoal = goal.Id };
    }

    [StoreFact]
    public Task Smart_v1_patient_scopes() => RunMatrixAsync(ScopeVariants[0]);

    [StoreFact]
    public Task Smart_v2_patient_scopes() => RunMatrixAsync(ScopeVariants[1]);

    [StoreFact]
    public Task Smart_v2_per_type_scopes() => RunMatrixAsync(ScopeVariants[2]);

    [StoreFact]
    public Task Smart_v2_user_scopes_of_a_patient_user() => RunMatrixAsync(ScopeVariants[3]);

    [StoreFact]
    public async Task The_callers_own_message_about_the_other_patients_goal_does_not_bring_that_goal_along()
    {
        var (a, b, practitioner) = await SeedAsync();
        var admin = fixture.ClientWith(TestTokens.Mint("system/*.cruds", clientId: AdminClient));
        var text = $"About the goal of another person {Unique("m")}";
        var message = new Communication
        {
            Status = EventStatus.Completed,
            Subject = new ResourceReference($"Patient/{a.Patient}"),
            Sender = new ResourceReference($"Patient/{a.Patient}"),
            Recipient = [new ResourceReference($"Practitioner/{practitioner}")],
            About = [new ResourceReference($"Goal/{b.Goal}")],
            Sent = "2026-04-03T09:00:00Z",
            Payload = [new Communication.PayloadComponent { Content = new FhirString(text) }],
        };
        var id = (await (await admin.PostAsync("Communication", message)).ReadAsync<Communication>()).Id;

        foreach (var variant in ScopeVariants)
        {
            var caller = fixture.ClientWith(CallerToken(variant, a));
            foreach (var query in new[]
                     {
                         $"Communication?_id={id}&_include=Communication:about", $"Communication?about=Goal/{b.Goal}&_include=Communication:about",
                         $"Communication?_id={id}&_include=Communication:about&_include:iterate=Goal:subject",
                         $"Patient/{a.Patient}/$recovery-summary", $"Patient/{a.Patient}/$recovery-summary?_format=html",
                     })
            {
                var response = await caller.GetAsync(query);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, $"{variant.Name}: {query}: {(int)response.StatusCode} {Short(body)}");
                Assert.True(body.Contains(text, StringComparison.Ordinal), $"{variant.Name}: {query} does not show the caller's own message");
                Assert.False(body.Contains(b.GoalText, StringComparison.Ordinal) || body.Contains(b.Family, StringComparison.Ordinal),
                    $"{variant.Name}: {query} shows the other patient's goal: {Short(body)}");
            }
        }
    }

    [StoreFact]
    public async Task Population_counts_are_refused_to_a_token_confined_to_one_patient()
    {
        var (a, _, _) = await SeedAsync();
        foreach (var variant in ScopeVariants)
        {
            var caller = fixture.ClientWith(CallerToken(variant, a));
            var outcome = await (await caller.GetAsync("$recovery-orientation")).AssertOutcomeAsync(HttpStatusCode.Forbidden);
            Assert.Contains("counts every person's", outcome.Issue[0].Diagnostics, StringComparison.Ordinal);
        }

        var region = fixture.ClientWith(TestTokens.Mint("system/*.rs", clientId: AdminClient));
        await (await region.GetAsync("$recovery-orientation")).AssertStatusAsync(HttpStatusCode.OK);
        var constrained = fixture.ClientWith(TestTokens.Mint("system/Patient.rs system/Goal.rs?lifecycle-status=active system/QuestionnaireResponse.rs system/ServiceRequest.rs",
            clientId: AdminClient));
        await (await constrained.GetAsync("$recovery-orientation")).AssertOutcomeAsync(HttpStatusCode.Forbidden);
    }

    private async Task RunMatrixAsync((string Name, string Scopes, bool PatientContext) variant)
    {
        var (a, b, practitioner) = await SeedAsync();
        var admin = fixture.ClientWith(TestTokens.Mint("system/*.cruds", clientId: AdminClient));
        var caller = fixture.ClientWith(CallerToken(variant, a));
        var before = await VersionsAsync(admin, b);
        var failures = new List<string>();
        var checks = 0;

        foreach (var probe in Probes(practitioner))
        {
            // Aimed at B: denied or without any of B's data.
            var target = probe.Writes ? await WithDeletableGoalAsync(admin, b) : b;
            using (var request = Retarget(probe.Request(target), a))
            {
                var requestText = request.RequestUri + " " + (request.Content is null ? "" : await request.Content.ReadAsStringAsync());
                var response = await caller.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                checks++;
                var leaked = target.Secrets.Where(s => s.Length > 0 && !requestText.Contains(s, StringComparison.Ordinal) && WithoutOwnAudit(body).Contains(s, StringComparison.Ordinal)).ToList();
                if (leaked.Count > 0)
                {
                    failures.Add($"[{probe.Name}] aimed at B leaked {string.Join(", ", leaked)}: {(int)response.StatusCode} {Short(body)}");
                }

                if (Total(body) is > 0 && probe.Name.Contains("_summary=count", StringComparison.Ordinal))
                {
                    failures.Add($"[{probe.Name}] aimed at B counted B's data: {Short(body)}");
                }

                if ((int)response.StatusCode >= 500)
                {
                    failures.Add($"[{probe.Name}] aimed at B: {(int)response.StatusCode} {Short(body)}");
                }

                if (probe.Writes && !(await admin.GetAsync($"Goal/{target.DeletableGoal}")).IsSuccessStatusCode)
                {
                    failures.Add($"[{probe.Name}] aimed at B deleted B's goal");
                }
            }

            // Aimed at A (the patient in context): works, and shows A's data.
            var own = probe.Writes ? await WithDeletableGoalAsync(admin, a) : a;
            using (var request = Retarget(probe.Request(own), a))
            {
                var response = await caller.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                checks++;
                if (!response.IsSuccessStatusCode || (probe.Shows(own) is { } shown && !body.Contains(shown, StringComparison.Ordinal)))
                {
                    failures.Add($"[{probe.Name}] aimed at A (own data) did not work: {(int)response.StatusCode} {Short(body)}");
                }
            }
        }

        var after = await VersionsAsync(admin, b);
        foreach (var (id, version) in before)
        {
            if (after.GetValueOrDefault(id) != version)
            {
                failures.Add($"B's {id} changed from version {version} to {after.GetValueOrDefault(id) ?? "deleted"} through A's token");
            }
        }

        var patientGoals = await (await admin.GetAsync($"Goal?subject=Patient/{b.Patient}&_count=50")).ReadAsync<Bundle>();
        if (patientGoals.Entry.Any(e => e.Resource is Goal { Description.Text: "Created by the probe" or "Conditional probe" }))
        {
            failures.Add("A's token created a Goal in B's record: " + string.Join(", ", patientGoals.Entry.Select(e => FhirHttp.ToJson(e.Resource))));
        }

        output.WriteLine($"{fixture.StoreName} · {variant.Name}: {Probes(practitioner).Count} probes × 2 patients = {checks} checks, {failures.Count} failures");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>"CALLER" in a probe's body stands for the patient in context (writes that try to move B's data to A).</summary>
    private static HttpRequestMessage Retarget(HttpRequestMessage request, BolaPatient caller)
    {
        if (request.Content is { } content)
        {
            var text = content.ReadAsStringAsync().GetAwaiter().GetResult();
            if (text.Contains("CALLER", StringComparison.Ordinal))
            {
                var mediaType = content.Headers.ContentType?.MediaType ?? FhirHttp.Json;
                request.Content = new StringContent(text.Replace("CALLER", caller.Patient, StringComparison.Ordinal), Encoding.UTF8, mediaType);
            }
        }

        return request;
    }

    private static async Task<Dictionary<string, string?>> VersionsAsync(HttpClient admin, BolaPatient patient)
    {
        var versions = new Dictionary<string, string?>();
        foreach (var (type, id) in new[] { ("Patient", patient.Patient), ("Goal", patient.Goal), ("Observation", patient.Survey), ("Task", patient.Task),
                     ("QuestionnaireResponse", patient.Response), ("CarePlan", patient.CarePlan), ("ServiceRequest", patient.Referral), ("Communication", patient.Message) })
        {
            var response = await admin.GetAsync($"{type}/{id}");
            versions[$"{type}/{id}"] = response.IsSuccessStatusCode ? response.Headers.ETag?.Tag : null;
        }

        return versions;
    }

    /// <summary>
    /// The caller's own audit trail (AuditEvents in its compartment) records the ids it asked for, including B's: that is
    /// its own request, not B's data, so AuditEvent entries are left out of the leak check (their confinement has its own probe).
    /// </summary>
    private static string WithoutOwnAudit(string body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject bundle && bundle["resourceType"]?.GetValue<string>() == "Bundle" && bundle["entry"] is JsonArray entries)
            {
                for (var i = entries.Count - 1; i >= 0; i--)
                {
                    if (entries[i]?["resource"] is { } resource && resource["resourceType"]?.GetValue<string>() == "AuditEvent"
                        && resource.ToJsonString().Contains(AppClient, StringComparison.Ordinal))
                    {
                        entries.RemoveAt(i);
                    }
                }

                return bundle.ToJsonString();
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return body;
    }

    private static int? Total(string body)
    {
        try
        {
            return JsonNode.Parse(body)?["total"]?.GetValue<int>();
        }
        catch (Exception)
        {
            return null;
        }
    }

    private static string Short(string text) => text.Length > 600 ? text[..600] + "…" : text;
}

public sealed class SqliteBolaMatrixTests(SqliteSmartFixture fixture, ITestOutputHelper output) : BolaMatrixTests(fixture, output), IClassFixture<SqliteSmartFixture>;

public sealed class PostgreSqlBolaMatrixTests(PostgreSqlSmartFixture fixture, ITestOutputHelper output) : BolaMatrixTests(fixture, output), IClassFixture<PostgreSqlSmartFixture>;
