using Grpc.Core;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Runtime;
using NodeAgent.Contracts.V1;
using Polly;

namespace NodeAgent.Agent.Plans;

/// <summary>Gets the node its own credential: from the state dir, or by registering with the bootstrap token.</summary>
internal sealed partial class Registration(
    IPlanServerClient client,
    CredentialStore credentials,
    AgentOptions options,
    AgentIdentity identity,
    RuntimeFactsReader runtimeFacts,
    ILogger<Registration> logger)
{
    /// <summary>Loads or obtains the credential and hands it to the client.</summary>
    public async Task EnsureAsync(ResiliencePipeline retry, bool forceNew, CancellationToken cancellationToken)
    {
        if (forceNew)
        {
            credentials.Forget();
        }
        else if (credentials.Load(identity.Cluster, identity.Node) is { } stored)
        {
            client.UseCredential(stored.Credential);
            return;
        }
        if (options.Token.Length == 0)
        {
            throw new AgentFatalException(
                $"node '{identity.Node}' has no credential in {options.StateDir} and no bootstrap token: set 'token' in the config file or NODEAGENT_TOKEN");
        }
        var request = new RegisterRequest
        {
            Cluster = identity.Cluster,
            Node = identity.Node,
            BootstrapToken = options.Token,
            AgentVersion = identity.AgentVersion,
            Runtime = options.Runtime,
        };
        if (options.EtcdInitialAdvertisePeerUrls.Count > 0)
        {
            // A plain etcd restore makes the new cluster of the restoring nodes' own member settings.
            request.EtcdMemberName = options.EffectiveEtcdName;
            request.EtcdPeerUrls.AddRange(options.EtcdInitialAdvertisePeerUrls);
        }
        request.Roles.AddRange(options.Roles.Select(RoleOf));
        // K3s/RKE2: a restore points the other servers at the init node's advertised address.
        request.AdvertiseAddress = (await runtimeFacts.ReadAsync(cancellationToken))?.AdvertiseAddress ?? "";
        RegisterResponse response;
        try
        {
            response = await retry.ExecuteAsync(async ct => await client.RegisterAsync(request, ct), cancellationToken);
        }
        // AlreadyExists: the name is bound to another credential (an operator frees it with
        // 'nodeagentctl node reset'); retrying cannot change that.
        catch (RpcException ex) when (ex.StatusCode is StatusCode.PermissionDenied or StatusCode.FailedPrecondition
            or StatusCode.InvalidArgument or StatusCode.AlreadyExists)
        {
            throw new AgentFatalException($"the plan server refused to register node '{identity.Node}' in cluster '{identity.Cluster}': {ex.Status.Detail}");
        }
        credentials.Save(new StoredCredential(identity.Cluster, identity.Node, response.NodeCredential));
        client.UseCredential(response.NodeCredential);
        LogRegistered(logger, identity.Node, identity.Cluster, response.Node.InitNode);
    }

    private static NodeRole RoleOf(string role) => role switch
    {
        "etcd" => NodeRole.Etcd,
        "control-plane" => NodeRole.ControlPlane,
        _ => NodeRole.Worker,
    };

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Registered node {Node} in cluster {Cluster} (init node: {InitNode}); credential stored")]
    private static partial void LogRegistered(ILogger logger, string node, string cluster, bool initNode);
}

/// <summary>A condition the agent cannot recover from by retrying; the service stops with a non-zero exit code.</summary>
internal sealed class AgentFatalException(string message) : Exception(message);
