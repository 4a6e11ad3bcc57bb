using System.Text.Json;
using FhirRecovery.Conformance.Validation;

namespace FhirRecovery.Conformance.Tests.Validation;

/// <summary>
/// The simple narrative scanner must reach exactly the findings of the full XML reading, or decline: checked on
/// hand-made edge cases and on every narrative of the examples, the samples and the HL7 test cases.
/// </summary>
public sealed class SimpleXhtmlScannerTests
{
    private const string Ns = "xmlns=\"http://www.w3.org/1999/xhtml\"";

    public static TheoryData<string> EdgeCases() =>
    [
        $"<div {Ns}>Hello</div>",
        $"<div {Ns}/>",
        $"<div {Ns}></div>",
        $"<div {Ns}>   </div>",
        $"  <div {Ns}>x</div>\n",
        $"<div {Ns}>x</div>trailing",
        $"lead<div {Ns}>x</div>",
        $"<div {Ns}>x</div><div {Ns}>y</div>",
        $"<div {Ns}><p>a</p><p>b</p></div>",
        $"<div {Ns}><p>a</b></div>",
        $"<div {Ns}><p>a</div>",
        $"<div {Ns}><p>a</p>",
        $"<div {Ns}><br/><hr /></div>",
        $"<div {Ns}><img src=\"x.png\" alt=\"\"/></div>",
        $"<div {Ns}><script>alert(1)</script></div>",
        $"<div {Ns}><p onclick=\"x()\">a</p></div>",
        $"<div {Ns}><a href=\"javascript:alert(1)\">a</a></div>",
        $"<div {Ns}><a href=\" JavaScript:alert(1)\">a</a></div>",
        $"<div {Ns}><a href=\"#t1\">a</a><span id=\"t1\">b</span><a name=\"n\">c</a></div>",
        $"<div {Ns}><a href='#q'>single quotes</a></div>",
        $"<div {Ns}><a href=\"&#35;amp\">ref</a></div>",
        $"<div {Ns} id=\"a\tb\">tab in attribute</div>",
        $"<div {Ns} id=\"a\r\nb\">line break in attribute</div>",
        $"<div {Ns} id=\"a&#10;b\">reference in attribute</div>",
        $"<div {Ns}>&amp;&lt;&gt;&quot;&apos;</div>",
        $"<div {Ns}>&#160;</div>",
        $"<div {Ns}>&#xA0;&#x20;</div>",
        $"<div {Ns}>&#65;</div>",
        $"<div {Ns}>&nbsp;</div>",
        $"<div {Ns}>&#0;</div>",
        $"<div {Ns}>&#xD800;</div>",
        $"<div {Ns}>&;</div>",
        $"<div {Ns}>a & b</div>",
        $"<div {Ns}>a ]]> b</div>",
        $"<div {Ns}>a > b</div>",
        $"<div {Ns}>\u0001</div>",
        $"<div {Ns}>\uD83D\uDE00</div>",
        $"<div {Ns}>\uD83D</div>",
        $"<div {Ns}>\uFFFE</div>",
        $"<div {Ns}><!-- comment -->x</div>",
        $"<div {Ns}><![CDATA[x]]></div>",
        $"<?xml version=\"1.0\"?><div {Ns}>x</div>",
        $"<!DOCTYPE div><div {Ns}>x</div>",
        "<div>no namespace</div>",
        "<div xmlns=\"http://example.org/other\">other namespace</div>",
        $"<p {Ns}>not a div</p>",
        $"<DIV {Ns}>upper case</DIV>",
        $"<div {Ns}><P>upper case child</P></div>",
        $"<div {Ns}><x:p xmlns:x=\"urn:x\">prefixed</x:p></div>",
        $"<div {Ns}><p xmlns=\"http://www.w3.org/1999/xhtml\">redeclared</p></div>",
        $"<div {Ns} xml:lang=\"en\" lang=\"en\">languages</div>",
        $"<div {Ns} xml:foo=\"x\">other xml attribute</div>",
        $"<div {Ns} class=\"a\" class=\"b\">duplicate attribute</div>",
        $"<div {Ns} class=a>unquoted</div>",
        $"<div {Ns} class>no value</div>",
        $"<div {Ns}class=\"x\">no space</div>",
        $"<div {Ns} class = \"x\" >spaces around =</div>",
        $"<div {Ns} title=\"a<b\">lt in attribute</div>",
        $"<div {Ns} title=\"a>b\">gt in attribute</div>",
        $"<div {Ns}><p>x</p ></div >",
        $"<div {Ns}><p>x</ p></div>",
        $"<div {Ns}><table><tbody><tr><td colspan=\"2\">x</td></tr></tbody></table></div>",
        $"<div {Ns}><iframe src=\"x\"/></div>",
        $"<div {Ns}><img/></div>",
        $"<div {Ns}>unterminated",
        $"<div {Ns}",
        "",
        "   ",
        "plain text",
    ];

