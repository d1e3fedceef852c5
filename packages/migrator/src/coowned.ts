// Files other code writes too. `deployments/<network>.json` is shared with the project's own
// scripts; a script that loaded the file early and writes its object back drops what the store
// wrote meanwhile. This module keeps, per key, the last write the store made to JSON (folded from
// the journal into `<stateDir>/written.json`), finds the records a foreign rewrite dropped or
// changed, and puts them back from the journal on request.
import { existsSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseStateFile, withFileLock, writeFileAtomic } from '@deploystate/backend-json';
import {
  canonicalDigest,
  ErrorCodes,
  parseKey,
  parseLossless,
  StateError,
  stringifyLossless,
  NetworkRegistry,
  type DeploymentRecord,
} from '@deploystate/core';
import { lazyDigests, type KnownFileDigests } from './file-digests.js';
import { Journal, writerAlive, type IntentEntry } from './journal.js';
import { resolvePaths, stateFiles } from './paths.js';
import type { MigrationContext } from './context.js';
import type { MigrationOptions, MigrationPhase } from './types.js';

/** The last write the store made to a key in JSON. */
export interface WrittenEntry {
  /**
   * The journal seq of the write's intent (its record is read back from there for a repair); 0 for
   * a record the product wrote without the journal (the copy, a restore, an import), which a
   * repair takes from LevelDB when LevelDB holds exactly it.
   */
  seq: number;
  op: 'put' | 'delete';
  /** canonicalDigest of the record written; null for a delete. */
  digest: string | null;
  /** The record's timestamp, in decimal (any size); for a delete, the write's time in ms. */
  timestamp: string;
}

interface Baseline {
  version: 1;
  /** Every write up to this seq is folded into `written`. */
  scannedSeq: number;
  written: Record<string, WrittenEntry>;
}

export type ForeignOverwriteKind = 'missing' | 'changed' | 'reappeared';

/** A record the store wrote that its file no longer holds, or holds changed. */
export interface ForeignOverwrite {
  file: string;
  key: string;
  /** missing: the record is gone; changed: it differs and is not newer; reappeared: a deleted record is back. */
  kind: ForeignOverwriteKind;
  /** The journal seq of the store's write. */
  seq: number;
  /** The written record's timestamp (for a delete, the write's time in ms), in decimal. */
  timestamp: string;
}

/**
 * Someone else's write, never reverted: the file holds a later timestamp than the store's write, or
 * a record the product wrote (the copy, a restore, an import) was removed from it.
 */
export interface ChangedElsewhere {
  file: string;
  key: string;
  seq: number;
}

export interface FilesCheck {
  findings: ForeignOverwrite[];
  changedElsewhere: ChangedElsewhere[];
  /** Keys the check compared. */
  checked: number;
}

export interface CoownedContext {
  stateDir: string;
  deployments: string;
  registry: NetworkRegistry;
  journal: Journal;
}

/** The files a migration command works with, as this module needs them. */
export function coownedContext(ctx: Pick<MigrationContext, 'files' | 'registry' | 'journal'>): CoownedContext {
  return { stateDir: ctx.files.stateDir, deployments: ctx.files.deployments, registry: ctx.registry, journal: ctx.journal };
}

const BASELINE_FILE = 'written.json';
const emptyBaseline = (): Baseline => ({ version: 1, scannedSeq: 0, written: {} });

function baselinePath(ctx: Pick<CoownedContext, 'stateDir'>): string {
  return join(ctx.stateDir, BASELINE_FILE);
}

/**
 * The baseline as recorded. Where none was ever recorded (a store migrated before this existed),
 * the records the files hold now are the start, and the whole journal is folded over them.
 */
async function readBaseline(ctx: CoownedContext): Promise<Baseline> {
  let text: string;
  try {
    text = await readFile(baselinePath(ctx), 'utf8');
  } catch {
    const start = emptyBaseline();
    await adoptFiles(ctx, start, await chainsInFolder(ctx));
    return start;
  }
  try {
    const parsed = parseLossless(text) as Baseline;
    if (parsed?.version === 1 && typeof parsed.scannedSeq === 'number' && typeof parsed.written === 'object') return parsed;
  } catch {
    // A baseline cut short is rebuilt from the whole journal: slower, never wrong.
  }
  return emptyBaseline();
}

