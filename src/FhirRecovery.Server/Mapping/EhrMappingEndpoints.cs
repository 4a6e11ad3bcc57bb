using System.Text;
using FhirRecovery.Mapping;
using FhirRecovery.Mapping.Hl7v2;
using FhirRecovery.Server.Endpoints;
using FhirRecovery.Server.Http;
using Hl7.Fhir.Model;

namespace FhirRecovery.Server.Mapping;

/// <summary>
/// The EHR mapping operations.
/// <list type="bullet">
/// <item><c>POST /fhir/$convert</c>: a Parameters in the style of FHIR-Converter's <c>$convert-data</c> —
/// <c>inputData</c> (string: the v2 message, C-CDA document or FHIR JSON/XML), <c>inputDataType</c> (<c>Hl7v2</c>,
/// <c>Ccda</c>, <c>Fhir</c>/<c>Json</c>; sniffed when absent), <c>rootTemplate</c> (optional check: <c>REF_I12</c>,
/// <c>ORU_R01</c>, <c>CCD</c>), <c>ehr</c> (the EHR profile whose ConceptMaps apply), <c>textClassifier</c> (boolean) —
/// or the raw data as the body (Content-Type <c>x-application/hl7-v2+er7</c>, <c>application/xml</c>, FHIR) with the
/// same names as query parameters. Answers the transaction Bundle of recovery resources (conditional updates).</item>
/// <item><c>POST /fhir/$import-ehr</c>: the same input, converted and stored idempotently; answers the
/// transaction-response Bundle. A raw v2 message is answered with an ACK^I12 (AA, or AE/AR with ERR segments) unless
/// the client accepts FHIR.</item>
/// <item><c>GET /fhir/Patient/{id}/$export-ehr?format=us-core|ccda|v2[&amp;ehr=]</c>.</item>
/// </list>
/// Bad input never stores anything: it is a 400/422 OperationOutcome naming the place (segment-field for v2, XPath for
/// C-CDA, FHIRPath for FHIR).
/// </summary>
public sealed class EhrMappingEndpoints : IFhirEndpointModule
{
    public void Map(RouteGroupBuilder fhir)
    {
        fhir.MapPost("/$convert", ConvertAsync).WithName("convert").WithTags("Operations")
            .WithSummary("$convert: HL7 v2 (REF^I12, ORU^R01), C-CDA goals or foreign FHIR → a Bundle of recovery resources");
        fhir.MapPost("/$import-ehr", ImportAsync).WithName("import-ehr").WithTags("Operations")
            .WithSummary("$import-ehr: convert and store idempotently (transaction-response Bundle, or ACK for raw v2)");
        fhir.MapGet("/Patient/{id}/$export-ehr", ExportAsync).WithName("patient-export-ehr").WithTags("Operations")
            .WithSummary("$export-ehr: a patient's recovery data as US Core (format=us-core), a C-CDA Goals document (ccda) or REF^I12 (v2)");
    }

    private sealed record Input(string Data, SourceFormat? Format, string? Ehr, bool? TextClassifier, string? RootTemplate, bool RawV2)
    {
        /// <summary>For FHIR input: the EHR's FHIR base its relative references and ids are relative to.</summary>
        public string? Source { get; init; }
    }

    private static async Task<IResult> ConvertAsync(HttpContext http, EhrMappingService mapping, CancellationToken cancellationToken)
    {
        var input = await ReadInputAsync(http);
        var result = Run(mapping, input);
        if (result.Issues.Count > 0)
        {
            http.Response.Headers["X-Conversion-Issues"] = Uri.EscapeDataString(string.Join(" | ", result.Issues.Take(10).Select(i => i.Diagnostics)));
        }

        return FhirResult.Of(result.Bundle);
    }

    private static async Task<IResult> ImportAsync(HttpContext http, EhrMappingService mapping, EhrImportService import, TimeProvider clock, CancellationToken cancellationToken)
    {
        var input = await ReadInputAsync(http);
        var ackWanted = input.RawV2 && !(http.Request.Headers.Accept.ToString().Contains("fhir", StringComparison.OrdinalIgnoreCase) || http.Request.Query.ContainsKey("_format"));
        Er7Message? message = null;
        try
        {
            message = ackWanted ? Er7Parser.Parse(input.Data) : null;
            var result = Run(mapping, input, keepV2Errors: ackWanted);
            var ehr = mapping.Ehr(input.Ehr);
            var description = message is null ? $"{input.Format?.ToString() ?? "EHR"} data from {ehr.Display}" : $"HL7 v2 {message.MessageType}^{message.TriggerEvent} {message.ControlId} from {ehr.Display}";
            var response = await import.ImportAsync(result, ehr, description, FhirRequestContext.Get(http).BaseUrl, cancellationToken);
            return ackWanted ? Ack(message, AckCode.AA, [], clock, StatusCodes.Status200OK) : FhirResult.Of(response);
        }
        catch (Hl7v2Exception ex) when (ackWanted)
        {
            return Ack(message, ex.IsReject ? AckCode.AR : AckCode.AE, ex.Errors, clock, ex.IsReject ? StatusCodes.Status400BadRequest : StatusCodes.Status422UnprocessableEntity);
        }
        catch (FhirException ex) when (ackWanted && message is not null)
        {
            // The converted referral broke a rule of the store (a profile, a conflict): nothing was written; say so in v2.
            var text = ex.Outcome.Issue.FirstOrDefault()?.Diagnostics ?? ex.Message;
            return Ack(message, AckCode.AE, [new Hl7v2Error(null, Hl7ErrorCodes.ApplicationInternalError, text)], clock, ex.Status);
        }
    }

