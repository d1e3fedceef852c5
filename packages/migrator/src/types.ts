// The migrator's public contract: what the CLI, the bench and deploy scripts rely on.
// Implementations live beside this file; extend these types, never break them.
import type { FilesCheck, ForeignOverwrite } from './coowned.js';
import type { DirectWrite } from './direct-writes.js';
import type { OutboxStatus } from './outbox-status.js';
import type { Acknowledgement, DeploymentRecord, Finding, NetworkRegistry, StateStore, StoreComparison, StoreSide } from '@deploystate/core';
import type { ChainCheckOptions, ChainVerificationReport } from './chain/types.js';
import type { LevelDbSinceCutover } from './cutover-leveldb.js';
import type { DecisionProposals } from './decisions.js';
import type { NextCommand } from './machine.js';

/** The persisted phases; what each allows and how it is left is the table in machine.ts. */
export type MigrationPhase = 'leveldb-only' | 'dual-write' | 'json-primary' | 'json-only' | 'rolling-back';

export interface MigrationPaths {
  /** LevelDB folder. Default `./leveldb`. */
  leveldb: string;
  /** Deployments folder. Default `./deployments`. */
  deployments: string;
  /** State, journal, lock, backups, progress and reports. Default `./.deploystate` beside them. */
  stateDir: string;
}

export interface MigrationOptions extends Partial<MigrationPaths> {
  /** Base for relative paths. Default process.cwd(). */
  cwd?: string;
  registry?: NetworkRegistry;
  /** Findings the team accepted record by record (the config's `acknowledge`): honoured by cut-over, proposed no more by analysis. */
  acknowledgements?: Acknowledgement[];
  /** Injected clock, for tests. */
  now?: () => number;
  /**
   * About how long an open of LevelDB waits for another process's lock before LOCKED, in ms.
   * Default: DEPLOYSTATE_LOCK_WAIT_MS from the environment, else `lockWaitMs` in
   * deploystate.config.json (createStateStore reads both; the CLI passes them to its migration),
   * else about 15 s.
   */
  lockWaitMs?: number;
  /**
   * A deploy script's LevelDB puts (createStateStore(), where LevelDB is written) synced to disk
   * before they return, so a power cut cannot lose them. Default: `leveldbSync` in
   * deploystate.config.json, else false (as the legacy `level` module wrote: a put survives its
   * process's death, not the machine's).
   */
  leveldbSync?: boolean;
}

/** Evidence of one verify run, kept in the state and used by the gates. */
export interface VerifyEvidence {
  at: string;
  clean: boolean;
  leveldb: StoreSide;
  json: StoreSide;
  differences: number;
  schemaErrors: number;
  /** The journal sequence number at the time of the verify. */
  journalSeq: number;
  /** core's DIGEST_FORMAT the digests were made in; evidence without it, or in another, is stale. */
  digestFormat?: number;
  /** Records the store wrote that their network file lost to another program's rewrite. */
  foreignOverwrites?: number;
  /**
   * Keys written while the verify read the sides (pending, never a difference): the digests hold
   * them as each side had them then, so they may differ on a clean verify; a gate re-checks them.
   */
  pending?: number;
}

export interface PhaseTiming {
  phase: string;
  status: 'done' | 'failed' | 'skipped';
  startedAt: string;
  endedAt: string;
  durationMs: number;
  detail?: string;
}

