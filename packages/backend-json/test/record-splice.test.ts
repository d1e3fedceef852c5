// The spliced write is only allowed to be cheaper, never different: after any sequence of puts,
// deletes and whole-chain replacements, the spliced bytes equal a full render of the same content.
import { describe, expect, it } from 'vitest';
import { JsonNumber, compareKeys, parseLossless, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { emptyStateFile, parseStateFile, printEntriesBlock, renderStateFile, type StateFileModel } from '../src/file-format.js';
import { renderWithLayout, spliceStateFile, type StateFileLayout } from '../src/record-splice.js';
import { random, rec } from './helpers.js';

// Names that sort differently by UTF-16 and by UTF-8 bytes, need escaping, or are special keys.
const NAMES = ['A', 'b', 'Router', 'contracts/xchain/Router.sol:Router', '__proto__', 'Ünïcode "q"\\n', '\u{1F600}emoji', '\uFFFDrepl', 'z', 'Z0', 'a b', '10'];

function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)] as T;
}

function value(next: () => number, depth = 0): unknown {
  switch (Math.floor(next() * (depth > 2 ? 7 : 9))) {
    case 0:
      return 2n ** BigInt(54 + Math.floor(next() * 250)) + BigInt(Math.floor(next() * 1000));
    case 1:
      return new JsonNumber(pick(next, ['1.50', '1e400', '0.1000000000000000055511151231257827', '-0', '1.0', '2E-7', '123456789012345678901234567890.5']));
    case 2:
      return Math.floor(next() * 1e6) / 100;
    case 3:
      return pick(next, ['', 'x', 'quote " and \\ back', 'line\nbreak', '\u{1F600}']);
    case 4:
      return next() < 0.5;
    case 5:
      return null;
    case 6:
      return -Math.floor(next() * 1e9);
    case 7:
      return Array.from({ length: Math.floor(next() * 3) }, () => value(next, depth + 1));
    default: {
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 3); i > 0; i--) Object.defineProperty(out, pick(next, ['k', '__proto__', 'n', 'é']), { value: value(next, depth + 1), enumerable: true, writable: true, configurable: true });
      return out;
    }
  }
}

function record(next: () => number, name: string): DeploymentRecord {
  return rec(56, name, {
    deploymentArgs: Array.from({ length: 1 + Math.floor(next() * 3) }, () => value(next)),
    timestamp: next() < 0.3 ? 2n ** 70n + BigInt(Math.floor(next() * 100)) : 1_700_000_000_000 + Math.floor(next() * 1000),
    ...(next() < 0.3 && { implementationHash: `0x${Math.floor(next() * 16).toString(16).repeat(64)}` }),
    ...(next() < 0.3 && { extra: value(next) }),
    // A new deployment or upgrade: the legacy entries change again, not only on a name's first write.
    ...(next() < 0.4 && { address: `0x${Math.floor(next() * 16).toString(16).repeat(40)}`, proxyAddress: next() < 0.3 ? '' : `0x${Math.floor(next() * 16).toString(16).repeat(40)}` }),
  } as Partial<DeploymentRecord>);
}

// A legacy file of the old deploy scripts: its own keys, big literals, and sections that mirror some records.
const LEGACY = `{
  "network": "bscmainnet",
  "chainId": 56,
  "deployer": "0x${'1'.repeat(40)}",
  "timestamp": 123456789012345678901234567890,
  "contracts": { "A": { "proxy": "0x${'2'.repeat(40)}", "implementation": "0x${'3'.repeat(40)}", "note": 1.50 }, "Router": { "implementation": "x" } },
  "implementationHashes": { "A": "0x${'4'.repeat(64)}", "z": "old" },
  "config": { "fee": 0.30000000000000004, "limit": 1e400 }
}
`;

// A file whose records come first and whose legacy sections list names that need escaping, a
// special key, a contract that is not an object, and names that sort anywhere: the sections follow
// the records written in the text after `records`.
const LEGACY_AFTER = `{
  "network": "bscmainnet",
  "chainId": 56,
  "records": {},
  "contracts": {
    "__proto__": { "implementation": "x", "deep": { "A": { "implementation": 1 } } },
    "Ünïcode \\"q\\"\\\\n": { "proxy": null, "implementation": "y" },
    "b": "not an object",
    "\u{1F600}emoji": {},
    "z": { "implementation": "z", "list": [1, 2.50, { "b": 3 }] },
    "10": { "implementation": "listed first, as an array index" }
  },
  "implementationHashes": { "Z0": "0x${'5'.repeat(64)}", "\uFFFDrepl": "", "a b": 7, "A": "last", "10": null },
  "config": { "contracts": { "A": 1 } }
}
`;

