using NodeAgent.Testing.Ordering;
using Xunit;

// The slow classes start first (their [ExpectedDuration]), so the longest one does not begin halfway through the run.
[assembly: TestCollectionOrderer(LongestFirstCollectionOrderer.TypeName, LongestFirstCollectionOrderer.AssemblyName)]
