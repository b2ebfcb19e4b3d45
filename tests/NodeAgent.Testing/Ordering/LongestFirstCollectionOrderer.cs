using Xunit;
using Xunit.Abstractions;

namespace NodeAgent.Testing.Ordering;

/// <summary>
/// Orders test collections by their <see cref="ExpectedDurationAttribute"/>, longest first, the
/// rest by name, so the slow classes do not start late and set the run's tail. xUnit 2 starts the
/// parallel collections in this order (it queues them in order behind its maxParallelThreads gate).
/// Wire it with <c>[assembly: TestCollectionOrderer(LongestFirstCollectionOrderer.TypeName, LongestFirstCollectionOrderer.AssemblyName)]</c>.
/// </summary>
public sealed class LongestFirstCollectionOrderer : ITestCollectionOrderer
{
    public const string TypeName = "NodeAgent.Testing.Ordering.LongestFirstCollectionOrderer";

    public const string AssemblyName = "NodeAgent.Testing";

    /// <summary>How xUnit 2 names the collection it makes for a class without [Collection].</summary>
    private const string PerClassPrefix = "Test collection for ";

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections)
        => testCollections
            .OrderByDescending(ExpectedSeconds)
            .ThenBy(c => c.DisplayName, StringComparer.Ordinal)
            .ToList();

    private static int ExpectedSeconds(ITestCollection collection)
    {
        var type = collection.CollectionDefinition
            ?? (collection.DisplayName.StartsWith(PerClassPrefix, StringComparison.Ordinal)
                ? collection.TestAssembly.Assembly.GetType(collection.DisplayName[PerClassPrefix.Length..])
                : null);
        var attribute = type?.GetCustomAttributes(typeof(ExpectedDurationAttribute)).FirstOrDefault();
        return attribute?.GetConstructorArguments().FirstOrDefault() is int seconds ? seconds : 0;
    }
}
