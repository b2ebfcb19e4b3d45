namespace NodeAgent.Contracts.V1;

/// <summary>The runtimes' names as configs, CLIs and snapshot metadata spell them: k3s, rke2, etcd.</summary>
public static class RuntimeNames
{
    /// <summary>The runtime named <paramref name="name"/>; <see cref="Runtime.Unspecified"/> for any other text.</summary>
    public static Runtime Parse(string name) => name switch
    {
        "k3s" => Runtime.K3S,
        "rke2" => Runtime.Rke2,
        "etcd" => Runtime.Etcd,
        _ => Runtime.Unspecified,
    };

    /// <summary>k3s, rke2 or etcd; null for <see cref="Runtime.Unspecified"/>.</summary>
    public static string? Name(this Runtime runtime) => runtime switch
    {
        Runtime.K3S => "k3s",
        Runtime.Rke2 => "rke2",
        Runtime.Etcd => "etcd",
        _ => null,
    };
}
