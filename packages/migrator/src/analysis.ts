// Phase 1, read-only: inventory per chain, findings, numeric audit, round-trip proof, the
// cross-check against legacy <network>.json files and an expected inventory, and the keys that
// cannot be migrated.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  canonicalEncode,
  compareKeys,
  ErrorCodes,
  finding,
  parseLossless,
  recordFindings,
  StateError,
  StoreDigest,
  stringifyLossless,
  type DeploymentRecord,
  type Finding,
  type NetworkRegistry,
  type StateStore,
} from '@deploystate/core';
import { readCommandRecord, type UnreadableRecord } from './command-records.js';
import type { AnalysisReport, ChainInventory } from './types.js';

/**
 * What the report and the copy's progress read of the last analysis (analysis.json): its count and
 * how long it took; null when there is none; `{ unreadable }` naming the file when it is damaged
 * (it is a record only: `analyze` writes it again).
 */
export function readAnalysisFigures(file: string): Promise<{ total: number; durationMs: number } | UnreadableRecord | null> {
  return readCommandRecord(file, (value): value is { total: number; durationMs: number } => {
    const { total, durationMs } = (value ?? {}) as { total?: unknown; durationMs?: unknown };
    return typeof total === 'number' && Number.isSafeInteger(total) && total >= 0 && typeof durationMs === 'number' && durationMs >= 0;
  });
}

/** Finding codes that make a stored entry impossible to migrate as it stands. */
export const UNMIGRATABLE_CODES = new Set(['UNDECODABLE_VALUE', 'INVALID_RECORD', 'INVALID_KEY', 'KEY_MISMATCH']);

export interface ScanResult {
  total: number;
  chains: ChainInventory[];
  findings: Finding[];
  numericAudit: AnalysisReport['numericAudit'];
  roundTrip: AnalysisReport['roundTrip'];
  unmigratable: string[];
  digest: AnalysisReport['digest'];
  records: Map<number, DeploymentRecord[]>;
}

/** The text codec the round-trip proof puts each record through: core's unless a test swaps it. */
export interface RoundTripCodec {
  parse(text: string): unknown;
  stringify(value: unknown): string;
}

const losslessCodec: RoundTripCodec = { parse: (text) => parseLossless(text), stringify: (value) => stringifyLossless(value) };

/**
 * The round-trip proof for one record: printed and read back, every field must keep its exact
 * text (canonical encodings keep each number literal as written, so a rounded literal shows).
 * Returns the failures, each naming the field.
 */
export function roundTripFailures(key: string, record: DeploymentRecord, codec: RoundTripCodec = losslessCodec): RoundTripFailure[] {
  let again: unknown;
  try {
    again = codec.parse(codec.stringify(record));
  } catch (error) {
    return [{ key, problem: error instanceof Error ? error.message : String(error) }];
  }
  const back = (typeof again === 'object' && again !== null ? again : {}) as Record<string, unknown>;
  const out: RoundTripFailure[] = [];
  for (const field of new Set([...Object.keys(record), ...Object.keys(back)])) {
    const before = Object.hasOwn(record, field) ? canonicalEncode(record[field]) : '(absent)';
    const after = Object.hasOwn(back, field) ? canonicalEncode(back[field]) : '(absent)';
    if (before !== after) {
      const show = (text: string): string => (text.length > 80 ? `${text.slice(0, 77)}...` : text);
      out.push({ key, field, problem: `${field} would change: ${show(before)} becomes ${show(after)}` });
    }
  }
  return out;
}

type RoundTripFailure = AnalysisReport['roundTrip']['failures'][number];