export interface MigrationStateFile {
  version: 1;
  phase: MigrationPhase;
  /** Set when a secondary write failed and could not be compensated; blocks promote and cut-over. */
  diverged: boolean;
  /** Keys the operator excluded from the migration. */
  exclusions: string[];
  /** Keys that cannot be migrated (undecodable, key mismatch), found by analysis or the copy. */
  unmigratable: string[];
  /** Journal sequence at which dual-write was enabled (rollback replays from here). */
  dualWriteSinceSeq: number | null;
  /** The bulk copy's checkpoints and result. */
  copy: {
    startedAt?: string;
    snapshotSeq?: number;
    completedAt?: string;
    /** Network files finished in the current run (resume starts after these). */
    chainsDone: number[];
    leveldbDigest?: string;
    copied?: number;
    /** Records the copy found already equal in JSON (left as they were). */
    unchanged?: number;
    /** Records a deploy script wrote after the copy's snapshot: JSON's newer value kept (copied + unchanged + skipped is what it read). */
    skippedNewer?: number;
  } | null;
  lastVerify: VerifyEvidence | null;
  /** Finding codes/keys the operator acknowledged for cut-over. */
  acknowledged: string[];
  timings: PhaseTiming[];
  updatedAt: string;
  /** Set while a rollback runs (and kept afterwards for the report). */
  rollback?: {
    from: MigrationPhase;
    startedAt: string;
    emergency: boolean;
    /** The carry-back into LevelDB has finished; reads may return to LevelDB. */
    carriedBack: boolean;
    completedAt?: string;
    /**
     * What the carry-back could not read on the JSON side (an emergency rollback past a network file
     * that does not parse): `key` the file's name (with its `chainId`) or one record's key. Only
     * this clone's journalled writes were carried back there; `status` lists each until LevelDB
     * holds what it holds (see MigrationStatus.notCarriedBack).
     */
    notCarriedBack?: RecordedNotCarriedBack[];
  } | null;
  /** Why the state is diverged: the journal entry that marked it. */
  divergedBy?: { seq: number; key: string; at: string } | null;
  /** The verify evidence at cut-over (the report's digests). */
  cutoverEvidence?: VerifyEvidence | null;
  /** LevelDB as it was at cut-over (shared through git), so a later change to it is seen, with its keys. */
  cutoverLeveldb?: LevelDbAtCutover | null;
  /**
   * How many cut-overs the project has made (shared through git). The store marks each network file
   * it writes in json-only with the current one (`jsonOnlyAfterCutover`): those writes are in JSON
   * alone. Absent in a state from before it was counted: 1 while a cut-over stands, else 0.
   */
  cutovers?: number;
  /**
   * The last cut-over a rollback from json-only ended (shared through git): a file marked with a
   * later one holds writes no rollback carried back, and a phase that reads LevelDB is refused.
   */
  cutoversRolledBack?: number;
}

/** LevelDB at cut-over: its digest, and each record's digest (what names the keys of a later change). */
export interface LevelDbAtCutover {
  at: string;
  count: number;
  digest: string;
  /** Record key -> canonical record digest, keys in store order. */
  records: Record<string, string>;
}

