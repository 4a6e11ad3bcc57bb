using System.Diagnostics;
using System.Text;
using FhirRecovery.Conformance.Validation;
using Hl7.Fhir.Rest;
using static Hl7.Fhir.Model.OperationOutcome;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>
/// Hostile input (issue 2, "Must show"): each gets a fatal or error issue quickly, never an exception, a stack overflow
/// or a hang.
/// </summary>
public sealed class HostileInputTests
{
    private static readonly TimeSpan Quickly = TimeSpan.FromSeconds(5);

    private static ValidationResult Timed(Func<ValidationResult> validate)
    {
        var watch = Stopwatch.StartNew();
        var result = validate();
        watch.Stop();
        Assert.True(watch.Elapsed < Quickly, $"validation took {watch.Elapsed}");
        Assert.True(result.HasErrors, $"expected an error or fatal issue, found:\n{result.Describe()}");
        return result;
    }

    [Fact]
    public void Ten_thousand_deep_JSON_nesting_is_refused_as_too_costly()
    {
        const int depth = 10_000;
        var json = new StringBuilder("""{"resourceType":"Patient","extension":""");
        for (var i = 0; i < depth; i++)
        {
            json.Append("""[{"url":"a","extension":""");
        }

        json.Append("[]");
        for (var i = 0; i < depth; i++)
        {
            json.Append("}]");
        }

        json.Append('}');

        var result = Timed(() => Validate.Json(json.ToString()));

        var issue = result.HasFatal(IssueType.TooCostly, IssueKind.Structure, "nested deeper than the 128 levels");
        Assert.NotNull(issue.Position);
        Assert.Null(result.Resource);
    }

    [Fact]
    public void Ten_thousand_deep_bare_JSON_arrays_are_refused()
    {
        var json = """{"resourceType":"Patient","name":""" + new string('[', 10_000) + new string(']', 10_000) + "}";

        var result = Timed(() => Validate.Json(json));

        result.HasFatal(IssueType.TooCostly, IssueKind.Structure);
    }

    [Fact]
    public void Ten_thousand_deep_XML_nesting_is_refused_as_too_costly()
    {
        const int depth = 10_000;
        var xml = """<Patient xmlns="http://hl7.org/fhir">""" + string.Concat(Enumerable.Repeat("""<extension url="a">""", depth))
                  + string.Concat(Enumerable.Repeat("</extension>", depth)) + "</Patient>";

        var result = Timed(() => Validate.Xml(xml));

        result.HasFatal(IssueType.TooCostly, IssueKind.Structure, "nested deeper");
        Assert.Null(result.Resource);
    }

    [Fact]
    public void A_fifty_megabyte_string_is_reported_as_exceeding_the_one_megabyte_limit()
    {
        var json = "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + new string('a', 50 * 1024 * 1024) + "\"}]}";

        var result = Timed(() => Validate.Json(json));

        var issue = result.HasError(IssueType.Value, "Patient.name[0].family", IssueKind.Structure, "must not exceed 1 MB");
        Assert.True(issue.Message.Length < 500, "the message must not quote the value");
    }

    [Fact]
    public void A_string_of_exactly_one_megabyte_characters_is_accepted()
    {
        var json = "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + new string('a', PrimitiveFormats.MaxStringLength) + "\"}]}";

        var result = Validate.Json(json);

        result.HasNoErrors();
    }

