using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Plans;

/// <summary>The agent API of the plan server, as the agent uses it (each call has its own deadline).</summary>
internal interface IPlanServerClient
{
    Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken);

    Task<GetPlanResponse> GetPlanAsync(GetPlanRequest request, TimeSpan deadline, CancellationToken cancellationToken);

    Task<ReportStatusResponse> ReportStatusAsync(ReportStatusRequest request, CancellationToken cancellationToken);

    /// <summary>Uses <paramref name="credential"/> on every later call.</summary>
    void UseCredential(string credential);
}
