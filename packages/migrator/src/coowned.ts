// Files other code writes too. `deployments/<network>.json` is shared with the project's own
// scripts; a script that loaded the file early and writes its object back drops what the store
// wrote meanwhile. This module keeps, per key, the last write the store made to JSON (folded from
// the journal into `<stateDir>/written.json`), finds the records a foreign rewrite dropped or
// changed, and puts them back from the journal on request.
// The baseline, the check and the repair are in coowned-baseline.ts, coowned-check.ts and
// coowned-repair.ts; this module adds the errors, the gates' assertion and the factory's watch, and
// is the one the rest of the package imports from.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { lastWrittenVersion, plainSignature, type PlainSignature, type SwapVersion } from '@deploystate/backend-json';
import { ErrorCodes, gitStashed, isStateError, StateError, warn, type DeploymentRecord } from '@deploystate/core';
import { chainsInFolder, fileOf, hasBaseline, signatureOf, signatureText, type CoownedContext } from './coowned-baseline.js';
import { checkFiles, checkFilesAndRecord, gitInTheWay, type FilesCheck, type ForeignOverwrite, type ForeignOverwriteKind } from './coowned-check.js';

export {
  acceptNetworkFiles,
  coownedContext,
  forgetBaseline,
  moveBaseline,
  type CoownedContext,
  type WrittenEntry,
} from './coowned-baseline.js';
export {
  assertGitOutOfTheWay,
  checkFiles,
  checkFilesAndRecord,
  gitInTheWay,
  type ChangedElsewhere,
  type FilesCheck,
  type ForeignOverwrite,
  type ForeignOverwriteKind,
} from './coowned-check.js';
export {
  applyRepair,
  planRepair,
  type RecordSource,
  type RepairAction,
  type RepairOptions,
  type RepairPlan,
  type RepairReport,
  type RepairTarget,
} from './coowned-repair.js';

/** How many keys of a file `describeOverwrites` names; the rest are counted (the findings list them all). */
const NAMED_PER_FILE = 5;

/** One line per file, the file named once: how many of its records are lost, the first few by key. */
export function describeOverwrites(findings: readonly ForeignOverwrite[]): string[] {
  const byFile = new Map<string, string[]>();
  for (const f of findings) {
    const keys = byFile.get(f.file);
    if (keys) keys.push(`${f.key} (${f.kind})`);
    else byFile.set(f.file, [`${f.key} (${f.kind})`]);
  }
  return [...byFile].map(([file, keys]) => {
    const named = keys.slice(0, NAMED_PER_FILE).join(', ');
    return keys.length <= NAMED_PER_FILE ? `${file}: ${named}` : `${file}: ${keys.length} records, ${named} and ${keys.length - NAMED_PER_FILE} more`;
  });
}

/**
 * Why a file lacks records the store wrote, or holds them older, and what to do: git in its way
 * (gitInTheWay), else another program or git command, with the repair and `after` it (what to
 * change in a script); and where the repository holds a stash, that the stash may hold them,
 * popped first (a repair makes the pop refuse).
 */
function lossAdvice(file: string, repair: string, after = ''): { why: string; hint: string } {
  const inTheWay = gitInTheWay(dirname(file));
  if (inTheWay !== undefined) return { why: inTheWay.why, hint: `${inTheWay.wayOut}, then try again; if still missing or older then, ${repair}` };
  const stash = gitStashed(dirname(file)) ? 'if `git stash list` holds changes to the file, `git stash pop` first (a repair makes the pop refuse); else ' : '';
  return { why: 'another program or a git command (a pull, a merge, a stash) rewrote the file', hint: `${stash}${repair}${after}` };
}