/** Read, change and write the baseline under its own lock (one short lock; the journal is read inside). */
async function updateBaseline<T>(ctx: CoownedContext, change: (baseline: Baseline) => Promise<T>): Promise<T> {
  const file = baselinePath(ctx);
  return withFileLock(
    file,
    async () => {
      const baseline = await readBaseline(ctx);
      const result = await change(baseline);
      await writeFileAtomic(file, `${stringifyLossless(baseline, 2)}\n`, { durable: false, tmpDir: join(ctx.stateDir, 'tmp') });
      return result;
    },
    { lockDir: ctx.stateDir },
  );
}

function timestampOf(record: DeploymentRecord): string {
  return String(record.timestamp);
}

const later = (a: string, b: string): boolean => BigInt(a) > BigInt(b);

function entryOf(intent: IntentEntry): WrittenEntry {
  return {
    seq: intent.seq,
    op: intent.op,
    digest: intent.digest,
    timestamp: intent.op === 'put' && intent.record ? timestampOf(intent.record) : String(Date.parse(intent.time) || 0),
  };
}

/**
 * Folds the journal after `baseline.scannedSeq` into it: each write that reached JSON (outcome ok)
 * becomes its key's entry. Folding stops before the first write still in flight (its writer alive),
 * so `scannedSeq` never passes a write that may yet complete; writes after it that completed are
 * returned (`unfolded`), to be checked now but folded next time.
 */
async function fold(journal: Journal, baseline: Baseline): Promise<Map<string, WrittenEntry>> {
  const intents = new Map<number, IntentEntry>();
  const ok = new Set<number>();
  const closed = new Set<number>();
  // A journal shorter than the baseline was replaced: fold the new one from its start.
  if ((await journal.lastSeq()) < baseline.scannedSeq) baseline.scannedSeq = 0;
  let lastSeq = baseline.scannedSeq;
  for await (const e of journal.entries({ sinceSeq: baseline.scannedSeq, onEnd: (end) => (lastSeq = end.lastSeq) })) {
    if (e.type === 'intent' && !e.probe) intents.set(e.seq, e);
    else if (e.type === 'outcome' && intents.has(e.ref)) {
      closed.add(e.ref);
      if (e.outcome === 'ok') ok.add(e.ref);
    }
  }
  const unfolded = new Map<string, WrittenEntry>();
  let settled = true;
  for (const [seq, intent] of intents) {
    if (!closed.has(seq) && writerAlive(intent.pid)) {
      if (settled) baseline.scannedSeq = seq - 1;
      settled = false;
      continue;
    }
    if (!ok.has(seq)) continue;
    if (settled) baseline.written[intent.key] = entryOf(intent);
    else unfolded.set(intent.key, entryOf(intent));
  }
  if (settled) baseline.scannedSeq = Math.max(baseline.scannedSeq, lastSeq);
  return unfolded;
}

function fileOf(ctx: CoownedContext, chainId: number): string {
  return join(ctx.deployments, ctx.registry.fileName(chainId));
}

/** Compares one chain's expected writes with its file as it is now. */
async function checkChain(
  ctx: CoownedContext,
  chainId: number,
  expected: Array<[string, WrittenEntry]>,
  out: FilesCheck,
  known?: KnownFileDigests,
): Promise<void> {
  const file = fileOf(ctx, chainId);
  let records: { get(name: string): { digest: string; timestamp: string } | undefined };
  let invalid: Set<string>;
  const seen = known?.get(file); // verify read this very file already: its digests, nothing parsed again
  try {
    if (seen) ({ records, invalid } = seen);
    else {
      const model = parseStateFile(await readFile(file, 'utf8'), file, chainId);
      records = lazyDigests(model.records);
      invalid = new Set(model.invalid.keys());
    }
  } catch (error) {
    // A file that cannot be read is reported by verify and validate as such; a deleted one lost everything.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return;
    records = new Map();
    invalid = new Set();
  }
  for (const [key, entry] of expected) {
    out.checked++;
    const { contractName } = parseKey(key);
    const found = records.get(contractName);
    if (entry.op === 'delete') {
      if (!found && !invalid.has(contractName)) continue;
      if (found && later(found.timestamp, entry.timestamp)) out.changedElsewhere.push({ file, key, seq: entry.seq });
      else out.findings.push({ file, key, kind: 'reappeared', seq: entry.seq, timestamp: entry.timestamp });
      continue;
    }
    if (!found) {
      // A record the product wrote (no journal entry) that is gone was removed elsewhere (a teammate's
      // delete, pulled through git); a rewrite that drops records drops the ones written after it loaded.
      if (entry.seq === 0 && !invalid.has(contractName)) out.changedElsewhere.push({ file, key, seq: 0 });
      else out.findings.push({ file, key, kind: invalid.has(contractName) ? 'changed' : 'missing', seq: entry.seq, timestamp: entry.timestamp });
      continue;
    }
    if (found.digest === entry.digest) continue;
    if (later(found.timestamp, entry.timestamp)) out.changedElsewhere.push({ file, key, seq: entry.seq });
    else out.findings.push({ file, key, kind: 'changed', seq: entry.seq, timestamp: entry.timestamp });
  }
}

