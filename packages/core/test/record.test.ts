import { describe, expect, it } from 'vitest';
import {
  assertDeploymentRecord,
  cloneRecord,
  compareIntegers,
  ErrorCodes,
  isDeploymentRecord,
  JsonNumber,
  keyOf,
  MAX_INTEGER_DIGITS,
  MAX_RECORD_DEPTH,
  orderRecordFields,
  parseLossless,
  RECORD_FIELDS,
  sampleRecord,
  stringifyLossless,
  type DeploymentRecord,
} from '../src/index.js';

const valid = (): DeploymentRecord => sampleRecord(56, 'Token', 'bscmainnet');

describe('record validation (structural)', () => {
  it('accepts a full record, a minimal one, nulls in optional fields and extra fields', () => {
    expect(assertDeploymentRecord(valid())).toBeTruthy();
    const minimal = { contractName: 'T', chainId: 0, networkName: '', address: '', factoryByteCodeHash: '', timestamp: 0 };
    expect(isDeploymentRecord(minimal)).toBe(true);
    expect(
      isDeploymentRecord({ ...minimal, proxyAddress: null, implementationHash: null, deploymentArgs: null, extra: { any: [1n] } }),
    ).toBe(true);
    expect(isDeploymentRecord({ ...minimal, timestamp: 10n ** 30n })).toBe(true);
  });

  const broken: Array<[string, (r: Record<string, unknown>) => unknown]> = [
    ['not an object', () => 'record'],
    ['null', () => null],
    ['an array', () => [valid()]],
    [
      'missing contractName',
      (r) => {
        delete r.contractName;
        return r;
      },
    ],
    ['empty contractName', (r) => ({ ...r, contractName: '' })],
    ['numeric contractName', (r) => ({ ...r, contractName: 5 })],
    [
      'missing chainId',
      (r) => {
        delete r.chainId;
        return r;
      },
    ],
    ['string chainId', (r) => ({ ...r, chainId: '56' })],
    ['fractional chainId', (r) => ({ ...r, chainId: 56.5 })],
    ['negative chainId', (r) => ({ ...r, chainId: -1 })],
    ['bigint chainId', (r) => ({ ...r, chainId: 56n })],
    ['unsafe chainId', (r) => ({ ...r, chainId: 2 ** 53 })],
    [
      'missing networkName',
      (r) => {
        delete r.networkName;
        return r;
      },
    ],
    ['numeric address', (r) => ({ ...r, address: 42 })],
    ['null factoryByteCodeHash', (r) => ({ ...r, factoryByteCodeHash: null })],
    ['numeric proxyAddress', (r) => ({ ...r, proxyAddress: 1 })],
    ['object implementationHash', (r) => ({ ...r, implementationHash: {} })],
    ['string deploymentArgs', (r) => ({ ...r, deploymentArgs: 'a,b' })],
    ['object deploymentArgs', (r) => ({ ...r, deploymentArgs: { 0: 'a' } })],
    [
      'missing timestamp',
      (r) => {
        delete r.timestamp;
        return r;
      },
    ],
    ['fractional timestamp', (r) => ({ ...r, timestamp: 1.5 })],
    ['string timestamp', (r) => ({ ...r, timestamp: '1723000000000' })],
    ['NaN timestamp', (r) => ({ ...r, timestamp: Number.NaN })],
  ];
  for (const [what, make] of broken) {
    it(`refuses ${what} with INVALID_RECORD, naming the key`, () => {
      const value = make(valid() as Record<string, unknown>);
      expect(() => assertDeploymentRecord(value, '56-Token')).toThrow(
        expect.objectContaining({ code: ErrorCodes.INVALID_RECORD, key: '56-Token' }),
      );
      expect(isDeploymentRecord(value)).toBe(false);
    });
  }
});

describe('integers the codec would not read back', () => {
  // Before, a put took a bigint of 100,001 digits, and the file that held it read as CORRUPTED
  // ("beyond the 100000-digit limit") for every later process, other records and all.
  const limit = MAX_INTEGER_DIGITS;
  it('refuses one of more than MAX_INTEGER_DIGITS digits anywhere in a record, as a bigint or an exact literal', () => {
    const huge = 10n ** BigInt(limit);
    for (const value of [
      { deploymentArgs: [huge] },
      { deploymentArgs: [{ nested: [-huge] }] },
      { timestamp: huge },
      { extra: new JsonNumber('9'.repeat(limit + 1)) },
    ]) {
      expect(() => assertDeploymentRecord({ ...valid(), ...value }, '56-Token')).toThrow(
        expect.objectContaining({ code: ErrorCodes.INVALID_RECORD, key: '56-Token', message: expect.stringContaining(`more than ${limit} digits`) }),
      );
    }
  });

  it('takes one of exactly MAX_INTEGER_DIGITS digits, and a long literal that is no plain integer', () => {
    const widest = 10n ** BigInt(limit) - 1n;
    expect(isDeploymentRecord({ ...valid(), deploymentArgs: [widest, -widest] })).toBe(true);
    expect(isDeploymentRecord({ ...valid(), extra: new JsonNumber(`0.${'1'.repeat(limit + 1)}`) })).toBe(true);
    // What the codec reads back, exactly: the limit is the reader's.
    const text = stringifyLossless({ ...valid(), deploymentArgs: [widest] });
    expect((parseLossless(text) as DeploymentRecord).deploymentArgs).toEqual([widest]);
    expect(() => parseLossless(stringifyLossless({ deploymentArgs: [widest + 1n] }))).toThrow();
  });
});

