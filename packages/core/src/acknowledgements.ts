// Recorded decisions about findings. An acknowledgement accepts one finding on one record as it is
// now: it names the state file, the record key, the finding code and the record's digest, so a new
// record, or a change to this one, raises the finding again. Defined here so the validator, the
// migrator and the CLI honour the same ones; they live in the project's config, committed.
import { canonicalDigest } from './canonical.js';
import { ErrorCodes, StateError } from './errors.js';
import { FindingCodes, type Finding, type FindingCode } from './findings.js';
import { tryParseKey } from './keys.js';

export interface Acknowledgement {
  /** The state file's name inside the deployments folder (`bscmainnet.json`). */
  file: string;
  /** The record key (`56-FeeManager`). */
  key: string;
  code: FindingCode;
  /** canonicalDigest of the record as it was acknowledged. */
  digest: string;
  /** Why, in the operator's words. */
  note?: string;
}

/** Development chains: a record there that cannot be valid is junk a team may exclude, never data to fix. */
export const DEV_CHAIN_IDS: readonly number[] = [31337, 1337];

export const isDevChain = (chainId: number): boolean => DEV_CHAIN_IDS.includes(chainId);

const DIGEST = /^[0-9a-f]{64}$/;

/** The basename of a path, either separator. */
const baseName = (path: string): string => path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);

/** Checks a config's `acknowledge` list; INVALID_CONFIG naming `source` and the entry. */
export function parseAcknowledgements(value: unknown, source?: string): Acknowledgement[] {
  if (value === undefined) return [];
  const fail = (message: string): never => {
    throw new StateError(ErrorCodes.INVALID_CONFIG, `acknowledge ${message}`, {
      ...(source !== undefined && { file: source }),
      hint: 'each entry is { "file": "<network>.json", "key": "<chainId>-<name>", "code": "<FINDING_CODE>", "digest": "<64 hex>" }; `deploystate acknowledge <key> <code>` writes one',
    });
  };
  if (!Array.isArray(value)) return fail('must be an array');
  return value.map((entry, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return fail(`[${i}] must be an object`);
    const { file, key, code, digest, note } = entry as Record<string, unknown>;
    if (typeof file !== 'string' || file === '' || baseName(file) !== file || !file.endsWith('.json'))
      return fail(`[${i}].file must be a state file name like "bscmainnet.json"`);
    if (typeof key !== 'string' || !tryParseKey(key)) return fail(`[${i}].key must be a record key like "56-FeeManager"`);
    if (typeof code !== 'string' || !(code in FindingCodes)) return fail(`[${i}].code ${JSON.stringify(code)} is not a finding code`);
    if (typeof digest !== 'string' || !DIGEST.test(digest)) return fail(`[${i}].digest must be the record's 64-hex digest`);
    if (note !== undefined && typeof note !== 'string') return fail(`[${i}].note must be a string`);
    return { file, key, code: code as FindingCode, digest, ...(note !== undefined && { note }) };
  });
}

/** The acknowledgement for a finding on `record` in `file`, if one names exactly it. */
export function findAcknowledgement(
  acknowledgements: readonly Acknowledgement[],
  found: Pick<Finding, 'code' | 'key' | 'file'>,
  record: unknown,
  file: string | undefined = found.file,
): Acknowledgement | undefined {
  if (found.key === undefined || file === undefined || record === undefined || record === null) return undefined;
  const name = baseName(file);
  const candidates = acknowledgements.filter((a) => a.key === found.key && a.code === found.code && a.file === name);
  if (candidates.length === 0) return undefined;
  const digest = canonicalDigest(record);
  return candidates.find((a) => a.digest === digest);
}

/** One line for people: `MISSING_IMPLEMENTATION_HASH 56-FeeManager in bscmainnet.json (record 1a2b3c4d5e6f)`. */
export function describeAcknowledgement(a: Acknowledgement): string {
  return `${a.code} ${a.key} in ${a.file} (record ${a.digest.slice(0, 12)})${a.note ? `: ${a.note}` : ''}`;
}

/** An acknowledgement of `found` on `record` as it is now. */
export function acknowledge(found: { code: FindingCode; key: string }, file: string, record: unknown, note?: string): Acknowledgement {
  return { file: baseName(file), key: found.key, code: found.code, digest: canonicalDigest(record), ...(note !== undefined && { note }) };
}
