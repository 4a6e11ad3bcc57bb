using FhirRecovery.Server.Http;
using FhirRecovery.Storage;

namespace FhirRecovery.Server.BulkExport;

/// <summary>A job's lease was lost (cancelled, or resumed by another worker after it ran out): the job must stop here.</summary>
public sealed class ExportLeaseLostException(string jobId) : Exception($"Export job {jobId} is no longer held by this worker");

/// <summary>
/// Writes one NDJSON file of a job into the job store: resources are buffered and stored in chunks of about
/// <see cref="BulkExportOptions.ChunkBytes"/> (each chunk write renews the job's lease), so memory stays at one chunk
/// whatever the file's size.
/// </summary>
public sealed class NdjsonWriter(IExportJobStore jobs, string jobId, string owner, int fileNumber, int chunkBytes, TimeSpan lease)
{
    private readonly MemoryStream _buffer = new(chunkBytes + 64 * 1024);
    private int _sequence;

    public int FileNumber => fileNumber;

    public long Count { get; private set; }

    /// <summary>Adds one resource's JSON as a line (stored JSON is compact; anything else is written compact first).</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> json, CancellationToken cancellationToken)
    {
        if (json.Span.IndexOfAny((byte)'\n', (byte)'\r') >= 0)
        {
            json = FhirSerialization.SerializeToJson(FhirSerialization.ParseStored(json.Span));
        }

        _buffer.Write(json.Span);
        _buffer.WriteByte((byte)'\n');
        Count++;
        if (_buffer.Length >= chunkBytes)
        {
            await FlushAsync(cancellationToken);
        }
    }

    /// <summary>Stores what is buffered and marks the file finished (an empty file marks its type as done).</summary>
    public async Task<ExportFile> FinishAsync(ExportFileKind kind, string resourceType, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken);
        var file = new ExportFile(fileNumber, kind, resourceType, Count);
        if (!await jobs.FinishFileAsync(jobId, owner, file, cancellationToken))
        {
            throw new ExportLeaseLostException(jobId);
        }

        return file;
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_buffer.Length == 0)
        {
            return;
        }

        if (!await jobs.AppendChunkAsync(jobId, owner, fileNumber, _sequence++, _buffer.ToArray(), lease, cancellationToken))
        {
            throw new ExportLeaseLostException(jobId);
        }

        _buffer.SetLength(0);
    }
}