describe('values JSON would write as {}', () => {
  // Before, a put took a Map in deploymentArgs (or a Promise a script forgot to await) and the file
  // held {}: its entries gone, read back by every later process as an empty object.
  it('refuses a Map, Set, WeakMap, WeakSet or Promise anywhere in a record, naming the key and what to store instead', () => {
    const promise = Promise.resolve('0x1');
    for (const [value, says] of [
      [{ deploymentArgs: [new Map([['fee', 3]])] }, 'holds a Map'],
      [{ deploymentArgs: [{ owners: new Set(['0xa']) }] }, 'holds a Set'],
      [{ config: new WeakMap() }, 'holds a WeakMap'],
      [{ config: [[new WeakSet()]] }, 'holds a WeakSet'],
      [{ deploymentArgs: [promise] }, 'an `await` is missing'],
    ] as const) {
      expect(() => assertDeploymentRecord({ ...valid(), ...value }, '56-Token')).toThrow(
        expect.objectContaining({ code: ErrorCodes.INVALID_RECORD, key: '56-Token', message: expect.stringContaining(says) }),
      );
    }
  });

  it('takes what JSON writes with its own toJSON (a Date, a Buffer, an ethers-style BigNumber) and plain data in class instances, as JSON.stringify writes them', () => {
    class BigNumberLike {
      readonly _hex = '0x0de0b6b3a7640000';
      readonly _isBigNumber = true;
      toJSON(): unknown {
        return { type: 'BigNumber', hex: this._hex };
      }
    }
    class Point {
      constructor(readonly x: number, readonly y: number) {}
    }
    const record = { ...valid(), deploymentArgs: [new Date(0), Buffer.from('ab'), new BigNumberLike(), new Point(1, 2), Object.create(null)] };
    expect(isDeploymentRecord(record)).toBe(true);
    expect((parseLossless(stringifyLossless(record)) as DeploymentRecord).deploymentArgs).toEqual(JSON.parse(JSON.stringify(record.deploymentArgs)));
  });

  it('still refuses NaN and nesting past MAX_RECORD_DEPTH in the same walk, wherever they sit', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < MAX_RECORD_DEPTH; i++) deep = [deep];
    expect(() => assertDeploymentRecord({ ...valid(), deploymentArgs: deep as unknown[] }, 'k')).toThrow(expect.objectContaining({ message: expect.stringContaining('nests deeper than') }));
    let fits: unknown = 'leaf';
    for (let i = 0; i < MAX_RECORD_DEPTH - 2; i++) fits = [fits];
    expect(isDeploymentRecord({ ...valid(), deploymentArgs: fits as unknown[] })).toBe(true);
    expect(() => assertDeploymentRecord({ ...valid(), deploymentArgs: [{ a: [1, Number.NaN] }] }, 'k')).toThrow(expect.objectContaining({ message: expect.stringContaining('holds NaN') }));
  });
});

