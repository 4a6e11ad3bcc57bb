using FhirRecovery.Server.Http;
using FhirRecovery.Server.Patching;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Interactions;

/// <summary>What a write did: its HTTP status, the stored version (null for a delete of nothing), and the validator's warnings.</summary>
public sealed record WriteResult(int Status, ResourceVersion? Version, IReadOnlyList<Conformance.Validation.ValidationIssue> Warnings)
{
    public bool Created => Status == StatusCodes.Status201Created;
}

/// <summary>
/// The write interactions of FHIR's RESTful API (create, update, patch, delete and their conditional forms) over one
/// <see cref="IStoreSession"/>, so the REST endpoints (one session each) and transactions (one session for all) share them.
/// Preconditions that fail throw <see cref="FhirException"/> before anything is written.
/// </summary>
public sealed class ResourceInteractions(WriteValidation validation, IEnumerable<IResourceWriteHook> hooks)
{
    private readonly IResourceWriteHook[] _hooks = hooks.ToArray();

    private WriteMode _mode = WriteMode.Live;

    public WriteValidation Validation => validation;

    public WriteMode Mode => _mode;

    /// <summary>The same interactions with their writes in <paramref name="mode"/> (told to the hooks through <see cref="WriteContext.Mode"/>).</summary>
    public ResourceInteractions In(WriteMode mode) =>
        mode == _mode ? this : new ResourceInteractions(validation, _hooks) { _mode = mode };

    /// <summary>create, and conditional create when <paramref name="ifNoneExist"/> is given (0 matches: create; 1: that one; more: 412).</summary>
    public async Task<WriteResult> CreateAsync(IStoreSession session, CheckedResource input, string? ifNoneExist, CancellationToken cancellationToken)
    {
        var resource = input.Resource;
        if (!string.IsNullOrEmpty(ifNoneExist))
        {
            var matches = await SearchCriteria.MatchAsync(session, resource.TypeName, StripType(ifNoneExist, resource.TypeName), "If-None-Exist", cancellationToken);
            if (matches.Count > 1)
            {
                throw FhirException.PreconditionFailed($"If-None-Exist '{ifNoneExist}' matches more than one {resource.TypeName}");
            }

            if (matches.Count == 1)
            {
                return new WriteResult(StatusCodes.Status200OK, matches[0], input.Warnings);
            }
        }

        // The server assigns ids on create; a client id in the body is ignored, as the spec says.
        resource.Id = ResourceNames.NewId();
        var context = await BeforeAsync(session, WriteKind.Create, resource.TypeName, resource.Id, resource, previous: null, cancellationToken);
        var version = await session.CreateAsync(resource, cancellationToken);
        await AfterAsync(context, version, cancellationToken);
        return new WriteResult(StatusCodes.Status201Created, version, input.Warnings);
    }

    /// <summary>
    /// create under an id the caller settled (transaction entries get theirs before references are rewritten), with the
    /// write hooks like every other write.
    /// </summary>
    public async Task<WriteResult> CreateWithIdAsync(IStoreSession session, CheckedResource input, string id, CancellationToken cancellationToken)
    {
        var resource = input.Resource;
        resource.Id = id;
        var context = await BeforeAsync(session, WriteKind.Create, resource.TypeName, id, resource, previous: null, cancellationToken);
        var version = await session.CreateAsync(resource, cancellationToken);
        await AfterAsync(context, version, cancellationToken);
        return new WriteResult(StatusCodes.Status201Created, version, input.Warnings);
    }

    /// <summary>update (and update-as-create with the client's id); <paramref name="ifMatch"/> must be the current version.</summary>
    public async Task<WriteResult> UpdateAsync(IStoreSession session, string type, string id, CheckedResource input, long? ifMatch, CancellationToken cancellationToken)
    {
        var resource = input.Resource;
        RequireType(resource, type);
        if (string.IsNullOrEmpty(resource.Id))
        {
            throw FhirException.BadRequest($"The {type} has no id: an update must carry the id of the URL ({id})", $"{type}.id");
        }

        if (resource.Id != id)
        {
            throw FhirException.BadRequest($"The {type}'s id '{resource.Id}' is not the id of the URL ('{id}')", $"{type}.id");
        }

        ResourceNames.RequireValidId(id, $"{type}.id");
        var outcome = await UpdateStoreAsync(session, resource, ifMatch, cancellationToken);
        return new WriteResult(outcome.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK, outcome.Version, input.Warnings);
    }

