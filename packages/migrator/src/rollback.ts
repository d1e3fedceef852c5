// Rollback from any state: rolling-back (the factory refuses writes) -> carry every write and
// delete journalled since dual-write enable back into LevelDB -> leveldb-only. Re-runnable: a
// crash leaves rolling-back and the next run finishes the carry-back.
import { access, constants, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonFileStore } from '@deploystate/backend-json';
import { holdersAfterWait, lockWaitBudgetMs, openSnapshot } from '@deploystate/backend-leveldb';
import {
  canonicalDigest,
  commandLine,
  compareIntegers,
  compareKeys,
  digestStore,
  errnoCode,
  ErrorCodes,
  fileSystemError,
  NO_INODES_HINT,
  isStateError,
  isStopped,
  lockHolders,
  parseKey,
  StateError,
  StoreDigest,
  type DeploymentRecord,
  type InvalidEntry,
  type StateStore,
} from '@deploystate/core';
import { LEVELDB_LOCK_WAIT } from './backends.js';
import { isoNow, snapshotWait, type MigrationContext } from './context.js';
import { checkFiles, checkFilesAndRecord, coownedContext, foreignOverwriteError, forgetBaseline, journalledRecords } from './coowned.js';
import { assertGoneAcknowledgeable, assertNoneGone, describeGone, goneInPlan, goneNetworkFiles, type GoneNetworkFile } from './gone-network-files.js';
import { CARRIED_BACK, type IntentEntry, type Journal, type JournalEntry } from './journal.js';
import { summarizeJournal, waitForOutcomes } from './journal-queries.js';
import { GATE_FENCE_WAIT_MS, underGateFence } from './fence.js';
import { namingWritersInFlight } from './gate-writers.js';
import { listLevelDbBackups } from './leveldb-backups.js';
import { dropOutbox } from './outbox-status.js';
import { closeCutOffWrites, digestOf, openJsonFirstWrites } from './interrupted-writes.js';
import { assertRunGate } from './machine.js';
import { checklist } from './readiness.js';
import { cutoverNumber, latestMark } from './json-only-writes.js';
import { recordNotCarriedBack } from './not-carried-back.js';
import { assertWritesWork, describeRoom, fileSystemRoom, mib, stateTmp, type FileSystemRoom } from './file-system-checks.js';
import { sharedStateFile } from './shared-state.js';
import { pushTiming, readLocalState, readState, timing, updateState } from './state.js';
import type { MigrationPhase, MigrationStateFile, ReadinessReport, RollbackOptions, RollbackReadinessOptions, RollbackReport } from './types.js';
import { unreadableFiles } from './unreadable.js';
import { keysWrittenSince, quietPoint } from './written-since.js';

const JSON_AUTHORITATIVE: readonly MigrationPhase[] = ['json-primary', 'json-only'];
/** Records a carry-back writes to LevelDB in one batch (one synced write). */
const CARRY_BACK_BATCH = 1000;
/** How long the rollback waits for writes in flight before it plans while they still run. */
const EARLY_PLAN_FENCE_WAIT_MS = 1_000;

/**
 * The last intent per key whose write reached the primary (for a JSON side that cannot be read),
 * in one streamed pass. Entries after `untilSeq` (when given) are left out.
 */
async function lastGoodIntents(journal: Journal, sinceSeq: number, untilSeq = Infinity): Promise<Map<string, IntentEntry>> {
  const lastGood = new LastGoodIntents();
  for await (const e of journal.entries({ sinceSeq })) {
    if (e.seq > untilSeq) break;
    lastGood.add(e);
  }
  return lastGood.result();
}

/**
 * The last intent per key whose write reached the primary, folded entry by entry: an intent is good
 * unless an outcome `primary-failed` or `compensated` closes it. Each key keeps the intents that may
 * still be its answer (an intent is dropped once a later one of its key is known good, or once it
 * failed), so memory follows the keys and the writes in flight, not the journal's length.
 */
export class LastGoodIntents {
  private readonly candidates = new Map<string, IntentEntry[]>();
  private readonly keyOf = new Map<number, string>();

  add(e: JournalEntry): void {
    if (e.type === 'intent' && !e.probe) {
      const list = this.candidates.get(e.key);
      if (list) list.push(e);
      else this.candidates.set(e.key, [e]);
      this.keyOf.set(e.seq, e.key);
    } else if (e.type === 'outcome') {
      const key = this.keyOf.get(e.ref);
      if (key === undefined) return;
      const list = this.candidates.get(key) as IntentEntry[];
      const at = list.findIndex((intent) => intent.seq === e.ref);
      if (at === -1) return;
      const failed = e.outcome === 'primary-failed' || e.outcome === 'compensated';
      // A failed write is never the answer; a good one makes every earlier intent of its key no answer either.
      const dropped = failed ? list.splice(at, 1) : list.splice(0, at);
      for (const intent of dropped) this.keyOf.delete(intent.seq);
      if (failed && list.length === 0) this.candidates.delete(key);
    }
  }

  /** Each key's last good intent, keys in the order their first remaining intent was journalled. */
  result(): Map<string, IntentEntry> {
    const out = new Map<string, IntentEntry>();
    for (const [key, list] of this.candidates) {
      const last = list[list.length - 1];
      if (last) out.set(key, last);
    }
    return out;
  }
}

export interface CarryBackPlan {
  keys: string[];
  puts: Array<{ key: string; record: DeploymentRecord }>;
  deletes: string[];
  /** Planned from JSON: each LevelDB record's digest once the plan is applied (the digest reported, without reading LevelDB again). */
  after?: Map<string, string>;
  /**
   * What JSON could not be read, and so not carried back beyond this clone's journalled writes: a
   * network file that does not parse (a pulled merge left its conflict markers) by file name, or
   * an entry that is not a record by key. Nothing of theirs is deleted from LevelDB but what this
   * clone's journal deleted.
   */
  unreadable?: Array<{ key: string; file?: string; chainId?: number; code: string }>;
}

/**
 * From json-primary or json-only the JSON files are the complete copy and the carry-back makes
 * LevelDB equal to them: a deployments folder that is missing, not a folder, or holds no state file
 * while LevelDB holds records (a wrong path, a checkout without the files) reads as holding nothing,
 * and would empty LevelDB. Refused before anything changes, emergency or not (an emergency skips the
 * gates, never the carry-back it would corrupt).
 */
