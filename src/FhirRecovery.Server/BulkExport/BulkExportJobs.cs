using System.Globalization;
using System.Text.Json.Nodes;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Server.Security;
using FhirRecovery.Storage;
using Microsoft.Extensions.Options;

namespace FhirRecovery.Server.BulkExport;

/// <summary>
/// Bulk Data export jobs as the client sees them: a kick-off is checked (parameters, scopes, the Group) and stored as a
/// queued job; status, manifest, files and cancellation are answered from the job store, so any instance can answer
/// them. Only the client that kicked a job off can see it: to any other, it does not exist.
/// </summary>
public sealed class BulkExportJobs(
    IResourceStore store,
    IExportJobStore jobs,
    PatientCompartment compartment,
    BulkExportWorker worker,
    IOptionsMonitor<AuthOptions> auth,
    TimeProvider clock)
{
    /// <summary>The NDJSON media types <c>_outputFormat</c> may name (all mean the same).</summary>
    public static readonly string[] OutputFormats = ["application/fhir+ndjson", "application/ndjson", "ndjson"];

    /// <summary>Search parameters that shape results rather than select them: meaningless in a <c>_typeFilter</c>.</summary>
    private static readonly HashSet<string> ShapingParameters = new(StringComparer.Ordinal)
    {
        "_sort", "_count", "_summary", "_elements", "_total", "_contained", "_containedType", "_page", "_format", "_pretty",
    };

    /// <summary>Checks a kick-off and queues the job; answers its id.</summary>
    public async Task<string> KickOffAsync(ExportLevel level, string? groupId, IReadOnlyList<KeyValuePair<string, string>> parameters,
        string requestUrl, AccessContext access, CancellationToken cancellationToken)
    {
        var format = Single(parameters, "_outputFormat");
        if (format is not null && !OutputFormats.Contains(format.Trim(), StringComparer.OrdinalIgnoreCase))
        {
            throw FhirException.BadRequest(
                $"_outputFormat '{format}' is not supported: use {string.Join(", ", OutputFormats)}", "_outputFormat");
        }

        if (level == ExportLevel.Group)
        {
            await RequireGroupAsync(groupId!, cancellationToken);
        }

        var types = Types(level, parameters, access);
        var request = new ExportRequest
        {
            Level = level,
            GroupId = groupId,
            Types = types,
            Since = Since(parameters),
            TypeFilters = await TypeFiltersAsync(parameters, types, cancellationToken),
            Elements = Elements(parameters),
            Patients = Patients(level, parameters),
            RequestUrl = requestUrl,
            RequiresAccessToken = auth.CurrentValue.Mode != AuthMode.None,
            Access = access.ToSnapshot(),
        };
        var now = clock.GetUtcNow();
        var job = new ExportJob
        {
            Id = Guid.NewGuid().ToString("N"),
            Requester = Requester(access),
            Request = request.ToJson(),
            TransactionTime = now,
            CreatedAt = now,
        };
        await jobs.CreateJobAsync(job, cancellationToken);
        worker.Nudge();
        return job.Id;
    }

    /// <summary>The job, if it is there and this client's; 404 otherwise.</summary>
    public async Task<ExportJob> JobAsync(string id, AccessContext access, CancellationToken cancellationToken)
    {
        var job = await jobs.GetJobAsync(id, cancellationToken);
        if (job is null || !MayAccess(job, access))
        {
            throw FhirException.NotFound($"There is no export job '{id}' (it may have been cancelled, have expired, or belong to another client)");
        }

        return job;
    }

    /// <summary>The completion manifest of a finished job, with file URLs under <paramref name="baseUrl"/>.</summary>
    public async Task<JsonObject> ManifestAsync(ExportJob job, string baseUrl, CancellationToken cancellationToken)
    {
        var request = ExportRequest.FromJson(job.Request);
        var files = await jobs.FilesAsync(job.Id, cancellationToken);
        JsonArray List(ExportFileKind kind) => new(files.Where(f => f.Kind == kind && f.Count > 0)
            .Select(f => (JsonNode)new JsonObject
            {
                ["type"] = f.ResourceType,
                ["url"] = FileUrl(baseUrl, job.Id, f.Number),
                ["count"] = f.Count,
            }).ToArray());

        return new JsonObject
        {
            ["transactionTime"] = job.TransactionTime.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture),
            ["request"] = request.RequestUrl,
            ["requiresAccessToken"] = request.RequiresAccessToken,
            ["output"] = List(ExportFileKind.Output),
            ["error"] = List(ExportFileKind.Error),
        };
    }

    /// <summary>Cancels (or, once finished, deletes) the job and its files.</summary>
    public async Task CancelAsync(string id, AccessContext access, CancellationToken cancellationToken)
    {
        await JobAsync(id, access, cancellationToken);
        await jobs.DeleteJobAsync(id, cancellationToken);
    }

    /// <summary>Writes a finished file of a completed job; 404 when there is no such file for this client.</summary>
    public async Task CopyFileAsync(string id, int fileNumber, AccessContext access, Stream destination, Action beforeFirstByte,
        CancellationToken cancellationToken)
    {
        var job = await JobAsync(id, access, cancellationToken);
        var files = await jobs.FilesAsync(id, cancellationToken);
        if (job.Status != ExportJobStatus.Completed || files.All(f => f.Number != fileNumber || f.Count == 0))
        {
            throw FhirException.NotFound($"Export job '{id}' has no file {fileNumber}");
        }

        beforeFirstByte();
        await jobs.CopyFileAsync(id, fileNumber, destination, cancellationToken);
    }

    public static string StatusUrl(string baseUrl, string id) => $"{baseUrl}/$export-status/{id}";

    public static string FileUrl(string baseUrl, string id, int number) => $"{baseUrl}/$export-file/{id}/{number}";

    /// <summary>Who a job belongs to: the SMART client (the subject when a token names no client); anyone without authorization.</summary>
    public static string Requester(AccessContext access) => access.Kind switch
    {
        "token" => "client:" + (access.ClientId ?? "sub:" + access.Subject),
        var kind => kind,
    };

    private static bool MayAccess(ExportJob job, AccessContext access) =>
        job.Requester == "anonymous" ? access.Kind == "anonymous" || access.IsUnrestricted : job.Requester == Requester(access);

    private async Task RequireGroupAsync(string groupId, CancellationToken cancellationToken)
    {
        // The Group is the cohort's definition, read as the server: a client exporting Goals needs no Group scope. What
        // the members' data shows is still limited by the client's own scopes when the job runs.
        ResourceVersion? group;
        using (CurrentAccess.AsSystem())
        {
            group = ResourceNames.IsValidId(groupId) ? await store.ReadAsync("Group", groupId, cancellationToken) : null;
        }

        if (group is null or { IsDeleted: true })
        {
            throw FhirException.NotFound($"Group/{groupId} is not known");
        }
    }

    /// <summary><c>_type</c>, checked against the level and the token's scopes; without it, every type the token may search.</summary>
    private IReadOnlyList<string> Types(ExportLevel level, IReadOnlyList<KeyValuePair<string, string>> parameters, AccessContext access)
    {
        var requested = Values(parameters, "_type");
        if (requested.Count == 0)
        {
            var granted = access.TypesGranted(SmartPermission.Search);
            var types = ResourceNames.All
                .Where(t => level == ExportLevel.System || compartment.IsMemberType(t))
                .Where(t => granted is null ? access.GrantFor(t, SmartPermission.Search) is not null : granted.Contains(t))
                .Where(t => Searchable(access, t))
                .ToList();
            if (types.Count == 0)
            {
                throw SecurityErrors.InsufficientScope("The token's scopes allow searching no resource type that this export covers");
            }

            return types;
        }

        foreach (var type in requested)
        {
            if (!ResourceNames.IsResourceType(type))
            {
                throw FhirException.BadRequest($"_type: '{type}' is not a FHIR R4 resource type", "_type");
            }

            if (level != ExportLevel.System && !compartment.IsMemberType(type))
            {
                throw FhirException.BadRequest($"_type: {type} is not in the Patient compartment, so a {level}-level export has none", "_type");
            }

            if (access.GrantFor(type, SmartPermission.Search) is null)
            {
                throw AccessPolicy.Denied(access, type, SmartPermission.Search);
            }

            if (!Searchable(access, type))
            {
                throw SecurityErrors.InsufficientScope($"_type: {type} is not in the Patient compartment: with a patient in context it cannot be exported");
            }
        }

        return requested.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>A token confined to a patient searches only that patient's compartment and the shared types.</summary>
    private bool Searchable(AccessContext access, string type) =>
        access.GrantFor(type, SmartPermission.Search)?.Patient is null || compartment.IsMemberType(type) || compartment.IsShared(type);

    private static DateTimeOffset? Since(IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        if (Single(parameters, "_since")?.Trim() is not { } given)
        {
            return null;
        }

        // An unescaped '+' of a zone offset arrives as a space.
        var text = given.Replace(' ', '+');

        // An instant: a time and a zone are required (a date alone would leave the zone to guess).
        if (text.Contains('T') && (text.EndsWith('Z') || text.LastIndexOfAny(['+', '-']) > text.IndexOf('T'))
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var since))
        {
            return since;
        }

        throw FhirException.BadRequest($"_since '{text}' is not a FHIR instant (e.g. 2024-01-31T12:00:00Z)", "_since");
    }

    private async Task<IReadOnlyList<ExportTypeFilter>> TypeFiltersAsync(IReadOnlyList<KeyValuePair<string, string>> parameters,
        IReadOnlyList<string> types, CancellationToken cancellationToken)
    {
        var filters = new List<ExportTypeFilter>();
        foreach (var text in parameters.Where(p => p.Key == "_typeFilter").Select(p => p.Value))
        {
            // The value is itself a (percent-encoded) query: Type?param=value&...
            var question = text.IndexOf('?');
            var type = question < 0 ? text : text[..question];
            if (question < 0 || !ResourceNames.IsResourceType(type))
            {
                throw FhirException.BadRequest($"_typeFilter '{text}' is not a search of a resource type (Type?parameters)", "_typeFilter");
            }

            if (!types.Contains(type))
            {
                throw FhirException.BadRequest($"_typeFilter '{text}': {type} is not among the types exported ({string.Join(",", types.Take(20))})", "_typeFilter");
            }

            var filter = new ExportTypeFilter(type, text[(question + 1)..]);
            var search = filter.Parameters();
            if (search.FirstOrDefault(p => ShapingParameters.Contains(p.Key.Split(':')[0])
                                          || p.Key.StartsWith("_include", StringComparison.Ordinal) || p.Key.StartsWith("_revinclude", StringComparison.Ordinal))
                is { Key: { } shaping })
            {
                throw FhirException.BadRequest($"_typeFilter '{text}': {shaping} shapes search results and cannot filter an export", "_typeFilter");
            }

            try
            {
                // Run once, strictly and under the client's token: an unknown parameter, a bad value or a parameter the
                // scopes do not allow is refused now rather than failing the job later.
                await store.SearchAsync(new SearchRequest
                {
                    ResourceType = type,
                    Parameters = [.. search, new("_count", "1")],
                    Handling = SearchHandling.Strict,
                }, cancellationToken);
            }
            catch (SearchException ex)
            {
                throw FhirException.BadRequest($"_typeFilter '{text}': {ex.Parameter}: {ex.Message}", "_typeFilter");
            }

            filters.Add(filter);
        }

        return filters;
    }

    private static IReadOnlyList<string>? Elements(IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var elements = Values(parameters, "_elements");
        foreach (var element in elements)
        {
            var dot = element.IndexOf('.');
            if (dot >= 0 && (!ResourceNames.IsResourceType(element[..dot]) || element.IndexOf('.', dot + 1) >= 0))
            {
                throw FhirException.BadRequest($"_elements: '{element}' is not an element name or Type.element", "_elements");
            }
        }

        return elements.Count == 0 ? null : elements;
    }

    private static IReadOnlyList<string>? Patients(ExportLevel level, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var references = Values(parameters, "patient");
        if (references.Count == 0)
        {
            return null;
        }

        if (level == ExportLevel.System)
        {
            throw FhirException.BadRequest("patient applies to Patient- and Group-level exports only", "patient");
        }

        return references.Select(r => AccessContext.RelativeReference(r.Contains('/') ? r : "Patient/" + r) is { } reference
                                      && reference.StartsWith("Patient/", StringComparison.Ordinal)
                ? reference["Patient/".Length..]
                : throw FhirException.BadRequest($"patient: '{r}' is not a Patient reference", "patient"))
            .Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Comma-separated values of a parameter that may also be repeated.</summary>
    private static List<string> Values(IReadOnlyList<KeyValuePair<string, string>> parameters, string name) =>
        parameters.Where(p => p.Key == name)
            .SelectMany(p => p.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToList();

    private static string? Single(IReadOnlyList<KeyValuePair<string, string>> parameters, string name)
    {
        var values = parameters.Where(p => p.Key == name).Select(p => p.Value).ToList();
        return values.Count switch
        {
            0 => null,
            1 => values[0],
            _ => throw FhirException.BadRequest($"{name} is given {values.Count} times; give it once", name),
        };
    }
}