    /// <summary>Conditional update (<c>PUT [type]?criteria</c>): 0 matches create, 1 updates it, more are 412.</summary>
    public async Task<WriteResult> ConditionalUpdateAsync(IStoreSession session, string type, string criteria, CheckedResource input, long? ifMatch, CancellationToken cancellationToken)
    {
        var resource = input.Resource;
        RequireType(resource, type);
        var matches = await SearchCriteria.MatchAsync(session, type, criteria, "Conditional update", cancellationToken);
        switch (matches.Count)
        {
            case 0:
                if (string.IsNullOrEmpty(resource.Id))
                {
                    resource.Id = ResourceNames.NewId();
                }
                else
                {
                    ResourceNames.RequireValidId(resource.Id, $"{type}.id");
                }

                var created = await UpdateStoreAsync(session, resource, ifMatch, cancellationToken);
                return new WriteResult(created.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK, created.Version, input.Warnings);
            case 1:
                var match = matches[0];
                if (!string.IsNullOrEmpty(resource.Id) && resource.Id != match.Id)
                {
                    throw FhirException.BadRequest($"The {type}'s id '{resource.Id}' is not the id of the resource matching '{criteria}' ('{match.Id}')", $"{type}.id");
                }

                resource.Id = match.Id;
                var updated = await UpdateStoreAsync(session, resource, ifMatch, cancellationToken);
                return new WriteResult(StatusCodes.Status200OK, updated.Version, input.Warnings);
            default:
                throw FhirException.PreconditionFailed($"Conditional update: '{criteria}' matches more than one {type}");
        }
    }

    /// <summary>patch: applied to the current version; a concurrent change in between is a 409 (or 412 under If-Match).</summary>
    public async Task<WriteResult> PatchAsync(IStoreSession session, string type, string id, PatchDocument patch, long? ifMatch, CancellationToken cancellationToken)
    {
        var current = await RequireCurrentAsync(session, type, id, cancellationToken);
        if (ifMatch is { } expected && expected != current.VersionId)
        {
            throw VersionMismatch(type, id, expected, current.VersionId);
        }

        var patched = patch.Apply(current);
        if (patched.TypeName != type || patched.Id != id)
        {
            throw new FhirException(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.Processing,
                $"A patch may not change the resource type or id (it made {patched.TypeName}/{patched.Id} of {type}/{id})");
        }

        var input = validation.Check(patched);
        try
        {
            var context = await BeforeAsync(session, WriteKind.Patch, type, id, input.Resource, current, cancellationToken);
            var outcome = await session.UpdateAsync(input.Resource, current.VersionId, cancellationToken);
            await AfterAsync(context, outcome.Version, cancellationToken);
            return new WriteResult(StatusCodes.Status200OK, outcome.Version, input.Warnings);
        }
        catch (VersionConflictException ex)
        {
            throw ifMatch is null
                ? FhirException.Conflict($"{type}/{id} changed while the patch was applied (now version {ex.ActualVersion}): retry")
                : VersionMismatch(type, id, ifMatch.Value, ex.ActualVersion);
        }
    }

    public async Task<WriteResult> DeleteAsync(IStoreSession session, string type, string id, long? ifMatch, CancellationToken cancellationToken)
    {
        try
        {
            var previous = _hooks.Length == 0 ? null : await session.ReadAsync(type, id, cancellationToken);
            var context = await BeforeAsync(session, WriteKind.Delete, type, id, resource: null, previous is { IsDeleted: false } ? previous : null, cancellationToken);
            var deleted = await session.DeleteAsync(type, id, ifMatch, cancellationToken);
            if (deleted is not null)
            {
                await AfterAsync(context, deleted, cancellationToken);
            }

            return new WriteResult(StatusCodes.Status204NoContent, deleted, []);
        }
        catch (VersionConflictException ex)
        {
            throw VersionMismatch(type, id, ifMatch, ex.ActualVersion);
        }
    }

    /// <summary>Conditional delete: no match is fine (nothing to do), one is deleted, several are 412.</summary>
    public async Task<WriteResult> ConditionalDeleteAsync(IStoreSession session, string type, string criteria, CancellationToken cancellationToken)
    {
        var matches = await SearchCriteria.MatchAsync(session, type, criteria, "Conditional delete", cancellationToken);
        return matches.Count switch
        {
            0 => new WriteResult(StatusCodes.Status204NoContent, null, []),
            1 => await DeleteAsync(session, type, matches[0].Id, null, cancellationToken),
            _ => throw FhirException.PreconditionFailed($"Conditional delete: '{criteria}' matches more than one {type}"),
        };
    }

