using System.CommandLine;
using FhirRecovery.Cli.Docs;
using FhirRecovery.Cli.Packaging;

namespace FhirRecovery.Cli.Verbs;

/// <summary><c>fhir-recovery ig pack|docs</c>: build the implementation guide's package and documentation from profiles/.</summary>
internal sealed class IgVerb : ICliVerb
{
    public int Order => 20;

    public Command CreateCommand(CliConsole console)
    {
        var command = new Command("ig", "Work with the FhirRecovery implementation guide (profiles/): pack it as a FHIR package, generate its documentation.");
        command.Subcommands.Add(CreatePack(console));
        command.Subcommands.Add(CreateDocs(console));
        command.SetAction(parsed =>
        {
            // "ig" alone is incomplete: show what it offers.
            new System.CommandLine.Help.HelpAction().Invoke(parsed);
            return ExitCodes.UsageOrIo;
        });
        return command;
    }

    private static Option<string> SourceOption() => new("--source", "-s")
    {
        Description = "The IG source folder (package.json, definitions, questionnaires/, examples/). "
                      + "Default: the nearest profiles/ above the current directory, else the IG shipped with the tool.",
        HelpName = "profiles dir",
    };

    private static Command CreatePack(CliConsole console)
    {
        var source = SourceOption();
        var output = new Option<string>("--output", "-o")
        {
            Description = "Folder to write <package-id>-<version>.tgz to. Default: the current directory.",
            HelpName = "dir",
        };
        var command = new Command("pack",
            "Write the IG as a FHIR NPM package (<package-id>-<version>.tgz): package/package.json, package/.index.json, one "
            + "<ResourceType>-<id>.json per resource with StructureDefinition snapshots, and the valid examples in package/example/. "
            + "The output is byte-for-byte reproducible. Exit code 1 when a resource does not parse or a snapshot has errors.")
        {
            source, output,
        };
        command.SetAction(parsed =>
        {
            var ig = IgSource.Locate(parsed.GetValue(source), console);
            var engine = EngineFactory.Create(new EngineRequest { IgDirectory = ig.Directory });
            var packager = new IgPackager(engine, ig, console.Error);
            try
            {
                var summary = packager.Pack(console.FullPath(parsed.GetValue(output) ?? "."));
                console.Out.WriteLine($"Wrote {summary.Path}: {summary.Definitions} resources "
                                      + $"({summary.StructureDefinitions} StructureDefinitions with snapshots), {summary.Examples} examples.");
                return ExitCodes.Ok;
            }
            catch (IgContentException ex)
            {
                console.Error.WriteLine($"{CliApp.CommandName}: cannot pack {ig.Directory}:");
                foreach (var problem in ex.Problems)
                {
                    console.Error.WriteLine($"  {problem}");
                }

                return ExitCodes.Invalid;
            }
        });
        return command;
    }

    private static Command CreateDocs(CliConsole console)
    {
        var source = SourceOption();
        var output = new Option<string>("--output", "-o")
        {
            Description = "Folder for the Markdown pages. Default: docs/ig in the repository holding the IG source "
                          + "(the folder above profiles/), else docs/ig under the current directory.",
            HelpName = "dir",
        };
        var command = new Command("docs",
            "Generate the IG's Markdown documentation from its resources: an index, and a page per profile, extension, code system, "
            + "value set and concept map (purpose, key elements, bindings, invariants, extensions, search parameters, examples). "
            + "Regenerating gives identical files; pages of resources that no longer exist are removed.")
        {
            source, output,
        };
        command.SetAction(parsed =>
        {
            var ig = IgSource.Locate(parsed.GetValue(source), console);
            var engine = EngineFactory.Create(new EngineRequest { IgDirectory = ig.Directory });
            var outputDirectory = parsed.GetValue(output) is { } given ? console.FullPath(given) : DefaultDocsDirectory(ig, console);
            var written = new IgDocumentation(engine, ig).Write(outputDirectory);
            console.Out.WriteLine($"Wrote {written} pages to {outputDirectory}.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string DefaultDocsDirectory(IgSource ig, CliConsole console)
    {
        var parent = Directory.GetParent(ig.Directory)?.FullName;
        var isRepository = parent is not null
                           && (Directory.Exists(Path.Combine(parent, ".git")) || Directory.EnumerateFiles(parent, "*.sln").Any()
                               || Directory.EnumerateFiles(parent, "*.slnx").Any());
        return Path.Combine(isRepository ? parent! : console.WorkingDirectory, "docs", "ig");
    }
}
