using FhirRecovery.TestKit.Model;
using FhirRecovery.TestKit.Running;
using Hl7.Fhir.Model;

namespace FhirRecovery.TestKit.Examples;

/// <summary>Test data made from the guide's examples (so it conforms), with ids of its own for each purpose of a run.</summary>
public static class RecoveryData
{
    /// <summary>
    /// A fresh copy of the examples for <paramref name="purpose"/>; everything but referrals and Tasks is written (the
    /// people, organisations, consents and goals those point at), so a server that checks references finds them.
    /// </summary>
    public static async Task<IReadOnlyList<IgExample>> WriteSupportingAsync(KitContext ctx, string purpose)
    {
        var examples = IgExamples.ForRun($"{purpose}-{ctx.RunId}");
        var refused = await ExampleWriter.WriteAsync(ctx, examples.Where(e => e.Resource is not (ServiceRequest or Hl7.Fhir.Model.Task)).ToList());
        KitContext.Expect(refused.Count == 0, "the examples this test builds on were refused: " + string.Join("; ", refused));
        return examples;
    }

    /// <summary>The example of that file name in a set.</summary>
    public static T Example<T>(IReadOnlyList<IgExample> examples, string fileName) where T : Resource =>
        (T)(examples.FirstOrDefault(e => e.FileName == fileName + ".json")?.Resource.DeepCopy()
            ?? throw new InvalidOperationException($"the kit has no example {fileName}"));

    /// <summary>A new patient (a copy of the example Patient/tom); its id.</summary>
    public static async Task<string> CreatePatientAsync(KitContext ctx, string purpose)
    {
        var patient = FhirJsonText.Parse<Patient>(IgExamples.Text("examples/Patient-tom.json"));
        patient.Id = IgExamples.UniqueId($"kit-{purpose}", ctx.RunId);
        patient.ManagingOrganization = null;
        var response = await ctx.Fhir.PutAsync($"Patient/{patient.Id}", patient);
        KitContext.ExpectStatus(response, 200, 201);
        return patient.Id;
    }

    /// <summary>A recovery goal of the patient (a copy of the example Goal/tom-peer-group, without an id).</summary>
    public static Goal Goal(string patientId, string text)
    {
        var json = IgExamples.Text("examples/Goal-tom-peer-group.json").Replace("\"Patient/tom\"", $"\"Patient/{patientId}\"", StringComparison.Ordinal);
        var goal = FhirJsonText.Parse<Goal>(json);
        goal.Id = null;
        goal.Text = null;
        goal.Description = new CodeableConcept { Text = text };
        goal.Extension.RemoveAll(e => e.Url == "https://fhirrecovery.org/fhir/StructureDefinition/goal-in-own-words");
        return goal;
    }
}