    private async Task<WriteContext?> BeforeAsync(IStoreSession session, WriteKind kind, string type, string id, Resource? resource,
        ResourceVersion? previous, CancellationToken cancellationToken)
    {
        if (_hooks.Length == 0)
        {
            return null;
        }

        var context = new WriteContext { Session = session, Kind = kind, ResourceType = type, Id = id, Resource = resource, Previous = previous, Mode = _mode };
        // Hooks are the server's own logic: their reads and writes are not limited by the client's scopes (the client's
        // access context stays available as CurrentAccess.Caller, e.g. for Provenance).
        using var system = Security.CurrentAccess.AsSystem();
        foreach (var hook in _hooks)
        {
            await hook.BeforeWriteAsync(context, cancellationToken);
        }

        return context;
    }

    private async System.Threading.Tasks.Task AfterAsync(WriteContext? context, ResourceVersion written, CancellationToken cancellationToken)
    {
        if (context is null)
        {
            return;
        }

        using var system = Security.CurrentAccess.AsSystem();
        foreach (var hook in _hooks)
        {
            await hook.AfterWriteAsync(context, written, cancellationToken);
        }
    }

    /// <summary>The live current version, or 404/410.</summary>
    public static async Task<ResourceVersion> RequireCurrentAsync(IStoreSession session, string type, string id, CancellationToken cancellationToken)
    {
        var current = await session.ReadAsync(type, id, cancellationToken) ?? throw FhirException.NotFound($"{type}/{id} is not known");
        if (current.IsDeleted)
        {
            throw FhirException.Gone($"{type}/{id} was deleted");
        }

        return current;
    }

    private async Task<WriteOutcome> UpdateStoreAsync(IStoreSession session, Resource resource, long? ifMatch, CancellationToken cancellationToken)
    {
        try
        {
            // The hooks decide from the current version; read optimistically (outside the write lock) and write only if the
            // resource is still at that version. A resource that does not exist yet is read again inside the session, as
            // "still absent" cannot be expected of the store.
            var previous = _hooks.Length == 0 ? null : await session.ReadCommittedAsync(resource.TypeName, resource.Id!, cancellationToken);
            if (_hooks.Length > 0 && previous is null)
            {
                previous = await session.ReadAsync(resource.TypeName, resource.Id!, cancellationToken);
            }

            var context = await BeforeAsync(session, WriteKind.Update, resource.TypeName, resource.Id!, resource,
                previous is { IsDeleted: false } ? previous : null, cancellationToken);
            var outcome = await session.UpdateAsync(resource, ifMatch ?? previous?.VersionId, cancellationToken);
            await AfterAsync(context, outcome.Version, cancellationToken);
            return outcome;
        }
        catch (VersionConflictException ex) when (ifMatch is null)
        {
            // Without If-Match the client did not ask for a version, but what the workflow and provenance decided was
            // decided from one that another write has just replaced: like a patch, this is a 409 to retry.
            throw FhirException.Conflict($"{resource.TypeName}/{resource.Id} changed while the update was processed (now version {ex.ActualVersion}): retry");
        }
        catch (VersionConflictException ex)
        {
            throw VersionMismatch(resource.TypeName, resource.Id ?? "", ifMatch, ex.ActualVersion);
        }
    }

    public static FhirException VersionMismatch(string type, string id, long? expected, long? actual)
    {
        var exception = FhirException.PreconditionFailed(
            $"If-Match: {type}/{id} is at version {actual?.ToString() ?? "none (it does not exist)"}, not {expected}");
        if (actual is { } current)
        {
            exception.Headers["ETag"] = FhirResult.ETag(current);
        }

        return exception;
    }

    private static void RequireType(Resource resource, string type)
    {
        if (resource.TypeName != type)
        {
            throw FhirException.BadRequest($"The body is a {resource.TypeName}, but the URL is for {type}", "resourceType");
        }
    }

    /// <summary>If-None-Exist may be given as "Patient?identifier=x" or just "identifier=x".</summary>
    private static string StripType(string criteria, string type) =>
        criteria.StartsWith(type + "?", StringComparison.Ordinal) ? criteria[(type.Length + 1)..] : criteria;

    /// <summary>Parses an If-Match value (<c>W/"3"</c> or <c>"3"</c>); 400 when it is not a version.</summary>
    public static long? ParseETag(string? value, string header = "If-Match")
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var text = value.Trim();
        if (text.StartsWith("W/", StringComparison.OrdinalIgnoreCase))
        {
            text = text[2..];
        }

        text = text.Trim('"');
        return long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version)
            ? version
            : throw FhirException.BadRequest($"{header} '{value}' is not a version ETag such as W/\"3\"", header);
    }
}