export interface MigrationStatus {
  paths: MigrationPaths;
  phase: MigrationPhase;
  diverged: boolean;
  /**
   * The write, journalled `diverged`, that makes `diverged` true where state.json could not record it
   * (a full disk): its intent's seq and key. verify clears it as it clears the recorded mark.
   */
  divergedUnrecorded?: { seq: number; key: string };
  /** Which store the factory reads from and which ones it writes to, in order. */
  reads: 'leveldb' | 'json';
  writes: Array<'leveldb' | 'json'>;
  /** The phase's commands, with the first gate that blocks each and the gates it checks only when run (machine.ts). */
  next: NextCommand[];
  state: MigrationStateFile;
  /** `torn`: lines that are no entry (a crash mid-append, or damage), skipped by every reader. */
  journal: { entries: number; lastSeq: number; torn: number };
  /** json-only: LevelDB's changes since the cut-over recorded it (`fold-in` brings them to JSON). */
  leveldbSinceCutover?: LevelDbSinceCutover;
  /** Records the store wrote that their network file lost to another program's rewrite (repair-files puts them back). */
  foreignOverwrites?: ForeignOverwrite[];
  /**
   * From json-primary or json-only (or a rollback stopped part-way from them): each network file that
   * is missing while LevelDB holds records of its chain, which a rollback refuses (STORE_NOT_FOUND)
   * unless told the file is gone on purpose (`acknowledge`). Absent when none is.
   */
  missingNetworkFiles?: Array<{ file: string; chainId: number; records: number }>;
  /**
   * In `rolling-back`: the process running the rollback now (it holds the migration lock), so a
   * paused or slow one is not taken for one that stopped. Absent when none runs: a rollback that
   * stopped, which `rollback` run again finishes.
   */
  rollbackRunning?: { pid: number; host: string; command: string; since: string };
  /**
   * Where deploy scripts read or write JSON (dual-write's drain, json-primary, json-only): the
   * network files that cannot be read now, each named with why. Absent when every file reads.
   */
  unreadableFiles?: UnreadableNetworkFile[];
  /** Writes LevelDB acknowledged that JSON has not received yet (dual-write's outbox), and the last drain failure. */
  outbox?: OutboxStatus;
  /**
   * json-only: writes whose process ended after the intent and before the outcome (killed, crashed),
   * with whether the network file holds what each meant to write; absent when there are none. A
   * write whose process still runs is in flight and never listed; a later write of the key clears it.
   */
  cutOffWrites?: CutOffWrite[];
  /**
   * leveldb-only through a teammate's rollback (pulled): this clone's writes made on the JSON side
   * that LevelDB lacks or holds older (`carriedBack`: what `rollback` would put there), and its
   * deletes there; absent when there are none. `rollback` carries them back.
   */
  leftBehind?: NonNullable<RollbackReport['leftBehind']>;
  /**
   * leveldb-only after a rollback that could not read some of the JSON side (state.rollback's
   * `notCarriedBack`): each entry LevelDB still lacks, with why. A network file that reads now lists
   * the keys it holds that LevelDB lacks (`missing`); resolved once there are none (`deploystate
   * export --from json`, then `import`). Absent when nothing is left.
   */
  notCarriedBack?: Array<NotCarriedBack & { reason: string; missing?: string[] }>;
  /** Where LevelDB is read or written first: why it cannot be opened (a restore cut off between its renames, a damaged folder). */
  leveldbUnreadable?: LevelDbProblem;
  /** leveldb-only with this clone's migration still recorded: why `leftBehind` could not be worked out (LevelDB cannot be opened). */
  leftBehindUnknown?: LevelDbProblem;
}

/**
 * LevelDB files of a folder committed to git that a commit made now would leave out (`git commit
 * -a` adds no new file): each open of LevelDB makes new ones, and a clone that pulls a commit
 * without them gets a folder that does not open (STORE_INCOMPLETE).
 */
export interface LevelDbNotInGit {
  folder: string;
  /** In the folder, not in git's index. */
  untracked: string[];
  /** In the folder, not in git's index, and excluded by a `.gitignore` (`git add -A` skips them). */
  ignored: string[];
  /** In git's index, gone from the folder (LevelDB deleted them; the deletion is not staged). */
  deleted: string[];
  /** What stages them all, relative to the working folder. */
  command: string;
  /**
   * Files a merge (or rebase, cherry-pick, stash pop) left in conflict: git cannot merge LevelDB,
   * and finishing the merge as it stands mixes both sides' files. Empty when there are none.
   */
  unmerged: string[];
  /** What keeps one side's folder whole, relative to the working folder (when `unmerged` has files). */
  keepOneSide?: string;
}

export interface ChainInventory {
  chainId: number;
  network: string;
  tier: 'mainnet' | 'testnet' | 'dev';
  known: boolean;
  count: number;
  contracts: string[];
  /** networkName values seen on this chain, with counts. */
  networkNames: Record<string, number>;
}

