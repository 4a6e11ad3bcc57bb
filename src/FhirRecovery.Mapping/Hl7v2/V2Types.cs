using System.Globalization;
using Hl7.Fhir.Model;

namespace FhirRecovery.Mapping.Hl7v2;

/// <summary>HL7 v2 data types (TS/DTM, DT, XPN, CX, EI, XAD, XTN, CE/CWE, HD) to FHIR and back.</summary>
public static class V2Types
{
    public static string FormatTimestamp(DateTimeOffset value) =>
        value.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + (value.Offset < TimeSpan.Zero ? "-" : "+") + value.Offset.ToString("hhmm", CultureInfo.InvariantCulture);

    /// <summary>
    /// A TS/DTM (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]) as a FHIR dateTime, keeping its precision. A time without an offset
    /// is read in <paramref name="zone"/> (the EHR's time zone), since FHIR requires a zone whenever a time is given.
    /// </summary>
    public static string? ParseTimestamp(string value, Er7Location where, TimeZoneInfo zone)
    {
        if (value.Length == 0)
        {
            return null;
        }

        var span = value.AsSpan();
        var signAt = span.IndexOfAny('+', '-');
        var offsetText = signAt < 0 ? [] : span[signAt..];
        var main = signAt < 0 ? span : span[..signAt];
        var fraction = ReadOnlySpan<char>.Empty;
        var dot = main.IndexOf('.');
        if (dot >= 0)
        {
            fraction = main[(dot + 1)..];
            main = main[..dot];
        }

        if (main.Length is not (4 or 6 or 8 or 10 or 12 or 14) || !IsDigits(main) || !IsDigits(fraction) || fraction.Length > 4
            || (offsetText.Length > 0 && (offsetText.Length != 5 || !IsDigits(offsetText[1..]))))
        {
            throw Invalid(value, where);
        }

        var digits = main.ToString();
        int Part(int start, int length) => int.Parse(digits.AsSpan(start, length), NumberStyles.None, CultureInfo.InvariantCulture);
        var year = Part(0, 4);
        var month = main.Length >= 6 ? Part(4, 2) : 1;
        var day = main.Length >= 8 ? Part(6, 2) : 1;
        if (month is < 1 or > 12 || day < 1 || year < 1 || day > DateTime.DaysInMonth(year, month))
        {
            throw Invalid(value, where);
        }

        if (main.Length <= 8)
        {
            return main.Length switch
            {
                4 => $"{year:D4}",
                6 => $"{year:D4}-{month:D2}",
                _ => $"{year:D4}-{month:D2}-{day:D2}",
            };
        }

        var hour = Part(8, 2);
        var minute = main.Length >= 12 ? Part(10, 2) : 0;
        var second = main.Length >= 14 ? Part(12, 2) : 0;
        if (hour > 23 || minute > 59 || second > 59)
        {
            throw Invalid(value, where);
        }

        TimeSpan offset;
        if (offsetText.Length > 0)
        {
            var hours = int.Parse(offsetText.Slice(1, 2), CultureInfo.InvariantCulture);
            var minutes = int.Parse(offsetText.Slice(3, 2), CultureInfo.InvariantCulture);
            if (hours > 14 || minutes > 59)
            {
                throw Invalid(value, where);
            }

            offset = new TimeSpan(hours, minutes, 0) * (offsetText[0] == '-' ? -1 : 1);
        }
        else
        {
            offset = zone.GetUtcOffset(new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified));
        }