async function assertJsonFolder(ctx: MigrationContext, from: MigrationPhase): Promise<void> {
  if (!JSON_AUTHORITATIVE.includes(from)) return;
  const dir = ctx.files.deployments;
  let problem: string;
  try {
    // Looked at read-only: a store opened for writing would make the folder, or its own in a wrong one.
    const files = new JsonFileStore({ dir, readOnly: true, cache: false, registry: ctx.registry });
    await files.open();
    try {
      if ((await files.listStateFiles()).length > 0) return;
    } finally {
      await files.close();
    }
    let leveldbHolds = false;
    for await (const entry of (await ctx.leveldb()).iterate()) {
      leveldbHolds = entry !== undefined;
      break;
    }
    if (!leveldbHolds) return;
    problem = `${dir} holds no state file`;
  } catch (error) {
    // The folder is missing or is not one.
    if (!isStateError(error, ErrorCodes.STORE_NOT_FOUND)) throw error;
    problem = error.message;
  }
  throw new StateError(
    ErrorCodes.STORE_NOT_FOUND,
    `${problem}: in ${from} the JSON files are the complete copy, and rollback makes LevelDB equal to them, so it would delete every record there; nothing was changed`,
    {
      file: dir,
      hint: 'bring the folder back (`git status` shows whether it was deleted), or point --deployments (or "deployments" in deploystate.config.json) at it, then run rollback again',
    },
  );
}

/** The keys the carry-back never deletes from LevelDB: the recorded exclusions and unmigratable keys. */
const keptOut = (state: MigrationStateFile): Set<string> => new Set([...state.exclusions, ...state.unmigratable]);

/**
 * From json-primary or json-only: STORE_NOT_FOUND when a network file is gone whole while LevelDB
 * holds records of its chain (see gone-network-files.ts), unless `acknowledge` names it.
 */
async function assertNetworkFiles(ctx: MigrationContext, state: MigrationStateFile, from: MigrationPhase, acknowledge: readonly string[]): Promise<GoneNetworkFile[]> {
  if (!JSON_AUTHORITATIVE.includes(from)) return [];
  const gone = await goneNetworkFiles(ctx, keptOut(state), acknowledge);
  assertNoneGone(gone, from);
  return gone;
}

async function planCarryBack(ctx: MigrationContext, from: MigrationPhase, sinceSeq: number): Promise<CarryBackPlan> {
  const plan: CarryBackPlan = { keys: [], puts: [], deletes: [] };
  if (!JSON_AUTHORITATIVE.includes(from)) return plan;
  await waitForOutcomes(ctx.journal, sinceSeq, () => true);
  const intents = await lastGoodIntents(ctx.journal, sinceSeq);
  plan.keys = [...intents.keys()];
  const leveldb = await ctx.leveldb();
  let json: Awaited<ReturnType<MigrationContext['json']>> | null = null;
  try {
    json = await ctx.json();
  } catch {
    json = null; // An unreadable JSON side falls back to replaying the journal.
  }
  if (json) {
    const whole = await planFromJson(ctx, leveldb, json).catch(() => null);
    if (whole) {
      // What JSON could not say is carried back as this clone journalled it; the rest is JSON's.
      const unsaid = whole.unreadable === undefined ? [] : plan.keys.filter((key) => notReadFromJson(whole, key));
      await replayJournal(whole, unsaid, intents, leveldb);
      return { ...whole, keys: plan.keys };
    }
  }
  await replayJournal(plan, plan.keys, intents, leveldb);
  return plan;
}

/** Adds to `plan` each key's last journalled write that LevelDB does not hold yet. */
async function replayJournal(plan: CarryBackPlan, keys: readonly string[], intents: ReadonlyMap<string, IntentEntry>, leveldb: StateStore): Promise<void> {
  for (const key of keys) {
    const { chainId, contractName } = parseKey(key);
    const intent = intents.get(key) as IntentEntry;
    const wanted = intent.op === 'put' ? (intent.record ?? null) : null;
    const have = await leveldb.get(chainId, contractName);
    if (wanted === null) {
      if (have !== null) plan.deletes.push(key);
    } else if (have === null || canonicalDigest(have) !== canonicalDigest(wanted)) {
      plan.puts.push({ key, record: wanted });
      plan.after?.set(key, canonicalDigest(wanted));
    }
    if (wanted === null) plan.after?.delete(key);
  }
}

/** Whether a plan from JSON could not read `key` (its entry, or its chain's whole file). */
function notReadFromJson(plan: CarryBackPlan, key: string): boolean {
  const { chainId } = parseKey(key);
  return (plan.unreadable ?? []).some((entry) => entry.key === key || (entry.file !== undefined && entry.chainId === chainId));
}

/**
 * LevelDB made equal to JSON for every key, minus the recorded exclusions and unmigratable keys:
 * writes a teammate made on the JSON side and pulled through git are not in this clone's journal,
 * and must come back all the same. Values neither side can read are left where they are.
 * (A key whose journalled write JSON no longer holds is for the foreign-overwrite check to stop on
 * before this plan is applied.)
 */
async function planFromJson(ctx: MigrationContext, leveldb: StateStore, json: StateStore): Promise<CarryBackPlan> {
  const state = await readState(ctx.files);
  const skip = new Set([...state.exclusions, ...state.unmigratable]);
  const have = new Map<string, string>();
  const unreadable = new Set<string>();
  for await (const { key, record } of leveldb.iterate({ onInvalid: (e) => unreadable.add(e.key) })) have.set(key, canonicalDigest(record));
  const after = new Map(have);
  const plan: CarryBackPlan = { keys: [], puts: [], deletes: [], after };
  const notRead: NonNullable<CarryBackPlan['unreadable']> = [];
  const onInvalid = ({ key, finding }: InvalidEntry): void => {
    // A whole file that cannot be read is reported under its file name, with no record key.
    const wholeFile = finding.key === undefined && finding.file !== undefined;
    notRead.push({ key, code: finding.code, ...(wholeFile && { file: finding.file, chainId: finding.chainId }) });
  };
  for await (const { key, record } of json.iterate({ onInvalid })) {
    if (skip.has(key)) continue;
    const digest = canonicalDigest(record);
    if (have.get(key) !== digest) {
      plan.puts.push({ key, record });
      after.set(key, digest);
    }
    have.delete(key);
  }
  if (notRead.length > 0) plan.unreadable = notRead;
  for (const key of have.keys()) {
    // What JSON could not read (a record, or its chain's whole file) cannot be called absent there.
    if (skip.has(key) || unreadable.has(key) || notReadFromJson(plan, key)) continue;
    plan.deletes.push(key);
    after.delete(key);
  }
  return plan;
}

