// The deployment record and its structural validation: what every store refuses because it is
// not a DeploymentRecord at all. Quality problems (bad addresses, dev chains) are findings instead.
import { ErrorCodes, StateError } from './errors.js';
import { describeValue } from './describe-value.js';
import { recordKey } from './keys.js';
import { beyondDigitLimit, isJsonNumber, JsonNumber, MAX_INTEGER_DIGITS } from './json-number.js';
import { MAX_RECORD_DEPTH } from './json-depth.js';

/** An integer of the number model: `number` when safe, `bigint` beyond. */
export type Integer = number | bigint;

export interface DeploymentRecord {
  /** May be fully qualified: `contracts/xchain/Router.sol:Router`. */
  contractName: string;
  chainId: number;
  /** Free text as the deploy script wrote it; aliases happen. */
  networkName: string;
  /** Implementation address (0x + 40 hex). */
  address: string;
  /** 0x + 64 hex; may be empty in dev-chain junk. */
  factoryByteCodeHash: string;
  implementationHash?: string | null;
  proxyAddress?: string | null;
  /** Constructor or initializer arguments; may hold big integers as strings or bare numbers. */
  deploymentArgs?: unknown[] | null;
  /** Milliseconds since the epoch today; any size survives, and any written form of an integer (`1.7e12`). */
  timestamp: Integer | JsonNumber;
  /** Unknown extra fields are data too. */
  [extra: string]: unknown;
}

/** The fields this toolkit knows, in the order files print them. */
export const RECORD_FIELDS = [
  'contractName',
  'chainId',
  'networkName',
  'address',
  'proxyAddress',
  'implementationHash',
  'factoryByteCodeHash',
  'deploymentArgs',
  'timestamp',
] as const;

const REQUIRED_STRINGS = ['networkName', 'address', 'factoryByteCodeHash'] as const;
const OPTIONAL_STRINGS = ['implementationHash', 'proxyAddress'] as const;

/**
 * Throws INVALID_RECORD. `at` is the caller's name for the record (its key, or a batch position);
 * once its name and chain are known good (`known`), its own key is named too: `batch[1] (56-Token)`.
 */
function refuse(field: string, problem: string, at: string | undefined, known?: { chainId: number; contractName: string }): never {
  const key = known === undefined ? at : `${known.chainId}-${known.contractName}`;
  const label = at === undefined || at === key ? key : known === undefined ? at : `${at} (${key})`;
  throw new StateError(ErrorCodes.INVALID_RECORD, `${label ? `${label}: ` : ''}${field} ${problem}`, key === undefined ? {} : { key });
}

/**
 * Throws StateError INVALID_RECORD unless `value` is a DeploymentRecord. `key`, when given, is
 * named in the error. Returns the value, typed.
 */
export function assertDeploymentRecord(value: unknown, key?: string): DeploymentRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    refuse('record', `must be an object, got ${describeValue(value)}`, key);
  const record = value as Record<string, unknown>;
  const name = record.contractName;
  if (typeof name !== 'string' || name.length === 0) refuse('contractName', `must be a non-empty string, got ${describeValue(name)}`, key);
  const chainId = record.chainId;
  if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId) || chainId < 0) {
    refuse('chainId', `must be a non-negative integer, got ${describeValue(chainId)}${typeof chainId === 'bigint' ? ' as a bigint' : ''}`, key);
  }
  // Name and chain are good from here on: a refusal names the record's key.
  const known = record as { chainId: number; contractName: string };
  for (const field of REQUIRED_STRINGS) {
    if (typeof record[field] !== 'string') refuse(field, `must be a string, got ${describeValue(record[field])}`, key, known);
  }
  for (const field of OPTIONAL_STRINGS) {
    const v = record[field];
    if (v !== undefined && v !== null && typeof v !== 'string') refuse(field, `must be a string when present, got ${describeValue(v)}`, key, known);
  }
  const args = record.deploymentArgs;
  if (args !== undefined && args !== null && !Array.isArray(args))
    refuse('deploymentArgs', `must be an array when present, got ${describeValue(args)}`, key, known);
  const ts = record.timestamp;
  if (!(typeof ts === 'bigint' || (typeof ts === 'number' && Number.isInteger(ts)) || (isJsonNumber(ts) && ts.isInteger()))) {
    refuse('timestamp', `must be an integer, got ${describeValue(ts)}`, key, known);
  }
  // Nor may it hold what its file cannot hold as given (one walk; see problemWithin).
  const problem = problemWithin(record, MAX_RECORD_DEPTH);
  if (problem !== undefined) refuse(fieldPath(problem.path), problem.text, key, known);
  return record as DeploymentRecord;
}

