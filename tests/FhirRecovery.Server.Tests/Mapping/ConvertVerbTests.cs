using FhirRecovery.Cli;
using FhirRecovery.Mapping.Hl7v2;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using static FhirRecovery.Server.Tests.Infrastructure.TestResources;

namespace FhirRecovery.Server.Tests.Mapping;

/// <summary><c>fhir-recovery convert</c>, run in-process from the repository root (so samples/ehr is found).</summary>
public class ConvertVerbTests
{
    private static (int Exit, string Out, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = CliApp.Run(["convert", .. args], CliConsole.Redirected(output, error, RepoPath()));
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void V2_to_recovery_us_core_ccda_and_v2()
    {
        var input = Path.Combine("samples", "ehr", "northwind", "v2", "REF_I12-marisol-delgado.hl7");
        var (exit, output, error) = Run(input, "--from", "v2", "--to", "recovery", "--ehr", "northwind", "--validate");
        Assert.True(exit == ExitCodes.Ok, error);
        var bundle = (Bundle)new FhirJsonDeserializer().DeserializeResource(output);
        Assert.Contains(bundle.Entry, e => e.Resource is ServiceRequest);

        (exit, output, error) = Run(input, "--from", "v2", "--to", "us-core", "--ehr", "northwind", "--validate");
        Assert.True(exit == ExitCodes.Ok, error);
        Assert.Contains("us-core-servicerequest", output);

        (exit, output, error) = Run(Path.Combine("samples", "ehr", "fjordline", "ccda", "plan-oystein-bakke.xml"), "--to", "ccda", "--ehr", "fjordline");
        Assert.True(exit == ExitCodes.Ok, error);
        Assert.Contains("2.16.840.1.113883.10.20.22.4.121", output);

        (exit, output, error) = Run(input, "--to", "v2", "--ehr", "northwind");
        Assert.True(exit == ExitCodes.Ok, error);
        Assert.Equal("REF", Er7Parser.Parse(output).MessageType);
    }

    [Fact]
    public void Bad_input_exits_1_naming_segment_and_field()
    {
        var (exit, _, error) = Run(Path.Combine("samples", "ehr", "fjordline", "v2", "REF_I12-invalid-no-consent.hl7"), "--ehr", "fjordline");
        Assert.Equal(ExitCodes.Invalid, exit);
        Assert.Contains("AR 100 CON", error);

        (exit, _, error) = Run("no-such-file.hl7");
        Assert.Equal(ExitCodes.UsageOrIo, exit);
        (exit, _, error) = Run(Path.Combine("samples", "ehr", "fjordline", "v2", "REF_I12-oystein-bakke.hl7"), "--ehr", "nowhere");
        Assert.Equal(ExitCodes.UsageOrIo, exit);
        Assert.Contains("nowhere", error);
    }
}
