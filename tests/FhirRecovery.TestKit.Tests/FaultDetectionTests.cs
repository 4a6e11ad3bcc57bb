using FhirRecovery.Server.Faults;

namespace FhirRecovery.TestKit.Tests;

/// <summary>
/// The kit catches faults: with one of the server's test-only fault switches on, exactly the tests checking the broken
/// rule fail, and every other test still passes (or skips as on the healthy server).
/// </summary>
public sealed class FaultDetectionTests
{
    public static TheoryData<string, string[]> Faults() => new()
    {
        { nameof(FaultOptions.WrongProfileInOutput), ["prof-02", "prof-03"] },
        { nameof(FaultOptions.LeakyCompartment), ["smart-05"] },
        { nameof(FaultOptions.AllowForbiddenTaskTransition), ["wf-05", "wf-06"] },
        { nameof(FaultOptions.BrokenNextLink), ["srch-03"] },
        { nameof(FaultOptions.SkipScoreRecalculation), ["qr-01", "qr-02"] },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Each_fault_fails_exactly_the_tests_of_the_rule_it_breaks(string fault, string[] expected)
    {
        await using var server = await KitServer.StartAsync(fault);
        var report = await KitRuns.RunAsync(server);

        Assert.True(expected.Order().SequenceEqual(KitRuns.Failed(report).Order()), $"{fault}: expected {string.Join(", ", expected)} to fail\n{KitRuns.Describe(report)}");
    }

    [Fact]
    public void Every_fault_switch_is_covered()
    {
        var covered = Faults().Select(row => (string)row[0]).ToHashSet();
        var switches = typeof(FaultOptions).GetProperties().Where(p => p.PropertyType == typeof(bool)).Select(p => p.Name);
        Assert.All(switches, s => Assert.Contains(s, covered));
    }
}