const TOO_DEEP = `nests deeper than ${MAX_RECORD_DEPTH} levels (arrays and objects within it)`;
const TOO_LONG = `holds an integer of more than ${MAX_INTEGER_DIGITS} digits, which no reader of the file would take back`;

/** What is wrong within a record, and where: the keys and indexes down to it, outermost first. */
interface Problem {
  text: string;
  path: Array<string | number>;
}

/**
 * What within `value` (an object `levels` from the depth limit) its file could not hold as given,
 * in one walk, if anything:
 * - nesting deeper than MAX_RECORD_DEPTH: the file or journal line around it would nest past what
 *   the codec reads back;
 * - NaN or an infinity (JSON has no form for them), or an integer longer than MAX_INTEGER_DIGITS (a
 *   bigint, or an exact literal of plain digits), which no reader takes back: the write would fail
 *   later without the key, or the whole file would read as CORRUPTED;
 * - a Map, Set, WeakMap, WeakSet or Promise, which JSON writes as `{}`, or a function or a symbol,
 *   which JSON drops: its contents would be lost without a word (a Promise is most often an `await`
 *   missing in the script, a function a value not yet computed).
 * An object with a `toJSON` (a Date, a Buffer, an ethers BigNumber) is written as that gives it,
 * as JSON.stringify does, and is not looked into.
 */
function problemWithin(value: object, levels: number): Problem | undefined {
  if (isJsonNumber(value)) return beyondDigitLimit(value) ? { text: TOO_LONG, path: [] } : undefined;
  if (levels === 0) return { text: TOO_DEEP, path: [] };
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== Array.prototype && prototype !== null) {
    const lost = lostInJson(value);
    if (lost !== undefined) return { text: lost, path: [] };
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = itemProblem(value[i], levels - 1);
      if (problem !== undefined) return within(i, problem);
    }
    return undefined;
  }
  for (const key in value) {
    const problem = itemProblem((value as Record<string, unknown>)[key], levels - 1);
    if (problem !== undefined) return within(key, problem);
  }
  return undefined;
}

function itemProblem(item: unknown, levels: number): Problem | undefined {
  switch (typeof item) {
    case 'number':
      return Number.isFinite(item) ? undefined : { text: `holds ${item}, which JSON has no form for`, path: [] };
    case 'bigint':
      return beyondDigitLimit(item) ? { text: TOO_LONG, path: [] } : undefined;
    case 'object':
      return item === null ? undefined : problemWithin(item, levels);
    case 'function':
    case 'symbol':
      return { text: `holds a ${typeof item}, which JSON drops (the field would be lost): store the value it stands for`, path: [] };
    default:
      return undefined;
  }
}

/** `problem`, found under `step` (a key or an index), placed one level further out. */
function within(step: string | number, problem: Problem): Problem {
  problem.path.unshift(step);
  return problem;
}

/** `deploymentArgs[2].fn` for ['deploymentArgs', 2, 'fn']; `record` for the record itself. */
function fieldPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else out += /^[A-Za-z_$][\w$]*$/.test(step) ? `${out === '' ? '' : '.'}${step}` : `[${JSON.stringify(step)}]`;
  }
  return out === '' ? 'record' : out;
}

