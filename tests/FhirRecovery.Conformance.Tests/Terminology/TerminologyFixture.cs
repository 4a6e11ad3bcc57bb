using FhirRecovery.Conformance.Definitions;
using FhirRecovery.Conformance.Terminology;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Tests.Terminology;

/// <summary>
/// One resolver (the R4 core plus the small synthetic terminology below) and one service, shared by all terminology tests:
/// loading the core index once keeps the suite fast, and sharing the service exercises its thread safety.
/// </summary>
internal static class TerminologyFixture
{
    public const string Example = "http://example.org/fhir";
    public const string Animals = Example + "/CodeSystem/animals";
    public const string Classes = Example + "/CodeSystem/classes";
    public const string CaseInsensitive = Example + "/CodeSystem/case-insensitive";
    public const string Fragment = Example + "/CodeSystem/fragment";
    public const string Versioned = Example + "/CodeSystem/versioned";
    public const string Big = Example + "/CodeSystem/big";
    public const string Snomed = "http://snomed.info/sct";
    public const string Loinc = "http://loinc.org";

    public static string Vs(string id) => $"{Example}/ValueSet/{id}";

    public static string Cm(string id) => $"{Example}/ConceptMap/{id}";

    // The core index is shared with the other tests (SharedDefinitions); this resolver adds the synthetic terminology on top.
    private static readonly Lazy<DefinitionResolver> LazyResolver =
        new(() => new DefinitionResolver([DefinitionSource.FromResources("test.terminology", Resources()), SharedDefinitions.Core]));

    private static readonly Lazy<TerminologyService> LazyService = new(() => new TerminologyService(Resolver));

    public static DefinitionResolver Resolver => LazyResolver.Value;

    public static TerminologyService Service => LazyService.Value;

