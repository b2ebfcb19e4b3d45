using System.Threading.Channels;

namespace NodeAgent.Server.Catalog;

/// <summary>Clusters whose snapshot settings changed, for <see cref="S3ListingService"/> to list at once.</summary>
internal sealed class S3ListingTriggers
{
    private readonly Channel<string> _clusters = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    public ChannelReader<string> Reader => _clusters.Reader;

    public void SettingsChanged(string cluster) => _clusters.Writer.TryWrite(cluster);
}
