using FhirRecovery.Cli;
using FhirRecovery.Conformance;

namespace FhirRecovery.Samples.Tests;

/// <summary>The conformance engine (core + IG) as the CLI builds it, once per test process: indexing is the slow part.</summary>
internal static class SharedEngine
{
    public static ConformanceEngine Engine => EngineFactory.Create(new EngineRequest());
}
