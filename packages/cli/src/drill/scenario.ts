// What every drill scenario gets: the copy to work on, the user's network registry, and the
// helpers that make drill records and read state files from the copy.
import { readFile } from 'node:fs/promises';
import {
  canonicalDigest,
  fileSystemError,
  parseLossless,
  withoutByteOrderMark,
  sampleRecord,
  seededHex,
  type Acknowledgement,
  type DeploymentRecord,
  type NetworkDefinition,
  type NetworkRegistry,
} from '@deploystate/core';
import type { DrillChecks } from './checks.js';

export { listed } from '../render.js';
import type { Workspace } from './workspace.js';

export interface DrillEnv {
  workspace: Workspace;
  registry: NetworkRegistry;
  /** The config file's network entries, for child processes that build their own registry. */
  networks: NetworkDefinition[];
  /** What `validate` acknowledges (the config's and the cut-over's): the validator honours them and shows them as acknowledged. */
  acknowledgements?: Acknowledgement[];
  /** The write journal `validate` reads (for LEGACY_WITHOUT_RECORD), when given. */
  journal?: string;
  /** An expected-inventory file (`{ "<network or chainId>": count | names[] }`), when given. */
  expected?: string;
  /** Progress notes for a person (stderr). */
  note(line: string): void;
}

export type Scenario = (env: DrillEnv, checks: DrillChecks) => Promise<void>;

/** The prefix of every record a drill writes, so none can be mistaken for a user's. */
export const DRILL_PREFIX = 'DeploystateDrill';

/** A deterministic drill record (the same inputs give the same digest in every process). */
export function drillRecord(registry: NetworkRegistry, chainId: number, contractName: string, index = 0): DeploymentRecord {
  const record = sampleRecord(chainId, contractName, registry.get(chainId).name, index);
  // A big integer as a bare literal too: the drill proves it survives the JSON store as well.
  record.deploymentArgs = [...(record.deploymentArgs ?? []), 18446744073709551617n];
  return record;
}

/** The same record after an upgrade: a new implementation address and hash. */
export function upgraded(record: DeploymentRecord, round = 1): DeploymentRecord {
  const seed = `${record.chainId}-${record.contractName}/upgrade-${round}`;
  return {
    ...record,
    address: `0x${seededHex(`${seed}/impl`, 40)}`,
    implementationHash: `0x${seededHex(`${seed}/hash`, 64)}`,
    timestamp:
      typeof record.timestamp === 'number'
        ? record.timestamp + 1000
        : (typeof record.timestamp === 'bigint' ? record.timestamp : record.timestamp.toBigInt()) + 1000n,
  };
}

export const digestOf = (record: DeploymentRecord | null): string | null => (record === null ? null : canonicalDigest(record));

/** A state file's top-level document as it is on disk in the copy; a file that cannot be read is named (a folder there: NOT_A_FILE). */
export async function readDocument(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, 'utf8').catch((error: unknown) => {
    throw fileSystemError(error, file, 'could not read');
  });
  // A byte-order mark an editor saved is read past, as the store reads the file.
  return parseLossless(withoutByteOrderMark(text), { source: file }) as Record<string, unknown>;
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** At most `limit` items, then "and N more". */