    [Fact]
    public void An_XML_entity_bomb_is_refused_without_expansion()
    {
        var xml = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [
              <!ENTITY lol "lol">
              <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
              <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
              <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
              <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
              <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
              <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
              <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
              <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
              <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
            ]>
            <Patient xmlns="http://hl7.org/fhir"><name><family value="&lol9;"/></name></Patient>
            """;

        var result = Timed(() => Validate.Xml(xml));

        result.HasFatal(IssueType.Structure, IssueKind.Structure, "DTD");
        Assert.Null(result.Resource);
    }

    [Theory]
    [InlineData("""{"resourceType":"Patient","name":[{"family":"Sol""")]
    [InlineData("""{"resourceType":"Patient","name":[{"family":"Solberg"}""")]
    [InlineData("""{"resourceType":"Patient",""")]
    [InlineData("{")]
    public void Truncated_JSON_is_a_fatal_syntax_error(string json)
    {
        var result = Timed(() => Validate.Json(json));

        var issue = result.HasFatal(IssueType.Structure, IssueKind.Structure, "not valid JSON");
        Assert.NotNull(issue.Position);
        Assert.Null(result.Resource);
    }

    [Fact]
    public void Binary_garbage_is_neither_JSON_nor_XML()
    {
        var garbage = new byte[4096];
        new Random(42).NextBytes(garbage);
        garbage[0] = 0x00;

        var result = Timed(() => Validate.Bytes(garbage));

        result.HasFatal(IssueType.Structure, IssueKind.Structure, "neither JSON nor XML");
    }

    [Fact]
    public void Binary_garbage_declared_as_JSON_is_a_fatal_syntax_error()
    {
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        garbage[0] = (byte)'{';

        var result = Timed(() => Validate.Bytes(garbage, ResourceFormat.Json));

        result.HasFatal(IssueType.Structure, IssueKind.Structure);
    }

    [Fact]
    public void Binary_garbage_declared_as_XML_is_a_fatal_syntax_error()
    {
        var garbage = new byte[4096];
        new Random(9).NextBytes(garbage);
        garbage[0] = (byte)'<';

        var result = Timed(() => Validate.Bytes(garbage, ResourceFormat.Xml));

        result.HasFatal(IssueType.Structure, IssueKind.Structure);
    }

    [Fact]
    public void Empty_input_is_refused()
    {
        var result = Timed(() => Validate.Bytes([]));

        result.HasFatal(IssueType.Structure, IssueKind.Structure, "neither JSON nor XML");
        Assert.Null(result.Resource);
    }

    [Fact]
    public void Whitespace_only_input_declared_as_JSON_is_refused()
    {
        var result = Timed(() => Validate.Bytes("   \n "u8.ToArray(), ResourceFormat.Json));

        result.HasFatal(IssueType.Structure, IssueKind.Structure, "not valid JSON");
        Assert.Null(result.Resource);
    }

    [Fact]
    public void An_unknown_profile_is_an_error_not_an_exception()
    {
        var result = Timed(() => Validate.Json(
            """{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}""",
            "http://acme.test/fhir/StructureDefinition/does-not-exist"));

        result.HasError(IssueType.NotFound, "Patient", IssueKind.Profile, "does-not-exist");
    }

    [Fact]
    public void A_profile_regular_expression_is_evaluated_when_it_is_harmless()
    {
        var result = Validate.Profiled("""{"resourceType":"Patient","name":[{"family":"aaaa"}]}""", TestProfiles.RegexInvariant);

        result.HasNoIssueMentioning("tst-regex");
    }

    [Fact]
    public async System.Threading.Tasks.Task A_catastrophically_backtracking_profile_regular_expression_is_cut_off_by_a_timeout()
    {
        // ^(a+)+$ on 40 a's and a '!' backtracks 2^40 times: only a match timeout ends it.
        var hostile = """{"resourceType":"Patient","name":[{"family":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}]}""";
        var validation = System.Threading.Tasks.Task.Run(() => Validate.Profiled(hostile, TestProfiles.RegexInvariant));

        var finished = await System.Threading.Tasks.Task.WhenAny(validation, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(15)));
        Assert.True(finished == validation, "the validation did not finish within 15 s");
        Assert.Contains((await validation).Issues, i => i.Expression == "Patient.name[0].family" && i.Message.Contains("tst-regex", StringComparison.Ordinal));
    }

    [Fact]
    public void Resources_nested_in_contained_resources_beyond_the_limit_are_refused_not_overflowed()
    {
        // Bundle in Bundle in Bundle ...: each level a resource of its own.
        var json = new StringBuilder();
        const int levels = 60;
        for (var i = 0; i < levels; i++)
        {
            json.Append("{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"fullUrl\":\"urn:uuid:").Append(Guid.NewGuid()).Append("\",\"resource\":");
        }

        json.Append("""{"resourceType":"Basic","code":{"text":"x"}}""");
        for (var i = 0; i < levels; i++)
        {
            json.Append("}]}");
        }

        var validator = SharedDefinitions.CreateValidator(SharedDefinitions.Resolver, new ValidatorSettings { MaxJsonDepth = 1000 });
        var watch = Stopwatch.StartNew();
        var result = validator.Validate(Encoding.UTF8.GetBytes(json.ToString()), ResourceFormat.Json);
        Assert.True(watch.Elapsed < Quickly);

        Assert.Contains(result.Issues, i => i.IsError && i.Code == IssueType.TooCostly && i.Message.Contains("nested more than", StringComparison.Ordinal));
    }
}