export interface AnalysisReport {
  source: { path: string; snapshot: boolean };
  total: number;
  chains: ChainInventory[];
  findings: Finding[];
  numericAudit: { bigLiterals: number; bigStrings: number; findings: Finding[] };
  /** Each failure names the key and, where a value would change, the field. */
  roundTrip: { checked: number; failures: Array<{ key: string; field?: string; problem: string }> };
  /** Keys that cannot be migrated unless excluded. */
  unmigratable: string[];
  /** Cross-check against legacy <network>.json files and the expected-inventory file. */
  crossCheck: Finding[];
  digest: StoreSide;
  ok: boolean;
  /** The records checked against the chains, when asked (`analyze --chain`); does not change `ok`. */
  chain?: ChainVerificationReport;
  /** Exclusions and acknowledgements the operator may record (never made automatically), each with its command. */
  proposals?: DecisionProposals;
  /** Scripts that write deployments/*.json themselves, each with the change to make; does not change `ok`. */
  directWrites?: DirectWrite[];
}

export interface CopyProgress {
  done: number;
  /** What the last analysis or verify counted; equals `done` while `totalKnown` is false. */
  total: number;
  /** False when nothing counted the records before the copy (no analyze or verify): show a count and a rate. */
  totalKnown: boolean;
  /** Records per second. */
  rate: number;
  etaMs: number;
  chainId?: number;
  file?: string;
}

export interface CopyReport {
  dryRun: boolean;
  resumed: boolean;
  nothingToDo: boolean;
  copied: number;
  unchanged: number;
  /** JSON records overwritten or removed because they differed from LevelDB, with the backup that holds them. */
  overwritten: Array<{ key: string; backup: string }>;
  removed: Array<{ key: string; backup: string }>;
  /** Keys skipped because the journal has a later write. */
  skippedNewer: string[];
  excluded: string[];
  files: string[];
  backups: { leveldb?: string; files: string[] };
  leveldbDigest: string;
  durationMs: number;
  /**
   * Emergency only: keys whose network file lost what the store wrote there; LevelDB got the
   * journalled record (or kept its own, for a record the copy wrote), never the damaged one.
   */
  keptFromJournal?: string[];
}

/**
 * A stored entry the comparison could not read. LevelDB values that do not decode are the
 * unmigratable keys; `known` says whether the state already lists the key as unmigratable or
 * excluded (an unknown one makes the comparison unequal). A JSON file or record entry that cannot
 * be read is never known: compare, verify and migrate stop with CORRUPTED naming it.
 */
export interface UnreadableEntry {
  side: 'leveldb' | 'json';
  /** The record key, or the file name for a whole JSON file that cannot be read. */
  key: string;
  file?: string;
  finding: Finding;
  known: boolean;
}

/** core's comparison plus what neither side could read. */
export interface SideComparison extends StoreComparison {
  unreadable: UnreadableEntry[];
  /** Keys with a write LevelDB acknowledged and JSON has not received yet: left out of the comparison, never differences. */
  pending?: string[];
  /** json-only: keys written since the cut-over whose journalled write JSON holds as written (LevelDB stays as the cut-over left it): never differences. */
  writtenSinceCutover?: string[];
  /**
   * json-only: keys JSON got since the cut-over other than through this clone's store (a teammate's
   * write pulled through git, or another program: new, or newer by timestamp), while LevelDB holds
   * what it held at the cut-over: never differences.
   */
  writtenElsewhere?: string[];
  /**
   * dual-write before the copy has completed: differences on keys not written since dual-write
   * was enabled (JSON as an earlier cycle left it, or no record yet), which the copy overwrites or
   * removes: counted by kind, and the listed ones' keys. Differences on keys written since are the
   * write consistency the runbook checks.
   */
  awaitingCopy?: { differing: number; onlyRight: number; keys: string[] };
}

