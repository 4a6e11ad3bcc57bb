using FhirRecovery.Storage.Indexing;
using FhirRecovery.Storage.Search;
using FhirRecovery.Storage.Tests.Infrastructure;
using Hl7.Fhir.Model;

namespace FhirRecovery.Storage.Tests;

/// <summary>The pieces below the stores: value syntax, date ranges, normalisation, the registry, the indexer.</summary>
public sealed class SearchSyntaxTests
{
    private static DateTimeOffset Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) => new(y, mo, d, h, mi, s, TimeSpan.Zero);

    [Theory]
    [InlineData("2024", "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")]
    [InlineData("2024-02", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")]
    [InlineData("2024-02-29", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z")]
    [InlineData("2024-02-29T10:15", "2024-02-29T10:15:00Z", "2024-02-29T10:16:00Z")]
    [InlineData("2024-02-29T10:15:30Z", "2024-02-29T10:15:30Z", "2024-02-29T10:15:31Z")]
    [InlineData("2024-02-29T10:15:30.5Z", "2024-02-29T10:15:30.5Z", "2024-02-29T10:15:30.6Z")]
    [InlineData("2024-02-29T10:15:30+02:00", "2024-02-29T08:15:30Z", "2024-02-29T08:15:31Z")]
    [InlineData("2024-02-29T10:15:30-05:30", "2024-02-29T15:45:30Z", "2024-02-29T15:45:31Z")]
    [InlineData("2024-12-31T24:00:00Z", "2025-01-01T00:00:00Z", "2025-01-01T00:00:01Z")]
    public void Dates_cover_the_range_their_precision_implies(string text, string low, string highExclusive)
    {
        Assert.True(FhirDateRange.TryParse(text, out var range, out var error), error);
        Assert.Equal(DateTimeOffset.Parse(low).UtcTicks, range.Low);
        Assert.Equal(DateTimeOffset.Parse(highExclusive).UtcTicks - 1, range.High);
    }

    [Theory]
    [InlineData("24", "year")]
    [InlineData("2024-13", "month")]
    [InlineData("2023-02-29", "day")]
    [InlineData("2024-01-01T25:00", "hour")]
    [InlineData("2024-01-01T10:61", "minutes")]
    [InlineData("2024-01-01T10:00:00+25:00", "time zone")]
    [InlineData("2024-01-01T10:00:00.Z", "decimal point")]
    [InlineData("2024-01-01 extra", "unexpected")]
    [InlineData("2024T10:00", "full date")]
    public void Malformed_dates_say_what_is_wrong(string text, string reason)
    {
        Assert.False(FhirDateRange.TryParse(text, out _, out var error));
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData("100", 99.5, 100.5)]
    [InlineData("100.00", 99.995, 100.005)]
    [InlineData("1e2", 50, 150)]
    [InlineData("1.5e-1", 0.145, 0.155)]
    [InlineData("-3", -3.5, -2.5)]
    public void Numbers_carry_the_range_of_their_precision(string text, double low, double high)
    {
        Assert.True(SearchValueSyntax.TryParseNumber(text, out _, out var l, out var h));
        Assert.Equal(low, (double)l, 9);
        Assert.Equal(high, (double)h, 9);
    }

    [Fact]
    public void Values_split_on_unescaped_separators_only()
    {
        Assert.Equal(["a\\,b", "c"], SearchValueSyntax.Split("a\\,b,c", ','));
        Assert.Equal(["sys", "co\\|de"], SearchValueSyntax.Split("sys|co\\|de", '|'));
        Assert.Equal("a,b|c$d\\", SearchValueSyntax.Unescape("a\\,b\\|c\\$d\\\\"));
    }

    [Theory]
    [InlineData("Élodie", "elodie")]
    [InlineData("ØDEGÅRD", "odegard")]
    [InlineData("Straße", "strasse")]
    [InlineData("Nguyễn", "nguyen")]
    [InlineData("Łódź", "lodz")]
    [InlineData("plain ascii 123", "plain ascii 123")]
    [InlineData("e\u0301", "e")]
    public void String_normalisation_drops_case_and_accents(string value, string expected) =>
        Assert.Equal(expected, StringNormalizer.Normalize(value));

    [Fact]
    public void Every_core_and_ig_parameter_is_compiled_except_the_documented_ones()
    {
        var unsupported = ModelInfo.SupportedResources
            .SelectMany(type => SharedDefinitions.Registry.For(type).Values)
            .Where(p => !p.IsSupported)
            .Select(p => p.Code)
            .Distinct()
            .Order()
            .ToArray();
        Assert.Equal(["_content", "_query", "_text", "near"], unsupported);

        var goal = SharedDefinitions.Registry.For("Goal");
        foreach (var code in new[] { "recovery-domain", "recovery-theme", "life-domain", "chime-process", "attainment-level", "expressed-by", "person-priority" })
        {
            Assert.True(goal[code].IsSupported, code);
        }
    }

    [Fact]
    public void Union_expressions_keep_only_the_branches_of_the_type()
    {
        var patient = SharedDefinitions.Registry.Find("Goal", "patient")!;
        Assert.Equal("Goal.subject.where(resolve() is Patient)", patient.Expression);
        Assert.Equal(["Patient"], patient.Targets);
    }

    [Fact]
    public void The_indexer_extracts_typed_values_and_resolves_reference_types()
    {
        var indexer = new SearchIndexer(SharedDefinitions.Registry);
        var goal = TestData.Goal("g1", "p1", Goal.GoalLifecycleStatus.Active, "x", (TestData.LifeDomain, "work"));
        goal.Start = new Date("2024-05");
        goal.Subject = new ResourceReference("Group/gr1");

        var index = indexer.Extract(goal);

        Assert.Contains(index.Tokens, t => t is { Param: "lifecycle-status", Code: "active", System: "http://hl7.org/fhir/goal-status" });
        Assert.Contains(index.Tokens, t => t is { Param: "life-domain", Code: "work" });
        Assert.Contains(index.Dates, d => d.Param == "start-date" && d.Low == Utc(2024, 5, 1).UtcTicks && d.High == Utc(2024, 6, 1).UtcTicks - 1);
        Assert.Contains(index.References, r => r is { Param: "subject", TargetType: "Group", TargetId: "gr1" });
        Assert.DoesNotContain(index.References, r => r.Param == "patient"); // resolve() is Patient: a Group is not
    }
}
