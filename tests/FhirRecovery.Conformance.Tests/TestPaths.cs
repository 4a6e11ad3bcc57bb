namespace FhirRecovery.Conformance.Tests;

/// <summary>Where the repository and the shared folder beside it are, seen from the test's output directory.</summary>
internal static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Profiles => Path.Combine(RepositoryRoot, "profiles");

    public static string Docs => Path.Combine(RepositoryRoot, "docs");

    /// <summary>
    /// The shared folder beside the checkout (../shared; FHIRRECOVERY_SHARED overrides). It holds the HL7 validator
    /// test cases, which the conformance tests need: their absence is an error, not a reason to skip.
    /// </summary>
    public static string Shared
    {
        get
        {
            var folder = Environment.GetEnvironmentVariable("FHIRRECOVERY_SHARED") is { Length: > 0 } configured
                ? configured
                : Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));
            return Directory.Exists(folder)
                ? folder
                : throw new DirectoryNotFoundException(
                    $"The shared folder '{folder}' (HL7 validator test cases) is missing: it sits beside the checkout, or set FHIRRECOVERY_SHARED.");
        }
    }

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
