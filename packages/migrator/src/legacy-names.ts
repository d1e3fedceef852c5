// The function names deploy scripts call today (their StateManager's), on any StateStore, so
// adopting the factory's store is a one-line change in their StateManagerFactory.
import { AbstractStateStore, ErrorCodes, StateError, type DeploymentRecord } from '@deploystate/core';

export abstract class LegacyNamedStore extends AbstractStateStore {
  getContract(chainId: number, contractName: string): Promise<DeploymentRecord | null> {
    return this.get(chainId, contractName);
  }

  putContract(chainId: number, record: DeploymentRecord): Promise<void> {
    if (record && typeof record === 'object' && record.chainId !== chainId) {
      throw new StateError(ErrorCodes.INVALID_RECORD, `putContract(${chainId}, ...) got a record for chain ${String(record.chainId)}`, {
        key: `${chainId}-${String(record.contractName)}`,
      });
    }
    return this.put(record);
  }

  getAllContracts(chainId: number): Promise<DeploymentRecord[]> {
    return this.list(chainId);
  }
}
