using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.Tests.OrdererSamples;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace NodeAgent.Testing.Tests;

/// <summary>
/// The orderer on the collections xUnit itself makes for classes of this assembly (its per-class
/// factory: "Test collection for X", or the [CollectionDefinition] a class names), as a run gets them.
/// </summary>
public sealed class LongestFirstCollectionOrdererTests
{
    /// <summary>How xUnit names the collection of a class of the samples without [Collection], before the class's name.</summary>
    private static readonly string PerClass = $"Test collection for {typeof(SlowClass).Namespace}.";

    private readonly CollectionPerClassTestCollectionFactory _factory = new(
        new TestAssembly(Reflector.Wrap(typeof(LongestFirstCollectionOrdererTests).Assembly)), new NullMessageSink());

    [Fact]
    public void OrderTestCollections_ExpectedDurations_LongestFirst()
    {
        var ordered = Order(typeof(QuickClass), typeof(SlowClass), typeof(MiddleClass));

        Assert.Equal([Named(typeof(SlowClass)), Named(typeof(MiddleClass)), Named(typeof(QuickClass))], ordered);
    }

    [Fact]
    public void OrderTestCollections_ClassInADefinedCollection_TakesTheDefinitionsDuration()
    {
        // The definition says 200 s; the class's own 1 s is not what counts for a shared collection.
        var ordered = Order(typeof(MiddleClass), typeof(InSampleGroup), typeof(SlowClass));

        Assert.Equal([Named(typeof(SlowClass)), SampleGroup.Name, Named(typeof(MiddleClass))], ordered);
    }

    [Fact]
    public void OrderTestCollections_TiesAndUnmeasured_ByNameWhateverTheInputOrder_UnmeasuredLast()
    {
        Type[] classes = [typeof(UnmeasuredB), typeof(QuickTwin), typeof(UnmeasuredA), typeof(QuickClass), typeof(SlowClass)];
        string[] expected = [Named(typeof(SlowClass)), Named(typeof(QuickClass)), Named(typeof(QuickTwin)), Named(typeof(UnmeasuredA)), Named(typeof(UnmeasuredB))];

        Assert.Equal(expected, Order(classes));
        Assert.Equal(expected, Order([.. classes.Reverse()]));
    }

    [Fact]
    public void TypeNameAndAssemblyName_NameTheOrdererAsXunitLoadsIt()
    {
        var type = Type.GetType($"{LongestFirstCollectionOrderer.TypeName}, {LongestFirstCollectionOrderer.AssemblyName}");

        Assert.Equal(typeof(LongestFirstCollectionOrderer), type);
    }

    /// <summary>The orderer's order of the collections xUnit makes for <paramref name="classes"/>, by their display names without <see cref="PerClass"/>.</summary>
    private string[] Order(params Type[] classes)
        => [.. new LongestFirstCollectionOrderer().OrderTestCollections(classes.Select(c => _factory.Get(Reflector.Wrap(c))))
            .Select(c => c.DisplayName.Replace(PerClass, "", StringComparison.Ordinal))];

    private static string Named(Type testClass) => testClass.Name;
}
