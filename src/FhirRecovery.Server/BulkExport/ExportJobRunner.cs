using System.Globalization;
using System.Runtime.CompilerServices;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Security;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace FhirRecovery.Server.BulkExport;

/// <summary>
/// Runs one claimed export job: type by type, pages through the store's search (in key order, a page at a time, so
/// memory does not grow with the data) under the requesting client's rights, and writes one NDJSON file per type.
/// Each finished type is a checkpoint: a job resumed after its worker died starts at the first unfinished type.
/// </summary>
public sealed class ExportJobRunner(
    IResourceStore store,
    IExportJobStore jobs,
    IOptionsMonitor<BulkExportOptions> options,
    IOptions<StorageOptions> storage,
    TimeProvider clock,
    ILogger<ExportJobRunner> logger)
{
    private IResourceStore Store { get; } = store;

    private IExportJobStore Jobs { get; } = jobs;

    private TimeProvider Clock { get; } = clock;

    /// <summary>Resources per search page: as many as the store gives at once.</summary>
    private int PageSize { get; } = storage.Value.MaxPageSize;

    /// <summary>Runs the job to its end (completed or failed), or until its lease is lost or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(ExportJob job, string owner, CancellationToken cancellationToken)
    {
        var o = options.CurrentValue;
        if (job.Attempts > o.MaxAttempts)
        {
            await Jobs.FinishJobAsync(job.Id, owner, ExportJobStatus.Failed,
                $"The export was started {job.Attempts - 1} times and its worker stopped each time; giving up", cancellationToken);
            return;
        }

        try
        {
            var run = new Run(this, job, owner, ExportRequest.FromJson(job.Request), o);
            await run.ExecuteAsync(cancellationToken);
            if (!await Jobs.FinishJobAsync(job.Id, owner, ExportJobStatus.Completed, null, cancellationToken))
            {
                throw new ExportLeaseLostException(job.Id);
            }

            logger.LogInformation("Export job {Job} completed: {Count} resources", job.Id, run.Exported);
        }
        catch (ExportLeaseLostException)
        {
            logger.LogInformation("Export job {Job} stopped on this instance: it was cancelled or taken over", job.Id);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: the next worker resumes from the last finished type.
            await Jobs.ReleaseJobAsync(job.Id, owner, CancellationToken.None);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Export job {Job} failed", job.Id);
            var message = ex is FhirException fhir ? fhir.Message : $"The export failed unexpectedly ({ex.GetType().Name}); see the server log";
            await Jobs.FinishJobAsync(job.Id, owner, ExportJobStatus.Failed, message, CancellationToken.None);
        }
    }

    /// <summary>One execution of a job, with what it has exported so far (for progress and lease renewal).</summary>
    private sealed class Run(ExportJobRunner runner, ExportJob job, string owner, ExportRequest request, BulkExportOptions options)
    {
        private DateTimeOffset _lastRenewal = runner.Clock.GetUtcNow();
        private string _progress = "Starting";
        private IReadOnlyList<string>? _members;
        private List<OperationOutcome> _groupIssues = [];

        public long Exported { get; private set; }

        public async Task ExecuteAsync(CancellationToken cancellationToken)
        {
            using var access = CurrentAccess.ForRequest(AccessContext.FromSnapshot(request.Access));
            if (!await runner.Jobs.DiscardUnfinishedAsync(job.Id, owner, cancellationToken))
            {
                throw new ExportLeaseLostException(job.Id);
            }

            if (request.Level == ExportLevel.Group)
            {
                // Once per run, before any type: a Group deleted since the kick-off fails the job rather than each type.
                _members = await GroupMembersAsync(_groupIssues, cancellationToken);
            }

            var finished = (await runner.Jobs.FilesAsync(job.Id, cancellationToken)).Select(f => f.Number).ToHashSet();
            for (var i = 0; i < request.Types.Count; i++)
            {
                var type = request.Types[i];
                if (finished.Contains(OutputFile(i)))
                {
                    continue;
                }

                _progress = $"Exporting {type} (type {i + 1} of {request.Types.Count})";
                await HeartbeatAsync(force: true, cancellationToken);
                await ExportTypeAsync(i, type, cancellationToken);
            }
        }

        private static int OutputFile(int typeIndex) => 2 * typeIndex + 1;

        private async Task ExportTypeAsync(int typeIndex, string type, CancellationToken cancellationToken)
        {
            var output = NewWriter(OutputFile(typeIndex));
            // What the Group's definition gave to report goes with the first type this run exports.
            var errors = _groupIssues;
            _groupIssues = [];
            var elements = request.ElementsFor(type);
            // The same resource can come from two filters or two patients' compartments: remember what was written (ids of
            // one type only, and only when more than one search feeds the file).
            HashSet<string>? written = request.Level != ExportLevel.System || Filters(type).Count > 1 ? new(StringComparer.Ordinal) : null;
            try
            {
                await foreach (var version in ResourcesAsync(type, errors, cancellationToken))
                {
                    if (version.IsDeleted || version.Json is null || version.LastUpdated > job.TransactionTime
                        || (written is not null && !written.Add(version.Id)))
                    {
                        continue;
                    }

                    await output.WriteAsync(elements is null ? version.Json : Subset(version.Json, elements), cancellationToken);
                    Exported++;
                }
            }
            catch (FhirException ex) when (ex.Status is >= 400 and < 500)
            {
                // What the client's rights do not allow (or a filter the store refuses) costs this type, not the whole export.
                errors.Add(Outcomes.Error(ex.Outcome.Issue.FirstOrDefault()?.Code ?? OperationOutcome.IssueType.Processing,
                    $"{type}: {ex.Message}", type));
            }

            if (errors.Count > 0)
            {
                var errorFile = NewWriter(OutputFile(typeIndex) + 1);
                foreach (var error in errors)
                {
                    await errorFile.WriteAsync(FhirSerialization.SerializeToJson(error), cancellationToken);
                }

                await errorFile.FinishAsync(ExportFileKind.Error, "OperationOutcome", cancellationToken);
            }

            await output.FinishAsync(ExportFileKind.Output, type, cancellationToken);
        }

        private NdjsonWriter NewWriter(int fileNumber) => new(runner.Jobs, job.Id, owner, fileNumber, options.ChunkBytes, options.Lease);

        private static byte[] Subset(byte[] json, IReadOnlyList<string> elements) =>
            FhirSerialization.SerializeToJson(Subsetting.ApplyElements(FhirSerialization.ParseStored(json), elements));

        private IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> Filters(string type)
        {
            var filters = request.TypeFilters.Where(f => f.ResourceType == type).Select(f => f.Parameters()).ToList();
            return filters.Count == 0 ? [[]] : filters;
        }

        /// <summary>The resources of a type the export covers (possibly repeated; the caller drops repeats).</summary>
        private async IAsyncEnumerable<ResourceVersion> ResourcesAsync(string type, List<OperationOutcome> errors,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var filters = Filters(type);
            if (request.Level == ExportLevel.System)
            {
                foreach (var filter in filters)
                {
                    await foreach (var version in SearchAllAsync(new SearchRequest { ResourceType = type, Parameters = Query(filter) }, errors, cancellationToken))
                    {
                        yield return version;
                    }
                }

                yield break;
            }

            // A token confined to one patient sees only that patient's compartment: other members are skipped, not refused.
            var confined = CurrentAccess.Context?.GrantFor(type, SmartPermission.Search)?.Patient;
            await foreach (var patient in PatientsAsync(errors, cancellationToken))
            {
                if (confined is not null && patient != confined)
                {
                    continue;
                }

                foreach (var filter in filters)
                {
                    var search = type == "Patient"
                        ? new SearchRequest { ResourceType = type, Parameters = [new("_id", patient), .. Query(filter)] }
                        : new SearchRequest { ResourceType = type, Parameters = Query(filter), Compartment = new CompartmentScope("Patient", patient) };
                    await foreach (var version in SearchAllAsync(search, errors, cancellationToken))
                    {
                        yield return version;
                    }
                }
            }
        }

        /// <summary>The patients whose compartments a Patient- or Group-level export covers (ids).</summary>
        private async IAsyncEnumerable<string> PatientsAsync(List<OperationOutcome> errors, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var only = request.Patients?.ToHashSet(StringComparer.Ordinal);
            if (_members is not null)
            {
                foreach (var member in _members)
                {
                    if (only is null || only.Contains(member))
                    {
                        yield return member;
                    }
                }

                yield break;
            }

            if (only is not null)
            {
                foreach (var patient in only)
                {
                    yield return patient;
                }

                yield break;
            }

            await foreach (var patient in SearchAllAsync(new SearchRequest { ResourceType = "Patient", Parameters = Query([]) }, errors, cancellationToken))
            {
                yield return patient.Id;
            }
        }

        /// <summary>The Group's active Patient members (the Group is the cohort's definition: read as the server).</summary>
        private async Task<IReadOnlyList<string>> GroupMembersAsync(List<OperationOutcome> errors, CancellationToken cancellationToken)
        {
            ResourceVersion? stored;
            using (CurrentAccess.AsSystem())
            {
                stored = await runner.Store.ReadAsync("Group", request.GroupId!, cancellationToken);
            }

            if (stored is not { IsDeleted: false, Json: { } json } || FhirSerialization.ParseStored(json) is not Group group)
            {
                throw FhirException.NotFound($"Group/{request.GroupId} is not known (it was deleted after the export was requested)");
            }

            var members = new List<string>();
            foreach (var member in group.Member.Where(m => m.Inactive != true))
            {
                if (AccessContext.RelativeReference(member.Entity?.Reference) is { } reference && reference.StartsWith("Patient/", StringComparison.Ordinal))
                {
                    members.Add(reference["Patient/".Length..]);
                }
                else
                {
                    errors.Add(Outcomes.Single(OperationOutcome.IssueSeverity.Warning, OperationOutcome.IssueType.NotSupported,
                        $"Group/{request.GroupId}: member '{member.Entity?.Reference}' is not a Patient on this server and was skipped", "Group.member.entity"));
                }
            }

            return members.Distinct(StringComparer.Ordinal).ToList();
        }

        /// <summary>The filter's parameters with the export's own: <c>_since</c> and a page as large as the store allows.</summary>
        private List<KeyValuePair<string, string>> Query(IReadOnlyList<KeyValuePair<string, string>> filter)
        {
            List<KeyValuePair<string, string>> query = [.. filter, new("_count", runner.PageSize.ToString(CultureInfo.InvariantCulture))];
            if (request.Since is { } since)
            {
                // The search takes milliseconds: from the start of _since's millisecond (a repeat is better than a loss).
                var utc = since.ToUniversalTime();
                query.Add(new("_lastUpdated", "ge" + utc.AddTicks(-(utc.Ticks % TimeSpan.TicksPerMillisecond)).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)));
            }

            return query;
        }

        /// <summary>Every page of a search, in the store's key order; lenient-handling issues become error lines once each.</summary>
        private async IAsyncEnumerable<ResourceVersion> SearchAllAsync(SearchRequest first, List<OperationOutcome> errors,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var request = first;
            while (true)
            {
                var page = await runner.Store.SearchAsync(request, cancellationToken);
                foreach (var issue in page.Issues)
                {
                    var message = $"{first.ResourceType}: {issue.Parameter}: {issue.Message}";
                    if (!errors.Any(e => e.Issue[0].Diagnostics == message))
                    {
                        errors.Add(Outcomes.Single(OperationOutcome.IssueSeverity.Warning, OperationOutcome.IssueType.NotSupported, message, issue.Parameter));
                    }
                }

                foreach (var match in page.Matches)
                {
                    yield return match;
                }

                await HeartbeatAsync(force: false, cancellationToken);
                if (page.NextPage is null)
                {
                    yield break;
                }

                // The token carries the parameters (and the narrowing the client's rights added to them).
                request = new SearchRequest { ResourceType = first.ResourceType, Compartment = first.Compartment, PageToken = page.NextPage };
            }
        }

        /// <summary>Renews the lease (with progress) when a third of it has passed; stops the job when the lease is lost.</summary>
        private async Task HeartbeatAsync(bool force, CancellationToken cancellationToken)
        {
            var now = runner.Clock.GetUtcNow();
            if (!force && now - _lastRenewal < options.Lease / 3)
            {
                return;
            }

            if (!await runner.Jobs.RenewLeaseAsync(job.Id, owner, options.Lease, $"{_progress}; {Exported} resources so far", cancellationToken))
            {
                throw new ExportLeaseLostException(job.Id);
            }

            _lastRenewal = now;
        }
    }
}
