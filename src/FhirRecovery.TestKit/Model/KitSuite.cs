namespace FhirRecovery.TestKit.Model;

/// <summary>
/// A suite of tests of one area of the guide. A suite object lives for one run, so its tests may hand state to the
/// tests after them (what was created, the ids to look for); a test whose predecessor failed skips, saying so.
/// </summary>
public abstract class KitSuite
{
    private readonly List<KitTest> _tests = [];

    public abstract string Name { get; }

    public abstract string Description { get; }

    public IReadOnlyList<KitTest> Tests => _tests;

    protected void Test(string id, string description, Requirement requirement, Func<KitContext, Task> body) =>
        _tests.Add(new KitTest(id, Name, description, requirement, body));

    /// <summary>The value an earlier test of this suite left, or a skip naming that test.</summary>
    protected static T Needs<T>(T? value, string earlierTest) where T : class =>
        value ?? throw new TestSkippedException($"depends on {earlierTest}, which did not complete");
}
