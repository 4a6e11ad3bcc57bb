using System.Globalization;
using Hl7.Fhir.Model;

namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>
/// ORU^R01 whose OBX carry questionnaire scores (e.g. a QPR-15 total, PHQ-9 or GAD-7 scores) → Patient + one survey
/// Observation per OBX (OBX-3 code, OBX-5 value as OBX-2 types it, OBX-6 units, OBX-11 status, OBX-14 time else OBR-7).
/// Each Observation is keyed by the order (OBR-3, else OBR-2) and the OBX set id, so a repeated message updates it.
/// </summary>
public sealed class OruR01Mapper
{
    public ConversionResult Map(Er7Message message, EhrProfile ehr)
    {
        var errors = new List<Hl7v2Error>();
        RefI12Mapper.CheckHeader(message, "ORU", "R01", errors);
        var pid = RefI12Mapper.Required(message, "PID", errors);
        if (!message.All("OBX").Any())
        {
            errors.Add(new Hl7v2Error(new Er7Location("OBX", 0), Hl7ErrorCodes.SegmentSequenceError, "OBX segment missing: there are no results to map") { Reject = true });
        }

        if (errors.Count > 0)
        {
            throw new Hl7v2Exception(errors);
        }

        var assembly = new BundleAssembly(ehr, $"{ehr.SourceUri}#{message.ControlId}");
        var reader = new FieldReader(ehr, errors);
        var patient = RefI12Mapper.MapPatient(pid!, ehr, reader);
        var observations = new List<(Observation, Identifier)>();
        Er7Segment? obr = null;
        foreach (var segment in message.Segments)
        {
            if (segment.Name == "OBR")
            {
                obr = segment;
                continue;
            }

            if (segment.Name != "OBX")
            {
                continue;
            }

            if (MapObservation(segment, obr, ehr, reader) is { } observation)
            {
                observations.Add(observation);
            }
        }

        if (errors.Count > 0)
        {
            throw new Hl7v2Exception(errors);
        }

        var patientRef = assembly.Add(patient.Resource, patient.Key, null, patient.Display);
        foreach (var (observation, key) in observations)
        {
            observation.Subject = RefI12Mapper.Copy(patientRef);
            assembly.Add(observation, key, null);
        }

        return assembly.ToResult();
    }

    private static (Observation, Identifier)? MapObservation(Er7Segment obx, Er7Segment? obr, EhrProfile ehr, FieldReader reader)
    {
        var code = V2Types.Concept(obx[3], ehr);
        if (code is null)
        {
            reader.Errors.Add(new Hl7v2Error(obx.Where(3), Hl7ErrorCodes.RequiredFieldMissing, "OBX-3 (observation identifier) is required"));
            return null;
        }

        var status = obx[11].Value switch
        {
            "F" => ObservationStatus.Final,
            "P" or "R" or "S" => ObservationStatus.Preliminary,
            "C" => ObservationStatus.Corrected,
            "X" => ObservationStatus.Cancelled,
            "D" or "W" => ObservationStatus.EnteredInError,
            "" => reader.Invalid<ObservationStatus?>(obx.Where(11), "OBX-11 (observation result status) is required"),
            var other => reader.Invalid<ObservationStatus?>(obx.Where(11), $"OBX-11 '{other}' is not a result status (table 0085)"),
        };
        var order = obr is null ? null : V2Types.EntityIdentifier(obr[3], ehr) ?? V2Types.EntityIdentifier(obr[2], ehr);
        var setId = obx[1].Value is { Length: > 0 } set ? set : obx.Sequence.ToString(CultureInfo.InvariantCulture);
        var key = order is null
            ? BundleAssembly.Minted("v2-observation", $"{obx[3].Component(1)}/{obx[14].Value}/{setId}")
            : new Identifier(order.System, $"{order.Value}.{setId}");
        var observation = new Observation
        {
            Identifier = [key],
            Status = status,
            Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/observation-category", "survey", "Survey")],
            Code = code,
            Effective = (reader.Timestamp(obx, 14) ?? (obr is null ? null : reader.Timestamp(obr, 7))) is { } when ? new FhirDateTime(when) : null,
        };
        var raw = obx[5].Value;
        switch (obx[2].Value)
        {
            case "NM" when raw.Length > 0:
                if (!decimal.TryParse(raw, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
                {
                    reader.Errors.Add(new Hl7v2Error(obx.Where(5), Hl7ErrorCodes.DataTypeError, $"OBX-5 '{raw}' is not a number (OBX-2 = NM)"));
                    return null;
                }

                var unit = obx[6];
                observation.Value = new Quantity
                {
                    Value = number,
                    Unit = V2Types.NullIfEmpty(unit.Component(2)) ?? V2Types.NullIfEmpty(unit.Component(1)),
                    System = unit.Component(3) is { Length: > 0 } unitSystem ? ehr.SystemForV2Name(unitSystem) : null,
                    Code = V2Types.NullIfEmpty(unit.Component(1)),
                };
                break;
            case "ST" or "TX" or "FT" when raw.Length > 0:
                observation.Value = new FhirString(string.Join("\n", obx[5].Repetitions.Select(r => r.Text)));
                break;
            case "CE" or "CWE" when raw.Length > 0:
                observation.Value = V2Types.Concept(obx[5], ehr);
                break;
            case "":
                reader.Errors.Add(new Hl7v2Error(obx.Where(2), Hl7ErrorCodes.RequiredFieldMissing, "OBX-2 (value type) is required"));
                return null;
            case var type when raw.Length > 0:
                reader.Errors.Add(new Hl7v2Error(obx.Where(2), Hl7ErrorCodes.TableValueNotFound, $"OBX-2 value type '{type}' is not supported for scores (NM, ST, TX, FT, CE, CWE)"));
                return null;
            default:
                observation.DataAbsentReason = new CodeableConcept("http://terminology.hl7.org/CodeSystem/data-absent-reason", "unknown", "Unknown");
                break;
        }

        if (obx[7].Value is { Length: > 0 } range)
        {
            observation.ReferenceRange.Add(new Observation.ReferenceRangeComponent { Text = obx[7].Text });
            _ = range;
        }

        return (observation, key);
    }
}