describe('record validation messages', () => {
  it("name the record's key once its name and chain are good, beside the caller's batch position", () => {
    const bad = { ...valid(), timestamp: 1.5 };
    expect(() => assertDeploymentRecord(bad)).toThrow(expect.objectContaining({ key: '56-Token', message: '56-Token: timestamp must be an integer, got 1.5' }));
    expect(() => assertDeploymentRecord(bad, 'batch[1]')).toThrow(
      expect.objectContaining({ key: '56-Token', message: 'batch[1] (56-Token): timestamp must be an integer, got 1.5' }),
    );
    // Before its name or chain is known, only what the caller gave.
    expect(() => assertDeploymentRecord({ ...valid(), chainId: -1 }, 'batch[2]')).toThrow(expect.objectContaining({ key: 'batch[2]' }));
    expect(() => assertDeploymentRecord({ ...valid(), contractName: '' })).toThrow(expect.not.objectContaining({ key: expect.anything() }));
  });

  // Before, a missing field read "must be a string, got a undefined", and a number or a string
  // passed where it did not belong was named only by its kind.
  const messageOf = (change: (r: Record<string, unknown>) => Record<string, unknown>): string => {
    try {
      assertDeploymentRecord(change(valid() as Record<string, unknown>), '56-Token');
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('names the value passed: undefined, a number, a quoted string, a kind for the rest', () => {
    expect(messageOf(({ networkName: _, ...r }) => r)).toBe('56-Token: networkName must be a string, got undefined');
    expect(messageOf((r) => ({ ...r, address: 42 }))).toBe('56-Token: address must be a string, got 42');
    expect(messageOf((r) => ({ ...r, timestamp: '1723000000000' }))).toBe('56-Token: timestamp must be an integer, got "1723000000000"');
    expect(messageOf((r) => ({ ...r, implementationHash: {} }))).toBe('56-Token: implementationHash must be a string when present, got an object');
    expect(messageOf((r) => ({ ...r, deploymentArgs: { 0: 'a' } }))).toBe('56-Token: deploymentArgs must be an array when present, got an object');
    expect(messageOf((r) => ({ ...r, timestamp: new JsonNumber('1.5') }))).toBe('56-Token: timestamp must be an integer, got 1.5');
  });

  it('never calls a value\'s own toString, and marks a bigint', () => {
    expect(messageOf((r) => ({ ...r, address: JSON.parse('{"toString":"x"}') }))).toBe('56-Token: address must be a string, got an object');
    expect(messageOf((r) => ({ ...r, address: Object.create(null) }))).toBe('56-Token: address must be a string, got an object');
    expect(messageOf((r) => ({ ...r, address: new Date(0) }))).toBe('56-Token: address must be a string, got an object');
    expect(messageOf((r) => ({ ...r, chainId: 56n }))).toBe('56-Token: chainId must be a non-negative integer, got 56 as a bigint');
  });

  it('cuts a long string it quotes', () => {
    const message = messageOf((r) => ({ ...r, timestamp: 'x'.repeat(500) }));
    expect(message.length).toBeLessThan(120);
    expect(message).toMatch(/got "x+…"$/);
    // Never half an escape, nor half a character made of two UTF-16 units.
    expect(messageOf((r) => ({ ...r, timestamp: '\u0001'.repeat(100) }))).toMatch(/got "(\\u0001){60}…"$/);
    for (const pad of ['', 'x']) {
      const emoji = messageOf((r) => ({ ...r, timestamp: pad + '\u{1F600}'.repeat(100) }));
      expect((emoji as string & { isWellFormed(): boolean }).isWellFormed()).toBe(true);
      expect(emoji).toMatch(/…"$/);
    }
  });
});

describe('record helpers', () => {
  it('keys a record by chain and name', () => {
    expect(keyOf(valid())).toBe('56-Token');
  });

  it('orders known fields first, extras after in sorted order, keeping __proto__ an own key', () => {
    const record = { zeta: 1, ...valid(), alpha: 2 } as DeploymentRecord;
    Object.defineProperty(record, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
    const ordered = orderRecordFields(record);
    const keys = Object.keys(ordered);
    expect(keys.slice(0, RECORD_FIELDS.length)).toEqual([...RECORD_FIELDS]);
    expect(keys.slice(RECORD_FIELDS.length)).toEqual(['__proto__', 'alpha', 'zeta']);
    expect(Object.getPrototypeOf(ordered)).toBe(Object.prototype);
  });

  it('clones deeply, bigints included', () => {
    const record = { ...valid(), deploymentArgs: [2n ** 70n, { a: [1] }] };
    const copy = cloneRecord(record);
    (copy.deploymentArgs as unknown[]).push('x');
    expect(record.deploymentArgs).toHaveLength(2);
    expect((copy.deploymentArgs as unknown[])[0]).toBe(2n ** 70n);
  });

  it('compares integers across number and bigint', () => {
    expect(compareIntegers(5, 5n)).toBe(0);
    expect(compareIntegers(2n ** 64n, Number.MAX_SAFE_INTEGER)).toBeGreaterThan(0);
    expect(compareIntegers(-(2n ** 64n), -1)).toBeLessThan(0);
    expect(compareIntegers(1, 2)).toBeLessThan(0);
  });

  // The one comparison of record timestamps (sorts, rollback, restore, the co-owned check): by exact
  // value whatever the form, as records, files and the journal's text hold them.
  it('compares timestamps by exact value in every form: number, bigint, JsonNumber and their text', () => {
    const big = 2n ** 53n;
    expect(compareIntegers(big + 1n, big)).toBe(1);
    expect(compareIntegers(new JsonNumber(String(big + 1n)), new JsonNumber(String(big)))).toBe(1);
    expect(compareIntegers(String(big + 1n), String(big))).toBe(1);
    expect(compareIntegers(1.9e12, '1900000000001')).toBe(-1);
    expect(compareIntegers('1.9e12', 1_900_000_000_000n)).toBe(0);
    expect(compareIntegers('1700000000000.0', 1_700_000_000_000)).toBe(0);
    expect(compareIntegers(new JsonNumber('17e11'), '1700000000001')).toBe(-1);
    expect(compareIntegers('1e21', 10n ** 21n - 1n)).toBe(1);
    // No integer is later or earlier than anything.
    for (const odd of ['', 'soon', '1.5', 'NaN'] as const) {
      expect(compareIntegers(odd, 1) > 0, odd).toBe(false);
      expect(compareIntegers(odd, 1) < 0, odd).toBe(false);
      expect(compareIntegers(1, odd) > 0, odd).toBe(false);
    }
  });
});