/** One pass over a LevelDB store. `keepRecords` keeps them per chain for the cross-check. */
export async function scanStore(
  store: StateStore,
  registry: NetworkRegistry,
  options: { exclude?: Iterable<string>; keepRecords?: boolean; roundTripCodec?: RoundTripCodec } = {},
): Promise<ScanResult> {
  const exclude = new Set(options.exclude ?? []);
  const findings: Finding[] = [];
  const unmigratable = new Set<string>();
  const chains = new Map<number, ChainInventory>();
  const records = new Map<number, DeploymentRecord[]>();
  const roundTrip: ScanResult['roundTrip'] = { checked: 0, failures: [] };
  const digest = new StoreDigest();
  let total = 0;
  for await (const { key, record } of store.iterate({
    onInvalid: (entry) => {
      total++;
      findings.push(entry.finding);
      unmigratable.add(entry.key);
    },
  })) {
    total++;
    const found = recordFindings(record, { registry, key });
    findings.push(...found);
    if (found.some((f) => UNMIGRATABLE_CODES.has(f.code))) unmigratable.add(key);
    else if (!exclude.has(key)) digest.add(key, record);

    const info = registry.get(record.chainId);
    let chain = chains.get(record.chainId);
    if (!chain) {
      chain = {
        chainId: record.chainId,
        network: info.name,
        tier: info.tier,
        known: info.known,
        count: 0,
        contracts: [],
        networkNames: {},
      };
      chains.set(record.chainId, chain);
    }
    chain.count++;
    chain.contracts.push(record.contractName);
    chain.networkNames[record.networkName] = (chain.networkNames[record.networkName] ?? 0) + 1;
    if (options.keepRecords) {
      const list = records.get(record.chainId) ?? [];
      list.push(record);
      records.set(record.chainId, list);
    }

    roundTrip.checked++;
    roundTrip.failures.push(...roundTripFailures(key, record, options.roundTripCodec));
  }
  const numeric = findings.filter((f) => f.code === 'BIG_NUMBER_LITERAL' || f.code === 'BIG_NUMBER_STRING' || f.code === 'EXACT_NUMBER_LITERAL');
  return {
    total,
    chains: [...chains.values()].sort((a, b) => a.chainId - b.chainId),
    findings,
    numericAudit: {
      bigLiterals: numeric.filter((f) => f.code === 'BIG_NUMBER_LITERAL').length,
      bigStrings: numeric.filter((f) => f.code === 'BIG_NUMBER_STRING').length,
      findings: numeric,
    },
    roundTrip,
    unmigratable: [...unmigratable].sort(compareKeys),
    digest: { count: digest.size, digest: digest.digest() },
    records,
  };
}

const shortName = (name: string): string => name.slice(name.lastIndexOf(':') + 1);
const sameHex = (a: unknown, b: unknown): boolean => typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();

function findContract(records: readonly DeploymentRecord[], name: string): DeploymentRecord | undefined {
  return records.find((r) => r.contractName === name) ?? records.find((r) => shortName(r.contractName) === name);
}

