using NodeAgent.Testing.Ordering;

// Classes without tests for LongestFirstCollectionOrdererTests: xUnit makes their collections as it
// would for test classes, and runs nothing in them.
namespace NodeAgent.Testing.Tests.OrdererSamples;

[ExpectedDuration(300)]
public static class SlowClass;

[ExpectedDuration(120)]
public static class MiddleClass;

[ExpectedDuration(60)]
public static class QuickClass;

[ExpectedDuration(60)]
public static class QuickTwin;

public static class UnmeasuredA;

public static class UnmeasuredB;

[CollectionDefinition(Name)]
[ExpectedDuration(200)]
public static class SampleGroup
{
    public const string Name = "orderer-sample";
}

[Collection(SampleGroup.Name)]
[ExpectedDuration(1)]
public static class InSampleGroup;
