using Hl7.Fhir.Model;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;

namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>What <see cref="ObservationExtractor"/> made: a transaction Bundle of Observations, and what it could not extract.</summary>
public sealed record ExtractionResult(Bundle Transaction, IReadOnlyList<string> Skipped)
{
    public IEnumerable<Observation> Observations => Transaction.Entry.Select(e => e.Resource).OfType<Observation>();
}

/// <summary>
/// SDC observation-based extraction (<c>QuestionnaireResponse/$extract</c>): every answered item flagged with
/// <c>sdc-questionnaire-observationExtract</c> (on the item, or inherited from a flagged group or the questionnaire)
/// and carrying a <c>code</c> becomes one Observation per answer: code = the item's codes, value = the answer,
/// subject/encounter/effective/performer from the response, <c>derivedFrom</c> = the response, <c>focus</c> = the goals
/// the response pertains to. Scores are extracted as the questionnaire computes them (the caller passes the scored
/// response). Each Observation carries an identifier made from the response's id and the item, and the transaction
/// creates it with <c>ifNoneExist</c> on that identifier, so posting the same extraction twice creates nothing new.
/// </summary>
public sealed class ObservationExtractor
{
    /// <summary>System of the identifiers of extracted Observations ("{response id}/{linkId}/{answer}").</summary>
    public const string IdentifierSystem = "https://fhirrecovery.org/fhir/sid/extracted-observation";

    private const string PertainsToGoal = "http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal";

    public ExtractionResult Extract(QuestionnaireResponse response, QuestionnaireDefinition questionnaire, string? responseReference = null)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Transaction };
        var skipped = new List<string>();
        var reference = responseReference ?? (response.Id is { Length: > 0 } id ? $"QuestionnaireResponse/{id}" : null);
        var rootFlag = questionnaire.Questionnaire.Extension.Any(IsExtractFlag);
        Walk(questionnaire.Items, response.Item, rootFlag, response, reference, bundle, skipped, "");
        return new ExtractionResult(bundle, skipped);
    }

    private static bool IsExtractFlag(Extension extension) =>
        extension.Url == SdcUrls.ObservationExtract && extension.Value is FhirBoolean { Value: true };

    private static void Walk(IReadOnlyList<ItemDefinition> definitions, List<QuestionnaireResponse.ItemComponent> items, bool inherited,
        QuestionnaireResponse response, string? reference, Bundle bundle, List<string> skipped, string keyPrefix)
    {
        foreach (var item in items)
        {
            var definition = definitions.FirstOrDefault(d => d.LinkId == item.LinkId);
            if (definition is null)
            {
                continue;
            }

            // A flag set to false on an item switches off what a group or the questionnaire switched on.
            var ownFlag = definition.Item.Extension.FirstOrDefault(e => e.Url == SdcUrls.ObservationExtract)?.Value as FhirBoolean;
            var flagged = ownFlag?.Value ?? inherited;
            var key = $"{keyPrefix}{item.LinkId}";
            if (definition.IsGroup)
            {
                Walk(definition.Children, item.Item, flagged, response, reference, bundle, skipped, key + "/");
                continue;
            }

            for (var a = 0; a < item.Answer.Count; a++)
            {
                var answer = item.Answer[a];
                if (flagged && definition.IsQuestion && answer.Value is { } value)
                {
                    if (definition.Item.Code.Count == 0)
                    {
                        skipped.Add($"Item '{item.LinkId}' is flagged for extraction but has no code");
                    }
                    else if (ObservationValue(value, definition) is { } observationValue)
                    {
                        bundle.Entry.Add(Entry(Observation(response, definition, observationValue, reference, $"{key}/{a}"), reference is null ? null : $"{reference.Split('/')[^1]}/{key}/{a}"));
                    }
                    else
                    {
                        skipped.Add($"Item '{item.LinkId}': a {value.TypeName} answer has no Observation value type");
                    }
                }

                Walk(definition.Children, answer.Item, flagged, response, reference, bundle, skipped, $"{key}/{a}/");
            }
        }
    }

    private static Bundle.EntryComponent Entry(Observation observation, string? identifier) => new()
    {
        FullUrl = $"urn:uuid:{Guid.NewGuid()}",
        Resource = observation,
        Request = new Bundle.RequestComponent
        {
            Method = Bundle.HTTPVerb.POST,
            Url = "Observation",
            IfNoneExist = identifier is null ? null : $"identifier={IdentifierSystem}|{identifier}",
        },
    };

    private static Observation Observation(QuestionnaireResponse response, ItemDefinition definition, DataType value, string? reference, string key)
    {
        var observation = new Observation
        {
            Status = response.Status switch
            {
                QuestionnaireResponse.QuestionnaireResponseStatus.Amended => ObservationStatus.Amended,
                QuestionnaireResponse.QuestionnaireResponseStatus.Completed => ObservationStatus.Final,
                QuestionnaireResponse.QuestionnaireResponseStatus.EnteredInError => ObservationStatus.EnteredInError,
                _ => ObservationStatus.Preliminary,
            },
            Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/observation-category", "survey", "Survey")],
            Code = new CodeableConcept { Coding = definition.Item.Code.Select(c => (Coding)c.DeepCopy()).ToList(), Text = definition.Item.Text },
            Subject = (ResourceReference?)response.Subject?.DeepCopy(),
            Encounter = (ResourceReference?)response.Encounter?.DeepCopy(),
            Effective = response.AuthoredElement is { } authored ? new FhirDateTime(authored.Value) : null,
            Value = value,
        };
        if (response.Author is { } author)
        {
            observation.Performer.Add((ResourceReference)author.DeepCopy());
        }

        observation.BasedOn.AddRange(response.BasedOn.Select(b => (ResourceReference)b.DeepCopy()));
        observation.Focus.AddRange(response.Extension.Where(e => e.Url == PertainsToGoal).Select(e => e.Value).OfType<ResourceReference>().Select(r => (ResourceReference)r.DeepCopy()));
        if (reference is not null)
        {
            observation.DerivedFrom.Add(new ResourceReference(reference));
            observation.Identifier.Add(new Identifier(IdentifierSystem, $"{reference.Split('/')[^1]}/{key}"));
        }
        else if (response.Identifier is { } identifier)
        {
            // A response not stored yet is pointed at by its business identifier.
            observation.DerivedFrom.Add(new ResourceReference { Type = "QuestionnaireResponse", Identifier = (Identifier)identifier.DeepCopy() });
        }

        return observation;
    }

    /// <summary>The Observation.value for an answer (R4 has no valueDecimal, valueDate or valueReference).</summary>
    private static DataType? ObservationValue(DataType value, ItemDefinition definition) => value switch
    {
        Coding coding => new CodeableConcept { Coding = [(Coding)coding.DeepCopy()] },
        Integer or FhirBoolean or FhirString or Time or FhirDateTime or Quantity => (DataType)value.DeepCopy(),
        FhirDecimal { Value: { } number } => Unit(definition) is { } unit
            ? new Quantity { Value = number, System = unit.System, Code = unit.Code, Unit = unit.Display ?? unit.Code }
            : new Quantity { Value = number },
        Date { Value: { } date } => new FhirDateTime(date),
        FhirUri { Value: { } uri } when definition.Type == ItemType.Url => new FhirString(uri),
        _ => null,
    };

    private static Coding? Unit(ItemDefinition definition) =>
        definition.Item.Extension.FirstOrDefault(e => e.Url == SdcUrls.Unit)?.Value as Coding;
}
