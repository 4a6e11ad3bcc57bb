using System.Text.Json;
using System.Xml;
using FhirRecovery.Conformance;
using FhirRecovery.Mapping.Ccda;
using FhirRecovery.Mapping.Classification;
using FhirRecovery.Mapping.Fhir;
using FhirRecovery.Mapping.Hl7v2;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace FhirRecovery.Mapping;

/// <summary>The formats data comes in.</summary>
public enum SourceFormat
{
    Hl7v2,
    Ccda,
    Fhir,
}

/// <summary>The formats data goes out in.</summary>
public enum TargetFormat
{
    Recovery,
    UsCore,
    Ccda,
    V2,
}

/// <summary>
/// The one entry point of the mappers: picks the EHR profile, sniffs or takes the input format and runs the right mapper.
/// Thread-safe and stateless between calls (caches only hold ConceptMap translations); build one per process.
/// </summary>
public sealed class EhrMappingService
{
    private static readonly FhirJsonDeserializer Json = new();
    private static readonly FhirXmlDeserializer Xml = new();
    private readonly Dictionary<string, EhrProfile> _ehrs;

    public EhrMappingService(ConformanceEngine engine, MappingOptions options)
    {
        Engine = engine;
        Options = options;
        Classifier = new RecoveryClassifier(engine.Terminology, engine.Definitions);
        var defaults = DefaultConceptMaps(engine);
        _ehrs = new Dictionary<string, EhrProfile>(StringComparer.OrdinalIgnoreCase)
        {
            [EhrProfile.GenericName] = new EhrProfile(EhrProfile.GenericName, new EhrProfileOptions { Display = "Generic FHIR/HL7 EHR" }, defaults),
        };
        foreach (var directory in options.EhrDirectories)
        {
            var root = EhrProfile.ResolvePath(directory, options.BaseDirectory)
                       ?? throw new Conformance.Definitions.DefinitionLoadException($"Mapping:EhrDirectories: '{directory}' was not found");
            foreach (var folder in new[] { root }.Concat(Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal)))
            {
                var file = Path.Combine(folder, "ehr.json");
                if (File.Exists(file))
                {
                    var profile = JsonSerializer.Deserialize<EhrProfileOptions>(File.ReadAllText(file), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
                                  ?? new EhrProfileOptions();
                    profile.ConceptMaps = profile.ConceptMaps.Select(p => Path.GetFullPath(p, folder)).ToList();
                    _ehrs[Path.GetFileName(folder)] = EhrProfile.Load(Path.GetFileName(folder), profile, folder, defaults);
                }
            }
        }

        foreach (var (name, ehr) in options.Ehrs)
        {
            _ehrs[name] = EhrProfile.Load(name, ehr, options.BaseDirectory, defaults);
        }

        if (!_ehrs.ContainsKey(options.DefaultEhr))
        {
            throw new ArgumentException($"Mapping:DefaultEhr '{options.DefaultEhr}' is not a configured EHR ({string.Join(", ", _ehrs.Keys)})");
        }

        RefI12 = new RefI12Mapper(Classifier);
        OruR01 = new OruR01Mapper();
        Ccda = new CcdaGoalsImporter(Classifier);
        Inbound = new InboundFhirMapper(Classifier);
        UsCore = new UsCoreExporter(Classifier);
    }

    public ConformanceEngine Engine { get; }

    public MappingOptions Options { get; }

    public RecoveryClassifier Classifier { get; }

    public RefI12Mapper RefI12 { get; }

    public OruR01Mapper OruR01 { get; }

    public CcdaGoalsImporter Ccda { get; }

    public InboundFhirMapper Inbound { get; }

    public UsCoreExporter UsCore { get; }

    public IEnumerable<string> EhrNames => _ehrs.Keys;

    /// <summary>The EHR profile of that name (the default when null); an unknown name is an <see cref="ArgumentException"/>.</summary>
    public EhrProfile Ehr(string? name) =>
        _ehrs.TryGetValue(string.IsNullOrEmpty(name) ? Options.DefaultEhr : name, out var ehr)
            ? ehr
            : throw new ArgumentException($"Unknown EHR '{name}': configured are {string.Join(", ", _ehrs.Keys.Order(StringComparer.Ordinal))}");

