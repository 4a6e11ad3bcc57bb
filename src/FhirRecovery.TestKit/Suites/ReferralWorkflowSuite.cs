using FhirRecovery.TestKit.Examples;
using FhirRecovery.TestKit.Model;
using Hl7.Fhir.Model;
using static FhirRecovery.TestKit.Model.KitContext;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.TestKit.Suites;

/// <summary>
/// The closed-loop peer-support referral: a referral (ServiceRequest) and its Task go requested → accepted →
/// in-progress → completed, the referral's status follows its Task, and transitions the lifecycle forbids are refused.
/// </summary>
public sealed class ReferralWorkflowSuite : KitSuite
{
    private static readonly Requirement Lifecycle = Specs.IgRule("peer-support-task lifecycle (closed-loop referral)", "StructureDefinition/peer-support-task");

    private IReadOnlyList<IgExample>? _examples;
    private ServiceRequest? _referral;
    private FhirTask? _task;

    public override string Name => "referral-workflow";

    public override string Description => "The closed loop requested → accepted → in-progress → completed with the referral's status following, and forbidden transitions refused.";

    public ReferralWorkflowSuite()
    {
        Test("wf-01", "A new referral (active) and its peer-support Task (requested) are created",
            Lifecycle, async ctx =>
            {
                var examples = await RecoveryData.WriteSupportingAsync(ctx, "wf");
                var (referral, task) = await OpenReferralAsync(ctx, examples, "ServiceRequest-tom-peer-support-referral", "Task-tom-peer-support-task");
                _examples = examples;
                _referral = referral;
                _task = task;
            });

        foreach (var (id, from, to) in new[] { ("wf-02", "requested", "accepted"), ("wf-03", "accepted", "in-progress") })
        {
            Test(id, $"The Task moves {from} → {to}; the referral stays active", Lifecycle, async ctx =>
            {
                var task = Needs(_task, "wf-01");
                Expect(Literal(task.Status) == from, $"depends on the Task being {from}, it is {Literal(task.Status)}");
                _task = await MoveAsync(ctx, task, to);
                await ExpectReferralAsync(ctx, Needs(_referral, "wf-01"), RequestStatus.Active);
            });
        }

        Test("wf-04", "The Task moves in-progress → completed with its outputs; the referral becomes completed (the loop is closed)",
            Lifecycle, async ctx =>
            {
                var task = Needs(_task, "wf-01");
                Expect(Literal(task.Status) == "in-progress", $"depends on the Task being in-progress, it is {Literal(task.Status)}");
                var done = (FhirTask)task.DeepCopy();
                done.Output = Example(ctx).Output;
                done.BusinessStatus = Example(ctx).BusinessStatus;
                _task = await MoveAsync(ctx, done, "completed");
                await ExpectReferralAsync(ctx, Needs(_referral, "wf-01"), RequestStatus.Completed);
            });

        Test("wf-05", "A completed Task cannot go back to in-progress: refused with 409 or 422 and left completed",
            Lifecycle, async ctx =>
            {
                var task = Needs(_task, "wf-01");
                Expect(Literal(task.Status) == "completed", $"depends on the Task being completed, it is {Literal(task.Status)}");
                await ExpectRefusedAsync(ctx, task, "in-progress");
            });

        Test("wf-06", "A requested Task cannot skip to completed (even with outputs): refused with 409 or 422 and left requested",
            Lifecycle, async ctx =>
            {
                var (_, task) = await OpenReferralAsync(ctx, Needs(_examples, "wf-01"), "ServiceRequest-ingrid-peer-support-referral", "Task-ingrid-peer-support-task");
                var skipping = (FhirTask)task.DeepCopy();
                skipping.Output = Example(ctx).Output;
                await ExpectRefusedAsync(ctx, skipping, "completed");
            });

        Test("wf-07", "A Task cannot be rejected without saying why (statusReason): refused with 409 or 422",
            Specs.IgRule("pst-2: rejected, cancelled and failed Tasks carry a statusReason", "StructureDefinition/peer-support-task"), async ctx =>
            {
                var (_, task) = await OpenReferralAsync(ctx, Needs(_examples, "wf-01"), "ServiceRequest-tom-peer-support-referral", "Task-tom-peer-support-task-northside");
                task.StatusReason = null;
                await ExpectRefusedAsync(ctx, task, "rejected");
            });
    }

