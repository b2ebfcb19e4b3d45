namespace NodeAgent.Testing.Ordering;

/// <summary>
/// A rough figure, in seconds, for how long a test class (in a collection of its own) or a
/// [CollectionDefinition] class's collection takes; <see cref="LongestFirstCollectionOrderer"/>
/// starts the collections with the largest figures first. Only the slow ones need it.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class ExpectedDurationAttribute(int seconds) : Attribute
{
    public int Seconds { get; } = seconds;
}