/** Legacy `<network>.json` files: their `contracts` and `implementationHashes` against LevelDB. */
export async function crossCheckLegacy(
  deployments: string,
  registry: NetworkRegistry,
  records: Map<number, DeploymentRecord[]>,
): Promise<Finding[]> {
  const out: Finding[] = [];
  let names: string[];
  try {
    names = (await readdir(deployments, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const chainId = registry.chainIdOfFile(name);
    if (chainId === undefined) continue;
    const file = join(deployments, name);
    let parsed: unknown;
    try {
      parsed = parseLossless(await readFile(file, 'utf8'), { source: file });
    } catch {
      out.push(finding('NOT_JSON', `${file} is not valid JSON; its legacy entries cannot be cross-checked`, { file }));
      continue;
    }
    if (typeof parsed !== 'object' || parsed === null) continue;
    const doc = parsed as { contracts?: unknown; implementationHashes?: unknown };
    const chainRecords = records.get(chainId) ?? [];
    const contracts = typeof doc.contracts === 'object' && doc.contracts !== null ? (doc.contracts as Record<string, unknown>) : {};
    for (const [contract, entry] of Object.entries(contracts)) {
      const record = findContract(chainRecords, contract);
      const where = { file, chainId, contractName: contract, pointer: `/contracts/${contract}` };
      if (!record) {
        out.push(finding('INVENTORY_MISMATCH', `${name} lists ${contract}, which LevelDB does not hold for chain ${chainId}`, where));
        continue;
      }
      const key = `${chainId}-${record.contractName}`;
      const legacy = (typeof entry === 'object' && entry !== null ? entry : {}) as { proxy?: unknown; implementation?: unknown };
      if (legacy.implementation !== undefined && !sameHex(legacy.implementation, record.address)) {
        out.push(
          finding(
            'LEGACY_MISMATCH',
            `${name}: ${contract}.implementation ${String(legacy.implementation)} differs from LevelDB's address ${record.address}`,
            { ...where, key, field: 'address' },
          ),
        );
      }
      if (legacy.proxy !== undefined && !sameHex(legacy.proxy, record.proxyAddress)) {
        out.push(
          finding(
            'LEGACY_MISMATCH',
            `${name}: ${contract}.proxy ${String(legacy.proxy)} differs from LevelDB's proxyAddress ${String(record.proxyAddress)}`,
            { ...where, key, field: 'proxyAddress' },
          ),
        );
      }
    }
    const hashes =
      typeof doc.implementationHashes === 'object' && doc.implementationHashes !== null
        ? (doc.implementationHashes as Record<string, unknown>)
        : {};
    for (const [contract, hash] of Object.entries(hashes)) {
      const record = findContract(chainRecords, contract);
      const where = { file, chainId, contractName: contract, pointer: `/implementationHashes/${contract}` };
      if (!record) {
        if (!(contract in contracts))
          out.push(finding('INVENTORY_MISMATCH', `${name} has an implementation hash for ${contract}, which LevelDB does not hold`, where));
        continue;
      }
      if (!sameHex(hash, record.implementationHash)) {
        out.push(
          finding(
            'LEGACY_MISMATCH',
            `${name}: implementationHashes.${contract} ${String(hash)} differs from LevelDB's ${String(record.implementationHash ?? 'none')}`,
            { ...where, key: `${chainId}-${record.contractName}`, field: 'implementationHash' },
          ),
        );
      }
    }
  }
  return out;
}

/** The expected-inventory file: `{ "<network or chainId>": number | string[] }`. */
export async function crossCheckInventory(file: string, registry: NetworkRegistry, chains: readonly ChainInventory[]): Promise<Finding[]> {
  let parsed: unknown;
  try {
    parsed = parseLossless(await readFile(file, 'utf8'), { source: file });
  } catch (error) {
    if (error instanceof StateError)
      throw new StateError(ErrorCodes.INVALID_CONFIG, `expected inventory ${file} is not valid JSON`, { file, cause: error });
    throw new StateError(ErrorCodes.STORE_NOT_FOUND, `expected inventory ${file} cannot be read`, { file, cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new StateError(ErrorCodes.INVALID_CONFIG, `expected inventory ${file} must be an object of network -> count or contract names`, {
      file,
    });
  }
  const out: Finding[] = [];
  for (const [network, expected] of Object.entries(parsed as Record<string, unknown>)) {
    const chainId = /^[0-9]+$/.test(network) ? Number(network) : registry.chainIdOf(network);
    if (chainId === undefined) {
      out.push(
        finding('INVENTORY_MISMATCH', `expected inventory names ${network}, which is not a known network`, {
          file,
          pointer: `/${network}`,
        }),
      );
      continue;
    }
    const chain = chains.find((c) => c.chainId === chainId);
    const found = chain?.contracts ?? [];
    if (typeof expected === 'number') {
      if (found.length !== expected)
        out.push(
          finding('INVENTORY_MISMATCH', `${network}: expected ${expected} contracts, LevelDB holds ${found.length}`, {
            file,
            chainId,
            pointer: `/${network}`,
          }),
        );
    } else if (Array.isArray(expected)) {
      const names = expected.map(String);
      const missing = names.filter((n) => !found.some((f) => f === n || shortName(f) === n));
      const extra = found.filter((f) => !names.includes(f) && !names.includes(shortName(f)));
      if (missing.length > 0)
        out.push(
          finding('INVENTORY_MISMATCH', `${network}: expected but missing: ${missing.join(', ')}`, {
            file,
            chainId,
            pointer: `/${network}`,
          }),
        );
      if (extra.length > 0)
        out.push(
          finding(
            'INVENTORY_MISMATCH',
            `${network}: present but not expected: ${extra.join(', ')}`,
            { file, chainId, pointer: `/${network}` },
            'info',
          ),
        );
    } else {
      throw new StateError(ErrorCodes.INVALID_CONFIG, `expected inventory ${file}: ${network} must be a number or an array of names`, {
        file,
      });
    }
  }
  return out;
}
