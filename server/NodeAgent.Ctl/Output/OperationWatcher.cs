using Grpc.Core;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Ctl.Output;

/// <summary>
/// Follows an operation until it ends: on a terminal a block redrawn in place, otherwise one
/// plain line per change. Exit code 0 when it finished, 1 when it failed or was cancelled.
/// </summary>
internal sealed class OperationWatcher(TextWriter output, bool interactive)
{
    private int _drawn;
    private string _last = "";

    public async Task<int> WatchAsync(OperationService.OperationServiceClient operations, string id, CancellationToken cancellationToken)
    {
        using var call = operations.WatchOperation(new WatchOperationRequest { Id = id }, cancellationToken: cancellationToken);
        Operation? last = null;
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            last = call.ResponseStream.Current.Operation;
            Draw(last);
        }
        if (last is null)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"the watch of operation {id} ended without an answer"));
        }
        return last.Phase == OperationPhase.Finished ? 0 : 1;
    }

    internal void Draw(Operation op)
    {
        var lines = new List<string> { OperationView.Headline(op) };
        if (OperationView.InitNodeLine(op) is { } init)
        {
            lines.Add(init);
        }
        if (OperationView.RecoveringLine(op) is { } recovering)
        {
            lines.Add(recovering);
        }
        lines.AddRange(OperationView.NodeLines(op, bar: interactive));
        if (OperationView.FailureLine(op) is { } failure)
        {
            lines.Add(failure);
        }
        if (interactive)
        {
            if (_drawn > 0)
            {
                output.Write($"\u001b[{_drawn}A\u001b[J");
            }
            foreach (var line in lines)
            {
                output.WriteLine(line);
            }
            _drawn = lines.Count;
            return;
        }
        var text = string.Join('\n', lines);
        if (text != _last)
        {
            output.WriteLine(text);
            _last = text;
        }
    }
}
