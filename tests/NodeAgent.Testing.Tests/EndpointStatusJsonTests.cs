using NodeAgent.Testing.Etcd;

namespace NodeAgent.Testing.Tests;

public sealed class EndpointStatusJsonTests
{
    // Printed by Debian's etcdctl 3.4.23 against a one-member etcd.
    private const string WithLeader = """[{"Endpoint":"127.0.0.1:23790","Status":{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,"revision":1,"raft_term":2},"version":"3.4.23","dbSize":20480,"leader":10276657743932975437,"raftIndex":4,"raftTerm":2,"raftAppliedIndex":4,"dbSizeInUse":16384}}]""";

    [Fact]
    public void Parse_ALeadersOwnStatus_IsLeader()
    {
        var status = EndpointStatusJson.Parse(WithLeader);

        Assert.Equal(14841639068965178418UL, status.ClusterId);
        Assert.Equal(10276657743932975437UL, status.MemberId);
        Assert.True(status.IsLeader);
    }

    [Fact]
    public void Parse_DuringAnElection_TheMissingLeaderIsZero_NotAnError()
    {
        // omitempty leaves "leader" out while the member knows of none: the k3s-standin threw on this once in CI.
        var status = EndpointStatusJson.Parse(WithLeader.Replace("\"leader\":10276657743932975437,", "", StringComparison.Ordinal));

        Assert.Equal(0UL, status.Leader);
        Assert.False(status.IsLeader);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"Endpoint\":\"x\"}")]
    public void Parse_NotEndpointStatus_FormatExceptionQuotingTheText(string text)
    {
        var error = Assert.Throws<FormatException>(() => EndpointStatusJson.Parse(text));

        Assert.Contains("etcdctl endpoint status", error.Message, StringComparison.Ordinal);
    }
}
