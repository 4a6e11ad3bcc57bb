using System.Formats.Tar;
using System.IO.Compression;

namespace FhirRecovery.Cli.Packaging;

/// <summary>
/// Writes a gzipped tar whose bytes depend only on the files' names and contents: entries sorted by name, a fixed
/// timestamp, owner and mode, and the ustar format (pax would add access and change times). Packing the same IG twice
/// gives the same file, so a package can be checked in, diffed, or compared by hash.
/// </summary>
internal static class DeterministicTarball
{
    /// <summary>The timestamp npm gives every entry of a published tarball.</summary>
    public static readonly DateTimeOffset EntryTime = new(1985, 10, 26, 8, 15, 0, TimeSpan.Zero);

    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    public static void Write(string path, IReadOnlyDictionary<string, byte[]> files)
    {
        // Written beside the target and moved over it, so a failed pack never leaves half a package behind.
        var temporary = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, System.IO.FileMode.Create, FileAccess.Write, FileShare.None))
            using (var gzip = new GZipStream(stream, CompressionLevel.SmallestSize))
            using (var tar = new TarWriter(gzip, TarEntryFormat.Ustar, leaveOpen: false))
            {
                foreach (var (name, bytes) in files.OrderBy(f => f.Key, StringComparer.Ordinal))
                {
                    tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name)
                    {
                        ModificationTime = EntryTime,
                        Mode = FileMode,
                        Uid = 0,
                        Gid = 0,
                        UserName = "",
                        GroupName = "",
                        DataStream = new MemoryStream(bytes, writable: false),
                    });
                }
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }
}