export interface VerifyReport {
  clean: boolean;
  /**
   * What to run when no command of the phase can clear the differences: in json-primary, where
   * LevelDB differs from JSON (a crash lost LevelDB's last writes, a git merge changed a network
   * file), the rollback that makes LevelDB equal JSON and the walk back.
   */
  next?: string;
  comparison: SideComparison;
  schema: { files: number; errors: Finding[]; skipped: Array<{ file: string; reason: string }> };
  evidence: VerifyEvidence;
  /** Whether each network file still holds what the store wrote there; findings make the verify unclean. */
  files?: FilesCheck;
  /** The read side checked against the chains, when asked (`verify --chain`); does not change `clean`. */
  chain?: ChainVerificationReport;
  /** json-only: LevelDB's changes since the cut-over recorded it (`fold-in` brings them to JSON). */
  leveldbSinceCutover?: LevelDbSinceCutover;
}

export interface CutoverOptions {
  /** Acknowledge pre-existing findings (by code or key) that the JSON files still carry. */
  acknowledge?: string[];
  /** N consecutive clean verifies, `intervalMs` apart. */
  soak?: { count: number; intervalMs: number };
  /** Pass the gates' checks, but do not change state. */
  dryRun?: boolean;
  /** Also check the JSON records against the chains; any error-level result fails the gate. */
  chain?: ChainCheckOptions;
}

export interface RollbackOptions {
  /** Skip the gates (never the carry-back, never deleting JSON files). */
  emergency?: boolean;
  dryRun?: boolean;
  /**
   * Network files (by file name such as `basesepolia.json`, by path, or by chain id) the operator
   * says are gone on purpose: from json-primary or json-only their chain's LevelDB records are
   * deleted, as the carry-back deletes every record JSON no longer holds. Without it a network file
   * missing while LevelDB holds records of its chain is refused (STORE_NOT_FOUND), emergency or not.
   */
  acknowledge?: string[];
}

/** What `rollbackReadiness()` is asked about: the rollback that would run. */
export interface RollbackReadinessOptions {
  /** As RollbackOptions.acknowledge: network files that are gone on purpose do not fail readiness. */
  acknowledge?: string[];
}

/**
 * What a rollback would carry back, as its confirmation names it: the writes journalled since
 * dual-write enable (journal seq > `sinceSeq`), counted in one streamed read from there.
 */
export interface RollbackScope {
  phase: MigrationPhase;
  paths: MigrationPaths;
  /** The journal seq dual-write enable recorded; null where no migration stands (leveldb-only). */
  sinceSeq: number | null;
  /** Puts and deletes journalled since then (probes left out); 0 where `sinceSeq` is null. */
  writes: number;
  /** The keys they wrote. */
  keys: number;
  /**
   * Whether the carry-back makes LevelDB equal to the JSON files (from json-primary or json-only,
   * deleting what JSON no longer holds); from dual-write it never changes or deletes a LevelDB record.
   */
  fromJson: boolean;
  /**
   * leveldb-only: what the last rollback recorded it could not read on the JSON side
   * (state.rollback's `notCarriedBack`), as recorded; empty in other phases or when it read
   * everything. Whether LevelDB still lacks any of it is `status().notCarriedBack`, worth its reads
   * (the journal, a LevelDB snapshot) only when this is not empty.
   */
  notCarriedBack: NotCarriedBack[];
}

/** A network file (`key` its name, with its `chainId`) or one record (`key` its key) a rollback could not read on the JSON side. */
export interface NotCarriedBack {
  key: string;
  chainId?: number;
  code: string;
}

/** A NotCarriedBack as the state records it. */
export interface RecordedNotCarriedBack extends NotCarriedBack {
  /**
   * The keys LevelDB held once that rollback was done, of the file's chain (or the record's own
   * key): one LevelDB lacks later was deleted there since, not left behind. Absent in states
   * recorded before it was.
   */
  inLevelDb?: string[];
}

/** A network file a deploy script cannot read now (status): its chain's reads and writes fail until it is mended. */
export interface UnreadableNetworkFile {
  file: string;
  chainId: number;
  /** As the store's iterate names it (backend-json's stateFileProblem): MERGE_CONFLICT (a merge left unfinished), NOT_JSON, EMPTY_FILE, NOT_A_FILE, UNSUPPORTED_SCHEMA_VERSION, CHAIN_MISMATCH or SCHEMA_VIOLATION. */
  code: string;
  message: string;
  hint?: string;
}

