using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.Tests.Snapshots;

public sealed class SnapshotNamesTests
{
    [Fact]
    public void Compose_IsK3sNameNodeUnixSeconds()
        => Assert.Equal("on-demand-node-1-1700000000", SnapshotNames.Compose("on-demand", "node-1", DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)));

    [Theory]
    [InlineData("on-demand-node-1-1700000000", 1_700_000_000L)]
    [InlineData("etcd-snapshot-n-1700000001.zip", 1_700_000_001L)]
    public void CreatedFromName_ParsesTheDigitsAfterTheLastDash(string name, long seconds)
        => Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(seconds), SnapshotNames.CreatedFromName(name));

    [Theory]
    [InlineData("backup.db")]
    [InlineData("on-demand-node-x")]
    public void CreatedFromName_WithoutTimestamp_IsNull(string name) => Assert.Null(SnapshotNames.CreatedFromName(name));

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("../etc/passwd")]
    [InlineData("/var/lib/x")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    public void ValidateFileName_RefusesPathsAndEmpty(string name)
    {
        var ex = Assert.Throws<SnapshotRequestException>(() => SnapshotNames.ValidateFileName(name));
        Assert.Contains(name.Length == 0 ? "must not be empty" : "bare file name", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("a/b", "not a path")]
    [InlineData("..", "not a path")]
    [InlineData("with space", "spaces")]
    [InlineData("-flag", "must not start")]
    public void ValidatePart_RefusesWhatK3sCouldNotParseBack(string value, string expected)
        => Assert.Contains(expected, Assert.Throws<SnapshotRequestException>(() => SnapshotNames.ValidatePart(value, "snapshot name")).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("on-demand-n1-1700000000.part", true)]
    [InlineData("etcd-snapshot-node-1-1700000000.zip.part", true)]
    [InlineData("download.iso.part", false)]
    [InlineData("backup-2024.part", false)]
    [InlineData("x-y-z.part", false)]
    [InlineData("on-demand-n1-1700000000", false)]
    [InlineData(".hidden-n1-1700000000.part", false)]
    public void IsSnapshotPart_OnlyOurNamingCounts(string name, bool ours) => Assert.Equal(ours, SnapshotNames.IsSnapshotPart(name));

    [Fact]
    public void ValidateLength_LongestThatFits_IsTakenOneMoreIsRefused()
    {
        SnapshotNames.ValidateLength(new string('a', SnapshotNames.MaxPrefixAndNodeBytes - 2), "n1");

        var ex = Assert.Throws<SnapshotRequestException>(() => SnapshotNames.ValidateLength(new string('a', SnapshotNames.MaxPrefixAndNodeBytes - 1), "n1"));

        Assert.Contains("at most 234 fit", ex.Message, StringComparison.Ordinal);
        Assert.Equal(SnapshotNames.MaxFileNameBytes, SnapshotNames.Compose(new string('a', SnapshotNames.MaxPrefixAndNodeBytes - 2), "n1", DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)).Length + ".zip.part".Length);
    }

    [Fact]
    public void HasPrefix_NeedsTheDashAfterThePrefix()
    {
        Assert.True(SnapshotNames.HasPrefix("etcd-snapshot-n1-1", "etcd-snapshot"));
        Assert.False(SnapshotNames.HasPrefix("etcd-snapshotx-n1-1", "etcd-snapshot"));
        Assert.False(SnapshotNames.HasPrefix("on-demand-n1-1", "etcd-snapshot"));
    }

    [Theory]
    [InlineData("K10abcdef::server:secret-password")]
    [InlineData("secret-password\n")]
    public void TokenHash_IsTwelveHexOfThePasswordPart(string token)
        => Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("secret-password"u8))[..12], TokenHash.Of(token));

    /// <summary>
    /// K3s (pkg/clientaccess parseToken) makes a bare token "K10:::&lt;token&gt;": an empty CA hash, an empty
    /// user, and the whole token as the password, colons and all. Expected values: <c>printf %s TOKEN | sha256sum</c>.
    /// </summary>
    [Theory]
    [InlineData("my:bare:token", "6d6a1545001c")]
    [InlineData("token", "3c469e9d6c58")]
    [InlineData("K10abcdef::server:pass:with:colons", "f70e322b58a5")]
    public void TokenHash_BareTokenWithColons_IsK3sHashOfTheWholeToken(string token, string expected)
        => Assert.Equal(expected, TokenHash.Of(token));
}
