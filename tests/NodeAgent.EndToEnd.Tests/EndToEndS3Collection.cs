using NodeAgent.Testing.S3;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>The end-to-end tests that use S3 share one Ceph RGW and one s3rver.</summary>
[CollectionDefinition("agent-s3")]
public sealed class EndToEndS3Definition : ICollectionFixture<S3ServersFixture>;