/** The containers JSON writes as `{}` whatever they hold, and what a refusal says of each. */
const LOST_IN_JSON: ReadonlyArray<[new (...args: never[]) => object, string]> = [
  [Map, 'holds a Map, which JSON writes as {} (its entries would be lost): store them as an object or an array of pairs'],
  [Set, 'holds a Set, which JSON writes as {} (its values would be lost): store them as an array'],
  [WeakMap, 'holds a WeakMap, which JSON writes as {}'],
  [WeakSet, 'holds a WeakSet, which JSON writes as {}'],
  [Promise, 'holds a Promise, which JSON writes as {}: an `await` is missing where the value was made'],
];

function lostInJson(value: object): string | undefined {
  for (const [kind, problem] of LOST_IN_JSON) if (value instanceof kind) return problem;
  return undefined;
}

export function isDeploymentRecord(value: unknown): value is DeploymentRecord {
  try {
    assertDeploymentRecord(value);
    return true;
  } catch {
    return false;
  }
}

/** The key a record is stored under. */
export function keyOf(record: DeploymentRecord): string {
  return recordKey(record.chainId, record.contractName);
}

/**
 * Sets an own, enumerable property, treating `__proto__` as the ordinary key JSON makes it
 * (a plain assignment would set the object's prototype instead and lose the data).
 */
export function setOwnProperty(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * A deep copy, so a caller's later changes never reach a store and a store's never reach a caller.
 * Records are JSON-shaped data (plain or null-prototype objects, arrays, strings, numbers, bigints,
 * JsonNumbers, booleans, null), which a direct walk copies several times faster than structuredClone,
 * with less garbage; a JsonNumber is immutable and shared; anything else is structuredClone'd.
 */
export function cloneRecord<T>(value: T): T {
  if (typeof value !== 'object' || value === null || isJsonNumber(value)) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      out[i] = typeof item === 'object' && item !== null ? cloneRecord(item) : item;
    }
    return out as T;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  // A spread copies own data properties as data (`__proto__` included) in one step, about twice as
  // fast as setting them one by one; then only the values that are objects are copied in depth.
  const out = (proto === null ? Object.assign(Object.create(null) as object, value) : { ...value }) as Record<string, unknown>;
  const keys = Object.keys(out);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = out[key];
    if (typeof item === 'object' && item !== null) setOwnProperty(out, key, cloneRecord(item));
  }
  return out as T;
}

/** The same record with known fields first in RECORD_FIELDS order and extra fields after, sorted. */
export function orderRecordFields(record: DeploymentRecord): DeploymentRecord {
  const out: Record<string, unknown> = {};
  for (const field of RECORD_FIELDS) if (Object.hasOwn(record, field)) out[field] = record[field];
  const extras = Object.keys(record)
    .filter((k) => !(RECORD_FIELDS as readonly string[]).includes(k))
    .sort();
  for (const field of extras) {
    setOwnProperty(out, field, record[field]);
  }
  return out as DeploymentRecord;
}

/**
 * The exact value of an integer in any form a timestamp takes: a number (`1.9e12`), a bigint, a
 * JsonNumber, or the text of one (`"1.7e12"`, `"1700000000000.0"`, as the journal keeps it);
 * undefined for anything that is no integer.
 */
export function integerValue(value: Integer | JsonNumber | string): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : undefined;
  if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return BigInt(value);
  try {
    const number = isJsonNumber(value) ? value : new JsonNumber(value);
    return number.isInteger() ? number.toBigInt() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compares two integers by exact value, whatever form each takes (see integerValue): the one
 * comparison of record timestamps, never through a double, which makes 2^53 and 2^53 + 1 equal.
 * NaN when either is no integer, so neither `> 0` nor `< 0` holds (no integer is later or earlier).
 */
export function compareIntegers(a: Integer | JsonNumber | string, b: Integer | JsonNumber | string): number {
  // Safe integers, the usual timestamps (a sort's hot path): exact as doubles.
  if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a) && Number.isSafeInteger(b)) return a - b;
  const x = integerValue(a);
  const y = integerValue(b);
  if (x === undefined || y === undefined) return NaN;
  return x < y ? -1 : x > y ? 1 : 0;
}
