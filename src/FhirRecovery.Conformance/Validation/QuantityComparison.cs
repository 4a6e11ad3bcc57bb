using System.Globalization;
using Hl7.Fhir.Model;

namespace FhirRecovery.Conformance.Validation;

/// <summary>Orders two Quantities: directly when their units agree, else after UCUM conversion to canonical units.</summary>
internal static class QuantityComparison
{
    private const string Ucum = "http://unitsofmeasure.org";

    // Loading the UCUM tables takes a few hundred milliseconds: only done the first time units differ.
    private static readonly Lazy<Fhir.Metrics.SystemOfUnits> Units = new(Fhir.Metrics.UCUM.Load);

    /// <summary>Negative, zero or positive; null when the two cannot be compared (no value, different dimensions).</summary>
    public static int? Compare(Quantity value, Quantity bound)
    {
        if (value.Value is not { } left || bound.Value is not { } right)
        {
            return null;
        }

        var leftUnit = value.Code ?? value.Unit;
        var rightUnit = bound.Code ?? bound.Unit;
        if (leftUnit == rightUnit && value.System == bound.System)
        {
            return left.CompareTo(right);
        }

        if (value.System != Ucum || bound.System != Ucum || leftUnit is null || rightUnit is null)
        {
            return null;
        }

        try
        {
            var units = Units.Value;
            var canonicalLeft = units.Canonical(units.Quantity(left.ToString(CultureInfo.InvariantCulture), leftUnit));
            var canonicalRight = units.Canonical(units.Quantity(right.ToString(CultureInfo.InvariantCulture), rightUnit));
            if (!canonicalLeft.Metric.Equals(canonicalRight.Metric))
            {
                return null;
            }

            return canonicalLeft.Value.ToDecimal().CompareTo(canonicalRight.Value.ToDecimal());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Units the UCUM tables do not know cannot be compared.
            return null;
        }
    }
}