async function checkEntries(
  ctx: CoownedContext,
  entries: Map<string, WrittenEntry>,
  chains?: ReadonlySet<number>,
  known?: KnownFileDigests,
): Promise<FilesCheck> {
  const byChain = new Map<number, Array<[string, WrittenEntry]>>();
  for (const [key, entry] of entries) {
    const { chainId } = parseKey(key);
    if (chains && !chains.has(chainId)) continue;
    let list = byChain.get(chainId);
    if (!list) byChain.set(chainId, (list = []));
    list.push([key, entry]);
  }
  const out: FilesCheck = { findings: [], changedElsewhere: [], checked: 0 };
  for (const [chainId, expected] of [...byChain].sort((a, b) => a[0] - b[0])) await checkChain(ctx, chainId, expected, out, known);
  out.findings.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out;
}

function merged(baseline: Baseline, unfolded: Map<string, WrittenEntry>): Map<string, WrittenEntry> {
  const all = new Map(Object.entries(baseline.written));
  for (const [key, entry] of unfolded) all.set(key, entry);
  return all;
}

/**
 * Checks every file the store wrote, without recording anything: for `status`, and for a put
 * (which never counts as a clean check, so what it finds stays until repaired).
 */
export async function checkFiles(ctx: CoownedContext, chains?: ReadonlySet<number>): Promise<FilesCheck> {
  if (!existsSync(ctx.journal.file)) return noCheck(); // the store never wrote a network file here
  const { baseline, unfolded } = await foldedBaseline(ctx);
  return checkEntries(ctx, merged(baseline, unfolded), chains);
}

const noCheck = (): FilesCheck => ({ findings: [], changedElsewhere: [], checked: 0 });

/** Baselines this process folded, by file, with the signature of the file they were read from. */
const foldedCache = new Map<string, { signature: string; baseline: Baseline }>();

/**
 * The baseline with the journal folded in, without writing it. While written.json is unchanged the
 * fold of the last call is continued (from its first write in flight), so a deploy script's checks
 * read only what was journalled since, never the whole journal again.
 */
async function foldedBaseline(ctx: CoownedContext): Promise<{ baseline: Baseline; unfolded: Map<string, WrittenEntry> }> {
  const path = baselinePath(ctx);
  // The first check anywhere records the start, so the files as they are now (not as a later rewrite leaves them) are it.
  if (signatureOf(path) === undefined) await updateBaseline(ctx, (baseline) => fold(ctx.journal, baseline));
  const signature = signatureOf(path) ?? 'absent';
  const hit = foldedCache.get(path);
  const baseline = hit && hit.signature === signature ? hit.baseline : await readBaseline(ctx);
  const unfolded = await fold(ctx.journal, baseline);
  foldedCache.set(path, { signature, baseline });
  return { baseline, unfolded };
}

/**
 * Checks every file the store wrote and records how far the journal is folded (verify, the gates).
 * A key the file holds with a later timestamp is someone else's write: it leaves the baseline, so
 * it is reported once as changed elsewhere and never reverted.
 */
export async function checkFilesAndRecord(ctx: CoownedContext, known?: KnownFileDigests): Promise<FilesCheck> {
  if (!existsSync(ctx.journal.file)) return noCheck();
  return updateBaseline(ctx, async (baseline) => {
    const unfolded = await fold(ctx.journal, baseline);
    const result = await checkEntries(ctx, merged(baseline, unfolded), undefined, known);
    for (const moved of result.changedElsewhere) delete baseline.written[moved.key];
    return result;
  });
}

/** The chains whose state file is in the deployments folder. */
async function chainsInFolder(ctx: CoownedContext): Promise<Set<number>> {
  const chains = new Set<number>();
  const names = await readdir(ctx.deployments).catch(() => [] as string[]);
  for (const name of names) {
    const chainId = ctx.registry.chainIdOfFile(name);
    if (chainId !== undefined && fileOf(ctx, chainId) === join(ctx.deployments, name)) chains.add(chainId);
  }
  return chains;
}

/**
 * After a write the product made itself (copy, restore, import): every record the named chains'
 * files hold now (all chains by default) is the new baseline, and keys they no longer hold leave it.
 * A file that cannot be read keeps its old baseline.
 */