        var fractionText = fraction.Length > 0 ? "." + fraction.ToString() : "";
        var sign = offset < TimeSpan.Zero ? "-" : "+";
        return $"{year:D4}-{month:D2}-{day:D2}T{hour:D2}:{minute:D2}:{second:D2}{fractionText}{sign}{offset:hh\\:mm}";
    }

    /// <summary>A FHIR date or dateTime as a v2 TS/DTM of the same precision.</summary>
    public static string? FormatFhirDateTime(string? fhir)
    {
        if (string.IsNullOrEmpty(fhir))
        {
            return null;
        }

        var t = fhir.IndexOf('T');
        var date = (t < 0 ? fhir : fhir[..t]).Replace("-", "");
        if (t < 0)
        {
            return date;
        }

        var time = fhir[(t + 1)..];
        var zoneAt = time.IndexOfAny(['+', '-', 'Z']);
        var clock = zoneAt < 0 ? time : time[..zoneAt];
        var zone = zoneAt < 0 ? "" : time[zoneAt..];
        var result = date + clock.Replace(":", "");
        return result + (zone switch
        {
            "" => "",
            "Z" => "+0000",
            _ => zone.Replace(":", ""),
        });
    }

    private static bool IsDigits(ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }

    private static Hl7v2Exception Invalid(string value, Er7Location where) =>
        new(where, Hl7ErrorCodes.DataTypeError, $"'{value}' is not a valid HL7 date/time (YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ])");

    /// <summary>XPN: family^given^second given^suffix^prefix^degree^name type.</summary>
    public static HumanName? Name(Er7Field xpn)
    {
        if (xpn.IsEmpty)
        {
            return null;
        }

        var name = new HumanName { Family = NullIfEmpty(xpn.Component(1)) };
        foreach (var given in new[] { xpn.Component(2), xpn.Component(3) }.Where(g => g.Length > 0))
        {
            name.GivenElement.Add(new FhirString(given));
        }

        if (xpn.Component(4) is { Length: > 0 } suffix)
        {
            name.SuffixElement.Add(new FhirString(suffix));
        }

        if (xpn.Component(5) is { Length: > 0 } prefix)
        {
            name.PrefixElement.Add(new FhirString(prefix));
        }

        name.Use = xpn.Component(7) switch
        {
            "L" => HumanName.NameUse.Official,
            "A" => HumanName.NameUse.Nickname,
            "M" => HumanName.NameUse.Maiden,
            "D" => HumanName.NameUse.Usual,
            _ => null,
        };
        return name.Family is null && !name.Given.Any() ? null : name;
    }

    public static object?[] Xpn(HumanName name) =>
    [
        name.Family, name.Given.ElementAtOrDefault(0), name.Given.ElementAtOrDefault(1), name.Suffix.FirstOrDefault(), name.Prefix.FirstOrDefault(), null,
        name.Use switch
        {
            HumanName.NameUse.Official => "L",
            HumanName.NameUse.Nickname => "A",
            HumanName.NameUse.Maiden => "M",
            HumanName.NameUse.Usual => "D",
            _ => null,
        },
    ];

    /// <summary>CX: id^check digit^check scheme^assigning authority (HD)^identifier type code.</summary>
    public static Identifier? Identifier(Er7Field cx, EhrProfile ehr)
    {
        var value = cx.Component(1);
        if (value.Length == 0)
        {
            return null;
        }

        var authority = cx.ComponentField(4);
        var identifier = new Identifier(ehr.SystemForAuthority(authority.Component(1), authority.Component(2), authority.Component(3)), value);
        if (cx.Component(5) is { Length: > 0 } type)
        {
            identifier.Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0203", type);
            identifier.Use = type == "MR" ? Hl7.Fhir.Model.Identifier.IdentifierUse.Usual : null;
        }

        return identifier;
    }

    public static object?[] Cx(Identifier identifier, EhrProfile ehr)
    {
        var (ns, universal, universalType) = ehr.AuthorityForSystem(identifier.System);
        var type = identifier.Type?.Coding.FirstOrDefault(c => c.System == "http://terminology.hl7.org/CodeSystem/v2-0203")?.Code;
        return [identifier.Value, null, null, Er7.Sub(ns, universal, universalType), type];
    }

    /// <summary>EI: entity id^namespace id^universal id^universal id type.</summary>
    public static Identifier? EntityIdentifier(Er7Field ei, EhrProfile ehr)
    {
        var value = ei.Component(1);
        return value.Length == 0 ? null : new Identifier(ehr.SystemForAuthority(ei.Component(2), ei.Component(3), ei.Component(4)), value);
    }

    public static object?[] Ei(Identifier identifier, EhrProfile ehr)
    {
        var (ns, universal, universalType) = ehr.AuthorityForSystem(identifier.System);
        return [identifier.Value, ns, universal, universalType];
    }

    /// <summary>CE/CWE: identifier^text^coding system^alternate identifier^alternate text^alternate system.</summary>
    public static CodeableConcept? Concept(Er7Field ce, EhrProfile ehr)
    {
        if (ce.IsEmpty)
        {
            return null;
        }

        var concept = new CodeableConcept();
        for (var offset = 0; offset <= 3; offset += 3)
        {
            var code = ce.Component(1 + offset);
            if (code.Length > 0)
            {
                var system = ce.Component(3 + offset);
                concept.Coding.Add(new Coding(system.Length == 0 ? null : ehr.SystemForV2Name(system), code, NullIfEmpty(ce.Component(2 + offset))));
            }
        }

        var text = ce.Component(9);
        concept.Text = text.Length > 0 ? text : null;
        if (concept.Coding.Count == 0 && concept.Text is null)
        {
            var onlyText = ce.Component(2);
            concept.Text = onlyText.Length > 0 ? onlyText : null;
        }

        return concept.Coding.Count == 0 && concept.Text is null ? null : concept;
    }

    public static object?[] Ce(Coding? coding, EhrProfile ehr, Coding? alternate = null, string? originalText = null) =>
    [
        coding?.Code, coding?.Display, ehr.V2NameForSystem(coding?.System), alternate?.Code, alternate?.Display, ehr.V2NameForSystem(alternate?.System),
        null, null, originalText,
    ];

    /// <summary>XAD: street^other^city^state^zip^country^type.</summary>
    public static Address? Address(Er7Field xad)
    {
        if (xad.IsEmpty)
        {
            return null;
        }

        var address = new Address
        {
            City = NullIfEmpty(xad.Component(3)),
            State = NullIfEmpty(xad.Component(4)),
            PostalCode = NullIfEmpty(xad.Component(5)),
            Country = NullIfEmpty(xad.Component(6)),
        };
        foreach (var line in new[] { xad.Component(1), xad.Component(2) }.Where(l => l.Length > 0))
        {
            address.LineElement.Add(new FhirString(line));
        }

        address.Use = xad.Component(7) switch
        {
            "H" => Hl7.Fhir.Model.Address.AddressUse.Home,
            "O" or "B" => Hl7.Fhir.Model.Address.AddressUse.Work,
            "C" => Hl7.Fhir.Model.Address.AddressUse.Temp,
            _ => null,
        };
        return address;
    }

    public static object?[] Xad(Address address) =>
    [
        address.Line.ElementAtOrDefault(0), address.Line.ElementAtOrDefault(1), address.City, address.State, address.PostalCode, address.Country,
        address.Use switch
        {
            Hl7.Fhir.Model.Address.AddressUse.Home => "H",
            Hl7.Fhir.Model.Address.AddressUse.Work => "O",
            Hl7.Fhir.Model.Address.AddressUse.Temp => "C",
            _ => null,
        },
    ];

    /// <summary>XTN: (deprecated number)^use^equipment^email^country^area^local number^extension^any text^…^unformatted (12).</summary>
    public static ContactPoint? Telecom(Er7Field xtn)
    {
        if (xtn.IsEmpty)
        {
            return null;
        }

        var email = xtn.Component(4);
        var number = xtn.Component(12) is { Length: > 0 } unformatted ? unformatted
            : xtn.Component(7) is { Length: > 0 } local ? $"{(xtn.Component(5) is { Length: > 0 } cc ? "+" + cc + " " : "")}{(xtn.Component(6) is { Length: > 0 } area ? area + " " : "")}{local}"
            : xtn.Component(1);
        var isEmail = email.Length > 0 || xtn.Component(3) == "Internet";
        var value = isEmail ? (email.Length > 0 ? email : xtn.Component(1)) : number;
        if (value.Length == 0)
        {
            return null;
        }

        return new ContactPoint
        {
            System = isEmail ? ContactPoint.ContactPointSystem.Email : xtn.Component(3) == "FX" ? ContactPoint.ContactPointSystem.Fax : ContactPoint.ContactPointSystem.Phone,
            Value = value,
            Use = xtn.Component(2) switch
            {
                "PRN" => ContactPoint.ContactPointUse.Home,
                "WPN" => ContactPoint.ContactPointUse.Work,
                "ORN" => ContactPoint.ContactPointUse.Mobile,
                _ => xtn.Component(3) == "CP" ? ContactPoint.ContactPointUse.Mobile : null,
            },
        };
    }

    public static object?[] Xtn(ContactPoint telecom)
    {
        var email = telecom.System == ContactPoint.ContactPointSystem.Email;
        var use = telecom.Use switch
        {
            ContactPoint.ContactPointUse.Home => "PRN",
            ContactPoint.ContactPointUse.Work => "WPN",
            _ => email ? "NET" : "PRN",
        };
        var equipment = email ? "Internet" : telecom.System == ContactPoint.ContactPointSystem.Fax ? "FX" : telecom.Use == ContactPoint.ContactPointUse.Mobile ? "CP" : "PH";
        return email ? [null, use, equipment, telecom.Value] : [null, use, equipment, null, null, null, null, null, null, null, null, telecom.Value];
    }

    public static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