    /// <summary>The example Task, for its outputs.</summary>
    private FhirTask Example(KitContext ctx) => RecoveryData.Example<FhirTask>(Needs(_examples, "wf-01"), "Task-tom-peer-support-task");

    /// <summary>Creates a referral as active and its Task as requested (each test of refusals gets its own: the ids are made unique).</summary>
    private static async Task<(ServiceRequest Referral, FhirTask Task)> OpenReferralAsync(KitContext ctx, IReadOnlyList<IgExample> examples, string referralFile, string taskFile)
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var referral = RecoveryData.Example<ServiceRequest>(examples, referralFile);
        referral.Id = IgExamples.UniqueId(referral.Id ?? "referral", suffix);
        referral.Status = RequestStatus.Active;
        ExpectStatus(await ctx.Fhir.PutAsync($"ServiceRequest/{referral.Id}", referral), 200, 201);

        var task = RecoveryData.Example<FhirTask>(examples, taskFile);
        task.Id = IgExamples.UniqueId(task.Id ?? "task", suffix);
        task.Focus = new ResourceReference($"ServiceRequest/{referral.Id}");
        task.Status = FhirTask.TaskStatus.Requested;
        task.Output.Clear();
        task.BusinessStatus = null;
        task.ExecutionPeriod = null;
        var created = await ctx.Fhir.PutAsync($"Task/{task.Id}", task);
        ExpectStatus(created, 200, 201);
        return (referral, task);
    }

    private static async Task<FhirTask> MoveAsync(KitContext ctx, FhirTask task, string to)
    {
        var next = (FhirTask)task.DeepCopy();
        next.Status = Hl7.Fhir.Utility.EnumUtility.ParseLiteral<FhirTask.TaskStatus>(to);
        ExpectStatus(await ctx.Fhir.PutAsync($"Task/{next.Id}", next), 200);
        var stored = (await ctx.Fhir.GetAsync($"Task/{next.Id}")).As<FhirTask>();
        Expect(Literal(stored.Status) == to, $"Task/{next.Id} reads back as {Literal(stored.Status)}, not {to}");
        return stored;
    }

    private static async System.Threading.Tasks.Task ExpectRefusedAsync(KitContext ctx, FhirTask task, string to)
    {
        var before = Literal(task.Status);
        var attempt = (FhirTask)task.DeepCopy();
        attempt.Status = Hl7.Fhir.Utility.EnumUtility.ParseLiteral<FhirTask.TaskStatus>(to);
        var response = await ctx.Fhir.PutAsync($"Task/{attempt.Id}", attempt);
        Expect(response.Status is 409 or 422, $"{before} → {to} answered HTTP {response.Status}; the lifecycle forbids it (409 or 422 expected)");
        Expect(response.Resource is OperationOutcome, "the refusal carries no OperationOutcome");
        var stored = (await ctx.Fhir.GetAsync($"Task/{attempt.Id}")).As<FhirTask>();
        Expect(Literal(stored.Status) == before, $"after the refusal Task/{attempt.Id} is {Literal(stored.Status)}, not {before}");
    }

    private static async System.Threading.Tasks.Task ExpectReferralAsync(KitContext ctx, ServiceRequest referral, RequestStatus expected)
    {
        var stored = (await ctx.Fhir.GetAsync($"ServiceRequest/{referral.Id}")).As<ServiceRequest>();
        Expect(stored.Status == expected, $"the referral ServiceRequest/{referral.Id} is {Literal(stored.Status)}, expected {Literal<RequestStatus>(expected)}");
    }

    private static string? Literal<T>(T? value) where T : struct, Enum => value is { } v ? Hl7.Fhir.Utility.EnumUtility.GetLiteral(v) : null;
}