    /// <summary>
    /// Converts an HL7 v2 message (REF^I12, ORU^R01), a C-CDA document or a FHIR resource/Bundle (JSON or XML) into recovery
    /// resources. Throws <see cref="Hl7v2Exception"/> for bad v2 (with the ACK's errors) and <see cref="MappingException"/>
    /// for anything else that cannot be converted.
    /// </summary>
    public ConversionResult Convert(string input, SourceFormat? format = null, string? ehrName = null, bool? textClassifier = null, string? sourceUri = null)
    {
        var ehr = Ehr(ehrName);
        var useText = textClassifier ?? Options.TextClassifier;
        switch (format ?? Sniff(input))
        {
            case SourceFormat.Hl7v2:
                var message = Er7Parser.Parse(input);
                return message.MessageType switch
                {
                    "ORU" => OruR01.Map(message, ehr),
                    _ => RefI12.Map(message, ehr, useText),
                };
            case SourceFormat.Ccda:
                return Ccda.Import(input, ehr, useText);
            default:
                return Inbound.Map(ParseFhir(input), ehr, useText, sourceUri);
        }
    }

    /// <summary>v2 starts with MSH (or an MLLP frame), C-CDA with an XML ClinicalDocument, anything else is taken as FHIR.</summary>
    public static SourceFormat Sniff(string input)
    {
        var text = input.AsSpan().TrimStart("\uFEFF \t\r\n");
        if (text.StartsWith("MSH") || (text.Length > 0 && text[0] == MllpFraming.StartBlock))
        {
            return SourceFormat.Hl7v2;
        }

        if (text.Length > 0 && text[0] == '<')
        {
            var head = text[..Math.Min(text.Length, 2048)];
            return head.Contains("ClinicalDocument", StringComparison.Ordinal) ? SourceFormat.Ccda : SourceFormat.Fhir;
        }

        return SourceFormat.Fhir;
    }

    /// <summary>A FHIR resource from JSON or XML (strictly: what an EHR sends must be well-formed FHIR; the error names where).</summary>
    public static Resource ParseFhir(string input)
    {
        try
        {
            var text = input.TrimStart('\uFEFF', ' ', '\t', '\r', '\n');
            if (text.StartsWith('<'))
            {
                using var reader = XmlReader.Create(new StringReader(text), CdaNames.SafeReader);
                return Xml.DeserializeResource(reader);
            }

            return Json.DeserializeResource(text);
        }
        catch (DeserializationFailedException ex)
        {
            throw new MappingException(ex.Exceptions.Select(e => ConversionResult.Issue(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Structure,
                e.Message, LocationOf(e.Message))).ToList());
        }
        catch (JsonException ex)
        {
            throw new MappingException($"The input is not valid JSON (line {(ex.LineNumber ?? 0) + 1}, position {(ex.BytePositionInLine ?? 0) + 1}): {ex.Message}", "$");
        }
        catch (XmlException ex)
        {
            throw new MappingException($"The input is not well-formed XML (line {ex.LineNumber}, position {ex.LinePosition}): {ex.Message}", "/");
        }
        catch (Exception ex) when (ex is InvalidOperationException or InvalidCastException or FormatException or ArgumentException)
        {
            throw new MappingException($"The input is not a FHIR resource: {ex.Message}", "$");
        }
    }

    private static string? LocationOf(string message)
    {
        var at = message.IndexOf("At ", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var end = message.IndexOfAny([',', ' '], at + 3);
        return end < 0 ? message[(at + 3)..] : message[(at + 3)..end];
    }

    /// <summary>The IG's ConceptMaps and the ones shipped with the mapping (mapping/conceptmaps beside the assembly).</summary>
    private static List<ConceptMap> DefaultConceptMaps(ConformanceEngine engine)
    {
        var maps = engine.Definitions.Entries
            .Where(e => e.ResourceType == "ConceptMap" && e.PackageId != Conformance.Definitions.DefinitionSource.CorePackageId)
            .Select(engine.Definitions.Resolve).OfType<ConceptMap>().ToList();
        var shipped = Path.Combine(AppContext.BaseDirectory, "mapping", "conceptmaps");
        if (Directory.Exists(shipped))
        {
            maps.AddRange(EhrProfile.ReadConceptMaps(shipped));
        }

        return maps;
    }
}
