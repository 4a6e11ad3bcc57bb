using System.Formats.Tar;
using System.IO.Compression;

namespace FhirRecovery.Cli.Validation;

/// <summary>One resource's bytes and where they came from.</summary>
/// <param name="File">The input file as displayed (for a package, <c>pkg.tgz!package/X.json</c>).</param>
/// <param name="Line">The line in an NDJSON file, 1-based.</param>
internal sealed record InputResource(string File, long? Line, ReadOnlyMemory<byte> Content, bool IsNdjson)
{
    /// <summary>Why the content was not handed to the validator (too large); null when it was read.</summary>
    public string? Refusal { get; init; }

    public string Location => Line is { } line ? $"{File}:{line}" : File;
}

/// <summary>
/// Reads the resources of one input file lazily: a whole file for a resource, one line at a time for NDJSON, one tar
/// entry at a time for a package, so memory stays bounded by the largest single resource.
/// </summary>
internal sealed class InputReader(long maxResourceBytes)
{
    /// <summary>Package files outside these folders (other/, openapi/, xml/) are not resources to validate.</summary>
    private static readonly string[] PackageResourceFolders = ["package/", "package/example/"];

    private Stream? _current;

    /// <summary>Bytes of the current file consumed so far (for the progress bar).</summary>
    public long Position
    {
        get
        {
            try
            {
                return _current?.Position ?? 0;
            }
            catch (ObjectDisposedException)
            {
                return 0;
            }
        }
    }

    public IEnumerable<InputResource> Read(InputFile input) => input.Kind switch
    {
        InputKind.Ndjson => ReadNdjson(input),
        InputKind.Package => ReadPackage(input),
        _ => ReadResource(input),
    };

    private IEnumerable<InputResource> ReadResource(InputFile input)
    {
        using var stream = Open(input.FullPath);
        if (stream.Length > maxResourceBytes)
        {
            yield return new InputResource(input.DisplayPath, null, ReadOnlyMemory<byte>.Empty, false) { Refusal = TooLarge(stream.Length) };
            yield break;
        }

        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        yield return new InputResource(input.DisplayPath, null, bytes, false);
    }

    private IEnumerable<InputResource> ReadNdjson(InputFile input)
    {
        using var stream = Open(input.FullPath);
        var chunk = new byte[1 << 16];
        var line = new MemoryStream();
        long lineNumber = 1;
        var lineLength = 0L;
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            var position = 0;
            while (position < read)
            {
                var newline = Array.IndexOf(chunk, (byte)'\n', position, read - position);
                var end = newline < 0 ? read : newline;
                lineLength += end - position;
                if (lineLength <= maxResourceBytes)
                {
                    line.Write(chunk, position, end - position);
                }

                if (newline < 0)
                {
                    break;
                }

                if (LineResource(input, lineNumber, line, lineLength) is { } resource)
                {
                    yield return resource;
                }

                line.SetLength(0);
                lineLength = 0;
                lineNumber++;
                position = newline + 1;
            }
        }

        if (LineResource(input, lineNumber, line, lineLength) is { } last)
        {
            yield return last;
        }
    }

    private InputResource? LineResource(InputFile input, long lineNumber, MemoryStream line, long lineLength)
    {
        if (lineLength > maxResourceBytes)
        {
            return new InputResource(input.DisplayPath, lineNumber, ReadOnlyMemory<byte>.Empty, true) { Refusal = TooLarge(lineLength) };
        }

        var bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (bytes.Trim(" \t\r"u8).IsEmpty)
        {
            // Blank lines (a trailing newline, a separator) hold no resource.
            return null;
        }

        return new InputResource(input.DisplayPath, lineNumber, bytes.TrimEnd("\r"u8).ToArray(), true);
    }

    private IEnumerable<InputResource> ReadPackage(InputFile input)
    {
        using var stream = Open(input.FullPath);
        using var gzip = new GZipStream(stream, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            var name = entry.Name.Replace('\\', '/');
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)
                || !IsPackageResource(name)
                || entry.DataStream is null)
            {
                continue;
            }

            var display = $"{input.DisplayPath}!{name}";
            if (entry.Length > maxResourceBytes)
            {
                yield return new InputResource(display, null, ReadOnlyMemory<byte>.Empty, false) { Refusal = TooLarge(entry.Length) };
                continue;
            }

            var bytes = new byte[entry.Length];
            entry.DataStream.ReadExactly(bytes);
            yield return new InputResource(display, null, bytes, false);
        }
    }

    private static bool IsPackageResource(string name)
    {
        if (!name.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var folder = name[..(name.LastIndexOf('/') + 1)];
        var file = name[folder.Length..];
        return PackageResourceFolders.Contains(folder, StringComparer.Ordinal)
               && file is not ("package.json" or ".index.json" or "package-lock.json" or "fhirpkg.lock.json" or "ig.json");
    }

    private FileStream Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        _current = stream;
        return stream;
    }

    private string TooLarge(long length) =>
        $"The resource is {length / (1024 * 1024)} MB; resources larger than {maxResourceBytes / (1024 * 1024)} MB are not validated";
}