/**
 * Before writers are stopped: the plan from JSON against a LevelDB snapshot taken at a quiet point
 * of the fence, and the journal's seq there. Under rolling-back only the keys written since are
 * read again (replanWritten), so writers wait for that, not for a read of both whole sides.
 * Undefined where the JSON side cannot be planned from (the carry-back then replays the journal).
 */
async function planBeforeStopping(ctx: MigrationContext, sinceSeq: number): Promise<EarlyPlan | undefined> {
  // Only a head start: a write that keeps the fence longer leaves the whole plan for rolling-back.
  const seq = await quietPoint(ctx, 'rollback', EARLY_PLAN_FENCE_WAIT_MS).catch((error: unknown) => {
    if (isStateError(error, ErrorCodes.LOCKED)) return undefined;
    throw error;
  });
  if (seq === undefined) return undefined;
  const snapshot = await openSnapshot(ctx.files.leveldb, { registry: ctx.registry, ...snapshotWait(ctx) });
  try {
    const json = await ctx.json().catch(() => null);
    const planned = json && (await planFromJson(ctx, snapshot.store, json).catch(() => null));
    // What JSON could not read is carried back from the journal, which only the fenced plan does.
    const plan = planned?.unreadable === undefined ? planned : null;
    // The keys written up to the quiet point, while writers still write: no write was in flight
    // there, so a later outcome never closes an intent before it.
    return plan ? { plan, seq, keys: [...(await lastGoodIntents(ctx.journal, sinceSeq, seq)).keys()] } : undefined;
  } finally {
    await snapshot.dispose();
  }
}

/** The plan made before writers were stopped, at a quiet point `seq`, with the keys written up to it. */
interface EarlyPlan {
  plan: CarryBackPlan;
  seq: number;
  keys: string[];
}

/** The early plan made current: each key written since its quiet point planned again from JSON and LevelDB as they are now. */
async function replanWritten(ctx: MigrationContext, early: EarlyPlan): Promise<CarryBackPlan> {
  await waitForOutcomes(ctx.journal, early.seq, () => true);
  const written = await keysWrittenSince(ctx.journal, early.seq);
  const state = await readState(ctx.files);
  const skip = new Set([...state.exclusions, ...state.unmigratable]);
  const { plan } = early;
  const after = plan.after as Map<string, string>;
  const puts = plan.puts.filter((p) => !written.has(p.key));
  const deletes = plan.deletes.filter((k) => !written.has(k));
  const leveldb = await ctx.leveldb();
  const json = await ctx.json();
  for (const key of written) {
    if (skip.has(key)) continue;
    const { chainId, contractName } = parseKey(key);
    const [wanted, have] = await Promise.all([json.get(chainId, contractName), leveldb.get(chainId, contractName)]);
    if (wanted === null) {
      if (have !== null) deletes.push(key);
      after.delete(key);
      continue;
    }
    const digest = canonicalDigest(wanted);
    if (have === null || canonicalDigest(have) !== digest) puts.push({ key, record: wanted });
    after.set(key, digest);
  }
  const keys = new Set([...early.keys, ...(await lastGoodIntents(ctx.journal, early.seq)).keys()]);
  return { keys: [...keys], puts, deletes, after };
}

/** [coowned] The plan with each lost key's journalled record instead of what JSON holds now (none: LevelDB keeps its own). */
function keepJournalled(plan: CarryBackPlan, journalled: ReadonlyMap<string, DeploymentRecord | null>): CarryBackPlan {
  if (journalled.size === 0) return plan;
  const puts = plan.puts.filter((p) => !journalled.has(p.key));
  for (const [key, record] of journalled) if (record) puts.push({ key, record });
  // No `after`: LevelDB keeps its own record for some keys, and is read for the digest instead.
  return { keys: plan.keys, puts, deletes: plan.deletes.filter((k) => !journalled.has(k)), ...(plan.unreadable && { unreadable: plan.unreadable }) };
}

/** The LevelDB digest a rollback reports; values that do not decode are listed by analysis, not here. */
async function leveldbDigestOf(leveldb: StateStore, plan: CarryBackPlan): Promise<string> {
  if (plan.after) {
    const digest = new StoreDigest();
    for (const key of [...plan.after.keys()].sort(compareKeys)) digest.addDigest(key, plan.after.get(key) as string);
    return digest.digest();
  }
  return (await digestStore(leveldb.iterate({ onInvalid: () => undefined }))).digest;
}

/**
 * From leveldb-only: LevelDB is the primary and holds every write, so there is nothing to carry back
 * or switch, and nothing is opened (opening LevelDB rewrites files a team commits).
 */
export function nothingToRollBack(options: RollbackOptions): RollbackReport {
  return {
    from: 'leveldb-only',
    emergency: options.emergency ?? false,
    replayed: 0,
    puts: 0,
    deletes: 0,
    leveldbDigest: '',
    durationMs: 0,
    nothingToDo: true,
  };
}

/**
 * This clone's writes made on the JSON side (json-primary, json-only) after `since` (leftBehindSince)
 * and up to `untilSeq`, as last journalled per key, where a rollback never carried them back: the
 * phase file says leveldb-only (a teammate's rollback, pulled) while this clone's state still holds
 * its migration (a rollback of its own clears it). Read-only; empty when there is nothing left behind.
 */
async function writesLeftBehind(
  ctx: MigrationContext,
  state: MigrationStateFile,
  since: number | null,
  untilSeq: number,
): Promise<Map<string, IntentEntry>> {
  const left = new Map<string, IntentEntry>();
  if (since === null) return left;
  if (await ownRollbackFinished(ctx, state)) return left;
  for (const [key, intent] of await lastGoodIntents(ctx.journal, since, untilSeq))
    if (JSON_AUTHORITATIVE.includes(intent.phase as MigrationPhase)) left.set(key, intent);
  return left;
}

/**
 * Where this clone's JSON-side writes a teammate's rollback may have left behind start, in
 * leveldb-only: its own dual-write enable; or, in a clone that joined the migration past that step
 * (cloned or pulled in a JSON phase, never enabling dual-write itself) and has not written its
 * state since the phase file's rollback, its whole journal. Either way after the last carry-back
 * this clone finished (journalled CARRIED_BACK): what that one carried, and a record deleted in
 * leveldb-only since, is never carried again. Else null: nothing is left behind.
 */
