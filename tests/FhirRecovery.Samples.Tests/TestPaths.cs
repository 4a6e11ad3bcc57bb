namespace FhirRecovery.Samples.Tests;

/// <summary>Where the repository is, seen from the test's output directory.</summary>
internal static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Profiles => Path.Combine(RepositoryRoot, "profiles");

    public static string Questionnaires => Path.Combine(Profiles, "questionnaires");

    /// <summary>The shipped data set.</summary>
    public static string SamplesData => Path.Combine(RepositoryRoot, "samples", "data");

    public static string SamplesReadme => Path.Combine(RepositoryRoot, "samples", "README.md");

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

/// <summary>A fresh folder for one test, removed afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fhir-recovery-samples-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on a slow file system: the OS cleans the temp folder.
        }
    }
}
