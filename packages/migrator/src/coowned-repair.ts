// Repair of co-owned network files: the lost records put back from the journal (or LevelDB), never over a newer one.
import type { SwapManyEntry } from '@deploystate/backend-json';
import { canonicalDigest, compareIntegers, isStateError, parseKey, StateError, type DeploymentRecord } from '@deploystate/core';
import { foldedBaseline, timestampOf, type CoownedContext } from './coowned-baseline.js';
import { assertGitOutOfTheWay, checkFiles, type ChangedElsewhere, type ForeignOverwrite, type ForeignOverwriteKind } from './coowned-check.js';
import type { MigrationPhase } from './types.js';

export interface RepairAction {
  file: string;
  key: string;
  kind: ForeignOverwriteKind;
  /** What the repair does: put the journalled record back, or delete the record that reappeared. */
  action: 'put' | 'delete';
  seq: number;
  timestamp: string;
}

export interface RepairOptions {
  /**
   * Also put back the records that left their file without the store: the product's own (the copy, a
   * restore), from LevelDB where it holds exactly them, and the store's writes a commit removed, from the journal.
   */
  removed?: boolean;
}

export interface RepairPlan {
  actions: RepairAction[];
  /** Keys left alone because the file holds a later write. */
  changedElsewhere: ChangedElsewhere[];
  /** Records to write back, by key. */
  records: Map<string, DeploymentRecord>;
  /** Findings whose exact record is neither in the journal nor in LevelDB: restore the file's backup. */
  unrepairable: ForeignOverwrite[];
  /** Network files that could not be read or parsed: nothing in them was checked (restore the file's backup). */
  unreadable: Array<{ file: string; reason: string }>;
}

/** Where a repair finds a record the product wrote without the journal: LevelDB, when it holds exactly it. */
export type RecordSource = (chainId: number, contractName: string) => Promise<DeploymentRecord | null>;

/**
 * What a repair would do: every finding, with the record read back from the journal (or, for a
 * record the copy, a restore or an import wrote, from LevelDB when it holds exactly that record).
 * Findings with no exact record anywhere are listed as `unrepairable`.
 */
export async function planRepair(ctx: CoownedContext, otherSide?: RecordSource, options: RepairOptions = {}): Promise<RepairPlan> {
  const check = await checkFiles(ctx);
  // With `removed`: records the product wrote that left their file without the store are put back
  // too, where LevelDB holds exactly them (a rewrite that dropped them, not a teammate's delete).
  const removed = options.removed ? check.changedElsewhere.filter((c) => c.kind === 'removed') : [];
  if (removed.length > 0) {
    const expectedNow = new Map(Object.entries((await foldedBaseline(ctx)).baseline.written));
    for (const c of removed) {
      const entry = expectedNow.get(c.key);
      if (entry === undefined) continue;
      // A store's write a commit removed (seq > 0) comes back from the journal; the product's own from LevelDB.
      check.findings.push({ file: c.file, key: c.key, kind: 'missing', seq: c.seq, timestamp: entry.timestamp });
    }
    check.changedElsewhere = check.changedElsewhere.filter((c) => !removed.includes(c));
  }
  const wanted = new Map<number, ForeignOverwrite>();
  for (const f of check.findings) if (f.kind !== 'reappeared' && f.seq > 0) wanted.set(f.seq, f);
  const records = new Map<string, DeploymentRecord>();
  if (wanted.size > 0) {
    const from = Math.min(...wanted.keys()) - 1;
    for await (const e of ctx.journal.entries({ sinceSeq: from })) {
      const f = wanted.get(e.seq);
      if (f && e.type === 'intent' && e.record) records.set(f.key, e.record);
    }
  }
  const expected = new Map(Object.entries((await foldedBaseline(ctx)).baseline.written));
  for (const f of check.findings) {
    if (f.kind === 'reappeared' || records.has(f.key) || !otherSide) continue;
    const { chainId, contractName } = parseKey(f.key);
    const record = await otherSide(chainId, contractName).catch(() => null);
    const digest = f.seq > 0 ? undefined : expected.get(f.key)?.digest;
    if (record && (f.seq > 0 || canonicalDigest(record) === digest)) records.set(f.key, record);
  }
  const actions: RepairAction[] = [];
  const unrepairable: ForeignOverwrite[] = [];
  for (const f of check.findings) {
    if (f.kind !== 'reappeared' && !records.has(f.key)) {
      unrepairable.push(f);
      continue;
    }
    actions.push({ file: f.file, key: f.key, kind: f.kind, action: f.kind === 'reappeared' ? 'delete' : 'put', seq: f.seq, timestamp: f.timestamp });
  }
  return { actions, changedElsewhere: check.changedElsewhere, records, unrepairable, unreadable: check.unreadable ?? [] };
}

