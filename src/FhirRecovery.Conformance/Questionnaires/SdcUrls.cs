namespace FhirRecovery.Conformance.Questionnaires;

/// <summary>The extensions of FHIR R4 core and of SDC (Structured Data Capture) that questionnaire behaviour reads.</summary>
public static class SdcUrls
{
    private const string Core = "http://hl7.org/fhir/StructureDefinition/";
    private const string Sdc = "http://hl7.org/fhir/uv/sdc/StructureDefinition/";

    /// <summary>R4 core: the score of a Coding or answerOption (valueDecimal). SDC calls it itemWeight (R5).</summary>
    public const string OrdinalValue = Core + "ordinalValue";

    /// <summary>R5 core / SDC 4: the same as <see cref="OrdinalValue"/>, read as well.</summary>
    public const string ItemWeight = Core + "itemWeight";

    /// <summary>R4 core: a named value (valueExpression with name) on Questionnaire or an item, in scope below it.</summary>
    public const string Variable = Core + "variable";

    public const string MinValue = Core + "minValue";
    public const string MaxValue = Core + "maxValue";
    public const string MinLength = Core + "minLength";
    public const string MaxDecimalPlaces = Core + "maxDecimalPlaces";
    public const string Regex = Core + "regex";
    public const string MinOccurs = Core + "questionnaire-minOccurs";
    public const string MaxOccurs = Core + "questionnaire-maxOccurs";
    public const string Hidden = Core + "questionnaire-hidden";
    public const string Unit = Core + "questionnaire-unit";

    /// <summary>Older, core form of a calculation on an item (read when no SDC calculatedExpression is given).</summary>
    public const string CqfExpression = Core + "cqf-expression";

    public const string CalculatedExpression = Sdc + "sdc-questionnaire-calculatedExpression";
    public const string InitialExpression = Sdc + "sdc-questionnaire-initialExpression";
    public const string EnableWhenExpression = Sdc + "sdc-questionnaire-enableWhenExpression";
    public const string LaunchContext = Sdc + "sdc-questionnaire-launchContext";
    public const string ObservationExtract = Sdc + "sdc-questionnaire-observationExtract";
    public const string ObservationLinkPeriod = Sdc + "sdc-questionnaire-observationLinkPeriod";
    public const string MinQuantity = Sdc + "sdc-questionnaire-minQuantity";
    public const string MaxQuantity = Sdc + "sdc-questionnaire-maxQuantity";

    /// <summary>The code system of SDC launch context names (patient, user, encounter, ...).</summary>
    public const string LaunchContextSystem = "http://hl7.org/fhir/uv/sdc/CodeSystem/launchContext";

    /// <summary>Expression languages.</summary>
    public const string FhirPath = "text/fhirpath";
    public const string FhirQuery = "application/x-fhir-query";
}