export async function leftBehindSince(ctx: MigrationContext, state: MigrationStateFile): Promise<number | null> {
  if (state.phase !== 'leveldb-only') return null;
  if (state.dualWriteSinceSeq !== null) return Math.max(state.dualWriteSinceSeq, await carriedBackThrough(ctx.journal));
  const rollback = state.rollback;
  if (rollback?.completedAt === undefined) return null;
  // Every state write keeps the phase file's rollback in state.json too: this clone's own rollback,
  // or its carry-back of what a pulled one left behind, records it there.
  const local = await readLocalState(ctx.files).catch(() => null);
  return local !== null && local.rollback?.startedAt === rollback.startedAt ? null : carriedBackThrough(ctx.journal);
}

/** The last seq a finished carry-back of this clone covered (its CARRIED_BACK event), or 0: one streamed pass. */
async function carriedBackThrough(journal: Journal): Promise<number> {
  let through = 0;
  for await (const e of journal.entries())
    if (e.type === 'event' && e.event === CARRIED_BACK && Number.isSafeInteger(e.throughSeq)) through = Math.max(through, e.throughSeq as number);
  return through;
}

/** Journals a finished carry-back that covered every JSON-side write up to `throughSeq` (durable: a later carry-back trusts it). */
async function journalCarriedBack(ctx: MigrationContext, throughSeq: number): Promise<void> {
  if (throughSeq <= 0) return;
  await ctx.journal.appendOne({
    type: 'event',
    event: CARRIED_BACK,
    throughSeq,
    detail: `JSON-side writes through seq ${throughSeq} carried back`,
    time: isoNow(ctx),
    pid: process.pid,
    phase: 'leveldb-only',
  });
}

/**
 * Whether the finished rollback the phase file holds is this clone's own, cut off before its
 * state.json write (killed, disk full): state.json still holds that rollback's start. Its carry-back
 * is done, and a deploy script's delete since (not journalled in leveldb-only) must not be undone.
 */
async function ownRollbackFinished(ctx: MigrationContext, state: MigrationStateFile): Promise<boolean> {
  if (state.rollback?.carriedBack !== true) return false;
  const local = await readLocalState(ctx.files);
  return local.phase === 'rolling-back' && local.rollback?.startedAt === state.rollback.startedAt;
}

/**
 * rollback in leveldb-only where a teammate's rollback left this clone's JSON-side writes behind
 * (writesLeftBehind): each put LevelDB lacks, or holds older by timestamp, is carried into it,
 * holding LevelDB from the read to the write (a deploy script's write meanwhile waits, and is
 * never overwritten). Deletes are listed, not carried back. Then this clone's migration evidence
 * is cleared, as its own rollback clears it. Nothing left behind: nothing opened or written.
 */
export async function carryBackLeftBehind(ctx: MigrationContext, options: RollbackOptions): Promise<RollbackReport> {
  const started = ctx.now();
  const state = await readState(ctx.files);
  const since = await leftBehindSince(ctx, state);
  if (since === null) return nothingToRollBack(options);
  // What this run covers: the journal up to here (a line appended meanwhile is the next run's).
  const through = await ctx.journal.lastSeq();
  const left = await writesLeftBehind(ctx, state, since, through);
  const leftBehind: NonNullable<RollbackReport['leftBehind']> = { carriedBack: [], newerInLevelDb: [], deletes: [] };
  const keys = [...left.keys()].sort(compareKeys);
  const leveldb = left.size === 0 ? undefined : await ctx.leveldb();
  const carry = async (apply: boolean): Promise<void> => {
    for (const key of keys) {
      const intent = left.get(key) as IntentEntry;
      if (intent.op !== 'put' || intent.record === undefined) {
        leftBehind.deletes.push(key);
        continue;
      }
      const { chainId, contractName } = parseKey(key);
      const have = await (leveldb as NonNullable<typeof leveldb>).get(chainId, contractName);
      if (have !== null && canonicalDigest(have) === canonicalDigest(intent.record)) continue;
      if (have !== null && compareIntegers(have.timestamp, intent.record.timestamp) > 0) {
        leftBehind.newerInLevelDb.push(key);
        continue;
      }
      if (apply) await (leveldb as NonNullable<typeof leveldb>).put(intent.record);
      leftBehind.carriedBack.push(key);
    }
  };
  if (leveldb !== undefined) {
    if (options.dryRun) await carry(false);
    else await leveldb.holdWhile(() => carry(true));
  }
  if (!options.dryRun) {
    if (through > since) await journalCarriedBack(ctx, through);
    await updateState(ctx.files, (s) => {
      clearMigrationEvidence(s);
      pushTiming(
        s,
        timing('rollback (left behind)', started, 'done', `${leftBehind.carriedBack.length} put in LevelDB, ${leftBehind.newerInLevelDb.length} newer there kept, ${leftBehind.deletes.length} delete(s) listed`),
      );
    });
  }
  return {
    ...nothingToRollBack(options),
    nothingToDo: leftBehind.carriedBack.length === 0 && leftBehind.newerInLevelDb.length === 0 && leftBehind.deletes.length === 0,
    puts: leftBehind.carriedBack.length,
    replayed: leftBehind.carriedBack.length,
    durationMs: ctx.now() - started,
    leftBehind,
  };
}

