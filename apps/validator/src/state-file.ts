// Judges one state file: JSON, schema, chain and place of each record, record quality, duplicate
// proxies and the legacy sections. Every finding carries the file, a pointer, a line and a column.
import {
  FindingCodes,
  addressProblem,
  duplicateKeyFinding,
  finding,
  isDeploymentRecord,
  assertDeploymentRecord,
  isStateError,
  parseLosslessDocument,
  recordFindings,
  stringifyLossless,
  type DeploymentRecord,
  type Finding,
  type FindingCode,
  type NetworkRegistry,
  type StoreEntry,
} from '@deploystate/core';
import { CONFLICTS_KEY, SCHEMA_VERSION, validateStateFile } from '@deploystate/backend-json';
import { locate, pointerOf, type Locator } from './locate.js';
import { conflictSectionFindings, markerFindings } from './merge-conflicts.js';

/** The key a finding names: as written, even for a name no store can key (its own finding says so). */
const keyForFinding = (record: { chainId: number; contractName: string }): string => `${record.chainId}-${record.contractName}`;

export interface StateFileInput {
  /** Path shown in findings. */
  file: string;
  /** Base name inside the deployments folder. */
  name: string;
  text: string;
  /** The chain the registry gives this file name, if it is a registry name. */
  nameChainId?: number;
  /** Keys the store wrote (from its journal): their absence from `records` is an error. */
  journalled?: ReadonlySet<string>;
  registry: NetworkRegistry;
}

/** A record found in a file, with where it is, for the comparison with a store. */
export interface LocatedEntry extends StoreEntry {
  file: string;
  pointer: string;
}

export interface StateFileVerdict {
  kind: 'state' | 'legacy';
  chainId?: number;
  records: number;
  findings: Finding[];
  entries: LocatedEntry[];
  /** Maps pointers in this file to positions (built on first use). */
  locator: Locator;
}

const HASH = /^0x[0-9a-fA-F]{64}$/;

