using FhirRecovery.Mapping;

namespace FhirRecovery.Cli.Verbs;

/// <summary>Builds the mapping service the convert and sync verbs share: the engine from <see cref="EngineFactory"/>, EHR profiles from a folder.</summary>
internal static class MappingFactory
{
    public static EhrMappingService Create(CliConsole console, string? ehrDirectory)
    {
        var options = new MappingOptions { BaseDirectory = console.WorkingDirectory };
        if (ehrDirectory is not null)
        {
            var full = console.FullPath(ehrDirectory);
            if (!Directory.Exists(full))
            {
                throw new CliUsageException($"--ehr-dir: '{ehrDirectory}' is not a folder.");
            }

            options.EhrDirectories.Add(full);
        }
        else if (EhrProfile.ResolvePath(Path.Combine("samples", "ehr"), console.WorkingDirectory) is { } samples)
        {
            // From a checkout, the sample EHR profiles (northwind, fjordline) are there without asking.
            options.EhrDirectories.Add(samples);
        }

        return new EhrMappingService(EngineFactory.Create(new EngineRequest()), options);
    }

    public static EhrProfile Ehr(EhrMappingService mapping, string? name)
    {
        try
        {
            return mapping.Ehr(name);
        }
        catch (ArgumentException ex)
        {
            throw new CliUsageException($"--ehr: {ex.Message}");
        }
    }
}
