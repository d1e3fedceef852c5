// The records the crash writer writes, built the same way in the child and in the parent that checks them.
import type { DeploymentRecord, NetworkRegistry } from '@deploystate/core';
import { DRILL_PREFIX, drillRecord } from './scenario.js';

export const crashName = (n: number): string => `${DRILL_PREFIX}Crash${String(n).padStart(5, '0')}`;

export function crashRecord(registry: NetworkRegistry, chainId: number, n: number): DeploymentRecord {
  return drillRecord(registry, chainId, crashName(n), n);
}
