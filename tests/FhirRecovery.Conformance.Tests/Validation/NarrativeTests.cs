using System.Text.Json;
using FhirRecovery.Conformance.Validation;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>Narrative: txt-1 (well-formed, basic XHTML only, no active content), txt-2 (some content), internal links.</summary>
public sealed class NarrativeTests
{
    private const string Xhtml = "http://www.w3.org/1999/xhtml";
    private const string Div = "Patient.text.div";

    private static ValidationResult Patient(string div, string more = "") => Validate.Json($$"""
        { "resourceType": "Patient", "text": { "status": "generated", "div": {{JsonSerializer.Serialize(div)}} } {{more}} }
        """);

    [Fact]
    public void Basic_XHTML_formatting_with_a_table_and_an_image_is_valid() =>
        Patient($"""<div xmlns="{Xhtml}"><h1>Ingrid</h1><p class="x" style="color: red">Born <b>1990</b></p><table><tr><td>a</td></tr></table><img src="data:image/png;base64,AAAA" alt="x"/></div>""")
            .HasNoIssues();

    [Fact]
    public void A_script_element_breaks_txt_1()
    {
        var result = Patient($"""<div xmlns="{Xhtml}"><p>x</p><script>alert(1)</script></div>""");

        var issue = result.HasError(IssueType.Value, Div, IssueKind.Profile, "<script> is not allowed");
        Assert.Equal("txt-1", issue.RuleId);
    }

    [Fact]
    public void An_event_attribute_breaks_txt_1()
    {
        var result = Patient($"""<div xmlns="{Xhtml}"><p onclick="steal()">x</p></div>""");

        result.HasError(IssueType.Value, Div, IssueKind.Profile, "attribute 'onclick' is not allowed");
    }

    [Fact]
    public void A_javascript_href_breaks_txt_1()
    {
        var result = Patient($"""<div xmlns="{Xhtml}"><a href=" JavaScript:alert(1)">x</a></div>""");

        result.HasError(IssueType.Value, Div, IssueKind.Profile, "javascript: URL");
    }

    [Fact]
    public void A_narrative_that_is_not_well_formed_breaks_txt_1()
    {
        var result = Patient($"""<div xmlns="{Xhtml}"><p>x</div>""");

        result.HasError(IssueType.Value, Div, IssueKind.Profile, "not well-formed");
    }

    [Fact]
    public void A_div_outside_the_XHTML_namespace_breaks_txt_1()
    {
        var result = Patient("<div><p>x</p></div>");

        result.HasError(IssueType.Value, Div, IssueKind.Profile, "XHTML namespace");
    }

    [Fact]
    public void A_root_element_other_than_div_breaks_txt_1()
    {
        var result = Patient($"""<p xmlns="{Xhtml}">x</p>""");

        result.HasError(IssueType.Value, Div, IssueKind.Profile, "must be a <div>");
    }

    [Fact]
    public void A_DTD_inside_the_narrative_is_not_processed()
    {
        var result = Patient($"""<!DOCTYPE div [<!ENTITY x "y">]><div xmlns="{Xhtml}">&x;</div>""");

        result.HasError(IssueType.Value, Div, IssueKind.Profile, "txt-1");
    }

    [Fact]
    public void A_narrative_with_only_whitespace_breaks_txt_2()
    {
        var result = Patient($"""<div xmlns="{Xhtml}">  <p> </p> </div>""");

        var issue = result.HasError(IssueType.Value, Div, IssueKind.Profile, "txt-2");
        Assert.Contains("non-whitespace", issue.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_narrative_with_only_an_image_satisfies_txt_2() =>
        Patient($"""<div xmlns="{Xhtml}"><img src="#photo" alt=""/></div>""", """, "contained": [ { "resourceType": "Binary", "id": "photo", "contentType": "image/png" } ]""")
            .HasNoErrors();

    [Fact]
    public void An_internal_link_to_an_anchor_of_the_narrative_resolves()
    {
        Patient($"""<div xmlns="{Xhtml}"><a href="#s1">see</a><p id="s1">here</p><a name="s2"/><a href="#s2">and</a></div>""").HasNoIssues();
    }

    [Fact]
    public void An_internal_link_to_a_contained_resource_resolves()
    {
        var result = Patient($"""<div xmlns="{Xhtml}">GP: <a href="#gp">Riverside</a></div>""",
            """, "contained": [ { "resourceType": "Organization", "id": "gp", "name": "Riverside" } ]""");

        result.HasNoErrors();
    }

    [Fact]
    public void An_internal_link_that_resolves_to_nothing_is_an_error()
    {
        var result = Patient($"""<div xmlns="{Xhtml}"><a href="#nowhere">see</a></div>""");

        result.HasError(IssueType.Value, Div, IssueKind.Profile, "Hyperlink '#nowhere'");
    }

    [Fact]
    public void External_links_are_not_checked() =>
        Patient($"""<div xmlns="{Xhtml}"><a href="http://acme.test/x#frag">see</a></div>""").HasNoIssues();

    [Fact]
    public void A_narrative_inside_a_contained_resource_is_checked_too()
    {
        var result = Patient($"""<div xmlns="{Xhtml}"><a href="#gp">GP</a></div>""", $$"""
            , "contained": [ { "resourceType": "Organization", "id": "gp", "name": "x",
                               "text": { "status": "generated", "div": "<div xmlns=\"{{Xhtml}}\"><iframe src=\"x\"></iframe>GP</div>" } } ]
            """);

        result.HasError(IssueType.Value, "Patient.contained[0].text.div", IssueKind.Profile, "<iframe> is not allowed");
    }
}
