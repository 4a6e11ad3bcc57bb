namespace FhirRecovery.Server.Configuration;

/// <summary>Which writes the profile validator checks (section <c>Validation</c>).</summary>
public sealed class ValidationOptions
{
    public const string Section = "Validation";

    public ValidationMode Mode { get; set; } = ValidationMode.DeclaredProfiles;

    /// <summary>
    /// Resource types validated on every write in <see cref="ValidationMode.DeclaredProfiles"/> mode, even without a
    /// meta.profile: the types the recovery profiles constrain.
    /// </summary>
    public List<string> AlwaysValidatedTypes { get; set; } =
        ["Goal", "CarePlan", "Questionnaire", "QuestionnaireResponse", "ServiceRequest", "Task"];
}

public enum ValidationMode
{
    /// <summary>Only the parser's checks: a write that is not well-formed FHIR is still refused.</summary>
    Off,

    /// <summary>The recovery profiles' resource types and any resource declaring a known profile in meta.profile.</summary>
    DeclaredProfiles,

    /// <summary>Every write.</summary>
    Always,
}

/// <summary>The sample data set loaded into an empty store (section <c>Samples</c>).</summary>
public sealed class SampleOptions
{
    public const string Section = "Samples";

    /// <summary>
    /// Folder of FHIR JSON files (Bundles, single resources, NDJSON). A relative path is looked for under the content root
    /// and then under its parent folders, so the repository's <c>samples/data</c> is found from the project folder too.
    /// </summary>
    public string Path { get; set; } = "samples/data";

    public bool LoadWhenEmpty { get; set; } = true;
}

/// <summary>Request and result limits (section <c>Limits</c>).</summary>
public sealed class LimitOptions
{
    public const string Section = "Limits";

    /// <summary>Largest request body accepted; a larger one is answered 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Page size when the client gives no <c>_count</c>.</summary>
    public int DefaultPageSize { get; set; } = 20;

    /// <summary>Largest <c>_count</c> honoured; larger values are lowered to it (and the lowering is reported).</summary>
    public int MaxPageSize { get; set; } = 500;

    /// <summary>Most <c>_include</c> + <c>_revinclude</c> parameters in one search; more are answered 400.</summary>
    public int MaxIncludeParameters { get; set; } = 10;

    /// <summary>Most entries in a batch or transaction Bundle; more are answered 413.</summary>
    public int MaxBundleEntries { get; set; } = 10_000;
}

/// <summary>The REST layer itself (section <c>Fhir</c>).</summary>
public sealed class FhirServerOptions
{
    public const string Section = "Fhir";

    /// <summary>
    /// Base URL used in fullUrls, links and Location headers (e.g. behind a reverse proxy); default: from the request
    /// (<c>scheme://host/fhir</c>).
    /// </summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Whether the IG's conformance resources are written into the store at start-up (idempotently).</summary>
    public bool LoadConformanceResources { get; set; } = true;
}