export async function runRollback(
  ctx: MigrationContext,
  options: RollbackOptions,
  readiness: () => Promise<ReadinessReport>,
): Promise<RollbackReport> {
  const started = ctx.now();
  const emergency = options.emergency ?? false;
  const state = await readState(ctx.files);
  const from: MigrationPhase = state.phase === 'rolling-back' ? (state.rollback?.from ?? 'json-only') : state.phase;
  const acknowledge = options.acknowledge ?? [];
  assertGoneAcknowledgeable(acknowledge);
  await assertJsonFolder(ctx, from);
  // LevelDB held by a live process (a deploy script paused or busy) is a wait that ran out, not an
  // unready rollback: LOCKED naming that process, before anything changes. Readiness would call it
  // a failed check and offer --emergency, which would switch to rolling-back (every write refused)
  // and then wait for the same process. Any other failure to open is readiness's to report.
  const openable = await ctx.leveldb().then(
    () => true,
    (error: unknown) => {
      if (isStateError(error, ErrorCodes.LOCKED)) throw error;
      return false;
    },
  );
  // A network file gone whole would read as every record of its chain deleted: refused before
  // anything changes, emergency or not, as a folder gone whole is (checked again on the plan).
  if (openable) await assertNetworkFiles(ctx, state, from, acknowledge);
  if (JSON_AUTHORITATIVE.includes(from)) await assertNoWritePaused(ctx);
  const sinceSeq = state.dualWriteSinceSeq ?? 0;
  // [coowned] Where JSON is carried back, a record other code's rewrite dropped would be deleted or
  // reverted in LevelDB: stop (an emergency carries the journalled record back instead). Before the
  // readiness gate, which checks the same (so `rollback --ready` never calls ready a rollback that
  // stops here) and is told it was checked: the refusal keeps its own code.
  const lost = JSON_AUTHORITATIVE.includes(from) ? (await checkFilesAndRecord(coownedContext(ctx))).findings : [];
  if (lost.length > 0 && !emergency) throw foreignOverwriteError(lost, 'rollback');
  if (!emergency) {
    assertRunGate(
      'rollback readiness',
      await readiness(),
      undefined,
      'fix the failing checks, or run an emergency rollback (EMERGENCY_ROLLBACK=true / --emergency), which skips the gates but never the carry-back',
    );
  }
  const journalWins = lost.length > 0 ? await journalledRecords(coownedContext(ctx), lost) : new Map<string, DeploymentRecord | null>();
  if (options.dryRun) {
    const plan = keepJournalled(await planCarryBack(ctx, from, sinceSeq), journalWins);
    const gone = await goneInPlan(ctx, plan.deletes, acknowledge);
    assertNoneGone(gone, from);
    const leveldb = await ctx.leveldb();
    const digest = await leveldbDigestOf(leveldb, { ...plan, after: undefined });
    const outbox = [...new Set((await leveldb.readOutbox()).map((e) => e.key))];
    return rollbackReport(ctx, { from, emergency, started }, plan, digest, journalWins, outbox, gone);
  }
  // While writers still write: the whole plan, read from JSON and a LevelDB snapshot.
  const early = state.phase !== 'rolling-back' && JSON_AUTHORITATIVE.includes(from) ? await planBeforeStopping(ctx, sinceSeq) : undefined;
  // The rolling-back this run leaves (none when it found one): what a stop before the carry-back puts back.
  const left = state.phase === 'rolling-back' ? undefined : { from, startedAt: isoNow(ctx) };
  if (left !== undefined) {
    await updateState(ctx.files, (s) => {
      s.rollback = { from, startedAt: left.startedAt, emergency, carriedBack: false };
      s.phase = 'rolling-back';
    });
  }
  // The carry-back is a gate: it holds the fence, so the writes that began before the phase flipped
  // have finished before it reads (on timeout LOCKED naming them, nothing carried back: see the
  // catch below), and no write lands on JSON after it read JSON and before the switch.
  /** Set once LevelDB is about to be written: an error after that stopped the carry-back partway. */
  let carrying = false;
  const { plan, scanned, kept, outboxDropped, gone } = await underGateFence(ctx.files, 'rollback', async () => {
    const planned = early ? await replanWritten(ctx, early) : await planCarryBack(ctx, from, sinceSeq);
    // [coowned] Checked again once the plan has read JSON: a rewrite since the first check would
    // otherwise be carried back as the truth.
    const lostNow = JSON_AUTHORITATIVE.includes(from) ? (await checkFilesAndRecord(coownedContext(ctx))).findings : [];
    if (lostNow.length > 0 && !emergency) throw foreignOverwriteError(lostNow, 'rollback');
    // What the fenced check finds, not the first one: a write that landed between that one's reads
    // (a script's delete) looked lost there, and its earlier record must not come back.
    const wins = lostNow.length > 0 ? await journalledRecords(coownedContext(ctx), lostNow) : new Map<string, DeploymentRecord | null>();
    const plan = keepJournalled(planned, wins);
    // The plan itself looked at: a network file gone since the first check (or an earlier run's
    // rolling-back, which went straight here) stops it before anything is deleted.
    const gone = await goneInPlan(ctx, plan.deletes, acknowledge);
    assertNoneGone(gone, from, 'nothing was carried back');
    const leveldb = await ctx.leveldb();
    carrying = true;
    // In batches: the command's LevelDB store syncs each write, so a batch costs one disk flush, not one a record.
    for (let i = 0; i < plan.puts.length; i += CARRY_BACK_BATCH) await leveldb.putMany(plan.puts.slice(i, i + CARRY_BACK_BATCH).map((p) => p.record));
    for (const key of plan.deletes) {
      const { chainId, contractName } = parseKey(key);
      await leveldb.delete(chainId, contractName);
    }
    // [outbox] JSON is not written after this: what it had not received yet leaves LevelDB's outbox.
    const outboxDropped = await dropOutbox(ctx, leveldb);
    // Writes cut off between JSON and LevelDB get their outcome: LevelDB now holds what JSON does.
    await closeCutOff(ctx, sinceSeq);
    // Planned from JSON, the digest needs no read of LevelDB and is made once writers go on; else
    // LevelDB is read now, before they write to it again.
    const scanned = plan.after ? undefined : await leveldbDigestOf(leveldb, plan);
    await forgetBaseline(coownedContext(ctx)); // [coowned] JSON is no longer written after this
    await switchBack(ctx, from, started, emergency, plan);
    return { plan, scanned, kept: wins, outboxDropped, gone };
  }).catch(async (error: unknown) => {
    // Stopped once LevelDB was being written (its folder gone mid-run, say): LevelDB holds part of
    // the carry-back, so the phase stays rolling-back and the next run carries back everything.
    if (carrying) return stoppedPartway(error);
    // Stopped by a file another program rewrote, before anything was carried back: the phase this
    // run left goes back, so writes go on (a rollback that found the phase already rolling-back
    // leaves it so, and says what ends it).
    if (isStateError(error, ErrorCodes.FOREIGN_OVERWRITE)) throw await stoppedBeforeCarryBack(ctx, error, left);
    // Stopped by a network file gone whole: likewise, and an emergency would be refused the same.
    if (isStateError(error, ErrorCodes.STORE_NOT_FOUND)) throw await stoppedBeforeCarryBack(ctx, error, left, error.hint);
    // The fence never taken (a writer paused or hung holding it): nothing was carried back either.
    // Left rolling-back, every deploy script's write would be refused until an operator ran rollback
    // again, though the writer that kept the gate out goes on as soon as it resumes.
    if (isStateError(error, ErrorCodes.LOCKED) && error.file === ctx.files.fence)
      throw await stoppedBeforeCarryBack(ctx, error, left, 'run rollback again once they have finished');
    return stillRollingBack(error);
  });
  const leveldbDigest = scanned ?? (await leveldbDigestOf(await ctx.leveldb(), plan));
  return rollbackReport(ctx, { from, emergency, started }, plan, leveldbDigest, kept, outboxDropped, gone);
}

