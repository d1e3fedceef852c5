// The check of co-owned network files: the records the store wrote that a foreign rewrite dropped or changed.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseStateFile } from '@deploystate/backend-json';
import { compareIntegers, ErrorCodes, gitBusy, gitRewriting, gitStepInProgress, parseKey, StateError, type GitStep } from '@deploystate/core';
import { lazyDigests, type KnownFileDigests } from './file-digests.js';
import { committedChanges, heldOnOtherBranches, type FileNow } from './coowned-history.js';
import {
  fileOf,
  fold,
  networkFileText,
  foldedBaseline,
  updateBaseline,
  type Baseline,
  type BaselineAhead,
  type CoownedContext,
  type OpenWrite,
  type WrittenEntry,
} from './coowned-baseline.js';

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
  /**
   * newer: the file holds a later record of the key (by timestamp, or by commit: a commit HEAD
   * descends from held the store's record, and HEAD's file holds this one: a teammate's update,
   * pulled); removed: a record the product wrote is gone from it, or one the store wrote that a
   * commit HEAD descends from held and HEAD's file lacks (a teammate's delete, pulled);
   * other-branch: the store's record is committed on a branch HEAD does not descend from (written
   * on a feature branch, then another checked out), and the file is as HEAD has it.
   */
  kind: 'newer' | 'removed' | 'other-branch';
}

export interface FilesCheck {
  findings: ForeignOverwrite[];
  changedElsewhere: ChangedElsewhere[];
  /** Network files holding records the store wrote that could not be read or parsed (nothing about them could be checked). */
  unreadable?: Array<{ file: string; reason: string }>;
  /** Keys the check compared. */
  checked: number;
  /** Writes cut off before their outcome whose value the file holds: the key's entry from now on. */
  adopted: Array<[string, WrittenEntry]>;
}

/** Compares one chain's expected writes with its file as it is now. */
async function checkChain(
  ctx: CoownedContext,
  chainId: number,
  expected: ChainWrites,
  out: FilesCheck,
  known?: KnownFileDigests,
  open?: ReadonlyMap<string, OpenWrite[]>,
): Promise<void> {
  const file = fileOf(ctx, chainId);
  let records: { get(name: string): { digest: string; timestamp: string } | undefined };
  let invalid: Set<string>;
  const seen = known?.get(file); // verify read this very file already: its digests, nothing parsed again
  try {
    if (seen) ({ records, invalid } = seen);
    else {
      const text = await networkFileText(file);
      const model = text === null ? undefined : parseStateFile(text, file, chainId);
      records = model === undefined ? new Map() : lazyDigests(model.records);
      invalid = new Set(model?.invalid.keys());
    }
  } catch (error) {
    // A file that cannot be read (a FIFO or folder in its place included) is reported by verify and
    // validate as such, and named here (a repair cannot check it); a deleted one lost everything
    // (read above as holding nothing).
    (out.unreadable ??= []).push({ file, reason: error instanceof Error ? error.message : String(error) });
    return;
  }
  // The store's writes the file lacks or holds changed (not newer): lost, unless a commit removed or
  // changed them (looked up in git once per file, only when there are such keys).
  const lost: Array<{ key: string; contractName: string; entry: WrittenEntry; now: string | undefined }> = [];
  for (let i = 0; i < expected.keys.length; i++) {
    const key = expected.keys[i] as string;
    const contractName = expected.names[i] as string;
    const entry = expected.entries[i] as WrittenEntry;
    out.checked++;
    const found = records.get(contractName);
    // A write with no outcome yet (in flight, or cut off before its outcome) may be what the file
    // holds: one routed JSON first (json-primary, which cut-over completes), or one after the key's
    // entry (a later write that closed ok outranks a write cut off before it). A cut-off one the
    // file holds is adopted as the key's entry (the fold has passed it: the next check would not see it).
    const pending = open?.get(key)?.filter((w) => w.phase === 'json-primary' || w.seq > entry.seq);
    const holds = pending?.find((w) => (w.op === 'delete' ? !found && !invalid.has(contractName) : found?.digest === w.digest));
    if (holds) {
      if (holds.cutOff) out.adopted.push([key, { seq: holds.seq, op: holds.op, digest: holds.digest, timestamp: holds.timestamp }]);
      continue;
    }
    // Another script's write of the key at the same time, which replaced the file last.
    if (entry.also?.some((w) => (w.op === 'delete' ? !found && !invalid.has(contractName) : found?.digest === w.digest))) continue;
    if (entry.op === 'delete') {
      if (!found && !invalid.has(contractName)) continue;
      if (found && compareIntegers(found.timestamp, entry.timestamp) > 0) out.changedElsewhere.push({ file, key, seq: entry.seq, kind: 'newer' });
      else out.findings.push({ file, key, kind: 'reappeared', seq: entry.seq, timestamp: entry.timestamp });
      continue;
    }
    if (!found) {
      // A record the product wrote (no journal entry) that is gone was removed elsewhere (a teammate's
      // delete, pulled through git); a rewrite that drops records drops the ones written after it loaded.
      if (entry.seq === 0 && !invalid.has(contractName)) out.changedElsewhere.push({ file, key, seq: 0, kind: 'removed' });
      else if (invalid.has(contractName)) out.findings.push({ file, key, kind: 'changed', seq: entry.seq, timestamp: entry.timestamp });
      else lost.push({ key, contractName, entry, now: undefined });
      continue;
    }
    if (found.digest === entry.digest) continue;
    if (compareIntegers(found.timestamp, entry.timestamp) > 0) out.changedElsewhere.push({ file, key, seq: entry.seq, kind: 'newer' });
    else lost.push({ key, contractName, entry, now: found.digest });
  }
  if (lost.length === 0) return;
  // Removed or changed by a commit HEAD has moved past (a teammate's delete or update, pulled, whatever
  // its timestamp): someone else's write, never put back.
  const asWritten = (of: typeof lost): Map<string, FileNow> => new Map(of.map((l) => [l.contractName, { written: l.entry.digest ?? '', now: l.now }]));
  const committed = await committedChanges(file, chainId, asWritten(lost));
  // Committed on another branch and checked out away from (feature -> main): on that branch, not lost.
  // Not while a rebase, merge, cherry-pick or revert stands stopped: a rebase's HEAD is the upstream,
  // and the branch it replays (where the store's unpushed writes are) is "another branch" until it ends.
  const elsewhere = gitStepInProgress(dirname(file)) === undefined ? lost.filter((l) => !committed.has(l.contractName)) : [];
  const onBranch = elsewhere.length > 0 ? await heldOnOtherBranches(file, chainId, asWritten(elsewhere)) : new Set<string>();
  for (const { key, contractName, entry, now } of lost) {
    if (committed.has(contractName)) out.changedElsewhere.push({ file, key, seq: entry.seq, kind: now === undefined ? 'removed' : 'newer' });
    else if (onBranch.has(contractName)) out.changedElsewhere.push({ file, key, seq: entry.seq, kind: 'other-branch' });
    else out.findings.push({ file, key, kind: now === undefined ? 'missing' : 'changed', seq: entry.seq, timestamp: entry.timestamp });
  }
}