/** FOREIGN_OVERWRITE naming the first file and key; thrown by the gates and the rollback carry-back. */
export function foreignOverwriteError(findings: readonly ForeignOverwrite[], what: string): StateError {
  const first = findings[0] as ForeignOverwrite;
  const advice = lossAdvice(first.file, 'run `deploystate repair-files` to put them back from the journal', ', then change the script that rewrote the file to use updateDeploymentFile()');
  return new StateError(
    ErrorCodes.FOREIGN_OVERWRITE,
    `${what}: ${findings.length} record(s) the store wrote are missing or changed in their file (${advice.why}): ${describeOverwrites(findings).join('; ')}`,
    { file: first.file, key: first.key, hint: advice.hint },
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

/**
 * A read that found a key gone which the store wrote (not absent, so never null: a deploy flow
 * would deploy it again), or, from a file read with git in the way, holding an older record than
 * the store wrote (an upgrade would be made again).
 */
export function lostWriteError(lost: ForeignOverwrite): StateError {
  const missing = lost.kind === 'missing';
  const advice = lossAdvice(
    lost.file,
    `run \`deploystate repair-files\` to put it back from the journal (or \`deploystate repair-files --accept\` if it was ${missing ? 'removed' : 'changed'} on purpose), then read again`,
  );
  const found = missing
    ? `is missing from ${lost.file}, but the store wrote it there (journal seq ${lost.seq}) and never deleted it`
    : `in ${lost.file} is not the record the store wrote there last (journal seq ${lost.seq}), nor a later one`;
  return new StateError(ErrorCodes.FOREIGN_OVERWRITE, `${lost.key} ${found}: ${advice.why}, so whether it is deployed as written is unknown`, {
    file: lost.file,
    key: lost.key,
    hint: advice.hint,
  });
}


// ---- the factory's watch ----

/**
 * The default report of a write that finds its file rewritten, made before the write (which goes
 * ahead, and may still fail for its own reasons): one warning naming the lost keys.
 */
export function warnOverwrite(check: FilesCheck): void {
  const first = check.findings[0];
  warn({
    code: ErrorCodes.FOREIGN_OVERWRITE,
    message: `a write found its file no longer holding ${check.findings.length} record(s) the store wrote there (other code rewrote it): ${describeOverwrites(check.findings).join('; ')}; the write goes ahead on the file as it is`,
    hint: 'Run `deploystate repair-files` to put them back.',
    ...(first !== undefined && { file: first.file }),
    keys: check.findings.map((f) => f.key),
  });
}

/**
 * Checks a network file before the store writes it, when something else changed the file since this
 * process last wrote it (one stat before and after each write; the full check only then). What it
 * finds goes to `report`; the write goes ahead and is never refused for it.
 */
export class OverwriteWatch {
  private readonly seen = new Map<number, string | undefined>();
  /**
   * `seen` as a plain (not bigint) stat reports it, where it was noted from a stat's numbers: a put
   * compares one plain stat with it (building a bigint stat's fields costs more than its system
   * call), and takes the bigint path only when they differ.
   */
  private readonly seenPlain = new Map<number, PlainSignature>();
  /**
   * Each file's signature when this process last knew it to hold every record the store wrote there:
   * from a check that found nothing, kept through this process's own writes. Not `seen`, which a
   * write on top of a damaged file also sets (in any process: see signatureNow).
   */
  private readonly whole = new Map<number, string | undefined>();
  /**
   * Per file, the findings last reported (keys, kinds and journal seqs): a check that finds the same
   * again reports nothing, so a finding is warned about once however many writes look at the file
   * before it changes (a putMany whose phase moved under it checks it again as single puts). A check
   * that finds none forgets them: a later rewrite that drops a record again is reported again.
   */
  private readonly reported = new Map<number, string>();
  /** The causes of checks that could not run, each warned about once. */
  private readonly failedChecks = new Set<string>();

  constructor(
    private readonly ctx: CoownedContext,
    private readonly report: (check: FilesCheck) => void = warnOverwrite,
    /** The store's JsonFileStoreOptions.chainRenamed: a file gone under the name this process knew may have been renamed. */
    private readonly followRename?: (chainId: number) => boolean,
  ) {}

  /**
   * Before the store writes a chain's file: checks it when something else changed it since this
   * process last wrote it (then `wrote()`). Nothing to check (the common case): undefined, no promise.
   * Before the write, as the drainer's check: the write's last step is then its own (the confirmation
   * that git has not replaced the file since, write-protocol.ts), never a check that reads the
   * journal for milliseconds while a git command may take the work tree.
   */
  beforePut(chainId: number): Promise<void> | undefined {
    if (this.unchangedSinceSeen(chainId)) return undefined;
    let now = this.signatureNow(chainId);
    // Gone under the name this process knew, and renamed meanwhile (rename-network): the renamed file
    // is the one to look at (its records are all there; the rename kept its inode and times).
    if (now === undefined && this.followRename?.(chainId)) now = this.signatureNow(chainId);
    return this.seen.has(chainId) && this.seen.get(chainId) === now ? undefined : this.check(chainId);
  }

  /**
   * The file's signature now. A file this process has not written yet counts as seen when it is
   * the version the store last wrote (in any process: its written backup is the file's own inode,
   * with the size and mtime it was written with): nothing else changed it since that write, which
   * was checked as this one would be. So a deploy script's first write to a file does not read the
   * whole baseline and journal to check it (about 17 ms of a dual-write script's close at 28 records,
   * and the whole written.json, 19 MB at 100k, per script and network file). Not while written.json
   * is missing: the first check makes it from the files as they are then, before any later rewrite.
   */
  private signatureNow(chainId: number): string | undefined {
    const file = fileOf(this.ctx, chainId);
    if (!this.seen.has(chainId) && hasBaseline(this.ctx)) {
      const own = lastWrittenVersion(file);
      if (own !== undefined) return this.noteSeen(chainId, own);
    }
    return signatureOf(file);
  }

  /** Notes `stats` as the chain's file as seen (its signature, and its plain form); returns the signature. */
  private noteSeen(chainId: number, stats: Parameters<typeof plainSignature>[0]): string {
    const signature = signatureText(stats);
    this.seen.set(chainId, signature);
    const plain = plainSignature(stats);
    if (plain === undefined) this.seenPlain.delete(chainId);
    else this.seenPlain.set(chainId, plain);
    return signature;
  }

  /** Whether one plain stat shows the chain's file as last seen (false when that cannot be told so: the bigint path decides). */
  private unchangedSinceSeen(chainId: number): boolean {
    const plain = this.seenPlain.get(chainId);
    if (plain === undefined || !this.seen.has(chainId)) return false;
    let now;
    try {
      now = statSync(fileOf(this.ctx, chainId), { throwIfNoEntry: false });
    } catch {
      return false;
    }
    return (
      now !== undefined &&
      now.ino === plain.ino &&
      now.dev === plain.dev &&
      now.size === plain.size &&
      now.mtimeMs === plain.mtimeMs &&
      now.ctimeMs === plain.ctimeMs
    );
  }

  /**
   * The drainer's check, before it writes a chain's file: when something else changed the file since
   * this process last wrote it, what the journal says the store wrote there is checked now (drained
   * outcomes are journalled writes), and a key with a write still in the outbox is pending, never
   * missing: that write is about to land. Reports and returns the findings; the write goes ahead.
   */
  async beforeWrite(chainId: number, pending: () => Promise<ReadonlySet<string>>): Promise<ForeignOverwrite[]> {
    const now = this.signatureNow(chainId);
    if (this.seen.has(chainId) && this.seen.get(chainId) === now) return [];
    try {
      const check = await checkFiles(this.ctx, new Set([chainId]));
      this.noteFindings(chainId, check.findings, now);
      if (check.findings.length === 0) return [];
      const inOutbox = await pending();
      const findings = check.findings.filter((f) => !inOutbox.has(f.key));
      if (findings.length > 0) this.reportOnce(chainId, { ...check, findings });
      return findings;
    } catch (error) {
      // The check never fails a write; it says it could not run, and verify reports what it could not.
      this.checkFailed([chainId], error, 'the drain writes the file unchecked');
      return [];
    }
  }

  /**
   * Before a whole check of the files (a gate's): each file as it is now counts as seen, so a drain
   * after a clean check checks again only a file that changed since.
   */
  async seenNow(): Promise<void> {
    for (const chainId of await chainsInFolder(this.ctx)) {
      this.seen.set(chainId, signatureOf(fileOf(this.ctx, chainId)));
      this.seenPlain.delete(chainId);
    }
  }

  /**
   * Before a read answers null from a chain's file (or a list answers without a record): the
   * store's write of `key` (with no key: of any record) that the file lost (a git merge overwrites
   * a file changed after its index refresh without a word; another program rewrites it), or
   * undefined. One stat while this process knows the file whole; a check that cannot run leaves
   * the answer to the read, with a warning (once per process and cause) that it could not check.
   */
  async lostWrite(chainId: number, key?: string, kinds: readonly ForeignOverwriteKind[] = ['missing']): Promise<ForeignOverwrite | undefined> {
    return this.lostIn([chainId], (f) => kinds.includes(f.kind) && (key === undefined || f.key === key));
  }

  /**
   * Before an iteration over every chain answers from the files: the store's write that any file
   * lost. The chains are those in the folder and those this process knew whole (a file git deleted
   * is no longer in the folder); one stat each while this process knows them whole.
   */
  async lostWriteAnywhere(kinds: readonly ForeignOverwriteKind[] = ['missing']): Promise<ForeignOverwrite | undefined> {
    const chains = new Set([...(await chainsInFolder(this.ctx)), ...this.whole.keys()]);
    return this.lostIn([...chains], (f) => kinds.includes(f.kind), true);
  }

  private async lostIn(chains: readonly number[], wanted: (f: ForeignOverwrite) => boolean, everyChain = false): Promise<ForeignOverwrite | undefined> {
    // A file with records lost is checked again at each such read: a repair, or an accept that
    // changes only written.json, ends it.
    const now = new Map(chains.map((chainId) => [chainId, signatureOf(fileOf(this.ctx, chainId))]));
    const known = chains.length > 0 && chains.every((chainId) => this.whole.has(chainId) && this.whole.get(chainId) === now.get(chainId));
    if (known) return undefined;
    try {
      // Every chain's check when a chain not in the folder may have lost records too.
      const check = await checkFiles(this.ctx, everyChain ? undefined : new Set(chains));
      for (const [chainId, signature] of now) {
        const file = fileOf(this.ctx, chainId);
        this.noteFindings(chainId, check.findings.filter((f) => f.file === file), signature);
      }
      return check.findings.find(wanted);
    } catch (error) {
      // The read answers from the file as it is; a null may be a record the store wrote, so it says so.
      this.checkFailed(chains, error, 'the read answers from the file as it is, and a record it lacks may be one the store wrote (a null is not proof it was never deployed)');
      return undefined;
    }
  }

  /**
   * After this process wrote a chain's file: the next write checks it only if someone else changed it
   * since. `left`: the file as the write left it (the JSON store's stat right after its rename), so no
   * stat is taken here; without it, or for another file, the file is stat'ed now.
   */
  wrote(chainId: number, left?: SwapVersion): void {
    const before = this.seen.get(chainId);
    const wasWhole = this.whole.has(chainId) && this.whole.get(chainId) === before;
    const file = fileOf(this.ctx, chainId);
    let now: string | undefined;
    if (left?.signature !== undefined && left.file === file) now = this.noteSeen(chainId, left.signature);
    else {
      now = signatureOf(file);
      this.seen.set(chainId, now);
      this.seenPlain.delete(chainId);
    }
    if (wasWhole) this.whole.set(chainId, now);
    else this.whole.delete(chainId);
  }

  private noteFindings(chainId: number, findings: readonly ForeignOverwrite[], signature: string | undefined): void {
    if (findings.length === 0) {
      this.whole.set(chainId, signature);
      this.reported.delete(chainId);
    } else {
      this.whole.delete(chainId);
    }
  }

  /** Reports a check's findings unless they are those last reported for this file. */
  private reportOnce(chainId: number, check: FilesCheck): void {
    const seen = check.findings.map((f) => `${f.key} ${f.kind} ${f.seq}`).sort().join('\n');
    if (this.reported.get(chainId) === seen) return;
    this.reported.set(chainId, seen);
    this.report(check);
  }

  private async check(chainId: number, renamed = false): Promise<void> {
    // The bigint path decides until the next write notes the file again.
    this.seenPlain.delete(chainId);
    const now = signatureOf(fileOf(this.ctx, chainId));
    try {
      const check = await checkFiles(this.ctx, new Set([chainId]));
      // Gone while it was checked, renamed (rename-network links the new name, then removes the old):
      // the renamed file is the one to check, once.
      if (check.findings.length > 0 && !renamed && signatureOf(fileOf(this.ctx, chainId)) === undefined && this.followRename?.(chainId))
        return await this.check(chainId, true);
      this.noteFindings(chainId, check.findings, now);
      if (check.findings.length > 0) this.reportOnce(chainId, check);
    } catch (error) {
      // The check never fails a write that succeeded; it says it could not run.
      this.checkFailed([chainId], error, 'the write goes ahead unchecked');
    }
  }

  /**
   * A check that could not run (the journal or written.json unreadable, say): what it guards goes on
   * as it would with nothing lost, which is said once per process and cause (it was silent, and a
   * read then answered null for a record the store wrote and a file lost).
   */
  private checkFailed(chains: readonly number[], error: unknown, after: string): void {
    const cause = error instanceof Error ? error.message : String(error);
    if (this.failedChecks.has(cause)) return;
    this.failedChecks.add(cause);
    const file = chains.length === 1 ? fileOf(this.ctx, chains[0] as number) : this.ctx.deployments;
    warn({
      code: isStateError(error) ? error.code : ErrorCodes.PRESENCE_UNKNOWN,
      message: `could not check ${file} for records the store wrote there and the file lost (${cause}): ${after}`,
      hint: 'Mend the cause, then run `deploystate verify` (it checks every file the store wrote, and fails naming what it cannot read).',
      file,
    });
  }
}