    private static IEnumerable<Resource> Resources()
    {
        yield return AnimalsCodeSystem();
        yield return new CodeSystem
        {
            Url = Classes, Name = "Classes", Status = PublicationStatus.Active, Content = CodeSystemContentMode.Complete,
            Concept = [Concept("mammalia", "Mammalia"), Concept("aves", "Aves"), Concept("other", "Other")],
        };
        yield return new CodeSystem
        {
            Url = CaseInsensitive, Name = "CaseInsensitive", Status = PublicationStatus.Active, Content = CodeSystemContentMode.Complete,
            CaseSensitive = false, Concept = [Concept("ABC", "Alpha"), Concept("Def", "Delta")],
        };
        yield return new CodeSystem
        {
            Url = Fragment, Name = "Fragment", Status = PublicationStatus.Active, Content = CodeSystemContentMode.Fragment,
            Concept = [Concept("a", "A"), Concept("b", "B")],
        };
        yield return new CodeSystem
        {
            Url = Versioned, Version = "1.0", Name = "Versioned", Status = PublicationStatus.Active, Content = CodeSystemContentMode.Complete,
            Concept = [Concept("x", "X"), Concept("y", "Y")],
        };
        yield return new CodeSystem
        {
            Url = Versioned, Version = "2.0", Name = "Versioned", Status = PublicationStatus.Active, Content = CodeSystemContentMode.Complete,
            Concept = [Concept("x", "X"), Concept("y", "Y"), Concept("z", "Z")],
        };
        yield return new CodeSystem
        {
            Url = Big, Name = "Big", Status = PublicationStatus.Active, Content = CodeSystemContentMode.Complete,
            Concept = Enumerable.Range(0, 25_000).Select(i => Concept($"c{i}", $"Code {i}")).ToList(),
        };

        yield return ValueSet("all-animals", Include(Animals));
        yield return ValueSet("mammals", Include(Animals, Filter("concept", FilterOperator.IsA, "mammal")));
        yield return ValueSet("below-mammal", Include(Animals, Filter("concept", FilterOperator.DescendentOf, "mammal")));
        yield return ValueSet("not-birds", Include(Animals, Filter("concept", FilterOperator.IsNotA, "bird")));
        yield return ValueSet("dog-and-up", Include(Animals, Filter("concept", FilterOperator.Generalizes, "dog")));
        yield return ValueSet("swimmers", Include(Animals, Filter("concept", FilterOperator.IsA, "swimmer")));
        yield return ValueSet("sea", Include(Animals, Filter("habitat", FilterOperator.Equal, "sea")));
        yield return ValueSet("legs-0-or-2", Include(Animals, Filter("legs", FilterOperator.In, "0, 2")));
        yield return ValueSet("not-on-land", Include(Animals, Filter("habitat", FilterOperator.NotIn, "land")));
        yield return ValueSet("c-or-d", Include(Animals, Filter("code", FilterOperator.Regex, "[cd].*")));
        yield return ValueSet("domestic", Include(Animals, Filter("domestic", FilterOperator.Exists, "true")));
        yield return ValueSet("child-of-bird", Include(Animals, Filter("parent", FilterOperator.Equal, "bird")));
        yield return ValueSet("domestic-mammals-on-land",
            Include(Animals, Filter("concept", FilterOperator.IsA, "mammal"), Filter("habitat", FilterOperator.Equal, "land")));

        var excluding = ValueSet("no-birds-no-sea", Include(Animals));
        excluding.Compose!.Exclude.Add(Include(Animals, Filter("concept", FilterOperator.IsA, "bird")));
        excluding.Compose!.Exclude.Add(new ValueSet.ConceptSetComponent { ValueSet = [Vs("sea")] });
        yield return excluding;

        var intersection = ValueSet("listed-mammals", IncludeCodes(Animals, concepts: ["dog", "penguin", "cat"]));
        intersection.Compose!.Include[0].ValueSet = [Vs("mammals")];
        yield return intersection;
        yield return ValueSet("mammals-at-sea", new ValueSet.ConceptSetComponent { ValueSet = [Vs("mammals"), Vs("sea")] });
        yield return ValueSet("union-of-imports",
            new ValueSet.ConceptSetComponent { ValueSet = [Vs("sea")] },
            new ValueSet.ConceptSetComponent { ValueSet = [Vs("domestic")] });

        yield return ValueSet("cycle-a", new ValueSet.ConceptSetComponent { ValueSet = [Vs("cycle-b")] });
        yield return ValueSet("cycle-b", IncludeCodes(Animals, concepts: ["dog"]), new ValueSet.ConceptSetComponent { ValueSet = [Vs("cycle-a")] });
        yield return ValueSet("imports-cycle", new ValueSet.ConceptSetComponent { ValueSet = [Vs("cycle-a")] });
        yield return ValueSet("self-import", IncludeCodes(Animals, concepts: ["cat"]), new ValueSet.ConceptSetComponent { ValueSet = [Vs("self-import")] });
        yield return ValueSet("imports-unknown", IncludeCodes(Animals, concepts: ["cat"]),
            new ValueSet.ConceptSetComponent { ValueSet = [Vs("does-not-exist")] });

        var snomed = ValueSet("snomed-mixed", Include(Snomed, Filter("concept", FilterOperator.IsA, "404684003")));
        snomed.Compose!.Include.Add(new ValueSet.ConceptSetComponent
        {
            System = Snomed,
            Concept = [new ValueSet.ConceptReferenceComponent { Code = "38341003", Display = "Hypertensive disorder" }],
        });
        yield return snomed;
        yield return ValueSet("snomed-listed", new ValueSet.ConceptSetComponent
        {
            System = Snomed,
            Concept = [new ValueSet.ConceptReferenceComponent { Code = "38341003", Display = "Hypertensive disorder" }],
        });
        yield return ValueSet("snomed-or-animals", Include(Snomed), IncludeCodes(Animals, concepts: ["dog"]));
        yield return ValueSet("loinc-whole", Include(Loinc));
        yield return ValueSet("fragment", Include(Fragment));
        yield return ValueSet("case-insensitive", Include(CaseInsensitive));
        yield return ValueSet("versioned-1", IncludeCodes(Versioned, version: "1.0"));
        yield return ValueSet("versioned-2", IncludeCodes(Versioned, version: "2.0"));
        yield return ValueSet("versioned-9", IncludeCodes(Versioned, version: "9.9"));
        yield return ValueSet("big", Include(Big));
        yield return ValueSet("bad-regex", Include(Animals, Filter("code", FilterOperator.Regex, "([a-")));

        var activeOnly = ValueSet("active-animals", Include(Animals));
        activeOnly.Compose!.Inactive = false;
        yield return activeOnly;

        yield return ValueSet("listed-with-displays", new ValueSet.ConceptSetComponent
        {
            System = Animals,
            Concept =
            [
                new ValueSet.ConceptReferenceComponent
                {
                    Code = "dog", Display = "Doggy",
                    Designation = [new ValueSet.DesignationComponent { Language = "fr", Value = "Chien" }],
                },
                new ValueSet.ConceptReferenceComponent { Code = "cat" },
                new ValueSet.ConceptReferenceComponent { Code = "unicorn" },
            ],
        });

        yield return ValueSet("grammar-mixed",
            Include("urn:ietf:bcp:13"),
            new ValueSet.ConceptSetComponent
            {
                System = "urn:ietf:bcp:13",
                Concept = [new ValueSet.ConceptReferenceComponent { Code = "text/plain" }],
            });
        var noJson = ValueSet("mime-but-not-json", Include("urn:ietf:bcp:13"));
        noJson.Compose!.Exclude.Add(IncludeCodes("urn:ietf:bcp:13", concepts: ["application/json"]));
        yield return noJson;
        yield return ValueSet("ucum-filtered", Include("http://unitsofmeasure.org", Filter("canonical", FilterOperator.Equal, "g")));

        foreach (var map in ConceptMaps())
        {
            yield return map;
        }
    }

