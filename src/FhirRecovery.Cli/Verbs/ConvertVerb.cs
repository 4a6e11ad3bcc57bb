using System.CommandLine;
using FhirRecovery.Mapping;
using FhirRecovery.Mapping.Ccda;
using FhirRecovery.Mapping.Hl7v2;
using FhirRecovery.Mapping.UsCore;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Cli.Verbs;

/// <summary><c>fhir-recovery convert</c>: one file from v2, C-CDA or FHIR into recovery resources, US Core, C-CDA or v2.</summary>
public sealed class ConvertVerb : ICliVerb
{
    public int Order => 50;

    public Command CreateCommand(CliConsole console)
    {
        var input = new Argument<string>("file") { Description = "The input: an HL7 v2 message (.hl7), a C-CDA document (.xml) or a FHIR resource or Bundle (JSON or XML)." };
        var from = new Option<string?>("--from") { Description = "Input format: v2, ccda or fhir (default: from the content).", HelpName = "v2|ccda|fhir" };
        var to = new Option<string>("--to")
        {
            Description = "Output: recovery (a transaction Bundle of recovery resources, conditional updates by identifier), us-core (the same data "
                          + "as US Core 5.0.1 resources), ccda (a C-CDA Goals document) or v2 (REF^I12 per peer-support referral).",
            DefaultValueFactory = _ => "recovery",
            HelpName = "recovery|us-core|ccda|v2",
        };
        var ehr = new Option<string?>("--ehr") { Description = "The EHR profile (ConceptMaps, identifier and coding-system names) to use, e.g. northwind. Default: generic." };
        var ehrDir = new Option<string?>("--ehr-dir") { Description = "Folder of EHR profiles (sub-folders with ehr.json and conceptmaps/). Default: samples/ehr above the working directory." };
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file instead of stdout." };
        var noText = new Option<bool>("--no-text-classifier") { Description = "Do not let the text classifier suggest categories where no code maps." };
        var validate = new Option<bool>("--validate") { Description = "Validate the output (recovery profiles, or US Core 5.0.1 for --to us-core); errors exit 1." };
        var command = new Command("convert",
            "Convert EHR data into the recovery guide's resources, and recovery data into what an EHR takes.\n"
            + "Example: fhir-recovery convert samples/ehr/northwind/v2/REF_I12-marisol-delgado.hl7 --from v2 --to recovery --ehr northwind\n"
            + "Issues (mapped, suggested, left out) go to stderr. Exit code 0: converted; 1: the input cannot be converted (the message names "
            + "the segment and field, or the element); 2: usage or I/O problem.")
        {
            input, from, to, ehr, ehrDir, output, noText, validate,
        };
        command.SetAction(parsed => Run(console, parsed.GetValue(input)!, parsed.GetValue(from), parsed.GetValue(to)!, parsed.GetValue(ehr),
            parsed.GetValue(ehrDir), parsed.GetValue(output), !parsed.GetValue(noText), parsed.GetValue(validate)));
        return command;
    }

    private static int Run(CliConsole console, string file, string? from, string to, string? ehrName, string? ehrDir, string? output, bool useText, bool validate)
    {
        var path = console.FullPath(file);
        if (!File.Exists(path))
        {
            throw new CliUsageException($"not found: '{file}'.");
        }

        SourceFormat? format = from?.ToLowerInvariant() switch
        {
            null => null,
            "v2" or "hl7v2" => SourceFormat.Hl7v2,
            "ccda" or "cda" => SourceFormat.Ccda,
            "fhir" => SourceFormat.Fhir,
            _ => throw new CliUsageException($"--from must be v2, ccda or fhir, not '{from}'."),
        };
        if (to is not ("recovery" or "us-core" or "ccda" or "v2"))
        {
            throw new CliUsageException($"--to must be recovery, us-core, ccda or v2, not '{to}'.");
        }

        var mapping = MappingFactory.Create(console, ehrDir);
        var ehr = MappingFactory.Ehr(mapping, ehrName);
        ConversionResult result;
        try
        {
            result = mapping.Convert(File.ReadAllText(path), format, ehr.Name, useText);
        }
        catch (Hl7v2Exception ex)
        {
            foreach (var error in ex.Errors)
            {
                console.Error.WriteLine($"{CliApp.CommandName}: {(ex.IsReject ? "AR" : "AE")} {error.Code} {error}");
            }

            return ExitCodes.Invalid;
        }
        catch (MappingException ex)
        {
            foreach (var issue in ex.Issues)
            {
                console.Error.WriteLine($"{CliApp.CommandName}: {issue.Expression.FirstOrDefault() ?? "input"}: {issue.Diagnostics}");
            }

            return ExitCodes.Invalid;
        }

        foreach (var issue in result.Issues)
        {
            console.Error.WriteLine($"{issue.Severity?.ToString().ToLowerInvariant()}: {(issue.Expression.FirstOrDefault() is { } where ? where + ": " : "")}{issue.Diagnostics}");
        }

        var resources = BundleAssembly.Materialize(result.Bundle);
        string text;
        IEnumerable<Resource> check = [];
        var engine = mapping.Engine;
        switch (to)
        {
            case "us-core":
                var exported = mapping.UsCore.Export(resources, ehr, ehr.SourceUri);
                text = new FhirJsonSerializer().SerializeToString(exported.Bundle, pretty: true);
                check = BundleAssembly.Materialize(exported.Bundle);
                engine = validate ? UsCoreDefinitions.CreateEngine(mapping.Engine) : engine;
                break;
            case "ccda":
                var patient = resources.OfType<Patient>().FirstOrDefault() ?? throw new CliUsageException("--to ccda: the input holds no patient.");
                text = CcdaGoalsExporter.Export(patient, resources.OfType<Goal>().ToList(), r => Resolve(resources, r), DateTimeOffset.UtcNow,
                    BundleAssembly.NameBasedUuid(path));
                break;
            case "v2":
                var tasks = resources.OfType<Hl7.Fhir.Model.Task>().ToList();
                text = string.Join("\n", resources.OfType<ServiceRequest>().Select(r => ReferralMessageWriter.WriteRef(
                    ReferralGraph.From(r, reference => Resolve(resources, reference), tasks), ehr, $"FR-{r.Identifier.FirstOrDefault()?.Value}", DateTimeOffset.UtcNow)
                    .Replace("\r", "\n")));
                break;
            default:
                text = new FhirJsonSerializer().SerializeToString(result.Bundle, pretty: true);
                check = resources;
                break;
        }

        if (validate)
        {
            var errors = 0;
            foreach (var resource in check)
            {
                foreach (var issue in engine.Validator.Validate(resource).Issues.Where(i => i.IsError))
                {
                    errors++;
                    console.Error.WriteLine($"{CliApp.CommandName}: {resource.TypeName}: {issue.Expression}: {issue.Message}");
                }
            }

            if (errors > 0)
            {
                return ExitCodes.Invalid;
            }
        }

        if (output is null)
        {
            console.Out.WriteLine(text);
        }
        else
        {
            File.WriteAllText(console.FullPath(output), text);
        }

        return ExitCodes.Ok;
    }

    private static Resource? Resolve(IReadOnlyList<Resource> resources, ResourceReference? reference) =>
        reference?.Reference?.Split('/') is [.., var type, var id] ? resources.FirstOrDefault(r => r.TypeName == type && r.Id == id) : null;
}