    private static async Task<IResult> ExportAsync(HttpContext http, string id, EhrExportService export, CancellationToken cancellationToken)
    {
        var format = http.Request.Query["format"].LastOrDefault() ?? "us-core";
        var ehr = http.Request.Query["ehr"].LastOrDefault();
        if (format is not ("us-core" or "ccda" or "v2"))
        {
            throw FhirException.BadRequest($"format '{format}' is not one of us-core, ccda, v2", "format");
        }

        var record = await export.ReadAsync(id, cancellationToken);
        try
        {
            return format switch
            {
                "ccda" => Results.Text(export.ToCcda(record), "application/xml", Encoding.UTF8),
                "v2" => Results.Text(string.Join("\r\n", export.ToV2(record, ehr)), ReferralReturnHook.MediaType, Encoding.UTF8),
                _ => FhirResult.Of(export.ToUsCore(record, ehr, FhirRequestContext.Get(http).BaseUrl).Bundle),
            };
        }
        catch (ArgumentException ex)
        {
            throw FhirException.BadRequest(ex.Message, "ehr");
        }
    }

    private static ConversionResult Run(EhrMappingService mapping, Input input, bool keepV2Errors = false)
    {
        try
        {
            var result = mapping.Convert(input.Data, input.Format, input.Ehr, input.TextClassifier, input.Source);
            if (input.RootTemplate is { Length: > 0 } template)
            {
                CheckTemplate(template, input.Data, EhrMappingService.Sniff(input.Data));
            }

            return result;
        }
        catch (Hl7v2Exception ex) when (!keepV2Errors)
        {
            throw new FhirException(ex.IsReject ? StatusCodes.Status400BadRequest : StatusCodes.Status422UnprocessableEntity, MappingException.From(ex).ToOutcome()) { };
        }
        catch (MappingException ex)
        {
            throw new FhirException(StatusCodes.Status422UnprocessableEntity, ex.ToOutcome());
        }
        catch (ArgumentException ex)
        {
            throw FhirException.BadRequest(ex.Message, "ehr");
        }
    }

    private static void CheckTemplate(string template, string data, SourceFormat format)
    {
        var ok = template.ToUpperInvariant() switch
        {
            "REF_I12" => format == SourceFormat.Hl7v2 && Er7Parser.Parse(data).MessageType == "REF",
            "ORU_R01" => format == SourceFormat.Hl7v2 && Er7Parser.Parse(data).MessageType == "ORU",
            "CCD" or "CCDA" => format == SourceFormat.Ccda,
            _ => format == SourceFormat.Fhir,
        };
        if (!ok)
        {
            throw FhirException.BadRequest($"rootTemplate '{template}' does not fit the input ({format})", "rootTemplate");
        }
    }

    private static async Task<Input> ReadInputAsync(HttpContext http)
    {
        var body = await RequestBody.ReadAsync(http);
        var query = http.Request.Query;
        var contentType = http.Request.ContentType ?? "";
        string? Query(string name) => query[name].LastOrDefault();
        var isFhirBody = contentType.Contains("fhir", StringComparison.OrdinalIgnoreCase) || contentType.Contains("json", StringComparison.OrdinalIgnoreCase);
        if (isFhirBody)
        {
            var (resource, _, _) = (FhirSerialization.Parse(body, FhirMediaTypes.RequestFormat(http.Request, body)), body, FhirFormat.Json);
            if (resource is Parameters parameters)
            {
                string? Value(string name) => parameters.Parameter.FirstOrDefault(p => p.Name == name)?.Value?.ToString();
                var data = Value("inputData")
                           ?? throw FhirException.BadRequest("$convert needs the 'inputData' parameter (the v2 message, C-CDA document or FHIR resource as a string)", "inputData");
                return new Input(data, FormatOf(Value("inputDataType")), Value("ehr") ?? Query("ehr"),
                    Value("textClassifier") is { } flag ? Flag(flag) : null, Value("rootTemplate"), RawV2: false) { Source = Value("source") ?? Query("source") };
            }

            return new Input(Encoding.UTF8.GetString(body), SourceFormat.Fhir, Query("ehr"), Flag(Query("textClassifier")), Query("rootTemplate"), RawV2: false) { Source = Query("source") };
        }

        if (body.Length == 0)
        {
            throw FhirException.BadRequest("The request body is empty: send a Parameters resource, or the data itself");
        }

        var text = Encoding.UTF8.GetString(body);
        var format = FormatOf(Query("inputDataType")) ?? EhrMappingService.Sniff(text);
        return new Input(text, format, Query("ehr"), Flag(Query("textClassifier")), Query("rootTemplate"), RawV2: format == SourceFormat.Hl7v2);
    }

    private static bool? Flag(string? value) => value is null ? null : bool.TryParse(value, out var b) ? b : throw FhirException.BadRequest($"'{value}' is not true or false", "textClassifier");

    private static SourceFormat? FormatOf(string? name) => name?.ToLowerInvariant() switch
    {
        null or "" => null,
        "hl7v2" or "v2" => SourceFormat.Hl7v2,
        "ccda" or "cda" => SourceFormat.Ccda,
        "fhir" or "json" or "stu3" => SourceFormat.Fhir,
        _ => throw FhirException.BadRequest($"inputDataType '{name}' is not Hl7v2, Ccda or Fhir", "inputDataType"),
    };

    private static IResult Ack(Er7Message? message, AckCode code, IReadOnlyList<Hl7v2Error> errors, TimeProvider clock, int status)
    {
        var ack = Hl7v2Acknowledgement.Create(message, code, errors, clock.GetUtcNow(), $"ACK-{Guid.NewGuid():N}"[..20]);
        return Results.Text(ack, ReferralReturnHook.MediaType, Encoding.UTF8, status);
    }
}
