using System.Text.Json;

namespace FhirRecovery.Samples.Tests;

public class CorpusTests
{
    [Fact]
    public void The_corpus_has_the_four_core_types_in_equal_shares_as_minified_lines()
    {
        var lines = BenchmarkCorpus.Lines(1000, seed: 3).ToList();

        Assert.Equal(1000, lines.Count);
        var types = lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("resourceType").GetString()).ToList();
        Assert.Equal(BenchmarkCorpus.ResourceTypes, types.Take(4));
        Assert.All(BenchmarkCorpus.ResourceTypes, t => Assert.Equal(250, types.Count(x => x == t)));
        Assert.All(lines, l => Assert.DoesNotContain('\n', l));
        Assert.All(lines, l => Assert.DoesNotContain("  ", l, StringComparison.Ordinal));

        // Ids are unique: a bulk feed has one current version per resource.
        var ids = lines.Select(l => JsonDocument.Parse(l).RootElement).Select(r => $"{r.GetProperty("resourceType").GetString()}/{r.GetProperty("id").GetString()}");
        Assert.Equal(1000, ids.Distinct().Count());

        // Realistic sizes: from a small check-in response to goals with their history (hundreds of bytes to several KB).
        var sizes = lines.Select(l => l.Length).ToList();
        Assert.InRange(sizes.Average(), 1000, 6000);
        Assert.True(sizes.Max() > 3000);
    }

    [Fact]
    public void The_same_arguments_give_the_same_corpus()
    {
        Assert.Equal(BenchmarkCorpus.Lines(200, seed: 4), BenchmarkCorpus.Lines(200, seed: 4));
        Assert.NotEqual(BenchmarkCorpus.Lines(200, seed: 4), BenchmarkCorpus.Lines(200, seed: 5));
        // A shorter corpus is the start of a longer one.
        Assert.Equal(BenchmarkCorpus.Lines(50, seed: 4), BenchmarkCorpus.Lines(200, seed: 4).Take(50));
    }
}
