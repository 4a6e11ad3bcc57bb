namespace FhirRecovery.Conformance.Tests;

/// <summary>Where the repository and the shared folder beside it are, seen from the test's output directory.</summary>
internal static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Profiles => Path.Combine(RepositoryRoot, "profiles");

    public static string Docs => Path.Combine(RepositoryRoot, "docs");

    /// <summary>The shared folder (../shared from the repository root).</summary>
    public static string Shared => Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));

    public static string Hl7TestCases => Path.Combine(Shared, "conformance", "fhir-test-cases");

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FhirRecovery.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"FhirRecovery.sln not found above {AppContext.BaseDirectory}");
    }
}
