using System.Text;
using System.Text.Json.Nodes;
using FhirRecovery.Samples;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using FhirTask = Hl7.Fhir.Model.Task;

namespace FhirRecovery.LoadTests;

/// <summary>A resource of the generated set, as the body a client would send (no id: the server assigns one on create).</summary>
internal sealed record Template(string ResourceType, string PatientId, JsonObject Json, byte[] CreateBody);

/// <summary>
/// The data of the runs, all from the sample generator (realistic recovery resources, valid against the IG's profiles,
/// the same ones the validator benchmark uses): the transactions of a generated set, the goals, referrals and tasks of
/// its patients as templates for new resources, and goals in bulk for the search scenario.
/// </summary>
internal static class BenchData
{
    public static readonly string[] CrudTypes = ["Goal", "ServiceRequest", "Task"];

    /// <summary>The generated set as FHIR transactions in load order: the shared services, then each patient's batches.</summary>
    public static IEnumerable<(byte[] Body, int Entries)> Transactions(int patients) =>
        SampleGenerator.Batches(new SampleRequest { Patients = patients })
            .Select(batch => (SampleJson.Serialize(SampleGenerator.ToTransaction(batch), pretty: false), batch.Resources.Count));

    /// <summary>The current goals, referrals (ServiceRequest) and tasks of the set's patients.</summary>
    public static IReadOnlyList<Template> Templates(int patients)
    {
        var templates = new List<Template>();
        foreach (var patient in SampleGenerator.Patients(new SampleRequest { Patients = patients }))
        {
            // Tasks only in a state a new Task may start in: the server enforces the referral workflow on create.
            foreach (var resource in patient.Latest().Where(r => r is Goal or ServiceRequest
                                                                 or FhirTask { Status: FhirTask.TaskStatus.Requested or FhirTask.TaskStatus.Ready }))
            {
                var json = JsonNode.Parse(SampleJson.SerializeToString(resource))!.AsObject();
                var withoutId = (JsonObject)json.DeepClone();
                withoutId.Remove("id");
                templates.Add(new Template(resource.TypeName, patient.PatientId, json, Encoding.UTF8.GetBytes(withoutId.ToJsonString())));
            }
        }

        return templates;
    }

    /// <summary>An update of a template as resource <paramref name="id"/>: the narrative gets a line, so every version differs.</summary>
    public static byte[] UpdateBody(Template template, string id, int revision)
    {
        var json = (JsonObject)template.Json.DeepClone();
        json["id"] = id;
        if (json["text"] is JsonObject text && text["div"] is JsonValue div)
        {
            var xhtml = div.GetValue<string>();
            text["div"] = xhtml.Insert(xhtml.LastIndexOf("</div>", StringComparison.Ordinal), $"<p>Reviewed (revision {revision}).</p>");
        }

        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    /// <summary>
    /// Transaction Bundles for the ingest scenario: the current resources of generated patients, whole patients per
    /// Bundle (about <paramref name="size"/> resources), PUT with their ids as the CLI loader sends them. The patient ids
    /// start with <see cref="IngestPrefix"/>, which each round of sending replaces to make new resources.
    /// </summary>
    public static IReadOnlyList<(string Body, int Entries)> IngestBundles(int patients, int size)
    {
        var bundles = new List<(string, int)>();
        var current = new List<Resource>();
        void Flush()
        {
            if (current.Count > 0)
            {
                bundles.Add((SampleJson.SerializeToString(SampleGenerator.ToTransaction(new SampleBatch("ingest", current.ToList()))), current.Count));
                current.Clear();
            }
        }

        foreach (var patient in SampleGenerator.Patients(new SampleRequest { Patients = patients }))
        {
            current.AddRange(patient.Latest());
            if (current.Count >= size)
            {
                Flush();
            }
        }

        Flush();
        return bundles;
    }

    public const string IngestPrefix = "s42-p";

    /// <summary>
    /// Loads <paramref name="goals"/> goals for goals/5 patients straight into the store (the search scenario is about
    /// searching, not loading): copies of the generated set's goals, each patient with 5 of them in the set's mix of
    /// lifecycle states, in sessions of 2,000 resources.
    /// </summary>
    public static async System.Threading.Tasks.Task LoadGoalsAsync(IResourceStore store, int goals, Action<string> progress, CancellationToken cancellationToken)
    {
        var templates = SampleGenerator.Patients(new SampleRequest { Patients = 60 })
            .SelectMany(p => p.Latest().OfType<Goal>().Select(g => (Json: SampleJson.SerializeToString(g), p.PatientId)))
            .ToList();
        var patients = Math.Max(1, goals / GoalsPerPatient);
        var written = 0;
        var session = await store.BeginAsync(cancellationToken);
        try
        {
            for (var k = 1; k <= patients; k++)
            {
                var patientId = GoalPatientId(k);
                await session.CreateAsync(new Patient
                {
                    Id = patientId,
                    Active = true,
                    Name = [new HumanName { Family = $"Bench{k}", Given = ["Load"] }],
                }, cancellationToken);
                for (var j = 0; j < GoalsPerPatient && written < goals; j++, written++)
                {
                    var (json, sourcePatient) = templates[(k * GoalsPerPatient + j) % templates.Count];
                    var goal = SampleJson.Parse<Goal>(json.Replace($"Patient/{sourcePatient}\"", $"Patient/{patientId}\"", StringComparison.Ordinal));
                    goal.Id = $"{patientId}-g{j}";
                    await session.CreateAsync(goal, cancellationToken);
                }

                if (k % 400 == 0)
                {
                    await session.CommitAsync(cancellationToken);
                    await session.DisposeAsync();
                    session = await store.BeginAsync(cancellationToken);
                    progress($"{written} goals");
                }
            }

            await session.CommitAsync(cancellationToken);
        }
        finally
        {
            await session.DisposeAsync();
        }
    }

    public const int GoalsPerPatient = 5;

    public static string GoalPatientId(int k) => $"bench-p{k:D6}";
}