/** What a rollback (or its dry run) reports: its plan's counts, LevelDB's digest, the keys kept from the journal. */
function rollbackReport(
  ctx: MigrationContext,
  run: { from: MigrationPhase; emergency: boolean; started: number },
  plan: CarryBackPlan,
  leveldbDigest: string,
  kept: ReadonlyMap<string, unknown>,
  outboxDropped: readonly string[],
  gone: readonly GoneNetworkFile[] = [],
): RollbackReport {
  const acknowledgedGone = gone.filter((g) => g.acknowledged).map(({ file, chainId, records }) => ({ file, chainId, records }));
  return {
    from: run.from,
    emergency: run.emergency,
    replayed: plan.keys.length,
    puts: plan.puts.length,
    deletes: plan.deletes.length,
    ...(plan.deletes.length > 0 && { deletedKeys: [...plan.deletes].sort(compareKeys) }),
    leveldbDigest,
    durationMs: ctx.now() - run.started,
    ...(kept.size > 0 && { keptFromJournal: [...kept.keys()] }),
    ...(outboxDropped.length > 0 && { outboxDropped: [...outboxDropped] }),
    ...(plan.unreadable && { unreadableInJson: plan.unreadable.map(({ key, file, code }) => ({ key, code, ...(file !== undefined && { file }) })) }),
    ...(acknowledgedGone.length > 0 && { acknowledgedGone }),
  };
}

/** A carry-back the fence kept waiting: the migration stays rolling-back until rollback runs again. */
function stillRollingBack(error: unknown): never {
  if (!isStateError(error, ErrorCodes.LOCKED)) throw error;
  throw new StateError(ErrorCodes.LOCKED, `${error.message}; the migration stays rolling-back (writes are refused) until rollback runs again`, {
    ...(error.file !== undefined && { file: error.file }),
    hint: 'run rollback again once the writes in flight have finished',
    cause: error,
  });
}

/** A carry-back stopped after it began writing LevelDB: the migration stays rolling-back until rollback runs again. */
function stoppedPartway(error: unknown): never {
  if (isStateError(error, ErrorCodes.LOCKED)) return stillRollingBack(error);
  if (!isStateError(error)) throw error;
  const where = 'the carry-back stopped partway (LevelDB holds part of it); the migration stays rolling-back (writes are refused) until rollback runs again, which carries back every key';
  throw new StateError(error.code, `${error.message}; ${where}`, {
    ...(error.file !== undefined && { file: error.file }),
    ...(error.key !== undefined && { key: error.key }),
    hint: error.hint !== undefined ? `${error.hint}; then run rollback again` : 'run rollback again',
    cause: error,
  });
}

/** Closes the json-primary writes cut off before their outcome, once LevelDB holds what JSON does (or kept its own). */
async function closeCutOff(ctx: MigrationContext, sinceSeq: number): Promise<void> {
  const open = await openJsonFirstWrites(ctx.journal, sinceSeq);
  if (open.size === 0) return;
  const json = await ctx.json();
  const leveldb = await ctx.leveldb();
  for (const [key, writes] of open) {
    const { chainId, contractName } = parseKey(key);
    // A side that cannot be read leaves the key's cut-off writes open: no outcome is guessed.
    const read = async (store: StateStore): Promise<string | null | undefined> =>
      store.get(chainId, contractName).then(digestOf, () => undefined);
    const [inJson, inLevelDb] = [await read(json), await read(leveldb)];
    if (inJson === undefined || inLevelDb === undefined) continue;
    await closeCutOffWrites(ctx.journal, key, writes.open, { json: inJson, leveldb: inLevelDb, wrote: false }, 'rollback', () => isoNow(ctx));
  }
}

/**
 * A carry-back that stopped before it wrote anything: the phase back to `left.from` (when this run
 * left it, and its rolling-back still stands), and an error that says where things stand.
 */
async function stoppedBeforeCarryBack(
  ctx: MigrationContext,
  error: StateError,
  left: { from: MigrationPhase; startedAt: string } | undefined,
  hint = `${error.hint ?? ''}; or roll back keeping the journalled records: rollback --emergency`.replace(/^; /, ''),
): Promise<StateError> {
  // A phase changed while this run waited for the fence (a teammate's phase.json pulled through git:
  // their finished rollback, say) is not this run's to undo: putting `from` over it would route
  // every deploy script by a phase the team has left.
  let changed: MigrationPhase | undefined;
  if (left !== undefined)
    await updateState(ctx.files, (s) => {
      if (s.phase !== 'rolling-back' || s.rollback?.startedAt !== left.startedAt) {
        changed = s.phase;
        return;
      }
      s.phase = left.from;
      s.rollback = null;
    });
  const where =
    left === undefined
      ? 'nothing was carried back; the migration stays rolling-back (writes are refused) until rollback runs again'
      : changed !== undefined
        ? `nothing was carried back; the phase changed meanwhile (now ${changed}) and is left as it is`
        : `nothing was carried back and the phase is ${left.from} again (writes go on)`;
  return new StateError(error.code, `${error.message}; ${where}`, {
    ...(error.file !== undefined && { file: error.file }),
    ...(error.key !== undefined && { key: error.key }),
    hint,
    cause: error,
  });
}

/** This clone's evidence of a migration (its dual-write start, copy, verify, cut-over, divergence), as a rollback leaves it. */
function clearMigrationEvidence(s: MigrationStateFile): void {
  s.dualWriteSinceSeq = null;
  s.copy = null;
  s.lastVerify = null;
  s.cutoverEvidence = null;
  s.diverged = false;
  s.divergedBy = null;
}

