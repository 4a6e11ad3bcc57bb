using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FhirRecovery.LoadTests;

/// <summary>
/// The child process of a run: a minimal-API JSON hello-world on one loopback port (the baseline of the read scenario)
/// and the FHIR server on another, started through the server's own entry point (Program.cs, unchanged: Kestrel, the
/// full middleware pipeline, appsettings.json, logging). Both live in one process so that they share its runtime
/// settings (server GC, like the server's own build) and the same CPU budget.
/// </summary>
internal static class ServeCommand
{
    public const string Verb = "serve";

    /// <summary><c>serve &lt;hello url&gt; &lt;server arguments...&gt;</c>; returns when the server stops.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not [var helloUrl, .. var serverArgs])
        {
            Console.Error.WriteLine("usage: serve <hello url> <server arguments...>");
            return 2;
        }

        // What Program.cs does first, before anything builds a Regex: the hello app below is built before it runs.
        Conformance.RegexTimeout.Apply();

        // The hello-world as the ASP.NET Core template makes it: default builder, one MapGet answering a small JSON object.
        // Its content root is an empty folder so it does not pick up the FHIR server's appsettings.json; the template's
        // logging settings are set below instead.
        var helloRoot = Directory.CreateTempSubdirectory("fhirrecovery-hello-").FullName;
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = helloRoot,
        });
        builder.WebHost.UseUrls(helloUrl);
        // The template's appsettings.json: Information, but Warning for ASP.NET Core's own per-request lines.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        var hello = builder.Build();
        hello.MapGet("/hello", () => Results.Json(new HelloMessage("Hello, World!")));
        await hello.StartAsync();

        var entryPoint = typeof(Program).Assembly.EntryPoint
                         ?? throw new InvalidOperationException("FhirRecovery.Server has no entry point");
        // Program.Main blocks in app.Run() until the process is told to stop (or is killed by the load run).
        await Task.Factory.StartNew(() => entryPoint.Invoke(null, [serverArgs]), TaskCreationOptions.LongRunning);
        await hello.StopAsync();
        return 0;
    }

    private sealed record HelloMessage(string Message);
}
