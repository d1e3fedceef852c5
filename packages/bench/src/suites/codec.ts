// The lossless codec against native JSON on the same deployment documents: per-network files
// (what the JSON backend reads and writes), with and without bare unsafe integers, and a file's
// read as the JSON backend makes it (the parse and its duplicate-key check).
import { generateRecords, parseLossless, parseLosslessDocument, stringifyLossless, type DeploymentRecord } from '@deploystate/core';
import { LIMITS, makeGate, type GateSpec } from '../gates.js';
import { measure } from '../harness.js';
import { dataset } from '../loaders.js';
import { ratio } from '../stats.js';
import type { Measurement } from '../results.js';
import { scaled, type SuiteContext, type SuiteOutcome } from './context.js';

/** One document per network, shaped like a state file: metadata plus records by key. */
export function networkDocuments(records: readonly DeploymentRecord[]): Array<Record<string, unknown>> {
  const byChain = new Map<number, DeploymentRecord[]>();
  for (const record of records) {
    const list = byChain.get(record.chainId) ?? [];
    list.push(record);
    byChain.set(record.chainId, list);
  }
  return [...byChain].map(([chainId, list]) => ({
    schemaVersion: 1,
    network: list[0]?.networkName,
    chainId,
    records: Object.fromEntries(list.map((r) => [`${r.chainId}-${r.contractName}`, r])),
  }));
}

/** The same records with a bare integer above 2^53 in each one's arguments. */
function withUnsafeNumbers(records: readonly DeploymentRecord[]): DeploymentRecord[] {
  return records.map((r, i) => ({ ...r, deploymentArgs: [...(r.deploymentArgs ?? []), 18446744073709551617n + BigInt(i)] }));
}

// Printing without unsafe numbers is native JSON.stringify after one walk: the general target.
const CODEC_TARGETS: Record<string, GateSpec> = {
  parse: LIMITS.codecParse,
  'parse-unsafe': LIMITS.codecParseUnsafe,
  stringify: LIMITS.codec,
  'stringify-unsafe': LIMITS.codecPrintUnsafe,
};

// Reading a state file has no target of its own: shown beside the parse's, so the parse's gate
// does not stand for what a file read costs.
const READ_FILE_INFO = {
  name: 'info: file read vs native',
  limit: null,
  comparison: '>=' as const,
  source: 'what the JSON backend pays to read a file: the lossless parse and the duplicate-key check',
};

// V8 puts any object above 128 KiB (a string of over 131,072 one-byte characters) in memory of its
// own, asked of the operating system afresh each time; smaller ones reuse its heap. A network
// file of more than about 200 records crosses it, and the lossless codec makes one such string more
// than native JSON where a record holds an integer beyond 2^53 (the parse's marked text, the print's
// search of the printed text). What each costs depends on the machine (page faults: a few
// microseconds on most, far more in some virtual machines): shown beside the codec's rows.
const V8_LARGE_OBJECT_CHARS = 128 * 1024;
// Where the joined strings go, so no run's work can be left out.
let joined = '';

/** The same characters joined into one string just above V8's large-object size, and into two just below half of it. */
async function largeStringCost(context: SuiteContext): Promise<Measurement[]> {
  const piece = 'x'.repeat(1000);
  const parts = (chars: number): string[] => Array.from({ length: Math.ceil(chars / piece.length) }, () => piece);
  const large = parts(V8_LARGE_OBJECT_CHARS + 2 * piece.length);
  const half = parts(large.length * piece.length / 2);
  const chars = large.length * piece.length;
  return measure(
    [
      { name: 'one large string', run: () => void (joined = large.join('')) },
      {
        name: 'two half strings',
        run: () => {
          joined = half.join('');
          joined = half.join('');
        },
      },
    ],
    { suite: 'codec', operation: 'large-string', size: 0, itemsPerRun: 1, note: `one string of ${chars} characters (above V8's 128 KiB object size) against two of half that, joined from 1,000-character pieces` },
    scaled(context, 1),
  );
}

