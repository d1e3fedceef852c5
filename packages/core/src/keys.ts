// Record keys and their order. LevelDB orders keys bytewise over UTF-8; this is the one place
// that order is defined, so every store, stream and digest agrees on it.
import { describeValue } from './describe-value.js';
import { ErrorCodes, StateError } from './errors.js';

/** Throws INVALID_KEY unless chainId is a non-negative safe integer. */
export function assertChainId(chainId: number): number {
  if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId) || chainId < 0) {
    // A string of digits is what hardhat-deploy's getChainId() returns: shown quoted, with the way out.
    const digits = typeof chainId === 'string' && /^\d+$/.test(chainId);
    throw new StateError(ErrorCodes.INVALID_KEY, `chainId must be a non-negative integer, got ${describeValue(chainId)}`, {
      ...(digits && { hint: `pass the number: Number(chainId) (hardhat-deploy's getChainId() returns a string)` }),
    });
  }
  return chainId;
}

/**
 * Where `name` holds a UTF-16 surrogate without its pair (-1 when it holds none): no UTF-8 text
 * holds one, so a LevelDB key (UTF-8) would store U+FFFD in its place and no longer match its record.
 */
export function loneSurrogateAt(name: string): number {
  // Node 20 has it; TypeScript's ES2023 library does not name it.
  if ((name as string & { isWellFormed(): boolean }).isWellFormed()) return -1;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) return i;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = name.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return i;
      i++;
    }
  }
  return -1;
}

export function recordKey(chainId: number, contractName: string): string {
  assertChainId(chainId);
  if (typeof contractName !== 'string' || contractName.length === 0) {
    throw new StateError(ErrorCodes.INVALID_KEY, 'contractName must be a non-empty string');
  }
  const lone = loneSurrogateAt(contractName);
  if (lone !== -1) {
    throw new StateError(
      ErrorCodes.INVALID_KEY,
      `contractName ${JSON.stringify(contractName)} holds a lone UTF-16 surrogate at index ${lone}: a key must be well-formed Unicode (LevelDB stores keys as UTF-8)`,
      { key: `${chainId}-${contractName}` },
    );
  }
  return `${chainId}-${contractName}`;
}

export interface ParsedKey {
  chainId: number;
  contractName: string;
}

const KEY_PATTERN = /^(0|[1-9][0-9]{0,15})-([\s\S]+)$/;

/** Splits a key at its first `-`: the chain id is digits only, so a name may hold any character. */
export function parseKey(key: string): ParsedKey {
  const match = typeof key === 'string' ? KEY_PATTERN.exec(key) : null;
  const chainId = match ? Number(match[1]) : Number.NaN;
  if (!match || !Number.isSafeInteger(chainId)) {
    throw new StateError(ErrorCodes.INVALID_KEY, `not a record key (expected "<chainId>-<contractName>"): ${JSON.stringify(key)}`, { key });
  }
  return { chainId, contractName: match[2] as string };
}

export function tryParseKey(key: string): ParsedKey | null {
  try {
    return parseKey(key);
  } catch {
    return null;
  }
}

// UTF-16 code units order like code points except that surrogates (D800-DFFF) must sort after
// E000-FFFF; this shift gives code point order, which is UTF-8 byte order.
function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** Compares two strings in UTF-8 byte order (LevelDB's key order). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** The key range holding exactly one chain's records: gte <= key < lt. */
export function chainKeyRange(chainId: number): { gte: string; lt: string } {
  assertChainId(chainId);
  // '.' follows '-' in every order, and no chain prefix is a prefix of another once '-' ends it.
  return { gte: `${chainId}-`, lt: `${chainId}.` };
}
