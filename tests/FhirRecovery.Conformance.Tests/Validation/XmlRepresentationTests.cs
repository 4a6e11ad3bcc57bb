using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>Reading and checking resources in XML: namespace, resource type, no DTDs, bounded nesting.</summary>
public sealed class XmlRepresentationTests
{
    private const string Narrative = """<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Ingrid</p></div></text>""";

    [Fact]
    public void A_valid_XML_resource_is_read_and_validated_without_issues()
    {
        var result = Validate.Xml($"""
            <?xml version="1.0" encoding="UTF-8"?>
            <Patient xmlns="http://hl7.org/fhir">
              <id value="ingrid"/>
              {Narrative}
              <active value="true"/>
              <name><family value="Solberg"/><given value="Ingrid"/></name>
              <gender value="female"/>
              <birthDate value="1990-04-01"/>
            </Patient>
            """);

        result.HasNoIssues();
        var patient = Assert.IsType<Patient>(result.Resource);
        Assert.Equal("Solberg", patient.Name[0].Family);
    }

    [Fact]
    public void The_format_of_XML_content_is_sniffed_when_not_given()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes($"""  <Patient xmlns="http://hl7.org/fhir">{Narrative}<active value="true"/></Patient>""");

        Assert.Equal(ResourceFormat.Xml, ProfileValidator.SniffFormat(bytes));
        Validate.Bytes(bytes).HasNoIssues();
    }

    [Fact]
    public void A_root_element_outside_the_FHIR_namespace_is_refused()
    {
        var result = Validate.Xml("""<Patient xmlns="http://hl7.org/fhir/wrong"><active value="true"/></Patient>""");

        var issue = result.HasFatal(IssueType.Structure, IssueKind.Structure, "not in the FHIR namespace");
        Assert.Null(issue.Expression);
        Assert.Null(result.Resource);
    }

    [Fact]
    public void A_root_element_without_namespace_is_refused()
    {
        var result = Validate.Xml("""<Patient><active value="true"/></Patient>""");

        result.HasFatal(IssueType.Structure, IssueKind.Structure, "not in the FHIR namespace");
    }

    [Fact]
    public void An_unknown_resource_type_in_XML_is_refused()
    {
        var result = Validate.Xml("""<Patientt xmlns="http://hl7.org/fhir"><active value="true"/></Patientt>""");

        result.HasFatal(IssueType.Structure, IssueKind.Structure, "Unknown resource type 'Patientt'");
        Assert.Null(result.Resource);
    }

    [Fact]
    public void A_datatype_as_XML_root_is_an_unknown_resource_type()
    {
        var result = Validate.Xml("""<HumanName xmlns="http://hl7.org/fhir"><family value="x"/></HumanName>""");

        result.HasFatal(IssueType.Structure, IssueKind.Structure, "Unknown resource type 'HumanName'");
    }

    [Fact]
    public void XML_with_a_DTD_is_refused_without_expanding_its_entities()
    {
        var result = Validate.Xml("""
            <?xml version="1.0"?>
            <!DOCTYPE Patient [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
            <Patient xmlns="http://hl7.org/fhir"><name><family value="&secret;"/></name></Patient>
            """);

        result.HasFatal(IssueType.Structure, IssueKind.Structure, "DTD");
        Assert.Null(result.Resource);
        Assert.DoesNotContain(result.Issues, i => i.Message.Contains("root:", StringComparison.Ordinal));
    }

    [Fact]
    public void Deep_XML_nesting_is_refused_as_too_costly_with_its_position()
    {
        var depth = 200;
        var xml = """<Patient xmlns="http://hl7.org/fhir"><extension url="http://acme.test/x">"""
                  + string.Concat(Enumerable.Repeat("""<extension url="a">""", depth))
                  + string.Concat(Enumerable.Repeat("</extension>", depth)) + "</extension></Patient>";

        var result = Validate.Xml(xml);

        var issue = result.HasFatal(IssueType.TooCostly, IssueKind.Structure, "nested deeper");
        Assert.NotNull(issue.Position);
        Assert.Null(result.Resource);
    }

    [Fact]
    public void Moderate_XML_nesting_within_the_limit_is_read()
    {
        var depth = 20;
        var xml = $"""<Patient xmlns="http://hl7.org/fhir">{Narrative}<extension url="http://hl7.org/fhir/StructureDefinition/patient-nationality">"""
                  + string.Concat(Enumerable.Repeat("""<extension url="code">""", depth))
                  + string.Concat(Enumerable.Repeat("</extension>", depth)) + "</extension></Patient>";

        var result = Validate.Xml(xml);

        Assert.NotNull(result.Resource);
        Assert.DoesNotContain(result.Issues, i => i.Code == IssueType.TooCostly);
    }

    [Fact]
    public void Not_well_formed_XML_is_a_fatal_error_with_line_and_column()
    {
        var result = Validate.Xml("<Patient xmlns=\"http://hl7.org/fhir\">\n  <active value=\"true\"/>\n  <name><family value=\"x\"/>\n</Patient>");

        var issue = result.HasFatal(IssueType.Structure, IssueKind.Structure, "not well-formed XML");
        Assert.NotNull(issue.Position);
        Assert.Equal(4L, issue.Position!.Value.Line);
    }

    [Fact]
    public void An_unknown_XML_element_and_a_bad_primitive_value_are_reported_at_their_paths()
    {
        var result = Validate.Xml($"""<Patient xmlns="http://hl7.org/fhir">{Narrative}<active value="yes"/><bogus value="1"/></Patient>""");

        result.HasError(IssueType.Structure, "Patient.bogus", IssueKind.Structure, "Unknown element 'bogus'");
        result.HasError(IssueType.Value, "Patient.active", IssueKind.Structure, "not a boolean");
    }

    [Fact]
    public void An_element_in_a_foreign_namespace_is_an_unknown_element()
    {
        var result = Validate.Xml($"""<Patient xmlns="http://hl7.org/fhir">{Narrative}<name><family value="x"/><foo xmlns="http://acme.test/ns"/></name></Patient>""");

        result.HasError(IssueType.Structure, "Patient.name[0].foo", IssueKind.Structure, "Unknown element 'foo'");
    }

    [Fact]
    public void A_primitive_element_without_value_attribute_breaks_ele_1()
    {
        var result = Validate.Xml($"""<Patient xmlns="http://hl7.org/fhir">{Narrative}<active/></Patient>""");

        result.HasError(IssueType.Invariant, "Patient.active", IssueKind.Structure, "ele-1");
    }

    [Fact]
    public void An_unknown_attribute_is_a_structure_error()
    {
        var result = Validate.Xml($"""<Patient xmlns="http://hl7.org/fhir">{Narrative}<active value="true" foo="x"/></Patient>""");

        Assert.Contains(result.Issues, i => i.IsError && i.Kind == IssueKind.Structure && i.Expression?.StartsWith("Patient.active", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void Text_content_in_a_FHIR_element_is_a_structure_error()
    {
        var result = Validate.Xml($"""<Patient xmlns="http://hl7.org/fhir">{Narrative}<active value="true">x</active></Patient>""");

        Assert.Contains(result.Issues, i => i.IsError && i.Kind == IssueKind.Structure);
    }

    [Fact]
    public void An_id_attribute_on_the_resource_root_is_a_structure_error()
    {
        var result = Validate.Xml($"""<Patient xmlns="http://hl7.org/fhir" id="x">{Narrative}<active value="true"/></Patient>""");

        Assert.Contains(result.Issues, i => i.IsError && i.Kind == IssueKind.Structure);
    }

    [Fact]
    public void XML_elements_out_of_definition_order_are_a_structure_error()
    {
        var result = Validate.Xml($"""<Patient xmlns="http://hl7.org/fhir">{Narrative}<gender value="male"/><active value="true"/></Patient>""");

        Assert.Contains(result.Issues, i => i.IsError && i.Kind == IssueKind.Structure && i.Message.Contains("order", StringComparison.OrdinalIgnoreCase));
    }
}