type Where = Omit<Finding, 'code' | 'severity' | 'message'>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `deploymentArgs[1].x` (core's field paths) as pointer segments. */
export function fieldSegments(field: string): string[] {
  const out: string[] = [];
  for (const match of field.matchAll(/\[(\d+)\]|\.?([^.[\]]+)/g)) out.push((match[1] ?? match[2]) as string);
  return out;
}

export function judgeStateFile(input: StateFileInput): StateFileVerdict {
  const { file, text, registry } = input;
  const locator = locate(text);
  const findings: Finding[] = [];
  const entries: LocatedEntry[] = [];
  const add = (code: FindingCode, message: string, pointer: string, where: Where = {}, severity?: Finding['severity']): void => {
    const { line, column } = locator(pointer);
    findings.push(finding(code, message, { ...where, file, pointer, line, column }, severity));
  };
  const verdict = (kind: StateFileVerdict['kind'], chainId: number | undefined, records: number): StateFileVerdict => ({
    kind,
    ...(chainId !== undefined && { chainId }),
    records,
    findings,
    entries,
    locator,
  });

  if (text.trim().length === 0) {
    add('EMPTY_FILE', text.length === 0 ? 'the file is empty' : 'the file holds only whitespace', '');
    return verdict('state', input.nameChainId, 0);
  }
  const markers = markerFindings(text, file);
  if (markers.length > 0) {
    findings.push(...markers);
    return verdict('state', input.nameChainId, 0);
  }
  let parsed: unknown;
  // No exact number in it (the parse says so): validation skips the walk that makes its schema form.
  let plain = false;
  try {
    // A byte-order mark is read past (and kept by the JSON backend); it is named, not an error.
    const bom = text.startsWith('\uFEFF');
    if (bom) add('BYTE_ORDER_MARK', 'the file starts with a UTF-8 byte-order mark; it is read past and kept on rewrite', '');
    const document = parseLosslessDocument(bom ? text.slice(1) : text);
    parsed = document.value;
    plain = document.plain === true;
    const duplicate = document.duplicate;
    if (duplicate) findings.push(duplicateKeyFinding(duplicate, file));
  } catch (error) {
    if (!isStateError(error)) throw error;
    const position = error.position ?? { line: 1, column: 1 };
    findings.push(
      finding('NOT_JSON', `not valid JSON: ${error.message}`, { file, pointer: '', line: position.line, column: position.column }),
    );
    return verdict('state', input.nameChainId, 0);
  }

  const document = isPlainObject(parsed) ? parsed : undefined;
  const legacy = document !== undefined && !Object.hasOwn(document, 'schemaVersion') && !Object.hasOwn(document, 'records');

  // The chain: the file's own chainId when it is an integer, else the one its name gives.
  const declared = document?.chainId;
  const declaredChain = typeof declared === 'number' && Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
  const chainId = declaredChain ?? input.nameChainId;
  if (declaredChain !== undefined) {
    if (input.nameChainId !== undefined && declaredChain !== input.nameChainId) {
      add(
        'CHAIN_MISMATCH',
        `chainId ${declaredChain} disagrees with the file name, which the registry gives chain ${input.nameChainId}`,
        '/chainId',
        { chainId: declaredChain, field: 'chainId' },
      );
    } else if (input.nameChainId === undefined && registry.fileName(declaredChain) !== input.name) {
      add(
        'CHAIN_MISMATCH',
        `chainId ${declaredChain} belongs in ${registry.fileName(declaredChain)} per the registry, not ${input.name}`,
        '/chainId',
        { chainId: declaredChain, field: 'chainId' },
      );
    }
  }
  // The network name is judged against the file's identity: its name's chain when it has one.
  const identity = input.nameChainId ?? declaredChain;
  if (identity !== undefined && document !== undefined && typeof document.network === 'string') {
    const owner = registry.chainIdOf(document.network);
    if (owner !== undefined && owner !== identity) {
      add(
        'CHAIN_MISMATCH',
        `network ${JSON.stringify(document.network)} is chain ${owner} in the registry, but the file is chain ${identity}'s`,
        '/network',
        { chainId: identity, field: 'network' },
      );
    }
  }
  if (chainId !== undefined && registry.get(chainId).tier === 'dev') {
    add(
      'DEV_CHAIN_FILE',
      `${input.name} holds chain ${chainId} (${registry.get(chainId).name}), a development chain`,
      declaredChain !== undefined ? '/chainId' : '',
      { chainId },
    );
  }

  if (document !== undefined && Object.hasOwn(document, CONFLICTS_KEY))
    conflictSectionFindings(text, file, chainId, (message, pointer, where) => add('MERGE_CONFLICT', message, pointer, where));

  if (legacy) {
    add(
      'LEGACY_FILE',
      'legacy file (no schemaVersion, no records), not yet adopted by the JSON backend',
      '',
      chainId === undefined ? {} : { chainId },
    );
    checkLegacySections(document, new Map(), add, chainId);
    return verdict('legacy', chainId, 0);
  }

  // Schema: one compiled ajv validator in backend-json, all errors, each with its pointer.
  const schemaFindings = validateStateFile(parsed, file, { plain });
  for (const f of schemaFindings) {
    const pointer = f.pointer ?? '';
    const { line, column } = locator(pointer);
    const message = f.message.startsWith(`${file}: `) ? f.message.slice(file.length + 2) : f.message;
    findings.push({ ...f, message, file, pointer, line, column });
  }
  const declaredVersion = document?.schemaVersion;
  if (typeof declaredVersion === 'number' && declaredVersion > SCHEMA_VERSION) {
    // Its shape is unknown here: judging records by version 1's rules would only mislead.
    return verdict('state', chainId, isPlainObject(document?.records) ? Object.keys(document.records).length : 0);
  }
  // Record entries the schema already complained about, by their pointer under /records.
  const flagged = new Set(schemaFindings.map((f) => (f.pointer ?? '').split('/').slice(0, 3).join('/')));
  const section = document?.records;
  if (!isPlainObject(section)) return verdict('state', chainId, 0);

  const byName = new Map<string, DeploymentRecord>();
  const proxies = new Map<string, string>();
  const fileIsDev = chainId !== undefined && registry.get(chainId).tier === 'dev';
  for (const name of Object.keys(section)) {
    const value = section[name];
    const base = pointerOf('records', name);
    if (!isDeploymentRecord(value)) {
      // The schema should have said why; if it did not, the record must still not pass as clean.
      if (!flagged.has(base)) {
        let reason = 'not a deployment record';
        try {
          assertDeploymentRecord(value);
        } catch (error) {
          reason = error instanceof Error ? error.message : reason;
        }
        add('SCHEMA_VIOLATION', `${base}: ${reason}`, base, { contractName: name });
      }
      continue;
    }
    const record = value;
    const where: Where = {
      key: keyForFinding(record),
      chainId: record.chainId,
      contractName: record.contractName,
    };
    if (record.contractName !== name) {
      add(
        'PLACE_MISMATCH',
        `records[${JSON.stringify(name)}] holds contractName ${JSON.stringify(record.contractName)}`,
        `${base}/contractName`,
        { ...where, field: 'contractName' },
      );
    }
    if (chainId !== undefined && record.chainId !== chainId) {
      add(
        'PLACE_MISMATCH',
        `record ${JSON.stringify(name)} says chainId ${record.chainId} but the file holds chain ${chainId}`,
        `${base}/chainId`,
        { ...where, field: 'chainId' },
      );
    }
    for (const f of recordFindings(record, { registry })) {
      // One DEV_CHAIN_FILE says it for the whole file.
      if (f.code === 'DEV_CHAIN' && fileIsDev) continue;
      const pointer = f.field ? `${base}${pointerOf(...fieldSegments(f.field))}` : base;
      const { line, column } = locator(pointer);
      findings.push({ ...f, file, pointer, line, column });
    }
    const proxy = record.proxyAddress;
    if (typeof proxy === 'string' && proxy !== '') {
      const seen = proxies.get(`${record.chainId}|${proxy.toLowerCase()}`);
      if (seen !== undefined) {
        add(
          'DUPLICATE_PROXY',
          `proxyAddress ${proxy} is also the proxy of ${JSON.stringify(seen)} on chain ${record.chainId}`,
          `${base}/proxyAddress`,
          { ...where, field: 'proxyAddress' },
        );
      } else {
        proxies.set(`${record.chainId}|${proxy.toLowerCase()}`, record.contractName);
      }
    }
    byName.set(name, record);
    entries.push({ key: where.key as string, record, file, pointer: base });
  }
  if (document) {
    checkLegacySections(document, byName, add, chainId);
    if (chainId !== undefined) checkLegacyWithoutRecord(document, byName, add, chainId, input.journalled ?? new Set());
  }
  return verdict('state', chainId, Object.keys(section).length);
}

/**
 * Names in the legacy `contracts` / `implementationHashes` that no record stands for, in a file the
 * JSON backend has adopted: an error when the journal shows the store wrote that contract (its
 * record was lost, most likely to a script that rewrote the file), a warning otherwise.
 */
function checkLegacyWithoutRecord(
  document: Record<string, unknown>,
  records: Map<string, DeploymentRecord>,
  add: Add,
  chainId: number,
  journalled: ReadonlySet<string>,
): void {
  const prefix = `${chainId}-`;
  const written = [...journalled].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  for (const section of ['contracts', 'implementationHashes'] as const) {
    const entries = document[section];
    if (!isPlainObject(entries)) continue;
    for (const name of Object.keys(entries)) {
      if (recordForLegacyName(name, records)) continue;
      const wrote = written.find((w) => w === name || w.endsWith(`:${name}`));
      add(
        'LEGACY_WITHOUT_RECORD',
        wrote !== undefined
          ? `${section}[${JSON.stringify(name)}] names ${prefix}${wrote}, which the store wrote (see its journal), but records lacks it: run \`deploystate repair-files\``
          : `${section}[${JSON.stringify(name)}] names a contract that records lacks`,
        pointerOf(section, name),
        { chainId, contractName: name, ...(wrote !== undefined && { key: `${prefix}${wrote}` }) },
        wrote !== undefined ? 'error' : 'warning',
      );
    }
  }
}

type Add = (code: FindingCode, message: string, pointer: string, where?: Where, severity?: Finding['severity']) => void;

/** The record a legacy name stands for: the same name, or the one qualified name ending `:Name`. */
function recordForLegacyName(name: string, records: Map<string, DeploymentRecord>): DeploymentRecord | undefined {
  const exact = records.get(name);
  if (exact) return exact;
  let match: DeploymentRecord | undefined;
  for (const [recordName, record] of records) {
    if (recordName.endsWith(`:${name}`)) {
      if (match) return undefined;
      match = record;
    }
  }
  return match;
}

const sameAddress = (a: unknown, b: unknown): boolean => {
  const norm = (v: unknown): string => (typeof v === 'string' ? v.toLowerCase() : '');
  return norm(a) === norm(b);
};

/**
 * The legacy `contracts` ({ Name: { proxy, implementation } }) and `implementationHashes`
 * ({ Name: hash }) sections: well-formed, and in step with `records` for the names they list.
 */
function checkLegacySections(
  document: Record<string, unknown>,
  records: Map<string, DeploymentRecord>,
  add: Add,
  chainId: number | undefined,
): void {
  const chain = chainId === undefined ? {} : { chainId };
  const contracts = document.contracts;
  if (isPlainObject(contracts)) {
    for (const name of Object.keys(contracts)) {
      const entry = contracts[name];
      const base = pointerOf('contracts', name);
      const fields: Array<[legacyField: string, value: unknown]> = isPlainObject(entry)
        ? [
            ['proxy', entry.proxy],
            ['implementation', entry.implementation],
          ]
        : typeof entry === 'string'
          ? [['', entry]]
          : [];
      for (const [legacyField, value] of fields) {
        if (typeof value !== 'string' || value === '') continue;
        const problem = addressProblem(value);
        const pointer = legacyField ? `${base}/${legacyField}` : base;
        if (problem)
          add(
            problem,
            `contracts[${JSON.stringify(name)}]${legacyField ? `.${legacyField}` : ''} ${JSON.stringify(value)}: ${FindingCodes[problem].summary}`,
            pointer,
            { ...chain, contractName: name, field: legacyField || 'contracts' },
          );
      }
      const record = recordForLegacyName(name, records);
      if (!record || !isPlainObject(entry)) continue;
      const pairs: Array<[string, unknown, string, unknown]> = [
        ['proxy', entry.proxy, 'proxyAddress', record.proxyAddress],
        ['implementation', entry.implementation, 'address', record.address],
      ];
      for (const [legacyField, legacyValue, recordField, recordValue] of pairs) {
        if (!Object.hasOwn(entry, legacyField)) continue;
        if (!sameAddress(legacyValue, recordValue)) {
          add(
            'LEGACY_MISMATCH',
            `contracts[${JSON.stringify(name)}].${legacyField} is ${stringifyLossless(legacyValue ?? null)} but the record's ${recordField} is ${stringifyLossless(recordValue ?? null)}`,
            `${base}/${legacyField}`,
            { ...chain, key: keyForFinding(record), contractName: record.contractName, field: recordField },
          );
        }
      }
    }
  }
  const hashes = document.implementationHashes;
  if (isPlainObject(hashes)) {
    for (const name of Object.keys(hashes)) {
      const value = hashes[name];
      const pointer = pointerOf('implementationHashes', name);
      if (typeof value === 'string' && value !== '' && !HASH.test(value)) {
        add(
          'INVALID_HASH',
          `implementationHashes[${JSON.stringify(name)}] ${JSON.stringify(value)}: ${FindingCodes.INVALID_HASH.summary}`,
          pointer,
          { ...chain, contractName: name, field: 'implementationHash' },
        );
      }
      const record = recordForLegacyName(name, records);
      if (record && !sameAddress(value, record.implementationHash)) {
        add(
          'LEGACY_MISMATCH',
          `implementationHashes[${JSON.stringify(name)}] is ${stringifyLossless(value ?? null)} but the record's implementationHash is ${stringifyLossless(record.implementationHash ?? null)}`,
          pointer,
          { ...chain, key: keyForFinding(record), contractName: record.contractName, field: 'implementationHash' },
        );
      }
    }
  }
}
