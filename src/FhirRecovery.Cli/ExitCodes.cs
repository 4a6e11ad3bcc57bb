namespace FhirRecovery.Cli;

/// <summary>The process exit codes every verb uses, so scripts and CI can tell "invalid data" from "bad invocation".</summary>
public static class ExitCodes
{
    /// <summary>Done, and no error or fatal issue was found.</summary>
    public const int Ok = 0;

    /// <summary>The content has an error or fatal issue (validation failed, a profile's snapshot is broken).</summary>
    public const int Invalid = 1;

    /// <summary>Usage or I/O problem: bad arguments, missing file, unreadable package, unknown profile.</summary>
    public const int UsageOrIo = 2;
}

/// <summary>
/// A problem with how the command was invoked or with reading its inputs. Thrown anywhere inside a verb; the app prints
/// the message (never a stack trace) and exits with <see cref="ExitCodes.UsageOrIo"/>.
/// </summary>
public sealed class CliUsageException(string message, Exception? inner = null) : Exception(message, inner);
