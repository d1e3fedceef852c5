// Findings: problems with the quality of stored data, never a reason for a store to drop or
// refuse what exists. Analysis, verification and the validator all speak in these codes.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { DuplicateKey } from './codec.js';
import type { DeploymentRecord } from './record.js';
import { loneSurrogateAt, recordKey, tryParseKey } from './keys.js';
import { NetworkRegistry } from './registry.js';
import { isJsonNumber } from './json-number.js';

export type Severity = 'error' | 'warning' | 'info';

export const FindingCodes = {
  INVALID_ADDRESS: { severity: 'error', summary: 'address is not 0x followed by 40 hex digits' },
  ADDRESS_CHECKSUM: { severity: 'error', summary: 'mixed-case address fails its EIP-55 checksum' },
  INVALID_HASH: { severity: 'error', summary: 'hash is not 0x followed by 64 hex digits' },
  EMPTY_HASH: { severity: 'warning', summary: 'hash is empty' },
  DEV_CHAIN: { severity: 'warning', summary: 'record belongs to a development chain' },
  UNKNOWN_CHAIN: { severity: 'warning', summary: 'chainId is not in the network registry' },
  NETWORK_ALIAS: { severity: 'info', summary: 'networkName is a known alias of the canonical name' },
  NETWORK_MISMATCH: { severity: 'warning', summary: 'networkName belongs to another chain or to none known' },
  KEY_MISMATCH: { severity: 'error', summary: 'the record does not match the key it is stored under' },
  INVALID_KEY: { severity: 'error', summary: 'the key is not of the form <chainId>-<contractName>' },
  UNDECODABLE_VALUE: { severity: 'error', summary: 'the stored value is not valid JSON' },
  INVALID_RECORD: { severity: 'error', summary: 'the stored value is not a deployment record' },
  MISSING_IMPLEMENTATION_HASH: { severity: 'warning', summary: 'a proxy is recorded without an implementation hash' },
  DUPLICATE_PROXY: { severity: 'error', summary: 'the same proxy address is recorded for two contracts on one chain' },
  BIG_NUMBER_LITERAL: { severity: 'info', summary: 'a bare number literal beyond 2^53 (kept exactly)' },
  BIG_NUMBER_STRING: { severity: 'info', summary: 'a big integer stored as a decimal string (kept as a string)' },
  SCHEMA_VIOLATION: { severity: 'error', summary: 'the file does not match the published schema' },
  CHAIN_MISMATCH: { severity: 'error', summary: 'chainId disagrees with the file name or the registry' },
  PLACE_MISMATCH: { severity: 'error', summary: "a record's chainId or contractName disagrees with where it is stored" },
  DUPLICATE_CHAIN_FILE: { severity: 'error', summary: 'two state files hold the same chain' },
  NOT_JSON: { severity: 'error', summary: 'the file is not valid JSON' },
  EMPTY_FILE: { severity: 'error', summary: 'the file is empty or holds only whitespace' },
  DUPLICATE_KEY: { severity: 'error', summary: 'an object in the file or stored value names one key twice (a reader keeps only the last value)' },
  BYTE_ORDER_MARK: { severity: 'info', summary: 'the file starts with a UTF-8 byte-order mark (read, and kept on rewrite)' },
  NOT_A_FILE: { severity: 'error', summary: 'a folder or other non-file stands where a state file belongs' },
  EXACT_NUMBER_LITERAL: { severity: 'info', summary: 'a number literal no double holds as written (kept as its text, a JsonNumber)' },
  LEFTOVER_TEMP_FILE: { severity: 'warning', summary: 'a temporary file left by an interrupted write' },
  LEGACY_MISMATCH: { severity: 'error', summary: 'a legacy contracts/implementationHashes entry disagrees with the record' },
  DEV_CHAIN_FILE: { severity: 'warning', summary: 'the state file belongs to a development chain' },
  LEGACY_FILE: { severity: 'info', summary: 'a legacy state file (no schemaVersion, no records), not yet adopted by the JSON backend' },
  MISSING_RECORD: { severity: 'error', summary: 'a record present on one side is missing on the other' },
  RECORD_DIFFERS: { severity: 'error', summary: 'a record differs between the two sides' },
  UNSUPPORTED_SCHEMA_VERSION: { severity: 'error', summary: 'the file declares a schemaVersion newer than supported' },
  INVENTORY_MISMATCH: { severity: 'warning', summary: 'the contracts found differ from the expected inventory' },
  MERGE_CONFLICT: {
    severity: 'error',
    summary: 'the file holds an unfinished merge: git conflict markers, or a $conflicts section left by the merge driver',
  },
  FOREIGN_OVERWRITE: {
    severity: 'error',
    summary: 'a record the store wrote is missing or changed in its file: other code rewrote the file',
  },
  LEGACY_WITHOUT_RECORD: { severity: 'warning', summary: 'a legacy contracts/implementationHashes entry names a contract that records lacks' },
  TORN_LOG_TAIL: {
    severity: 'warning',
    summary: 'the log ended inside a record, as a crash mid-write leaves it; the unacknowledged write was dropped',
  },
} as const satisfies Record<string, { severity: Severity; summary: string }>;