/** The carry-back done: leveldb-only, the migration's evidence cleared. */
async function switchBack(ctx: MigrationContext, from: MigrationPhase, started: number, emergency: boolean, plan: CarryBackPlan): Promise<void> {
  // Under the fence, LevelDB now holds every JSON-side write journalled so far: a teammate's later
  // rollback, pulled, leaves behind only what this clone writes after this point.
  if (JSON_AUTHORITATIVE.includes(from)) await journalCarriedBack(ctx, await ctx.journal.lastSeq());
  await updateState(ctx.files, (s) => {
    s.rollback = {
      from,
      startedAt: s.rollback?.startedAt ?? new Date(started).toISOString(),
      emergency,
      carriedBack: true,
      completedAt: isoNow(ctx),
      // Named by file name, not path: state.json is shared through git.
      ...(plan.unreadable && { notCarriedBack: plan.unreadable.map((entry) => recordNotCarriedBack(entry, plan.after)) }),
    };
    s.phase = 'leveldb-only';
    clearMigrationEvidence(s);
    // The JSON side's writes are LevelDB's now (or, in an emergency, let go): every cut-over a file is
    // marked with is ended, this one's and any a git revert took out of phase.json before this rollback.
    if (JSON_AUTHORITATIVE.includes(from)) {
      s.cutoversRolledBack = Math.max(s.cutoversRolledBack ?? 0, cutoverNumber(s), latestMark(ctx.files.deployments));
      s.cutovers = Math.max(s.cutovers ?? 0, s.cutoversRolledBack);
    }
    // No cut-over stands any more: neither its LevelDB digest nor what it was told to accept.
    s.cutoverLeveldb = null;
    s.acknowledged = [];
    pushTiming(
      s,
      timing(
        emergency ? 'rollback (emergency)' : 'rollback',
        started,
        'done',
        `from ${from}: ${plan.puts.length} put, ${plan.deletes.length} deleted in LevelDB`,
      ),
    );
  });
}

/** What a rollback writes besides the records it carries back and its state files (journal lines, LevelDB's own files). */
const ROLLBACK_MARGIN_BYTES = 1024 * 1024;

/** The files a rollback may create on a file system (LevelDB's log, tables and MANIFEST, the state files' temp files, a backup's). */
const ROLLBACK_MARGIN_INODES = 64;

/**
 * The room a rewrite of the migration's state takes: state.json and phase.json are each written
 * whole beside the old one, one at a time; from the cut-over on they hold LevelDB's digest of every
 * record (about 100 bytes a record, 9-10 MB at 100k).
 */
async function stateRewriteBytes(ctx: MigrationContext): Promise<number> {
  const sizes = await Promise.all(
    [ctx.files.state, sharedStateFile(ctx.files.stateDir)].map((file) => stat(file).then((s) => s.size, () => 0)),
  );
  return Math.max(...sizes);
}

/** The bytes of the state files in the deployments folder: at most what a carry-back writes into LevelDB. */
async function stateFileBytes(folder: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    total += await stat(join(folder, name)).then((s) => (s.isFile() ? s.size : 0), () => 0);
  }
  return total;
}

/**
 * From the JSON phases the carry-back takes the write fence as a gate. A deploy script paused
 * (SIGSTOP, a debugger) while its store holds the fence never lets it go: the carry-back would wait
 * GATE_FENCE_WAIT_MS after the switch to rolling-back and stop. LOCKED naming it, before anything
 * changes (emergency too, which would wait the same). Writers that go on let it go within their write.
 */
async function assertNoWritePaused(ctx: MigrationContext): Promise<void> {
  const paused = lockHolders(ctx.files.fence).filter((h) => h.pid !== process.pid && isStopped(h.pid));
  if (paused.length === 0) return;
  const stopped = paused.map((h) => `pid ${h.pid} (${commandLine(h.pid) ?? h.command})`).join(', ');
  const held = new StateError(ErrorCodes.LOCKED, `${ctx.files.fence} is held by a paused deploy script, ${stopped}`, { file: ctx.files.fence });
  // The writes it was making, by key, where the journal shows them (as a gate that waited names them).
  const inFlight = await namingWritersInFlight(ctx.files, held);
  const who = inFlight.message === held.message ? held.message : `${inFlight.message}; paused: ${stopped}`;
  throw new StateError(ErrorCodes.LOCKED, `${who}; the rollback would wait ${GATE_FENCE_WAIT_MS / 1000} s for it and stop, so nothing was changed`, {
    file: ctx.files.fence,
    hint: `resume it (kill -CONT ${paused[0]?.pid}) or end it, then run rollback again`,
  });
}

/** A refusal the rollback would make, as a readiness check's failure: its code, message and hint (and `more`). */
function refusalAsCheck(error: StateError, more?: string): Error {
  return new Error([`${error.code}: ${error.message}`, error.hint, more].filter((part) => part !== undefined).join('; '));
}

/** A write check's failure as a readiness check's: its code, message and hint (an error of no code as it is). */
function failedWriteAsCheck(error: unknown): never {
  throw isStateError(error) ? refusalAsCheck(error) : error;
}


/**
 * Every check a rollback that is not an emergency must pass, so that ready means it proceeds. Those
 * that an emergency rollback also refuses on (the deployments folder, a network file gone) are
 * checks here too. `checkedByRun`: the rollback itself checked the network files, the records
 * other code dropped and the paused writers just before its gate, and refused on them, so they are
 * not looked at again.
 */
