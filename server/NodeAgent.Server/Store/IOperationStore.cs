using NodeAgent.Server.Domain;

namespace NodeAgent.Server.Store;

/// <summary>Durable operations. At most one active operation per cluster, enforced by the store.</summary>
internal interface IOperationStore
{
    /// <summary>Adds the operation; null when the cluster already has an active one. The result carries its revision.</summary>
    Task<OperationRecord?> TryAddAsync(OperationRecord operation, CancellationToken cancellationToken);

    Task<OperationRecord?> GetAsync(string id, CancellationToken cancellationToken);

    Task<OperationRecord?> GetActiveAsync(string cluster, CancellationToken cancellationToken);

    /// <summary>A cluster's operations, newest first.</summary>
    Task<IReadOnlyList<OperationRecord>> ListAsync(string cluster, bool activeOnly, CancellationToken cancellationToken);

    /// <summary>Every active operation of every cluster (resumed at start and checked for deadlines).</summary>
    Task<IReadOnlyList<OperationRecord>> ListActiveAsync(CancellationToken cancellationToken);

    /// <summary>Stores the operation if its revision is still the stored one (else <see cref="Errors.StoreConflictException"/>); returns it with its new revision.</summary>
    Task<OperationRecord> UpdateAsync(OperationRecord operation, CancellationToken cancellationToken);
}
