using FhirRecovery.TestKit.Examples;
using FhirRecovery.TestKit.Model;
using Hl7.Fhir.Model;
using static FhirRecovery.TestKit.Model.KitContext;

namespace FhirRecovery.TestKit.Suites;

/// <summary>The guide's examples are accepted, and what the server returns of them validates against the guide's profiles.</summary>
public sealed class ProfilesSuite : KitSuite
{
    private IReadOnlyList<IgExample>? _created;

    public override string Name => "profiles";

    public override string Description => "Create and read each example of the guide; every resource the server returns validates against its profile.";

    public ProfilesSuite()
    {
        Test("prof-01", "Every example of the guide is accepted (update-as-create with a run-unique id; Tasks walk their lifecycle to the example's state)",
            Specs.IgRule("the guide's examples conform to its profiles", "ImplementationGuide/fhirrecovery.ig"), async ctx =>
            {
                var examples = IgExamples.ForRun(ctx.RunId);
                var refused = await ExampleWriter.WriteAsync(ctx, examples);
                Expect(refused.Count == 0, "refused: " + string.Join("; ", refused));
                _created = examples;
            });

        Test("prof-02", "Every example read back validates against the profiles it declares (FhirRecovery.Conformance ProfileValidator)",
            Specs.IgRule("profiles of the guide", "ImplementationGuide/fhirrecovery.ig"), async ctx =>
            {
                var failures = new List<string>();
                foreach (var example in Needs(_created, "prof-01"))
                {
                    var read = await ctx.Fhir.GetAsync(example.Reference);
                    ExpectStatus(read, 200);
                    var errors = ctx.ValidationErrors(read.As<Resource>());
                    failures.AddRange(errors.Take(2).Select(e => $"{example.Reference} {e.Expression}: {e.Message}"));
                }

                Expect(failures.Count == 0, "does not validate: " + string.Join("; ", failures.Take(8)));
            });

        Test("prof-03", "Every example read back still declares the guide's profile it was created with (meta.profile)",
            Specs.FhirRule("meta.profile: the profiles a resource claims to conform to", "resource.html#Meta"), async ctx =>
            {
                var lost = new List<string>();
                foreach (var example in Needs(_created, "prof-01").Where(e => e.Profiles.Count > 0))
                {
                    var read = (await ctx.Fhir.GetAsync(example.Reference)).As<Resource>();
                    var declared = read.Meta?.Profile.OfType<string>().Select(p => p.Split('|')[0]).ToHashSet() ?? [];
                    lost.AddRange(example.Profiles.Where(p => !declared.Contains(p.Split('|')[0])).Select(p => $"{example.Reference} lost {p} (declares {string.Join(", ", declared)})"));
                }

                Expect(lost.Count == 0, string.Join("; ", lost));
            });

        Test("prof-04", "Every example found by search (_id) validates against its profiles",
            Specs.FhirRule("search results are resources like any read", "search.html"), async ctx =>
            {
                var failures = new List<string>();
                foreach (var group in Needs(_created, "prof-01").GroupBy(e => e.Type))
                {
                    var ids = group.Select(e => e.Id).ToList();
                    var bundle = (await ctx.Fhir.GetAsync($"{group.Key}?_id={string.Join(',', ids)}&_count={ids.Count}")).As<Bundle>();
                    var found = bundle.Entry.Select(e => e.Resource).Where(r => r?.TypeName == group.Key).ToList();
                    if (found.Count != ids.Count)
                    {
                        failures.Add($"{group.Key}?_id= found {found.Count} of {ids.Count}");
                    }

                    failures.AddRange(found.SelectMany(r => ctx.ValidationErrors(r!).Take(1).Select(e => $"{r!.TypeName}/{r.Id} {e.Expression}: {e.Message}")));
                }

                Expect(failures.Count == 0, string.Join("; ", failures.Take(8)));
            });
    }
}