export async function rollbackReadiness(ctx: MigrationContext, options: RollbackReadinessOptions = {}, checkedByRun = false): Promise<ReadinessReport> {
  const { check, report } = checklist();
  let phase: MigrationPhase = 'leveldb-only';
  let copyStarted = false;
  let state: MigrationStateFile | undefined;
  await check('state readable', async () => {
    const s = await readState(ctx.files);
    state = s;
    // A rollback stopped part-way still has to carry back what the phase it left held: its checks.
    phase = s.phase === 'rolling-back' ? (s.rollback?.from ?? s.phase) : s.phase;
    copyStarted = s.copy !== null;
    return s.phase === 'rolling-back' ? `phase rolling-back (from ${phase})` : `phase ${s.phase}`;
  });
  await check('journal readable', async () => {
    const read = await summarizeJournal(ctx.journal, 0);
    const open = read.open.length;
    return `${read.entries} entries up to seq ${read.lastSeq}${read.torn ? `, ${read.torn} torn line(s) skipped` : ''}${open ? `, ${open} write(s) without outcome` : ''}`;
  });
  // The live LevelDB, which the rollback opens (readiness may read a snapshot copy): held past the
  // wait an open makes (a process paused, or one that does not hand it over), the rollback stops
  // with LOCKED naming it, and readiness says the same.
  await check('leveldb free', async () => {
    const wait = ctx.lockWait ?? LEVELDB_LOCK_WAIT;
    const held = await holdersAfterWait(ctx.files.leveldb, wait);
    if (held.length > 0) {
      const named = held.map((h) => `pid ${h.pid} (${commandLine(h.pid) ?? h.command}${h.stopped ? ', stopped: resume it (kill -CONT) or end it' : ''})`).join(', ');
      throw new Error(`LOCKED: ${ctx.files.leveldb} is held by ${named}; the rollback would wait about ${Math.round(lockWaitBudgetMs(wait) / 1000)} s for it and stop with LOCKED`);
    }
    return 'no other process holds it past the wait an open makes';
  });
  // The rollback itself refused on it just before its gate (checkedByRun): not looked at twice.
  if (JSON_AUTHORITATIVE.includes(phase) && !checkedByRun)
    await check('no write paused', async () => {
      try {
        await assertNoWritePaused(ctx);
      } catch (error) {
        throw refusalAsCheck(error as StateError);
      }
      return 'no deploy script is paused holding the write fence';
    });
  await check('leveldb openable', async () => {
    const store = await ctx.leveldb();
    const report = await store.health();
    if (!report.ok) throw new Error(report.detail ?? `LevelDB is ${report.status}`);
    return ctx.files.leveldb;
  });
  await check('leveldb writable', async () => {
    // access() passes on a file system the kernel turned read-only after an error: only a write tells.
    await assertWritesWork(ctx.files.stateDir, ctx.files.leveldb).catch(failedWriteAsCheck);
    const refused = (file: string) => (error: unknown) => failedWriteAsCheck(fileSystemError(error, file, 'cannot write'));
    await access(ctx.files.leveldb, constants.W_OK).catch(refused(ctx.files.leveldb));
    for (const name of await readdir(ctx.files.leveldb)) {
      // A file a live writer's compaction removed since the listing is no obstacle.
      const file = join(ctx.files.leveldb, name);
      await access(file, constants.W_OK).catch((error: unknown) => {
        if (errnoCode(error) !== 'ENOENT') refused(file)(error);
      });
    }
    return 'folder and files writable; a test file was written on its file system and removed';
  });
  await check('state folder writable', async () => {
    await assertWritesWork(ctx.files.stateDir, ctx.files.stateDir).catch(failedWriteAsCheck);
    return `a test file was written in ${stateTmp(ctx.files.stateDir)} and removed`;
  });
  await check('disk space', async () => {
    // Where JSON is authoritative, the rollback carries its records back into LevelDB.
    const carried = JSON_AUTHORITATIVE.includes(phase) ? await stateFileBytes(ctx.files.deployments) : 0;
    const rewrite = await stateRewriteBytes(ctx);
    // Space alone is not room: a file system out of inodes refuses every new file (LevelDB's log and
    // tables, each temp file a state write makes) with ENOSPC, whatever bytes are free.
    const inodesAt = (room: FileSystemRoom, where: string): void => {
      if (room.totalInodes > 0 && room.freeInodes < ROLLBACK_MARGIN_INODES)
        throw new Error(`DISK_FULL: ${room.freeInodes} inodes free ${where} (${mib(room.freeBytes)} free); a rollback creates up to ${ROLLBACK_MARGIN_INODES} files there; ${NO_INODES_HINT}`);
    };
    // The state folder on LevelDB's file system (as it is by default) takes its rewrite from the same room.
    const shared = (await stat(ctx.files.leveldb)).dev === (await stat(ctx.files.stateDir)).dev;
    const need = carried + ROLLBACK_MARGIN_BYTES + (shared ? rewrite : 0);
    const room = await fileSystemRoom(ctx.files.leveldb);
    const free = room.freeBytes;
    if (free < need) throw new Error(`${mib(free)} free where LevelDB lives (${ctx.files.leveldb}); a rollback may write up to ${mib(need)} there`);
    inodesAt(room, `where LevelDB lives (${ctx.files.leveldb})`);
    if (!shared) {
      const stateRoom = await fileSystemRoom(ctx.files.stateDir);
      if (stateRoom.freeBytes < rewrite + ROLLBACK_MARGIN_BYTES)
        throw new Error(`${mib(stateRoom.freeBytes)} free in the state folder (${ctx.files.stateDir}); a rollback rewrites its state there, up to ${mib(rewrite + ROLLBACK_MARGIN_BYTES)}`);
      inodesAt(stateRoom, `in the state folder (${ctx.files.stateDir})`);
    }
    return `${describeRoom(room)}; a rollback writes at most about ${mib(need)}`;
  });
  await check('backup present', async () => {
    const backups = await listLevelDbBackups(ctx);
    if (backups.length > 0) return backups[backups.length - 1] as string;
    if (!copyStarted) return 'no copy has written yet: LevelDB is the only copy and is untouched by the migration';
    throw new Error(`no LevelDB backup under ${ctx.files.backups}`);
  });
  if (JSON_AUTHORITATIVE.includes(phase)) {
    await check('json readable', async () => {
      await assertJsonFolder(ctx, phase);
      const json = await ctx.json();
      const report = await json.checkIntegrity();
      const unreadable = unreadableFiles(report.findings);
      if (unreadable.length > 0) throw new Error(unreadable.map((f) => f.message).join('; '));
      return `${report.total} records`;
    });
    if (checkedByRun) return report();
    await check('network files present', async () => {
      await assertJsonFolder(ctx, phase);
      const gone = await goneNetworkFiles(ctx, keptOut(state ?? (await readState(ctx.files))), options.acknowledge ?? []);
      try {
        assertNoneGone(gone, phase, 'rollback refuses it, emergency or not');
      } catch (error) {
        throw refusalAsCheck(error as StateError);
      }
      return gone.length === 0
        ? 'every chain LevelDB holds records of has its network file'
        : `acknowledged gone: ${describeGone(gone)}; rollback deletes those records from LevelDB`;
    });
    await check('files intact', async () => {
      const { findings, checked } = await checkFiles(coownedContext(ctx));
      // The rollback's own refusal (runRollback), as a failing check, with the way past it an emergency offers.
      if (findings.length > 0)
        throw refusalAsCheck(foreignOverwriteError(findings, 'rollback refuses'), 'or roll back keeping the journalled records: rollback --emergency');
      return `every record the store wrote is in its file (${checked} checked)`;
    });
  }
  return report();
}