export async function codecSuite(context: SuiteContext): Promise<SuiteOutcome> {
  const measurements: Measurement[] = [];
  const gates = [];
  for (const size of context.sizes) {
    const plain = context.project ? dataset(size) : generateRecords(size);
    for (const unsafe of [false, true]) {
      const docs = networkDocuments(unsafe ? withUnsafeNumbers(plain) : plain);
      // Both sides print with 2-space indent, as the state files are written.
      const texts = docs.map((d) => stringifyLossless(d, 2));
      const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
      // Native cannot print a bigint; for the unsafe variant it prints what it parsed (rounded).
      const nativeValues = texts.map((t) => JSON.parse(t) as unknown);
      const suffix = unsafe ? '-unsafe' : '';
      const note = `${docs.length} network documents, ${bytes} bytes${unsafe ? ', each record holds a bare integer > 2^53 (native rounds it)' : ', no number above 2^53'}`;
      // Each point reads about as many records in all: a run over small files takes tens of
      // microseconds, and 200 of them would leave the p50 to the JIT's warm-up and a few preemptions
      // (it flipped between runs at 28 records). Both sides get the same warm-up and rounds.
      const sampling = scaled(context, size / 1000);
      context.log(`codec ${size} records${unsafe ? ' (unsafe numbers)' : ''}`);
      measurements.push(
        ...(await measure(
          [
            { name: 'lossless', run: () => texts.forEach((t) => parseLossless(t)) },
            { name: 'native', run: () => texts.forEach((t) => JSON.parse(t)) },
          ],
          { suite: 'codec', operation: `parse${suffix}`, size, itemsPerRun: size, note },
          sampling,
        )),
        // What the JSON backend does with a state file's text: the same parse, and the check for a key
        // written twice that native parsing would keep silently (parseLosslessDocument). Information:
        // the target above is the parse's; this is what reading a file costs.
        ...(unsafe
          ? []
          : await measure(
              [
                { name: 'lossless', run: () => texts.forEach((t) => parseLosslessDocument(t)) },
                { name: 'native', run: () => texts.forEach((t) => JSON.parse(t)) },
              ],
              { suite: 'codec', operation: 'read-file', size, itemsPerRun: size, note: `${note}; parseLosslessDocument, as the JSON backend reads a state file (duplicate keys found)` },
              sampling,
            )),
        ...(await measure(
          [
            { name: 'lossless', run: () => docs.forEach((d) => stringifyLossless(d, 2)) },
            { name: 'native', run: () => nativeValues.forEach((v) => JSON.stringify(v, null, 2)) },
          ],
          { suite: 'codec', operation: `stringify${suffix}`, size, itemsPerRun: size, note },
          sampling,
        )),
      );
      for (const operation of [`parse${suffix}`, `stringify${suffix}`, ...(unsafe ? [] : ['read-file'])]) {
        const lossless = measurements.find((m) => m.operation === operation && m.subject === 'lossless' && m.size === size);
        const native = measurements.find((m) => m.operation === operation && m.subject === 'native' && m.size === size);
        // Speed relative to native = native time / lossless time, each operation at its own target.
        const value = lossless && native ? ratio(native.latencyMs.p50, lossless.latencyMs.p50) : null;
        // Beside the gated value, for the reader of the results: the ratio of the fastest runs. Far
        // above the p50 ratio, it says the machine was busy (preemption and GC pauses land more
        // often in the longer runs), not that the codec changed.
        const fastest = lossless && native ? ratio(native.latencyMs.min, lossless.latencyMs.min) : null;
        const detail = `p50 native / p50 lossless, ${operation}${fastest === null ? '' : `; fastest runs ${fastest.toFixed(2)}x`}`;
        const spec = operation === 'read-file' ? READ_FILE_INFO : (CODEC_TARGETS[operation] ?? LIMITS.codec);
        gates.push(makeGate({ ...spec, name: `${spec.name} (${operation})` }, 'codec', size, value, detail));
      }
    }
  }
  // Last, so the garbage it leaves cannot weigh on the codec's own rows.
  const machine = await largeStringCost(context);
  measurements.push(...machine);
  const [large, halves] = machine;
  if (large && halves)
    gates.push(
      makeGate(
        {
          name: 'info: a string above 128 KiB vs two below it',
          limit: null,
          comparison: '<=',
          source: 'this machine: the codec rows from 1,000 records on pay one such string more than native JSON where integers pass 2^53',
        },
        'codec',
        0,
        ratio(large.latencyMs.p50, halves.latencyMs.p50),
        `p50 ${large.latencyMs.p50.toFixed(3)} ms one large / ${halves.latencyMs.p50.toFixed(3)} ms two half`,
        false,
      ),
    );
  return { measurements, memory: [], gates };
}