export async function moveBaseline(ctx: CoownedContext, chains?: ReadonlySet<number>): Promise<void> {
  const targets = chains ?? (await chainsInFolder(ctx));
  await updateBaseline(ctx, async (baseline) => {
    await fold(ctx.journal, baseline);
    await adoptFiles(ctx, baseline, targets);
  });
}

/** The records the chains' files hold now replace the chains' entries (a file that cannot be read keeps its own). */
async function adoptFiles(ctx: CoownedContext, baseline: Baseline, chains: Iterable<number>): Promise<void> {
  for (const chainId of chains) {
    const file = fileOf(ctx, chainId);
    let records: Map<string, DeploymentRecord>;
    try {
      records = parseStateFile(await readFile(file, 'utf8'), file, chainId).records;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') continue;
      records = new Map();
    }
    const prefix = `${chainId}-`;
    for (const key of Object.keys(baseline.written)) if (key.startsWith(prefix)) delete baseline.written[key];
    for (const [name, record] of records) {
      baseline.written[`${prefix}${name}`] = { seq: 0, op: 'put', digest: canonicalDigest(record), timestamp: timestampOf(record) };
    }
  }
}

/**
 * `moveBaseline` for a command that wrote network files without a Migration open (restore of a
 * JSON file, import into JSON): those are the product's own writes. Nothing to do without a journal.
 */
export async function acceptNetworkFiles(options: MigrationOptions, chains?: readonly number[]): Promise<void> {
  const files = stateFiles(resolvePaths(options));
  if (!existsSync(files.journal)) return;
  const journal = new Journal(files.journal);
  try {
    await moveBaseline(
      { stateDir: files.stateDir, deployments: files.deployments, registry: options.registry ?? new NetworkRegistry(), journal },
      chains === undefined ? undefined : new Set(chains),
    );
  } finally {
    await journal.close();
  }
}

/** After a rollback's carry-back the JSON side is no longer written: the baseline starts afresh. */
export async function forgetBaseline(ctx: CoownedContext): Promise<void> {
  await updateBaseline(ctx, async (baseline) => {
    await fold(ctx.journal, baseline);
    baseline.written = {};
  });
}

/** One line per file: what is lost there. */
export function describeOverwrites(findings: readonly ForeignOverwrite[]): string[] {
  const byFile = new Map<string, string[]>();
  for (const f of findings) byFile.set(f.file, [...(byFile.get(f.file) ?? []), `${f.key} (${f.kind})`]);
  return [...byFile].map(([file, keys]) => `${file}: ${keys.join(', ')}`);
}

/** FOREIGN_OVERWRITE naming the first file and key; thrown by the gates and the rollback carry-back. */
export function foreignOverwriteError(findings: readonly ForeignOverwrite[], what: string): StateError {
  const first = findings[0] as ForeignOverwrite;
  return new StateError(
    ErrorCodes.FOREIGN_OVERWRITE,
    `${what}: ${findings.length} record(s) the store wrote are missing or changed in their file (other code rewrote it): ${describeOverwrites(findings).join('; ')}`,
    {
      file: first.file,
      key: first.key,
      hint: 'run `deploystate repair-files` to put them back from the journal, then change the script that rewrote the file to use updateDeploymentFile()',
    },
  );
}

/**
 * For an emergency rollback: each lost key's journalled record (null for a delete, or for a record
 * the copy wrote, whose LevelDB copy stays as it is), so the carry-back never takes the damaged one.
 */
export async function journalledRecords(ctx: CoownedContext, findings: readonly ForeignOverwrite[]): Promise<Map<string, DeploymentRecord | null>> {
  const out = new Map<string, DeploymentRecord | null>();
  const bySeq = new Map<number, ForeignOverwrite>();
  for (const f of findings) {
    out.set(f.key, null);
    if (f.seq > 0 && f.kind !== 'reappeared') bySeq.set(f.seq, f);
  }
  if (bySeq.size > 0) {
    for await (const e of ctx.journal.entries({ sinceSeq: Math.min(...bySeq.keys()) - 1 })) {
      const f = bySeq.get(e.seq);
      if (f && e.type === 'intent' && e.record) out.set(f.key, e.record);
    }
  }
  return out;
}

/** Throws FOREIGN_OVERWRITE when a file lost a record the store wrote (promote, cut-over, rollback). */
export async function assertFilesIntact(ctx: CoownedContext, what: string): Promise<FilesCheck> {
  const result = await checkFilesAndRecord(ctx);
  if (result.findings.length > 0) throw foreignOverwriteError(result.findings, what);
  return result;
}

// ---- repair ----