/** One chain's entries of the baseline: key, contract name and entry, by position. */
interface ChainWrites {
  keys: string[];
  names: string[];
  entries: WrittenEntry[];
}

/**
 * The baseline's entries with the unfolded ones over them, by chain, in the baseline's order (only
 * `chains` when given). The baseline lists a chain's keys together, so a key is parsed only where
 * the chain changes; the keys after it that start with its chain's prefix share its parse. At 100k
 * records in five chains this took 82-154 ms of CPU with a parse and a tuple per key, 47-85 ms so.
 */
function writesByChain(baseline: Baseline, unfolded: ReadonlyMap<string, WrittenEntry>, chains?: ReadonlySet<number>): Map<number, ChainWrites> {
  const byChain = new Map<number, ChainWrites>();
  // The last key's chain: its prefix, and its entries (undefined for a chain left out).
  let prefix: string | undefined;
  let list: ChainWrites | undefined;
  const add = (key: string, entry: WrittenEntry): void => {
    if (prefix === undefined || key.length <= prefix.length || !key.startsWith(prefix)) {
      const { chainId } = parseKey(key);
      prefix = `${chainId}-`;
      const wanted = chains === undefined || chains.has(chainId);
      list = wanted ? byChain.get(chainId) : undefined;
      if (wanted && list === undefined) byChain.set(chainId, (list = { keys: [], names: [], entries: [] }));
    }
    if (list === undefined) return;
    list.keys.push(key);
    list.names.push(key.slice(prefix.length));
    list.entries.push(entry);
  };
  const written = baseline.written;
  for (const key in written) {
    if (Object.hasOwn(written, key)) add(key, (unfolded.size === 0 ? undefined : unfolded.get(key)) ?? (written[key] as WrittenEntry));
  }
  for (const [key, entry] of unfolded) if (!Object.hasOwn(written, key)) add(key, entry);
  return byChain;
}

async function checkEntries(
  ctx: CoownedContext,
  byChain: ReadonlyMap<number, ChainWrites>,
  known?: KnownFileDigests,
  open?: ReadonlyMap<string, OpenWrite[]>,
): Promise<FilesCheck> {
  const out: FilesCheck = { findings: [], changedElsewhere: [], checked: 0, adopted: [] };
  for (const [chainId, expected] of [...byChain].sort((a, b) => a[0] - b[0])) await checkChain(ctx, chainId, expected, out, known, open);
  out.findings.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out;
}

/**
 * Checks every file the store wrote, without recording anything: for `status`, and for a put
 * (which never counts as a clean check, so what it finds stays until repaired).
 */
export async function checkFiles(ctx: CoownedContext, chains?: ReadonlySet<number>): Promise<FilesCheck> {
  if (!existsSync(ctx.journal.file)) return noCheck(); // the store never wrote a network file here
  const seen = await ctx.journal.lastSeq();
  const { baseline, unfolded, open } = await foldedBaseline(ctx);
  const result = await withoutWrittenSince(ctx, await checkEntries(ctx, writesByChain(baseline, unfolded, chains), undefined, open), seen);
  // Kept in this process's folded baseline (not recorded: a read-only check writes nothing).
  adoptCutOff(baseline, result);
  return result;
}

