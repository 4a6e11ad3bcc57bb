namespace FhirRecovery.Cli.Tests;

/// <summary>Where the repository is, seen from the test's output directory.</summary>
internal static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string Profiles => Path.Combine(RepositoryRoot, "profiles");

    public static string Examples => Path.Combine(Profiles, "examples");

    public static string InvalidExamples => Path.Combine(Examples, "invalid");

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
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fhir-recovery-cli-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name, string content)
    {
        var path = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

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