export interface RollbackReport {
  from: MigrationPhase;
  emergency: boolean;
  replayed: number;
  puts: number;
  deletes: number;
  /** The keys deleted from LevelDB (JSON no longer holds them), or that a dry run would delete. */
  deletedKeys?: string[];
  /** The store digest of LevelDB after the carry-back ('' when nothing was to do). */
  leveldbDigest: string;
  durationMs: number;
  /** Already leveldb-only: nothing was read, carried back or switched. */
  nothingToDo?: boolean;
  /**
   * Emergency only: keys whose network file lost what the store wrote there; LevelDB got the
   * journalled record (or kept its own, for a record the copy wrote), never the damaged one.
   */
  keptFromJournal?: string[];
  /**
   * Keys of writes JSON had not received when dual-write ended (a writer stopped before its drain):
   * LevelDB holds them; their outbox entries are removed, as JSON is no longer written.
   */
  outboxDropped?: string[];
  /**
   * Emergency only (a plain rollback is refused while JSON cannot be read): what the carry-back could
   * not read in JSON, by file name (a network file that does not parse, such as one a pulled merge
   * left with conflict markers) or by key (an entry that is not a record). Everything else was made
   * equal to JSON; for these only this clone's journalled writes (its deletes too) were carried
   * back, and nothing else LevelDB holds of them was deleted. Records only such a file holds (a teammate's writes) are not
   * in LevelDB until the file is mended and imported (`export --from json`, then `import`).
   */
  unreadableInJson?: Array<{ key: string; file?: string; code: string }>;
  /**
   * Already leveldb-only through a teammate's rollback (pulled): this clone's own writes made on
   * the JSON side that it did not carry back. `carriedBack`: put into LevelDB (it lacked them, or
   * held them older); `newerInLevelDb`: LevelDB holds a newer record, kept; `deletes`: deletes this
   * clone made there, listed and not carried back (LevelDB may hold a newer write of the key).
   */
  leftBehind?: { carriedBack: string[]; newerInLevelDb: string[]; deletes: string[] };
  /**
   * Network files that were missing and acknowledged gone (`acknowledge`): their chain's records
   * LevelDB held were deleted (a dry run: would be), counted here and named in `deletedKeys`.
   */
  acknowledgedGone?: Array<{ file: string; chainId: number; records: number }>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

export interface MigrationReport {
  status: 'SUCCESS' | 'IN PROGRESS' | 'FAILED' | 'ROLLED BACK';
  markdown: string;
  json: Record<string, unknown>;
  files: { markdown: string; json: string };
}

/** What `createStateStore()` returns: a StateStore that also answers to the legacy names. */
export interface FactoryStore extends StateStore {
  readonly phase: MigrationPhase;
  getContract(chainId: number, contractName: string): Promise<DeploymentRecord | null>;
  putContract(chainId: number, record: DeploymentRecord): Promise<void>;
  getAllContracts(chainId: number): Promise<DeploymentRecord[]>;
}

/** A json-only write a deploy script was killed in before it finished (status, cutOffWrites). */
export interface CutOffWrite {
  key: string;
  op: 'put' | 'delete';
  seq: number;
  pid: number;
  time: string;
  /** The network file (relative to the deployments folder) the write went to. */
  file: string;
  /** Whether the file holds what the write meant to leave there (the record, or no record for a delete); null when the file cannot be read. */
  landed: boolean | null;
}

/** Why status could not read LevelDB. */
export interface LevelDbProblem {
  code: string;
  message: string;
  hint?: string;
  /**
   * Set when the temp folder (TMPDIR) could not hold the snapshot copy status reads (full, not
   * writable): LevelDB itself was only read, and deploy scripts, which open it directly, are unaffected.
   */
  tempFolder?: string;
}
