using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Security;

/// <summary>
/// "authorization: Bearer &lt;token&gt;": the admin token makes an operator, a node credential
/// makes that node's agent. Anything else is anonymous (and refused by [Authorize]).
/// </summary>
internal sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    AdminToken adminToken,
    IPlanStore store)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }
        var token = header["Bearer ".Length..].Trim();
        if (token.Length == 0)
        {
            return AuthenticateResult.Fail("empty bearer token");
        }
        if (Secrets.FixedTimeEquals(token, adminToken.Value))
        {
            return Success(Caller.Admin());
        }
        var node = await store.FindNodeByCredentialHashAsync(Secrets.Sha256Hex(token), Context.RequestAborted);
        if (node is null)
        {
            return AuthenticateResult.Fail("unknown credential");
        }
        Caller.KeepNodeRecord(Context, node);
        return Success(Caller.Node(node.Cluster, node.Name));
    }

    private AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal principal)
        => AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
}
