using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace FhirRecovery.Testing;

/// <summary>Marks a fixture (or test class) that needs PostgreSQL.</summary>
public interface IRequiresPostgreSql;

/// <summary>
/// A fact of a store-agnostic test class. In a class whose fixture needs PostgreSQL (<see cref="IRequiresPostgreSql"/>)
/// it is skipped, with <see cref="PostgreSqlServer.SkipReason"/>, when no PostgreSQL server can be had; elsewhere it is
/// an ordinary fact.
/// </summary>
[XunitTestCaseDiscoverer("FhirRecovery.Testing.StoreFactDiscoverer", "FhirRecovery.Testing")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute;

public sealed class StoreFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        yield return new StoreTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
    }
}

public sealed class StoreTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public StoreTestCase()
    {
    }

    public StoreTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay defaultMethodDisplay, TestMethodDisplayOptions defaultMethodDisplayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, defaultMethodDisplay, defaultMethodDisplayOptions, testMethod)
    {
    }

    protected override string? GetSkipReason(IAttributeInfo factAttribute) =>
        base.GetSkipReason(factAttribute) ?? (NeedsPostgreSql(TestMethod.TestClass.Class.ToRuntimeType()) ? PostgreSqlServer.SkipReason : null);

    public static bool NeedsPostgreSql(Type? testClass) =>
        testClass is not null
        && (typeof(IRequiresPostgreSql).IsAssignableFrom(testClass)
            || testClass.GetInterfaces().Any(i => i.IsGenericType
                                                  && i.GetGenericTypeDefinition() == typeof(IClassFixture<>)
                                                  && typeof(IRequiresPostgreSql).IsAssignableFrom(i.GetGenericArguments()[0])));
}