/**
 * The findings, less those on keys the journal shows written since `seen` (read before the journal
 * was folded and the files read): a write of the store that landed between the two reads (a
 * delete, say) is not another program's; the next check sees the key settled. A check under the
 * gate fence has no such write.
 */
async function withoutWrittenSince(ctx: CoownedContext, check: FilesCheck, seen: number): Promise<FilesCheck> {
  if (check.findings.length + check.changedElsewhere.length === 0) return check;
  const keys = new Set([...check.findings, ...check.changedElsewhere].map((f) => f.key));
  const written = new Set<string>();
  for await (const e of ctx.journal.entries({ sinceSeq: seen })) if (e.type === 'intent' && keys.has(e.key)) written.add(e.key);
  if (written.size === 0) return check;
  return {
    ...check,
    findings: check.findings.filter((f) => !written.has(f.key)),
    changedElsewhere: check.changedElsewhere.filter((c) => !written.has(c.key)),
  };
}

/**
 * Writes cut off before their outcome that the file holds become their keys' entries: the file
 * holds the store's own write (one routed JSON first may have landed after a later one: the check
 * only adopts it when it is that key's pending value, see checkChain).
 */
function adoptCutOff(baseline: { written: Record<string, WrittenEntry> }, check: FilesCheck): void {
  for (const [key, entry] of check.adopted) baseline.written[key] = entry;
}

const noCheck = (): FilesCheck => ({ findings: [], changedElsewhere: [], checked: 0, adopted: [] });

/**
 * Checks every file the store wrote and records how far the journal is folded (verify, the gates).
 * A key the file holds with a later timestamp is someone else's write: it leaves the baseline, so
 * it is reported once as changed elsewhere and never reverted.
 */
export async function checkFilesAndRecord(
  ctx: CoownedContext,
  known?: KnownFileDigests,
  ahead?: BaselineAhead,
  /** The journal's position before the files (or `known`) were read; default: now. */
  seenBefore?: number,
): Promise<FilesCheck> {
  if (!existsSync(ctx.journal.file)) return noCheck();
  let changed = false;
  return updateBaseline(
    ctx,
    async (baseline) => {
      const scannedSeq = baseline.scannedSeq;
      const folded = { count: 0 };
      const open = new Map<string, OpenWrite[]>();
      const seen = seenBefore ?? (await ctx.journal.lastSeq());
      const unfolded = await fold(ctx.journal, baseline, folded, open);
      const result = await withoutWrittenSince(ctx, await checkEntries(ctx, writesByChain(baseline, unfolded), known, open), seen);
      // A teammate's change is accepted and forgotten; a record on another branch stays the store's
      // own (that branch brings it back, and a reset past it is still a loss).
      const moved = result.changedElsewhere.filter((c) => c.kind !== 'other-branch');
      for (const { key } of moved) delete baseline.written[key];
      adoptCutOff(baseline, result);
      changed = baseline.scannedSeq !== scannedSeq || folded.count > 0 || moved.length > 0 || result.adopted.length > 0;
      return result;
    },
    // Nothing folded and nothing moved out: the recorded baseline stands as it is.
    () => !changed,
    ahead,
    true,
  );
}

/**
 * git in the way of the work tree that holds `folder`: a command still rewriting it after the wait a
 * read makes for it (core's gitBusy), or one stopped part-way (gitStepInProgress). Why the store's
 * records may be missing from its files, or older in them, now, and the way out. Repairing or
 * accepting the files then would write into, or record, a work tree that is neither side's.
 */
export function gitInTheWay(folder: string): { step?: GitStep; why: string; wayOut: string } | undefined {
  const step = gitStepInProgress(folder);
  // A stopped command's work tree waits for its continue or abort, whatever index.lock a git status
  // takes meanwhile: "still rewriting" only while a command that rewrites files runs.
  if (step === undefined ? gitBusy(folder) : gitRewriting(folder) === true) {
    return { ...(step && { step }), why: `a git ${step ?? 'command'} is still rewriting the work tree`, wayOut: 'wait for it to end' };
  }
  if (step === undefined) return undefined;
  const replaying = step === 'rebase' || step === 'am';
  return {
    step,
    why: `a git ${step} stands stopped part-way, and the work tree ${replaying ? 'may lack commits it has not applied yet' : 'holds it as it stands, neither side whole'}`,
    wayOut: `finish the ${step} (\`git ${step} --continue\`) or abort it (\`git ${step} --abort\`)`,
  };
}

/** GATE_FAILED while git is in the way (gitInTheWay): `what` (repair-files, its --accept) would write into the work tree or record it. */
export function assertGitOutOfTheWay(folder: string, what: string): void {
  const inTheWay = gitInTheWay(folder);
  if (inTheWay === undefined) return;
  throw new StateError(ErrorCodes.GATE_FAILED, `${what} refused: ${inTheWay.why}`, { file: folder, hint: `${inTheWay.wayOut}, then run it again` });
}
