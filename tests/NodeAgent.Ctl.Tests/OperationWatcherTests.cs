using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Output;

namespace NodeAgent.Ctl.Tests;

/// <summary>How --wait and operation watch draw an operation: redrawn in place on a terminal, plain lines otherwise.</summary>
public sealed class OperationWatcherTests
{
    [Fact]
    public void Draw_Terminal_BarBytesRateAndEta_ThenRedrawsInPlace()
    {
        using var output = new StringWriter();
        var watcher = new OperationWatcher(output, interactive: true);

        watcher.Draw(Saving(bytesDone: 512L << 20));
        var first = output.ToString();
        watcher.Draw(Saving(bytesDone: 768L << 20));
        var second = output.ToString()[first.Length..];

        Assert.Contains("  node-1: started/save-snapshot RUNNING [##########..........] 512.0 MiB / 1.0 GiB (50%) 100.0 MB/s ETA 00:00:06", first, StringComparison.Ordinal);
        // Two lines drawn (headline, node): the next draw moves up two lines and clears before drawing.
        Assert.StartsWith("\u001b[2A\u001b[J", second, StringComparison.Ordinal);
        Assert.Contains("[###############.....] 768.0 MiB / 1.0 GiB (75%)", second, StringComparison.Ordinal);
    }

    [Fact]
    public void Draw_NotATerminal_PlainLinesOnlyWhenSomethingChanged()
    {
        using var output = new StringWriter();
        var watcher = new OperationWatcher(output, interactive: false);

        watcher.Draw(Saving(bytesDone: 512L << 20));
        watcher.Draw(Saving(bytesDone: 512L << 20));
        watcher.Draw(Saving(bytesDone: 768L << 20));

        var text = output.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain("[#", text, StringComparison.Ordinal);
        Assert.Equal(2, text.Split("started/save-snapshot RUNNING", StringSplitOptions.None).Length - 1);
        Assert.Contains("768.0 MiB / 1.0 GiB (75%) 100.0 MB/s ETA 00:00:03", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Draw_RestoreWithElectedInitNode_SaysWhichAndWhyUnderTheHeadline()
    {
        using var output = new StringWriter();
        var watcher = new OperationWatcher(output, interactive: false);
        var restore = new Operation
        {
            Id = "op-2", Cluster = "prod", Type = OperationType.Restore, Phase = OperationPhase.Started, Snapshot = "on-demand-node-1-1700000000",
            InitNode = "node-4", InitNodeReason = "S3 copy; the init node node-1 is unreachable, so node-4, the first live etcd node by name, is elected and becomes the init node",
            Nodes = { new NodeStep { Node = "node-4", InstructionId = "started/download-snapshot", State = StepState.Running } },
        };

        watcher.Draw(restore);

        Assert.Equal(
            [
                "operation op-2 (restore on-demand-node-1-1700000000) on prod: Started",
                "  init node node-4: S3 copy; the init node node-1 is unreachable, so node-4, the first live etcd node by name, is elected and becomes the init node",
                "  node-4: started/download-snapshot RUNNING",
            ],
            output.ToString().TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Draw_RestoreRecoveringFromAShutdownFailure_SaysWhatFailedAndThatTheNodesStartAgain()
    {
        using var output = new StringWriter();
        var watcher = new OperationWatcher(output, interactive: false);
        var restore = new Operation
        {
            Id = "op-3", Cluster = "prod", Type = OperationType.Restore, Phase = OperationPhase.RestartCluster, Snapshot = "on-demand-node-1-1700000000",
            RecoveringFrom = new OperationFailure { Phase = OperationPhase.Shutdown, Node = "node-2", InstructionId = "shutdown/killall", Message = "killall script exited 1" },
            Nodes = { new NodeStep { Node = "node-2", InstructionId = "restart-cluster/start-runtime", State = StepState.Running } },
        };

        watcher.Draw(restore);

        Assert.Equal(
            [
                "operation op-3 (restore on-demand-node-1-1700000000) on prod: RestartCluster",
                "  recovering: Shutdown failed on node node-2, step shutdown/killall: killall script exited 1; every node is started again on what it had, then the restore ends Failed",
                "  node-2: restart-cluster/start-runtime RUNNING",
            ],
            output.ToString().TrimEnd('\n').Split('\n'));
    }

    private static Operation Saving(long bytesDone) => new()
    {
        Id = "op-1",
        Cluster = "prod",
        Type = OperationType.Snapshot,
        Phase = OperationPhase.Started,
        Nodes =
        {
            new NodeStep
            {
                Node = "node-1",
                InstructionId = "started/save-snapshot",
                State = StepState.Running,
                Progress = new Progress { BytesDone = bytesDone, BytesTotal = 1L << 30, BytesPerSecond = 100e6 },
            },
        },
    };
}