function legacyStart(next: () => number): StateFileModel {
  const roll = next();
  if (roll < 0.34) return emptyStateFile(56, 'bscmainnet');
  return parseStateFile(roll < 0.67 ? LEGACY : LEGACY_AFTER, 'bscmainnet.json', 56);
}

interface State {
  model: StateFileModel;
  layout: StateFileLayout;
  bytes: Buffer;
}

function start(next: () => number): State {
  let model = legacyStart(next);
  if (next() < 0.5) {
    // Entries that are not records stay verbatim until a write replaces them.
    model.invalid.set('Broken', { name: 'Broken', value: { not: 'a record', n: 2n ** 80n }, finding: { code: 'INVALID_RECORD' } as never });
  }
  const touched = new Set<string>();
  for (let i = Math.floor(next() * 4); i > 0; i--) {
    const name = pick(next, NAMES);
    model.records.set(name, record(next, name));
    touched.add(name);
  }
  const { bytes, layout } = renderWithLayout(model, { network: 'bscmainnet', mirror: touched });
  model = { ...model, document: layout.document };
  return { model, layout, bytes };
}

// A room as the store lends one (print-room.ts): a buffer of the size asked, nothing else holds it.
const room = { allocate: (size: number): Buffer => Buffer.allocUnsafe(size) };