    private static CodeSystem AnimalsCodeSystem()
    {
        var dog = Concept("dog", "Dog", ("legs", new Integer(4)), ("habitat", new Code("land")), ("domestic", new FhirBoolean(true)));
        dog.Designation.Add(new CodeSystem.DesignationComponent { Language = "nl", Value = "Hond" });
        dog.Designation.Add(new CodeSystem.DesignationComponent { Language = "de", Value = "Hund", Use = new Coding("http://terminology.hl7.org/CodeSystem/designation-usage", "display") });
        var whale = Concept("whale", "Whale", ("legs", new Integer(0)), ("habitat", new Code("sea")));
        var penguin = Concept("penguin", "Penguin", ("legs", new Integer(2)), ("habitat", new Code("sea")), ("parent", new Code("swimmer")));
        var mammal = Concept("mammal", "Mammal", ("notSelectable", new FhirBoolean(true)));
        mammal.Concept = [dog, Concept("cat", "Cat", ("legs", new Integer(4)), ("habitat", new Code("land")), ("domestic", new FhirBoolean(true))), whale];
        var bird = Concept("bird", "Bird");
        bird.Concept =
        [
            penguin,
            Concept("sparrow", "Sparrow", ("legs", new Integer(2)), ("habitat", new Code("air"))),
            Concept("dodo", "Dodo", ("legs", new Integer(2)), ("status", new Code("retired"))),
            Concept("kiwi", "Kiwi", ("legs", new Integer(2)), ("status", new Code("deprecated"))),
        ];
        var animal = Concept("animal", "Animal", ("notSelectable", new FhirBoolean(true)));
        animal.Definition = "A living organism that feeds on organic matter.";
        animal.Concept = [mammal, bird];
        var swimmer = Concept("swimmer", "Swimmer", ("child", new Code("whale")));

        return new CodeSystem
        {
            Url = Animals,
            Version = "1.0.0",
            Name = "Animals",
            Status = PublicationStatus.Active,
            Content = CodeSystemContentMode.Complete,
            CaseSensitive = true,
            HierarchyMeaning = CodeSystem.CodeSystemHierarchyMeaning.IsA,
            Property =
            [
                Property("legs", CodeSystem.PropertyType.Integer),
                Property("habitat", CodeSystem.PropertyType.Code),
                Property("domestic", CodeSystem.PropertyType.Boolean),
                Property("status", CodeSystem.PropertyType.Code, "http://hl7.org/fhir/concept-properties#status"),
                Property("notSelectable", CodeSystem.PropertyType.Boolean, "http://hl7.org/fhir/concept-properties#notSelectable"),
                Property("parent", CodeSystem.PropertyType.Code, "http://hl7.org/fhir/concept-properties#parent"),
                Property("child", CodeSystem.PropertyType.Code, "http://hl7.org/fhir/concept-properties#child"),
            ],
            Concept = [animal, swimmer],
        };
    }