export interface RepairAction {
  file: string;
  key: string;
  kind: ForeignOverwriteKind;
  /** What the repair does: put the journalled record back, or delete the record that reappeared. */
  action: 'put' | 'delete';
  seq: number;
  timestamp: string;
}

export interface RepairPlan {
  actions: RepairAction[];
  /** Keys left alone because the file holds a later write. */
  changedElsewhere: ChangedElsewhere[];
  /** Records to write back, by key. */
  records: Map<string, DeploymentRecord>;
  /** Findings whose exact record is neither in the journal nor in LevelDB: restore the file's backup. */
  unrepairable: ForeignOverwrite[];
}

/** Where a repair finds a record the product wrote without the journal: LevelDB, when it holds exactly it. */
export type RecordSource = (chainId: number, contractName: string) => Promise<DeploymentRecord | null>;

/**
 * What a repair would do: every finding, with the record read back from the journal (or, for a
 * record the copy, a restore or an import wrote, from LevelDB when it holds exactly that record).
 * Findings with no exact record anywhere are listed as `unrepairable`.
 */
export async function planRepair(ctx: CoownedContext, otherSide?: RecordSource): Promise<RepairPlan> {
  const check = await checkFiles(ctx);
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
  return { actions, changedElsewhere: check.changedElsewhere, records, unrepairable };
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
  put(record: DeploymentRecord): Promise<void>;
  delete(chainId: number, contractName: string): Promise<boolean>;
}

/**
 * Applies a plan. Each key is looked at again just before it is written: a record that became
 * newer meanwhile is left alone (never an older record over a newer one) and reported as skipped.
 */
export async function applyRepair(
  ctx: CoownedContext,
  plan: RepairPlan,
  json: RepairTarget,
  phase: MigrationPhase,
): Promise<{ applied: RepairAction[]; skipped: RepairAction[] }> {
  const applied: RepairAction[] = [];
  const skipped: RepairAction[] = [];
  for (const action of plan.actions) {
    const { chainId, contractName } = parseKey(action.key);
    const now = await json.get(chainId, contractName).catch(() => null);
    if (now && later(timestampOf(now), action.timestamp)) {
      skipped.push(action);
      continue;
    }
    const record = plan.records.get(action.key);
    if (action.action === 'put' && record) await json.put(record);
    else if (action.action === 'delete' && now) await json.delete(chainId, contractName);
    applied.push(action);
  }
  if (applied.length > 0) {
    await ctx.journal.appendOne({
      type: 'event',
      event: 'files-repaired',
      detail: applied.map((a) => `${a.action} ${a.key}`).join(', '),
      time: new Date().toISOString(),
      pid: process.pid,
      phase,
    });
  }
  // The repaired records are what the baseline expects already: it stays as it is.
  return { applied, skipped };
}

// ---- the factory's watch ----

function signatureOf(file: string): string | undefined {
  try {
    const s = statSync(file, { bigint: true, throwIfNoEntry: false });
    return s ? `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : undefined;
  } catch {
    return undefined;
  }
}

/** The default report of a put that found its file rewritten: one warning on stderr naming the lost keys. */
export function warnOnStderr(check: FilesCheck): void {
  process.stderr.write(
    `deploystate: warning FOREIGN_OVERWRITE: the write was stored, but its file no longer holds ${check.findings.length} record(s) the store wrote there (other code rewrote it): ${describeOverwrites(check.findings).join('; ')}. Run \`deploystate repair-files\` to put them back.\n`,
  );
}

/**
 * Checks a network file after the store wrote it, when something else changed the file since this
 * process last wrote it (one stat before and after each write; the full check only then). What it
 * finds goes to `report`; the write itself has already succeeded and is never refused for it.
 */
export class OverwriteWatch {
  private readonly seen = new Map<number, string | undefined>();

  constructor(
    private readonly ctx: CoownedContext,
    private readonly report: (check: FilesCheck) => void = warnOnStderr,
  ) {}

  /** The file's signature before a write. */
  before(chainId: number): string | undefined {
    return signatureOf(fileOf(this.ctx, chainId));
  }

  async after(chainId: number, before: string | undefined): Promise<void> {
    const file = fileOf(this.ctx, chainId);
    const unchanged = this.seen.has(chainId) && this.seen.get(chainId) === before;
    this.seen.set(chainId, signatureOf(file));
    if (unchanged) return;
    try {
      const check = await checkFiles(this.ctx, new Set([chainId]));
      if (check.findings.length > 0) this.report(check);
    } catch {
      // The check never fails a write that succeeded; verify reports what it could not.
    }
  }
}
