using System.Runtime.CompilerServices;

namespace FhirRecovery.Conformance;

/// <summary>
/// Invariants and profiles bring regular expressions from outside (FHIRPath matches(), the regex extension), and
/// Firely builds those Regex objects itself. The runtime's default match timeout is read once, when Regex is first
/// used, and only from AppContext as a TimeSpan: set it as soon as this assembly loads. Hosts that use Regex before
/// loading it call <see cref="Apply"/> first thing (the server and the CLI do).
/// </summary>
public static class RegexTimeout
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(2);

    public static void Apply()
    {
        if (AppContext.GetData("REGEX_DEFAULT_MATCH_TIMEOUT") is null)
        {
            AppDomain.CurrentDomain.SetData("REGEX_DEFAULT_MATCH_TIMEOUT", Default);
        }
    }

#pragma warning disable CA2255 // Module initializers are meant for apps; here the timeout must precede any Regex the library's users create.
    [ModuleInitializer]
    internal static void OnLoad() => Apply();
#pragma warning restore CA2255
}