export interface RepairReport {
  applied: RepairAction[];
  /** Actions not taken because the file meanwhile holds a later record. */
  skipped: RepairAction[];
  changedElsewhere: ChangedElsewhere[];
  /** Findings no exact record was found for (restore the file from its backups). */
  unrepairable: ForeignOverwrite[];
}

/** The store the repair writes through (the JSON backend: its lock, its atomic write, every other key kept). */
export interface RepairTarget {
  get(chainId: number, contractName: string): Promise<DeploymentRecord | null>;
  /** Several names of one network file set in ONE write of it, each a compare-and-swap against `expected`. */
  swapMany(chainId: number, entries: readonly SwapManyEntry[]): Promise<{ swapped: boolean[] }>;
}

/**
 * Applies a plan. Each key is looked at again just before its file is written: a record that became
 * newer meanwhile is left alone (never an older record over a newer one) and reported as skipped.
 * Each network file is written once with all its repairs, all or nothing: a write that fails (a
 * full disk) leaves the file as it was, and a rerun repairs it whole, never a part of it.
 */
export async function applyRepair(
  ctx: CoownedContext,
  plan: RepairPlan,
  json: RepairTarget,
  phase: MigrationPhase,
): Promise<{ applied: RepairAction[]; skipped: RepairAction[] }> {
  // A rebase stopped part-way lacks the commits it has not replayed: putting them back would write into it.
  if (plan.actions.length > 0) assertGitOutOfTheWay(ctx.deployments, 'repair-files');
  const applied: RepairAction[] = [];
  const skipped: RepairAction[] = [];
  const byChain = new Map<number, RepairAction[]>();
  for (const action of plan.actions) {
    const { chainId } = parseKey(action.key);
    byChain.set(chainId, [...(byChain.get(chainId) ?? []), action]);
  }
  try {
    for (const [chainId, actions] of byChain) await repairChain(chainId, actions);
  } catch (error) {
    // The files written before the one that failed stay repaired: journalled all the same (the
    // report lists them), and named with the write's own error.
    await journalRepaired().catch(() => undefined);
    throw repairedBefore(error, inPlanOrder(applied));
  }
  await journalRepaired();
  // The repaired records are what the baseline expects already: it stays as it is.
  return { applied: inPlanOrder(applied), skipped: inPlanOrder(skipped) };

  async function repairChain(chainId: number, actions: readonly RepairAction[]): Promise<void> {
    const entries: SwapManyEntry[] = [];
    const written: RepairAction[] = [];
    const done: RepairAction[] = [];
    for (const action of actions) {
      const { contractName } = parseKey(action.key);
      const now = await json.get(chainId, contractName).catch(() => null);
      if (now && compareIntegers(timestampOf(now), action.timestamp) > 0) {
        skipped.push(action);
        continue;
      }
      const record = plan.records.get(action.key);
      const next = action.action === 'put' && record ? record : action.action === 'delete' && now ? null : undefined;
      // Nothing to write (a reappeared record gone again meanwhile): done as it is.
      if (next === undefined) {
        done.push(action);
        continue;
      }
      // Compared with what was just read: a write that lands in between is not overwritten.
      entries.push({ contractName, next, expected: now });
      written.push(action);
    }
    if (entries.length > 0) {
      const { swapped } = await json.swapMany(chainId, entries);
      written.forEach((action, i) => (swapped[i] ? done : skipped).push(action));
    }
    applied.push(...done);
  }

  /** In the plan's order, as shown to the operator. */
  function inPlanOrder(actions: RepairAction[]): RepairAction[] {
    const order = new Map(plan.actions.map((action, i) => [action, i]));
    return actions.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  }

  async function journalRepaired(): Promise<void> {
    if (applied.length === 0) return;
    await ctx.journal.appendOne({
      type: 'event',
      event: 'files-repaired',
      detail: inPlanOrder(applied)
        .map((a) => `${a.action} ${a.key}`)
        .join(', '),
      time: new Date().toISOString(),
      pid: process.pid,
      phase,
    });
  }
}

/** A repair's failure, saying which records were put back before it (they stay: a rerun repairs the rest). */
function repairedBefore(error: unknown, applied: readonly RepairAction[]): unknown {
  if (applied.length === 0 || !isStateError(error)) return error;
  const keys = applied.map((a) => a.key);
  return new StateError(error.code, `${error.message} (repaired before it, and kept: ${keys.join(', ')})`, {
    ...(error.file !== undefined && { file: error.file }),
    ...(error.key !== undefined && { key: error.key }),
    hint: 'the records named were put back and stay; fix the cause above and run repair-files again: it puts back only what is still missing',
    data: { ...error.data, repaired: keys },
    cause: error,
  });
}
