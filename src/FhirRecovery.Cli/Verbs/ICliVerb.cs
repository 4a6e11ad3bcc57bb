using System.CommandLine;

namespace FhirRecovery.Cli.Verbs;

/// <summary>
/// A top-level verb of <c>fhir-recovery</c> (validate, ig, ...). To add one, write a class implementing this interface
/// in its own file: <see cref="VerbRegistry"/> finds it, so verbs written in parallel never edit a shared list.
/// </summary>
public interface ICliVerb
{
    /// <summary>Order in the help listing (lower first); ties by name.</summary>
    int Order => 100;

    /// <summary>
    /// The verb's command with its options, sub-verbs and action. Actions return an exit code from <see cref="ExitCodes"/>
    /// and may throw <see cref="CliUsageException"/> for usage and I/O problems.
    /// </summary>
    Command CreateCommand(CliConsole console);
}

/// <summary>Every <see cref="ICliVerb"/> in this assembly, in help order.</summary>
public static class VerbRegistry
{
    public static IReadOnlyList<ICliVerb> Verbs { get; } = typeof(ICliVerb).Assembly.GetTypes()
        .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(ICliVerb).IsAssignableFrom(t))
        .Select(t => (ICliVerb)Activator.CreateInstance(t, nonPublic: true)!)
        .OrderBy(v => v.Order)
        .ThenBy(v => v.GetType().Name, StringComparer.Ordinal)
        .ToList();
}
