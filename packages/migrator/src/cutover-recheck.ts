// Cut-over's re-check of the keys written since its last verify, in two passes so that writers wait
// only for the few keys written at the very end. Before the fence: a quiet point, a fresh snapshot,
// and every key written up to it read from both sides. Under the fence: only the keys written since
// that quiet point, their JSON side read from the files and their LevelDB side from the journal
// (the last write of each, closed ok, is on both sides); a key the journal cannot vouch for is
// read from a fresh snapshot. Either way a key whose sides differ refuses the gate.
import { JsonFileStore } from '@deploystate/backend-json';
import { canonicalDigest, compareKeys, parseKey, StoreDigest, type StateStore } from '@deploystate/core';
import type { CommandContext } from './command-context.js';
import { isoNow } from './context.js';
import { assertRunGate } from './machine.js';
import { readState } from './state.js';
import type { LevelDbAtCutover, VerifyReport } from './types.js';
import { keysWrittenSince, lastWrittenValues, quietPoint } from './written-since.js';

/** What a pass found: LevelDB's record digests brought up to date for the keys it read, and keys to fail on. */
interface Pass {
  records: Record<string, string>;
  differing: string[];
}

/** A JSON store for the re-check: read-only, and each network's file parsed once however many of its keys are read. */
function jsonReader(c: CommandContext): JsonFileStore {
  return new JsonFileStore({ dir: c.paths.deployments, readOnly: true, cache: true, registry: c.registry });
}

/** Digest of `key` in `store` (undefined when absent). */
async function digestIn(store: StateStore, key: string): Promise<string | undefined> {
  const { chainId, contractName } = parseKey(key);
  const record = await store.get(chainId, contractName);
  return record === null ? undefined : canonicalDigest(record);
}

/** Compares `keys` on both sides: LevelDB's digest from `leveldbDigest`, JSON's read from `json`. */
async function comparePass(
  keys: Iterable<string>,
  skip: ReadonlySet<string>,
  records: Record<string, string>,
  leveldbDigest: (key: string) => Promise<string | undefined>,
  json: StateStore,
): Promise<Pass> {
  const out = { ...records };
  const differing: string[] = [];
  for (const key of [...keys].sort(compareKeys)) {
    if (skip.has(key)) continue;
    const [left, right] = await Promise.all([leveldbDigest(key), digestIn(json, key)]);
    if (left !== right) differing.push(key);
    if (left === undefined) delete out[key];
    else out[key] = left;
  }
  return { records: out, differing };
}

function failOn(c: CommandContext, verify: VerifyReport, differing: string[]): void {
  if (differing.length > 0)
    assertRunGate('fresh clean verify', { ...verify.evidence, clean: false, differences: differing.length }, c.files.state, undefined, {
      differingKeys: differing,
      schemaErrors: [],
    });
}

/** The first pass, without the fence: returns the quiet point the second pass starts from, and LevelDB as read. */
export async function recheckBeforeFence(
  c: CommandContext,
  verify: VerifyReport,
  recorded: LevelDbAtCutover,
): Promise<{ since: number; records: Record<string, string> }> {
  const since = await quietPoint({ files: c.files, journal: c.journal }, 'cutover');
  const keys = await keysWrittenSince(c.journal, verify.evidence.journalSeq);
  for (const key of verify.comparison.pending ?? []) keys.add(key);
  if (keys.size === 0) return { since, records: recorded.records };
  const state = await readState(c.files);
  const skip = new Set([...state.exclusions, ...state.unmigratable]);
  const json = jsonReader(c);
  await json.open();
  try {
    const pass = await c.withReadCtx(async (ctx) => {
      const leveldb = await ctx.leveldb();
      return comparePass(keys, skip, recorded.records, (key) => digestIn(leveldb, key), json);
    });
    // A key written after the quiet point may have been half written as the snapshot was taken:
    // the second pass reads it again under the fence, and decides.
    const later = await keysWrittenSince(c.journal, since);
    failOn(
      c,
      verify,
      pass.differing.filter((key) => !later.has(key)),
    );
    return { since, records: pass.records };
  } finally {
    await json.close();
  }
}

/** The second pass, under the fence: the keys written since `since`, and LevelDB as cut-over records it. */
export async function recheckUnderFence(
  c: CommandContext,
  verify: VerifyReport,
  recorded: LevelDbAtCutover,
  first: { since: number; records: Record<string, string> },
): Promise<LevelDbAtCutover> {
  const values = await lastWrittenValues(c.journal, first.since);
  if (values.size === 0 && first.records === recorded.records) return recorded;
  let pass: Pass = { records: first.records, differing: [] };
  if (values.size > 0) {
    const state = await readState(c.files);
    const skip = new Set([...state.exclusions, ...state.unmigratable]);
    const unknown = [...values].filter(([, value]) => value === 'unknown').map(([key]) => key);
    const json = jsonReader(c);
    await json.open();
    try {
      const fromJournal = async (key: string): Promise<string | undefined> => {
        const value = values.get(key);
        return value === undefined || value === 'unknown' ? undefined : (value.digest ?? undefined);
      };
      const known = [...values.keys()].filter((key) => values.get(key) !== 'unknown');
      pass = await comparePass(known, skip, first.records, fromJournal, json);
      if (unknown.length > 0) {
        const rest = await c.withReadCtx(async (ctx) => {
          const leveldb = await ctx.leveldb();
          return comparePass(unknown, skip, pass.records, (key) => digestIn(leveldb, key), json);
        });
        pass = { records: rest.records, differing: [...pass.differing, ...rest.differing].sort(compareKeys) };
      }
    } finally {
      await json.close();
    }
  }
  failOn(c, verify, pass.differing);
  const digest = new StoreDigest();
  for (const key of Object.keys(pass.records).sort(compareKeys)) digest.addDigest(key, pass.records[key] as string);
  return { at: isoNow({ now: c.clock }), count: digest.size, digest: digest.digest(), records: pass.records };
}
