using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Server.Tests.Infrastructure;

/// <summary>Resources for the tests: small ones built here, and the IG's examples read from the repository.</summary>
public static class TestResources
{
    public const string RecoveryGoalProfile = "https://fhirrecovery.org/fhir/StructureDefinition/recovery-goal";

    private static readonly Lazy<string> RepositoryRoot = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "FhirRecovery.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (FhirRecovery.sln) was not found above " + AppContext.BaseDirectory);
    });

    public static string Unique(string prefix = "t") => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 33)];

    public static Patient Patient(string? identifier = null, string family = "Testperson") => new()
    {
        Identifier = [new Identifier("https://fhirrecovery.org/test/patient", identifier ?? Unique("p"))],
        Name = [new HumanName { Family = family, Given = ["Alex"] }],
        Gender = AdministrativeGender.Other,
        Active = true,
    };

    /// <summary>A Goal that declares no profile (validated against the base definition only).</summary>
    public static Goal Goal(string subject, string description = "Walk to the shop every day", Goal.GoalLifecycleStatus status = Hl7.Fhir.Model.Goal.GoalLifecycleStatus.Active) => new()
    {
        LifecycleStatus = status,
        Description = new CodeableConcept { Text = description },
        Subject = new ResourceReference(subject),
        Identifier = [new Identifier("https://fhirrecovery.org/test/goal", Unique("g"))],
    };

    public static Observation Observation(string subject) => new()
    {
        Status = ObservationStatus.Final,
        Code = new CodeableConcept("http://loinc.org", "72514-3", "Pain severity"),
        Subject = new ResourceReference(subject),
        Value = new Integer(3),
    };

    public static string RepoPath(params string[] parts) => Path.Combine([RepositoryRoot.Value, .. parts]);

    public static string ReadRepoFile(params string[] parts) => File.ReadAllText(RepoPath(parts));

    /// <summary>One of the IG's valid examples (profiles/examples), parsed.</summary>
    public static T Example<T>(string fileName) where T : Resource =>
        (T)new FhirJsonDeserializer().DeserializeResource(ReadRepoFile("profiles", "examples", fileName));
}
