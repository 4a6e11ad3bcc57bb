using FhirRecovery.Mapping;
using FhirRecovery.Server.Http;
using FhirRecovery.Server.Interactions;
using FhirRecovery.Storage;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Mapping;

/// <summary>
/// Stores a conversion idempotently. Each converted resource is looked up by the identifier its conditional update names;
/// one that exists and is unchanged (compared without meta) is not written at all, since the store would otherwise add
/// an identical version on every PUT; a changed one is updated under If-Match (a concurrent change fails the import with
/// 412 rather than being overwritten); a new one is created by the conditional update. What is written goes in ONE
/// transaction with a Provenance naming the source, so an import is stored whole or not at all, and re-importing the
/// same data changes nothing (no versions, no Provenance). The store is the only state: any server instance can import.
/// </summary>
public sealed class EhrImportService(IResourceStore store, BundleProcessor processor, TimeProvider clock)
{
    public async Task<Bundle> ImportAsync(ConversionResult conversion, EhrProfile ehr, string sourceDescription, string baseUrl, CancellationToken cancellationToken)
    {
        var entries = conversion.Bundle.Entry.Select(e => (Entry: (Bundle.EntryComponent)e.DeepCopy(), Existing: (ResourceVersion?)null)).ToList();
        var identities = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i].Entry;
            var url = entry.Request!.Url!;
            var question = url.IndexOf('?');
            var type = url[..question];
            var matches = await store.SearchAsync(new SearchRequest
            {
                ResourceType = type,
                Parameters = [.. SearchCriteria.Parse(url[(question + 1)..]), new("_count", "2")],
                Handling = SearchHandling.Strict,
            }, cancellationToken);
            if (matches.Matches.Count > 1 || matches.NextPage is not null)
            {
                throw FhirException.PreconditionFailed($"Import: '{url}' matches more than one {type}; the identifier must identify one resource");
            }

            if (matches.Matches.FirstOrDefault() is { IsDeleted: false } existing)
            {
                entries[i] = (entry, existing);
                identities[entry.FullUrl!] = $"{type}/{existing.Id}";
            }
        }

        var toWrite = new List<int>();
        for (var i = 0; i < entries.Count; i++)
        {
            var (entry, existing) = entries[i];
            ReferenceRewriter.Rewrite(entry.Resource!, reference => identities.GetValueOrDefault(reference));
            if (existing is null)
            {
                toWrite.Add(i);
                continue;
            }

            entry.Resource!.Id = existing.Id;
            if (SameContent(existing.Json!, entry.Resource))
            {
                continue;
            }

            entry.Request = new Bundle.RequestComponent
            {
                Method = Bundle.HTTPVerb.PUT,
                Url = $"{entry.Resource.TypeName}/{existing.Id}",
                IfMatch = FhirResult.ETag(existing.VersionId),
            };
            entry.FullUrl = $"{baseUrl}/{entry.Resource.TypeName}/{existing.Id}";
            toWrite.Add(i);
        }

        var response = new Bundle { Id = Guid.NewGuid().ToString(), Type = Bundle.BundleType.TransactionResponse, Meta = new Meta { LastUpdated = clock.GetUtcNow() } };
        Bundle? written = null;
        if (toWrite.Count > 0)
        {
            var transaction = new Bundle { Type = Bundle.BundleType.Transaction };
            transaction.Entry.AddRange(toWrite.Select(i => entries[i].Entry));
            transaction.Entry.Add(ProvenanceEntry(toWrite.Select(i => entries[i].Entry).ToList(), ehr, sourceDescription));
            written = await processor.ProcessAsync(transaction, new BundleContext(baseUrl, PreferReturn.Minimal, SearchHandling.Strict), cancellationToken);
        }

        for (var i = 0; i < entries.Count; i++)
        {
            var at = toWrite.IndexOf(i);
            if (at >= 0)
            {
                response.Entry.Add(written!.Entry[at]);
                continue;
            }

            var existing = entries[i].Existing!;
            response.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = $"{baseUrl}/{existing.ResourceType}/{existing.Id}",
                Response = new Bundle.ResponseComponent
                {
                    Status = "200 OK",
                    Location = $"{existing.ResourceType}/{existing.Id}/_history/{existing.VersionId}",
                    Etag = FhirResult.ETag(existing.VersionId),
                    LastModified = existing.LastUpdated,
                    Outcome = Outcomes.Information($"{existing.ResourceType}/{existing.Id} is unchanged: nothing was written"),
                },
            });
        }

        if (written is not null)
        {
            response.Entry.Add(written.Entry[^1]);
        }

        return response;
    }

    private Bundle.EntryComponent ProvenanceEntry(IReadOnlyList<Bundle.EntryComponent> written, EhrProfile ehr, string sourceDescription)
    {
        var provenance = new Hl7.Fhir.Model.Provenance
        {
            Target = written.Select(e => new ResourceReference(e.Request!.Url!.Contains('?') ? e.FullUrl : e.Request.Url)).ToList(),
            Recorded = clock.GetUtcNow(),
            Activity = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                written.All(e => e.Request!.Url!.Contains('?')) ? "CREATE" : "UPDATE"),
            Agent =
            [
                new Hl7.Fhir.Model.Provenance.AgentComponent
                {
                    Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author"),
                    Who = new ResourceReference { Identifier = new Identifier("urn:fhirrecovery:ehr", ehr.Name), Display = ehr.Display },
                },
                new Hl7.Fhir.Model.Provenance.AgentComponent
                {
                    Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "assembler", "Assembler"),
                    Who = new ResourceReference { Display = "FhirRecovery EHR import" },
                },
            ],
            Entity =
            [
                new Hl7.Fhir.Model.Provenance.EntityComponent
                {
                    Role = Hl7.Fhir.Model.Provenance.ProvenanceEntityRole.Source,
                    What = new ResourceReference { Display = sourceDescription, Identifier = new Identifier("urn:ietf:rfc:3986", written.FirstOrDefault()?.Resource?.Meta?.Source ?? ehr.SourceUri) },
                },
            ],
        };
        return new Bundle.EntryComponent
        {
            FullUrl = $"urn:uuid:{Guid.NewGuid()}",
            Resource = provenance,
            Request = new Bundle.RequestComponent { Method = Bundle.HTTPVerb.POST, Url = "Provenance" },
        };
    }

    /// <summary>The stored version and the candidate carry the same content (meta aside: versionId, lastUpdated, source, tags).</summary>
    public static bool SameContent(byte[] storedJson, Resource candidate)
    {
        var stored = FhirSerialization.ParseStored(storedJson);
        stored.Meta = null;
        var copy = (Resource)candidate.DeepCopy();
        copy.Meta = null;
        return FhirSerialization.SerializeToJson(stored).AsSpan().SequenceEqual(FhirSerialization.SerializeToJson(copy));
    }
}