export type FindingCode = keyof typeof FindingCodes;

export interface Finding {
  code: FindingCode;
  severity: Severity;
  message: string;
  key?: string;
  chainId?: number;
  contractName?: string;
  field?: string;
  file?: string;
  /** JSON pointer inside `file`. */
  pointer?: string;
  line?: number;
  column?: number;
  /** Set when a recorded acknowledgement accepts this finding on this record as it is (see acknowledgements.ts). */
  acknowledged?: boolean;
}

export function finding(
  code: FindingCode,
  message: string,
  where: Omit<Finding, 'code' | 'severity' | 'message'> = {},
  severity?: Severity,
): Finding {
  return { code, severity: severity ?? FindingCodes[code].severity, message, ...where };
}

/** The DUPLICATE_KEY finding for a file whose parse found a key twice in one object (parseLosslessDocument's `duplicate`). */
export function duplicateKeyFinding(duplicate: DuplicateKey, file?: string): Finding {
  return finding(
    'DUPLICATE_KEY',
    `key ${JSON.stringify(duplicate.key)} appears twice in ${duplicate.pointer || 'the top-level object'}; readers keep only the last value, and the JSON backend refuses to rewrite the file`,
    { ...(file !== undefined && { file }), pointer: duplicate.pointer, line: duplicate.position.line, column: duplicate.position.column },
  );
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;

/** EIP-55 checksum form of an address (0x + 40 hex). */
export function toChecksumAddress(address: string): string {
  const lower = address.slice(2).toLowerCase();
  const hash = bytesToHex(keccak_256(new TextEncoder().encode(lower)));
  let out = '0x';
  for (let i = 0; i < 40; i++) {
    const c = lower[i] as string;
    out += parseInt(hash[i] as string, 16) >= 8 ? c.toUpperCase() : c;
  }
  return out;
}

/** Problems with one address: malformed, or mixed case with a wrong checksum. */
export function addressProblem(address: string): 'INVALID_ADDRESS' | 'ADDRESS_CHECKSUM' | null {
  if (!ADDRESS.test(address)) return 'INVALID_ADDRESS';
  const body = address.slice(2);
  const mixed = body !== body.toLowerCase() && body !== body.toUpperCase();
  return mixed && toChecksumAddress(address) !== address ? 'ADDRESS_CHECKSUM' : null;
}

export interface RecordFindingOptions {
  registry?: NetworkRegistry;
  /** The key the record is stored under, when it came from a store. */
  key?: string;
}

/** The quality findings for one structurally valid record. */
export function recordFindings(record: DeploymentRecord, options: RecordFindingOptions = {}): Finding[] {
  const registry = options.registry ?? new NetworkRegistry();
  // A name no store can key (a lone surrogate) is a finding here, never a throw: one bad record
  // must not stop the check of the rest.
  const lone = loneSurrogateAt(record.contractName);
  const expectedKey = lone === -1 ? recordKey(record.chainId, record.contractName) : `${record.chainId}-${record.contractName}`;
  const key = options.key ?? expectedKey;
  const where = { key, chainId: record.chainId, contractName: record.contractName };
  const out: Finding[] = [];
  if (lone !== -1)
    out.push(finding('INVALID_KEY', `contractName holds a lone UTF-16 surrogate at index ${lone}: no store can key it (LevelDB keys are UTF-8)`, { ...where, field: 'contractName' }));

  if (options.key !== undefined && options.key !== expectedKey) {
    const parsed = tryParseKey(options.key);
    out.push(
      finding('KEY_MISMATCH', `stored under ${JSON.stringify(options.key)} but the record says ${JSON.stringify(expectedKey)}`, {
        ...where,
        field: parsed && parsed.chainId !== record.chainId ? 'chainId' : 'contractName',
      }),
    );
  }
  for (const field of ['address', 'proxyAddress'] as const) {
    const value = record[field];
    if (field === 'proxyAddress' && (value === undefined || value === null)) continue;
    const problem = addressProblem(String(value));
    if (problem) out.push(finding(problem, `${field} ${JSON.stringify(value)}: ${FindingCodes[problem].summary}`, { ...where, field }));
  }
  for (const field of ['factoryByteCodeHash', 'implementationHash'] as const) {
    const value = record[field];
    if (field === 'implementationHash' && (value === undefined || value === null)) continue;
    if (value === '') out.push(finding('EMPTY_HASH', `${field} is empty`, { ...where, field }));
    else if (!HASH.test(String(value)))
      out.push(finding('INVALID_HASH', `${field} ${JSON.stringify(value)}: ${FindingCodes.INVALID_HASH.summary}`, { ...where, field }));
  }
  if (
    record.proxyAddress &&
    (record.implementationHash === undefined || record.implementationHash === null || record.implementationHash === '')
  ) {
    out.push(
      finding('MISSING_IMPLEMENTATION_HASH', 'proxyAddress is set but implementationHash is not', {
        ...where,
        field: 'implementationHash',
      }),
    );
  }

  const network = registry.get(record.chainId);
  if (network.tier === 'dev')
    out.push(finding('DEV_CHAIN', `chain ${record.chainId} (${network.name}) is a development chain`, { ...where, field: 'chainId' }));
  if (!network.known) {
    out.push(
      finding('UNKNOWN_CHAIN', `chain ${record.chainId} is not registered; its file is ${network.name}.json`, {
        ...where,
        field: 'chainId',
      }),
    );
  } else if (record.networkName !== network.name) {
    const owner = registry.chainIdOf(record.networkName);
    if (owner === record.chainId) {
      out.push(
        finding('NETWORK_ALIAS', `networkName ${JSON.stringify(record.networkName)} is an alias of ${network.name}`, {
          ...where,
          field: 'networkName',
        }),
      );
    } else {
      const whose = owner === undefined ? 'no known chain' : `chain ${owner}`;
      out.push(
        finding(
          'NETWORK_MISMATCH',
          `networkName ${JSON.stringify(record.networkName)} belongs to ${whose}, not ${record.chainId} (${network.name})`,
          { ...where, field: 'networkName' },
        ),
      );
    }
  }
  out.push(...numericFindings(record, where));
  return out;
}

const BIG_DECIMAL_STRING = /^-?[0-9]{16,}$/;

/** The numeric audit: big integers as bare literals and as strings, with their paths. */
export function numericFindings(record: DeploymentRecord, where: Omit<Finding, 'code' | 'severity' | 'message'> = {}): Finding[] {
  const out: Finding[] = [];
  const visit = (value: unknown, path: string): void => {
    if (typeof value === 'bigint') {
      out.push(finding('BIG_NUMBER_LITERAL', `${path} = ${value} is a bare literal beyond 2^53, kept exactly`, { ...where, field: path }));
    } else if (isJsonNumber(value)) {
      out.push(finding('EXACT_NUMBER_LITERAL', `${path} = ${value.text} is kept as written (a double would change it)`, { ...where, field: path }));
    } else if (typeof value === 'string') {
      if (BIG_DECIMAL_STRING.test(value) && !Number.isSafeInteger(Number(value))) {
        out.push(finding('BIG_NUMBER_STRING', `${path} = "${value}" is a big integer stored as a string`, { ...where, field: path }));
      }
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, `${path}[${i}]`));
    } else if (typeof value === 'object' && value !== null) {
      for (const k of Object.keys(value)) visit((value as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    }
  };
  visit(record, '');
  return out;
}

export function countBySeverity(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}
