using FhirRecovery.TestKit.Examples;
using FhirRecovery.TestKit.Model;
using Hl7.Fhir.Model;
using static FhirRecovery.TestKit.Model.KitContext;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.TestKit.Suites;

/// <summary>An HL7 v2 REF^I12 referral posted to <c>$import-ehr</c> becomes a peer-support referral: a ServiceRequest and its Task.</summary>
public sealed class MappingSuite : KitSuite
{
    private static readonly Requirement RefI12 = Specs.IgRule("REF^I12 → peer-support-referral + peer-support-task", "StructureDefinition/peer-support-referral");

    private string? _message;
    private string? _referralNumber;
    private Bundle? _imported;

    public override string Name => "mapping";

    public override string Description => "A REF^I12 HL7 v2 referral posted to $import-ehr becomes a peer-support referral ServiceRequest and Task.";

    public MappingSuite()
    {
        Test("map-01", "POST $import-ehr with a REF^I12 (Parameters inputData, inputDataType Hl7v2) answers a transaction-response with a ServiceRequest and a Task created",
            RefI12, async ctx =>
            {
                var capability = await ctx.CapabilityAsync();
                if (!CapabilitySuite.Operations(capability).Contains("import-ehr"))
                {
                    throw Skip("the CapabilityStatement declares no $import-ehr operation");
                }

                var suffix = ctx.RunId.Replace("-", "", StringComparison.Ordinal);
                _referralNumber = $"NW-REF-{suffix}";
                // The sample referral with its identifiers made unique, so each run is a new referral.
                _message = IgExamples.Text("v2/REF_I12.hl7").Replace("NW-448812", $"NW-{suffix}").Replace("NW-REF-000123", _referralNumber)
                    .Replace("NW-CON-5521", $"NW-CON-{suffix}").Replace("NW-MSG-000123", $"NW-MSG-{suffix}");
                var response = await ImportAsync(ctx);
                ExpectStatus(response, 200);
                var bundle = response.As<Bundle>();
                Expect(bundle.Type == Bundle.BundleType.TransactionResponse, $"answered a {bundle.Type} Bundle, not a transaction-response");
                Expect(Created(bundle, "ServiceRequest").Any(), "no ServiceRequest was created");
                Expect(Created(bundle, "Task").Any(), "no Task was created");
                _imported = bundle;
            });

        Test("map-02", "The imported ServiceRequest is a peer-support-referral carrying the v2 referral number, and validates",
            RefI12, async ctx =>
            {
                var location = Created(Needs(_imported, "map-01"), "ServiceRequest").First();
                var referral = (await ctx.Fhir.GetAsync(location)).As<ServiceRequest>();
                Expect(Specs.Claims(referral, "peer-support-referral"), "it does not claim peer-support-referral");
                Expect(referral.Identifier.Any(i => i.Value == _referralNumber), $"no identifier {_referralNumber} (RF1-6)");
                ctx.ExpectValid(referral, $"ServiceRequest/{referral.Id}");
            });

        Test("map-03", "The imported Task is a peer-support-task on that referral, requested (RF1-1 pending), and validates",
            RefI12, async ctx =>
            {
                var bundle = Needs(_imported, "map-01");
                var referral = Created(bundle, "ServiceRequest").First().Split('/')[1];
                var task = (await ctx.Fhir.GetAsync(Created(bundle, "Task").First())).As<FhirTask>();
                Expect(Specs.Claims(task, "peer-support-task"), "it does not claim peer-support-task");
                Expect(task.Focus?.Reference?.EndsWith($"ServiceRequest/{referral}", StringComparison.Ordinal) == true, $"its focus is {task.Focus?.Reference}, not the referral");
                Expect(task.Status == FhirTask.TaskStatus.Requested, $"its status is {task.Status}, not requested");
                ctx.ExpectValid(task, $"Task/{task.Id}");
            });

        Test("map-04", "Importing the same message again creates nothing new (idempotent import)",
            Specs.IgRule("EHR import is idempotent", "StructureDefinition/peer-support-referral"), async ctx =>
            {
                Needs(_imported, "map-01");
                var again = (await ImportAsync(ctx)).As<Bundle>();
                var created = again.Entry.Where(e => e.Response?.Status?.StartsWith("201", StringComparison.Ordinal) == true && e.Response.Location?.StartsWith("Provenance", StringComparison.Ordinal) != true).ToList();
                Expect(created.Count == 0, "created again: " + string.Join(", ", created.Select(e => e.Response?.Location)));
            });
    }

    private Task<Running.FhirResponse> ImportAsync(KitContext ctx) => ctx.Fhir.PostAsync("$import-ehr", new Parameters
    {
        { "inputData", new FhirString(Needs(_message, "map-01")) },
        { "inputDataType", new FhirString("Hl7v2") },
    });

    /// <summary>The locations (Type/id, without the version) of what a transaction-response created of one type.</summary>
    private static IEnumerable<string> Created(Bundle bundle, string type) =>
        bundle.Entry.Where(e => e.Response?.Status?.StartsWith("201", StringComparison.Ordinal) == true)
            .Select(e => e.Response?.Location).OfType<string>()
            .Select(l => l.Split('/')).Select(p => Array.IndexOf(p, type) is var i and >= 0 && i + 1 < p.Length ? $"{type}/{p[i + 1]}" : null)
            .OfType<string>();
}