    [Theory]
    [MemberData(nameof(EdgeCases))]
    public void Edge_cases_get_the_findings_of_the_full_XML_reading(string xhtml) => AssertSameFindings(xhtml);

    [Fact]
    public void Every_narrative_of_the_examples_samples_and_HL7_test_cases_gets_the_findings_of_the_full_XML_reading()
    {
        var narratives = Narratives().Distinct().ToList();
        Assert.True(narratives.Count > 200, $"expected many narratives, found {narratives.Count}");
        foreach (var xhtml in narratives)
        {
            AssertSameFindings(xhtml);
        }
    }

    [Fact]
    public void The_narratives_of_the_implementation_guide_examples_take_the_simple_path()
    {
        var examples = Directory.EnumerateFiles(Path.Combine(TestPaths.Profiles, "examples"), "*.json")
            .SelectMany(file => DivsIn(File.ReadAllText(file)))
            .ToList();
        Assert.NotEmpty(examples);
        Assert.All(examples, xhtml => Assert.True(SimpleXhtmlScanner.TryAnalyze(xhtml, new NarrativeValidator.Findings(), out _), xhtml));
    }

    private static void AssertSameFindings(string xhtml)
    {
        var expected = NarrativeValidator.AnalyzeWithXmlReader(xhtml);
        var actual = NarrativeValidator.Analyze(xhtml);
        Assert.Equal(expected.Problems, actual.Problems);
        Assert.Equal((expected.Anchors ?? []).Order(), (actual.Anchors ?? []).Order());
        Assert.Equal(expected.Links ?? [], actual.Links ?? []);
    }

    private static IEnumerable<string> Narratives()
    {
        var roots = new[] { Path.Combine(TestPaths.Profiles, "examples"), Path.Combine(TestPaths.RepositoryRoot, "samples"), TestPaths.Hl7TestCases };
        foreach (var root in roots.Where(Directory.Exists))
        {
            foreach (var file in Directory.EnumerateFiles(root, "*.*", SearchOption.AllDirectories))
            {
                var lines = file.EndsWith(".ndjson", StringComparison.Ordinal) ? File.ReadLines(file)
                    : file.EndsWith(".json", StringComparison.Ordinal) ? [File.ReadAllText(file)]
                    : [];
                foreach (var line in lines)
                {
                    foreach (var div in DivsIn(line))
                    {
                        yield return div;
                    }
                }
            }
        }
    }

    private static IEnumerable<string> DivsIn(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException)
        {
            yield break;
        }

        using (document)
        {
            var pending = new Stack<JsonElement>([document.RootElement]);
            while (pending.TryPop(out var element))
            {
                if (element.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in element.EnumerateObject())
                    {
                        if (property.Name == "div" && property.Value.ValueKind == JsonValueKind.String)
                        {
                            yield return property.Value.GetString()!;
                        }
                        else
                        {
                            pending.Push(property.Value);
                        }
                    }
                }
                else if (element.ValueKind == JsonValueKind.Array)
                {
                    foreach (var item in element.EnumerateArray())
                    {
                        pending.Push(item);
                    }
                }
            }
        }
    }
}