    private static IEnumerable<ConceptMap> ConceptMaps()
    {
        ConceptMap.TargetElementComponent Target(string? code, string? display, ConceptMapEquivalence equivalence) =>
            new() { Code = code, Display = display, Equivalence = equivalence };

        ConceptMap.SourceElementComponent Element(string code, params ConceptMap.TargetElementComponent[] targets) =>
            new() { Code = code, Target = [.. targets] };

        yield return new ConceptMap
        {
            Url = Cm("animal-to-class"), Name = "AnimalToClass", Status = PublicationStatus.Active,
            Source = new Canonical(Vs("all-animals")), Target = new Canonical(Example + "/ValueSet/classes"),
            Group =
            [
                new ConceptMap.GroupComponent
                {
                    Source = Animals, Target = Classes,
                    Element =
                    [
                        Element("dog", Target("mammalia", "Mammalia", ConceptMapEquivalence.Wider)),
                        Element("cat", Target("mammalia", "Mammalia", ConceptMapEquivalence.Wider)),
                        Element("penguin", Target("aves", "Aves", ConceptMapEquivalence.Wider)),
                        Element("mammal", Target("mammalia", "Mammalia", ConceptMapEquivalence.Equivalent)),
                        Element("swimmer", Target(null, null, ConceptMapEquivalence.Unmatched)),
                    ],
                    Unmapped = new ConceptMap.UnmappedComponent { Mode = ConceptMap.ConceptMapGroupUnmappedMode.Fixed, Code = "other", Display = "Other" },
                },
            ],
        };
        yield return new ConceptMap
        {
            Url = Cm("same-codes"), Name = "SameCodes", Status = PublicationStatus.Active,
            Group =
            [
                new ConceptMap.GroupComponent
                {
                    Source = Animals, Target = Example + "/CodeSystem/animals-v2",
                    Element = [Element("dog", Target("canine", "Canine", ConceptMapEquivalence.Equivalent))],
                    Unmapped = new ConceptMap.UnmappedComponent { Mode = ConceptMap.ConceptMapGroupUnmappedMode.Provided },
                },
            ],
        };
        yield return new ConceptMap
        {
            Url = Cm("sparrows-then-other-map"), Name = "SparrowsThenOtherMap", Status = PublicationStatus.Active,
            Group =
            [
                new ConceptMap.GroupComponent
                {
                    Source = Animals, Target = Classes,
                    Element = [Element("sparrow", Target("aves", "Aves", ConceptMapEquivalence.Wider))],
                    Unmapped = new ConceptMap.UnmappedComponent { Mode = ConceptMap.ConceptMapGroupUnmappedMode.OtherMap, Url = Cm("animal-to-class") },
                },
            ],
        };
        yield return new ConceptMap
        {
            Url = Cm("loop-a"), Name = "LoopA", Status = PublicationStatus.Active,
            Group =
            [
                new ConceptMap.GroupComponent
                {
                    Source = Animals, Target = Classes,
                    Element = [Element("sparrow", Target("aves", "Aves", ConceptMapEquivalence.Wider))],
                    Unmapped = new ConceptMap.UnmappedComponent { Mode = ConceptMap.ConceptMapGroupUnmappedMode.OtherMap, Url = Cm("loop-b") },
                },
            ],
        };
        yield return new ConceptMap
        {
            Url = Cm("loop-b"), Name = "LoopB", Status = PublicationStatus.Active,
            Group =
            [
                new ConceptMap.GroupComponent
                {
                    Source = Animals, Target = Classes,
                    Element = [Element("penguin", Target("aves", "Aves", ConceptMapEquivalence.Wider))],
                    Unmapped = new ConceptMap.UnmappedComponent { Mode = ConceptMap.ConceptMapGroupUnmappedMode.OtherMap, Url = Cm("loop-a") },
                },
            ],
        };
    }

    internal static CodeSystem.ConceptDefinitionComponent Concept(string code, string display, params (string Code, DataType Value)[] properties) => new()
    {
        Code = code,
        Display = display,
        Property = properties.Select(p => new CodeSystem.ConceptPropertyComponent { Code = p.Code, Value = p.Value }).ToList(),
    };

    private static CodeSystem.PropertyComponent Property(string code, CodeSystem.PropertyType type, string? uri = null) =>
        new() { Code = code, Type = type, Uri = uri };

    internal static ValueSet ValueSet(string id, params ValueSet.ConceptSetComponent[] includes) => new()
    {
        Id = id,
        Url = Vs(id),
        Name = id,
        Status = PublicationStatus.Active,
        Compose = new ValueSet.ComposeComponent { Include = [.. includes] },
    };

    internal static ValueSet.ConceptSetComponent Include(string system, params ValueSet.FilterComponent[] filters) =>
        new() { System = system, Filter = [.. filters] };

    internal static ValueSet.ConceptSetComponent IncludeCodes(string system, string[]? concepts = null, string? version = null) => new()
    {
        System = system,
        Version = version,
        Concept = (concepts ?? []).Select(c => new ValueSet.ConceptReferenceComponent { Code = c }).ToList(),
    };

    internal static ValueSet.FilterComponent Filter(string property, FilterOperator op, string value) =>
        new() { Property = property, Op = op, Value = value };

    public static IReadOnlyList<string> Codes(ValueSet expansion) =>
        Flatten(expansion.Expansion!.Contains).Select(c => c.Code!).ToList();

    public static IEnumerable<ValueSet.ContainsComponent> Flatten(IEnumerable<ValueSet.ContainsComponent> contains) =>
        contains.SelectMany(c => Flatten(c.Contains).Prepend(c));
}