describe('spliced writes', () => {
  it('give the bytes of a full render of the same content, over random puts, deletes and replacements', () => {
    let steps = 0;
    let spliced = 0;
    let unchanged = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const next = random(seed);
      const state = start(next);
      const recordTexts = new WeakMap<object, string>();
      for (let step = 0; step < 40; step++) {
        const records = new Map(state.model.records);
        const invalid = new Map(state.model.invalid);
        const touched = new Set<string>();
        const roll = next();
        if (roll < 0.55) {
          const name = pick(next, NAMES);
          // Sometimes the same content again, as a new object: a no-op put.
          const old = records.get(name);
          records.set(name, old && next() < 0.3 ? (parseLossless(stringifyLossless(old)) as DeploymentRecord) : record(next, name));
          invalid.delete(name);
          touched.add(name);
        } else if (roll < 0.8) {
          const name = pick(next, [...NAMES, 'Broken']);
          if (records.delete(name) || invalid.delete(name)) touched.add(name);
        } else {
          // replaceChain: a new set; names it drops are not touched, and must be found.
          records.clear();
          invalid.clear();
          for (const name of NAMES) {
            if (next() < 0.4) {
              records.set(name, next() < 0.5 && state.model.records.has(name) ? (state.model.records.get(name) as DeploymentRecord) : record(next, name));
              touched.add(name);
            }
          }
        }
        const model: StateFileModel = { ...state.model, records, invalid };
        const options = { network: 'bscmainnet', mirror: touched, recordTexts };
        const full = Buffer.from(renderStateFile(model, { network: 'bscmainnet', mirror: touched }).text);
        // Odd seeds lend a room, as the store does: the layout's entries change in place.
        const result = spliceStateFile(state.layout, model, touched, options, seed % 2 === 1 ? room : undefined);
        steps++;
        if (seed % 2 === 0 && result.changed) {
          // Without a room the layout spliced from is left as it was: splicing it again gives the same bytes.
          const again = spliceStateFile(state.layout, model, touched, options);
          expect(again.changed && again.bytes.equals(result.bytes), `seed ${seed} step ${step}: the layout spliced from changed`).toBe(true);
        }
        if (!result.changed) {
          unchanged++;
          // Nothing to write only when a full render gives the very bytes already written.
          expect(full.equals(state.bytes), `seed ${seed} step ${step}: a skipped write would have changed the file`).toBe(true);
          continue;
        }
        spliced++;
        expect(result.bytes.toString('utf8'), `seed ${seed} step ${step}`).toBe(full.toString('utf8'));
        // The text is canonical: read back and rendered in full, it prints the same bytes.
        const reread = parseStateFile(result.bytes.toString('utf8'), 'bscmainnet.json', 56);
        expect(renderStateFile(reread, { network: 'bscmainnet' }).text, `seed ${seed} step ${step}: not canonical`).toBe(full.toString('utf8'));
        expect([...reread.records.keys()], `seed ${seed} step ${step}`).toEqual([...records.keys()].sort(compareKeys));
        // The layout's document is the one its text was printed from (a later full render starts from it).
        expect(renderStateFile({ ...model, document: result.layout.document }, { network: 'bscmainnet' }).text, `seed ${seed} step ${step}: document`).toBe(full.toString('utf8'));
        Object.assign(state, { model: { ...model, document: result.layout.document }, layout: result.layout, bytes: result.bytes });
      }
    }
    expect(steps).toBe(60 * 40);
    // Both outcomes were exercised, or the property says little.
    expect(spliced).toBeGreaterThan(1000);
    expect(unchanged).toBeGreaterThan(50);
  });

  it("prints a file's first render in one print with the bytes and entries of a print per entry", () => {
    // Names an object lists out of insertion order (array indices) or that need escaping, beside plain ones.
    const names = [...NAMES, '7', '10', '0x1', '01', '4294967295', 'Z', 'émigré'];
    let oneFile = 0;
    for (let seed = 1; seed <= 80; seed++) {
      const next = random(seed);
      const model = next() < 0.5 ? emptyStateFile(56, 'bscmainnet') : parseStateFile(LEGACY, 'bscmainnet.json', 56);
      // Array-index names are rarer, so most files take the one print and some fall back.
      for (const name of names) if (next() < (/^[0-9]/.test(name) ? 0.05 : 0.5)) model.records.set(name, record(next, name));
      if (next() < 0.3) model.invalid.set('Broken', { name: 'Broken', value: { not: 'a record', n: 2n ** 80n }, finding: { code: 'INVALID_RECORD' } as never });
      if (next() < 0.1) model.invalid.set('1Broken', { name: '1Broken', value: [1, 'x'], finding: { code: 'INVALID_RECORD' } as never });
      const touched = names.filter(() => next() < 0.3);
      const expected = renderStateFile(model, { network: 'bscmainnet', mirror: touched });
      const { bytes, layout } = renderWithLayout(model, { network: 'bscmainnet', mirror: touched });
      expect(bytes.toString('utf8'), `seed ${seed}`).toBe(expected.text);
      expect(layout.names, `seed ${seed}`).toEqual(expected.names);
      expect([...layout.entries].map(([name, text]) => [name, text.toString('utf8')]), `seed ${seed}`).toEqual([...expected.entries]);
      if (printEntriesBlock(model, expected.names) !== undefined) oneFile++;
    }
    // The one print was taken often enough to be what was compared.
    expect(oneFile).toBeGreaterThan(10);
  });

  it("prints only the legacy section entries a put changes, not the project's whole `contracts`", () => {
    // A project's contracts section beside 100 records: each entry counts its prints.
    let prints = 0;
    const counted = (n: number): unknown => ({ toJSON: () => (prints++, { implementation: `0x${n.toString(16).padStart(40, '0')}` }) });
    const model = parseStateFile(LEGACY, 'bscmainnet.json', 56);
    const contracts = model.document.contracts as Record<string, unknown>;
    for (let n = 0; n < 100; n++) contracts[`C${n}`] = counted(n);
    const first = renderWithLayout(model, { network: 'bscmainnet' });
    expect(prints).toBe(100);
    const records = new Map([['A', rec(56, 'A', { timestamp: 7 })]]);
    const next = { ...model, document: first.layout.document, records };
    const result = spliceStateFile(first.layout, next, ['A'], { network: 'bscmainnet', mirror: ['A'] });
    expect(prints).toBe(100);
    expect(result.changed && result.bytes.toString('utf8')).toBe(renderStateFile(next, { network: 'bscmainnet', mirror: ['A'] }).text);
    expect(result.changed && (result.layout.document.contracts as { A: { implementation: string } }).A.implementation).toBe(rec(56, 'A').address);
    // The layout spliced from still describes the text it was printed from.
    expect((first.layout.document.contracts as { A: { implementation: string } }).A.implementation).toBe(`0x${'3'.repeat(40)}`);
  });

  it('splices the legacy entries of many records in one pass over the text around `records`, not one pass per record', () => {
    // A putMany (or a dual-write drain) of many records a project's legacy sections list: each
    // entry looked for from the section's start and the text copied once per entry made such a
    // write quadratic (1,000 records into a legacy file of 10,000 took 2.4 s, a whole print 70 ms).
    const names = Array.from({ length: 300 }, (_, i) => `C${String(i).padStart(3, '0')}`);
    const model = parseStateFile(LEGACY, 'bscmainnet.json', 56);
    const contracts = model.document.contracts as Record<string, unknown>;
    const hashes = model.document.implementationHashes as Record<string, unknown>;
    // Every other one moves, in an order that is not the file's; the others count their prints.
    const touched = names.filter((_, i) => i % 2 === 0).reverse();
    let prints = 0;
    for (const name of names) {
      contracts[name] = touched.includes(name) ? { proxy: null, implementation: 'old' } : { toJSON: () => (prints++, { implementation: name }) };
      hashes[name] = 'old';
      model.records.set(name, rec(56, name));
    }
    const first = renderWithLayout(model, { network: 'bscmainnet' });
    prints = 0;
    const records = new Map(model.records);
    for (const name of touched) records.set(name, rec(56, name, { address: `0x${'9'.repeat(40)}`, implementationHash: `0x${'8'.repeat(64)}` }));
    const next = { ...model, document: first.layout.document, records };
    // Bytes searched and copied while splicing, a measure of work that no clock decides.
    let bytesRead = 0;
    const { indexOf } = Buffer.prototype;
    const { concat } = Buffer;
    Buffer.prototype.indexOf = function (this: Buffer, value: never, byteOffset?: number, encoding?: BufferEncoding): number {
      const found = indexOf.call(this, value, byteOffset, encoding);
      bytesRead += (found === -1 ? this.length : found) - (byteOffset ?? 0);
      return found;
    } as typeof indexOf;
    Buffer.concat = ((list: readonly Uint8Array[], length?: number) => {
      const out = concat(list, length);
      bytesRead += out.length;
      return out;
    }) as typeof concat;
    let result: ReturnType<typeof spliceStateFile>;
    try {
      result = spliceStateFile(first.layout, next, touched, { network: 'bscmainnet', mirror: touched });
    } finally {
      Buffer.prototype.indexOf = indexOf;
      Buffer.concat = concat;
    }
    // Spliced entry by entry: the section was not printed whole.
    expect(prints).toBe(0);
    expect(result.changed && result.bytes.toString('utf8')).toBe(renderStateFile(next, { network: 'bscmainnet', mirror: touched }).text);
    // A few passes over the file (the sections searched, the text around `records` and the file put together), not 150.
    expect(bytesRead).toBeLessThan(6 * first.bytes.length);
  });

  it('copies an upgrade in runs around its record, whatever the legacy entries before `records` grow by, and the next put finds its place', () => {
    // `Router` is listed as `{ "implementation": "x" }`: its first upgrade lengthens the text before `records`.
    const model = parseStateFile(LEGACY, 'bscmainnet.json', 56);
    model.records.set('A', rec(56, 'A', { timestamp: 1 }));
    model.records.set('Router', rec(56, 'Router', { timestamp: 1 }));
    model.records.set('z', rec(56, 'z', { timestamp: 1 }));
    let { layout } = renderWithLayout(model, { network: 'bscmainnet' });
    const step = (name: string, overrides: Partial<DeploymentRecord>, lend: boolean): StateFileModel => {
      const records = new Map(model.records);
      records.set(name, rec(56, name, overrides));
      const next = { ...model, document: layout.document, records };
      const result = spliceStateFile(layout, next, [name], { network: 'bscmainnet', mirror: [name] }, lend ? room : undefined);
      expect(result.changed && result.bytes.toString('utf8'), `${name}`).toBe(renderStateFile(next, { network: 'bscmainnet', mirror: [name] }).text);
      // Copied in runs: a layout lent with a room keeps its entries (updated in place); a rebuild makes new ones.
      if (lend) expect(result.changed && result.layout.entries, `${name}: copied in runs`).toBe(layout.entries);
      if (result.changed) layout = result.layout;
      model.records = records;
      return next;
    };
    for (const [round, lend] of [false, true].entries()) {
      const digit = String(9 - round);
      step('Router', { address: `0x${digit.repeat(40)}`, proxyAddress: `0x${digit.repeat(round * 20)}`, timestamp: 2 + round }, lend);
      // In place after it: the entries' places in the new text shifted by what the head grew.
      step('z', { timestamp: 3 + round, implementationHash: `0x${digit.repeat(64)}` }, lend);
      step('A', { timestamp: 4 + round }, lend);
      expect(layout.head.toString('utf8')).toContain(`"implementation": "0x${digit.repeat(40)}"`);
    }
  });

  it('sets the legacy entries of a lent layout in place, and never those of a layout another still describes', () => {
    // A lent splice changes the sections its document owns in place (copying a project's
    // `contracts` cost every put); a layout spliced without a room, and every layout sharing a
    // section with it, still prints its own text.
    const room = { allocate: (size: number) => Buffer.alloc(size) };
    const model = parseStateFile(LEGACY, 'bscmainnet.json', 56);
    model.records.set('A', rec(56, 'A', { timestamp: 1 }));
    let { layout } = renderWithLayout(model, { network: 'bscmainnet' });
    const kept: Array<{ layout: StateFileLayout; model: StateFileModel; text: string }> = [];
    const step = (overrides: Partial<DeploymentRecord>, lend: boolean): void => {
      const records = new Map(model.records);
      records.set('A', rec(56, 'A', overrides));
      const next = { ...model, document: layout.document, records };
      const text = renderStateFile(next, { network: 'bscmainnet', mirror: ['A'] }).text;
      const result = spliceStateFile(layout, next, ['A'], { network: 'bscmainnet', mirror: ['A'] }, lend ? room : undefined);
      expect(result.changed && result.bytes.toString('utf8')).toBe(text);
      if (!result.changed) return;
      layout = result.layout;
      model.records = records;
      // Spliced without a room next: this layout is then one its caller may still use.
      kept.push({ layout, model: { ...next, document: layout.document }, text });
    };
    const hex = (digit: number, length: number): string => `0x${String(digit).repeat(length)}`;
    step({ address: hex(1, 40), implementationHash: hex(1, 64), timestamp: 2 }, true);
    step({ address: hex(2, 40), implementationHash: hex(2, 64), timestamp: 3 }, true);
    // Not lent, and only the hash moves: the new document shares `contracts` with the one before.
    step({ address: hex(2, 40), implementationHash: hex(3, 64), timestamp: 4 }, false);
    step({ address: hex(4, 40), implementationHash: hex(4, 64), timestamp: 5 }, true);
    step({ address: hex(5, 40), implementationHash: hex(5, 64), timestamp: 6 }, true);
    // The layout spliced without a room prints its own text still, though the next one lent shared its `contracts`.
    const { layout: before, model: printed, text } = kept[1] as (typeof kept)[number];
    expect(renderStateFile({ ...printed, document: before.document }, { network: 'bscmainnet' }).text).toBe(text);
  });

  it('keeps big integers and exact decimals byte for byte, in records and in keys the store does not own', () => {
    const model = parseStateFile(LEGACY, 'bscmainnet.json', 56);
    const first = renderWithLayout(model, { network: 'bscmainnet' });
    const big = rec(56, 'A', { deploymentArgs: [2n ** 200n + 1n, new JsonNumber('1.50'), new JsonNumber('1e400')] } as Partial<DeploymentRecord>);
    const records = new Map([['A', big]]);
    const result = spliceStateFile(first.layout, { ...model, document: first.layout.document, records }, ['A'], { network: 'bscmainnet', mirror: ['A'] });
    expect(result.changed).toBe(true);
    const text = result.changed ? result.bytes.toString('utf8') : '';
    expect(text).toContain(`${2n ** 200n + 1n},`);
    expect(text).toContain('1.50,');
    expect(text).toContain('"limit": 1e400');
    expect(text).toContain('"timestamp": 123456789012345678901234567890');
    expect(text).toContain('"fee": 0.30000000000000004');
    // The legacy sections follow the record written: implementation <- address, the rest kept.
    const doc = parseLossless(text) as { contracts: { A: { implementation: string; note: unknown } } };
    expect(doc.contracts.A.implementation).toBe(big.address);
    expect(stringifyLossless(doc.contracts.A.note)).toBe('1.50');
  });
});
