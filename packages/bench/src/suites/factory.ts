// What deploy scripts get: reads and writes through `createStateStore()` in each phase of a real
// migration walk (LevelDB seeded, dual-write, a real copy, promote, cut-over), against LevelDB
// alone on the same records, kept open as the legacy state module keeps it. Runbook 3.4's limits
// apply to these as much as to the bare stores of the backends suite.
import { closeSync, existsSync, fdatasync, fstatSync, fsync, ftruncateSync, linkSync, openSync, renameSync, writeSync } from 'node:fs';
import { cp, readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { sleep, stringifyLossless, type DeploymentRecord, type StateStore } from '@deploystate/core';
import { LIMITS, isGatedSize, ratioGate } from '../gates.js';
import { makeTempDir, measure, removeTempDir, type Subject } from '../harness.js';
import { dataset, loadBackend, loadLevel, loadMigrator, type RawLevel } from '../loaders.js';
import type { GateResult, Measurement } from '../results.js';
import {
  emptyOutcome,
  listNote,
  listRepeat,
  LONE_CALLS,
  loneCallSampling,
  PACE_MS,
  pacedGetRounds,
  pacedRounds,
  pointSampling,
  POINT_REPEAT,
  PUTS_PER_SESSION,
  scaled,
  scriptRun,
  sessionRecords,
  sessionSampling,
  upgraded,
  type SuiteContext,
  type SuiteOutcome,
} from './context.js';
import { freshScriptRow } from './fresh-script.js';
import { longJournalPutRow } from './long-journal.js';
import { PHASES, seededLevelDb, startWalk } from './walk.js';

/** The factory suite walks a migration per size: gated sizes and one above them answer its questions. */
export const FACTORY_MAX_SIZE = 1000;

/** A key per round, spread over the data so reads do not hit one entry. */
export function pickRecord(records: readonly DeploymentRecord[], round: number): DeploymentRecord {
  return records[(round * 7919) % records.length] as DeploymentRecord;
}

/** The chain with the most records, for a per-chain list. */
function busiestChain(records: readonly DeploymentRecord[]): number {
  const counts = new Map<number, number>();
  for (const r of records) counts.set(r.chainId, (counts.get(r.chainId) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 56;
}

const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);

/**
 * The floor of any durable whole-file rewrite: the chain's current file bytes to a temp file,
 * fdatasync, rename, fsync of the folder. Written to a sibling folder on the same file system so it
 * never touches the files the store reads. The cheapest way Node offers: the small calls (open,
 * write, close, rename, link) synchronous, the two syncs asynchronous (a store cannot block its
 * event loop on a disk flush), and the folder held open for its syncs, as the JSON store itself
 * does (an open, sync and close per write would slow the floor and flatter the store). The temp
 * file is the version the last write replaced, kept by a hard link and overwritten in place, as
 * the store reuses a backup of the same size: a fresh temp file each time costs a block allocation
 * and its metadata in the sync, and made the store's put measure below this floor. `close()` lets
 * the folder go.
 */
export async function rewriteFloor(deployments: string, scratch: string): Promise<{ write(chainId: number): Promise<void>; close(): void }> {
  const bytes = new Map<number, Buffer>();
  for (const name of await readdir(deployments)) {
    if (!name.endsWith('.json')) continue;
    const text = await readFile(join(deployments, name));
    const chainId = /"chainId"\s*:\s*(\d+)/.exec(text.toString('utf8'))?.[1];
    if (chainId !== undefined) bytes.set(Number(chainId), text);
  }
  const folder = openSync(scratch, 'r');
  return {
    async write(chainId) {
      const data = bytes.get(chainId) ?? Buffer.from('{}\n');
      const target = join(scratch, `${chainId}.json`);
      const spare = `${target}.spare`;
      // The version replaced last time becomes this write's temp file (as the store takes its oldest backup).
      const reused = existsSync(spare);
      if (reused) renameSync(spare, `${target}.tmp`);
      const fd = openSync(`${target}.tmp`, reused ? 'r+' : 'w');
      try {
        writeSync(fd, data, 0, data.length, 0);
        if (fstatSync(fd).size > data.length) ftruncateSync(fd, data.length);
        await fdatasyncAsync(fd);
      } finally {
        closeSync(fd);
      }
      // The version this write replaces is kept for the next one (as the store keeps it among its backups).
      if (existsSync(target)) linkSync(target, spare);
      renameSync(`${target}.tmp`, target);
      await fsyncAsync(folder);
    },
    close: () => closeSync(folder),
  };
}

/** The durable put's gates: the runbook's 3x of LevelDB sync (the floor's own ratio beside a FAIL), and the floor's 1.15x. */
function durablePutGates(
  measurements: readonly Measurement[],
  row: { size: number; phase: string; put: string; gated: boolean; at: string },
): GateResult[] {
  const { size, phase, put, gated, at } = row;
  const where = (candidate: string, reference: string) => ({ suite: 'factory' as const, operation: put, candidate, reference, size });
  const floorRatio = ratioGate(
    { name: `info: rewrite floor vs leveldb sync${at}`, limit: null, comparison: '<=', source: 'the least any durable file rewrite costs' },
    measurements,
    where('rewrite floor', 'leveldb sync'),
    false,
  );
  // Where a durable rewrite cannot reach 3x, the FAIL says so: the floor's own ratio beside it.
  const beside = (label: string, gate: GateResult): GateResult => ({
    ...gate,
    name: gate.status === 'FAIL' && floorRatio.value !== null ? `${label}; floor ${floorRatio.value.toFixed(2)}x)` : `${label})`,
  });
  return [
    beside(`write (put ${phase}${at}, durable`, ratioGate(LIMITS.write, measurements, where('factory', 'leveldb sync'), gated)),
    // Our LevelDB store's put does more than `level`'s (the lossless print, its folder check beside
    // git): against the legacy module's own put the ratio is higher, shown for information.
    ratioGate(
      { name: `info: put ${phase}${at} vs level sync`, limit: null, comparison: '<=', source: 'the legacy state module: level, sync: true' },
      measurements,
      where('factory', LEVEL_SYNC),
      false,
    ),
    beside(`write (json store put${at}, durable`, ratioGate(LIMITS.write, measurements, where('json', 'leveldb sync'), gated)),
    floorRatio,
    ratioGate({ ...LIMITS.rewriteFloor, name: `${LIMITS.rewriteFloor.name} (${phase}${at})` }, measurements, where('factory', 'rewrite floor'), gated),
    ratioGate({ ...LIMITS.rewriteFloor, name: `json store put vs rewrite floor${at}` }, measurements, where('json', 'rewrite floor'), gated),
  ];
}

/** The subject that reads as the project's legacy state module did. */
const LEGACY = 'level';
/** The legacy state module's durable put: `level` with `sync: true`. */
const LEVEL_SYNC = 'level sync';

const recordKey = (record: DeploymentRecord): string => `${record.chainId}-${record.contractName}`;

/** A `level` database holding `records` as the legacy state module keeps it: open for the whole run. */
async function legacyLevel(records: readonly DeploymentRecord[], dirs: string[]): Promise<RawLevel> {
  const dir = await makeTempDir('factory-legacy-level');
  dirs.push(dir);
  const Level = loadLevel();
  const db = new Level(join(dir, 'leveldb'), { valueEncoding: 'utf8', createIfMissing: true });
  await db.open();
  await db.batch(records.map((record) => ({ type: 'put', key: recordKey(record), value: stringifyLossless(record) })));
  return db;
}

/** Whether the phase's writes go to JSON first (durable), so LevelDB sync: true is their reference. */
function writesJson(phase: string): boolean {
  return phase === 'json-primary' || phase === 'json-only';
}

/** Each record's successor in its own chain (a deploy script reads and writes one network's file). */
function nextInChain(records: readonly DeploymentRecord[]): Map<DeploymentRecord, DeploymentRecord> {
  const byChain = new Map<number, DeploymentRecord[]>();
  for (const r of records) {
    const chain = byChain.get(r.chainId);
    if (chain) chain.push(r);
    else byChain.set(r.chainId, [r]);
  }
  const next = new Map<DeploymentRecord, DeploymentRecord>();
  for (const chain of byChain.values()) chain.forEach((r, i) => next.set(r, chain[(i + 1) % chain.length] as DeploymentRecord));
  return next;
}

/**
 * A deploy script reads straight after it writes: the next contract's get follows the last one's
 * put with no transaction between. The put is untimed; the get then finds the file the put wrote
 * within its timestamp tick (JSON compares the file's bytes before trusting its cache) and code gone
 * cold during the put's syncs. LevelDB alone does the same, its put as durable as the phase's writes.
 */
async function getAfterPutGates(row: {
  context: SuiteContext;
  phase: string;
  store: StateStore;
  /** LevelDB alone at the phase's durability, and its name in the rows. */
  reference: { name: string; store: StateStore };
  records: readonly DeploymentRecord[];
  size: number;
  legacy: RawLevel;
  stamp: { next: number };
  measurements: Measurement[];
  gated: boolean;
}): Promise<GateResult[]> {
  const { phase, records, size, stamp } = row;
  const next = nextInChain(records);
  const referenceName = row.reference.name;
  const subject = (name: string, store: StateStore): Subject => ({
    name,
    before: (r) => store.put(upgraded(pickRecord(records, r), stamp.next++)),
    run: (r) => {
      const read = next.get(pickRecord(records, r)) as DeploymentRecord;
      return store.get(read.chainId, read.contractName);
    },
  });
  // The legacy state module itself: `level`, JSON.parse of the value, nothing else on the path.
  const legacy: Subject = {
    name: LEGACY,
    before: (r) => {
      const record = upgraded(pickRecord(records, r), stamp.next++);
      return row.legacy.put(recordKey(record), stringifyLossless(record), { sync: writesJson(phase) });
    },
    run: async (r) => {
      const read = next.get(pickRecord(records, r)) as DeploymentRecord;
      return JSON.parse((await row.legacy.get(recordKey(read))) ?? 'null') as unknown;
    },
  };
  const operation = `get after put ${phase}`;
  row.measurements.push(
    ...(await measure(
      [subject('factory', row.store), subject(referenceName, row.reference.store), legacy],
      {
        suite: 'factory',
        size,
        operation,
        itemsPerRun: 1,
        note: `a get of another record of the chain just written, straight after the put (untimed); each sample the mean of ${LONE_CALLS} lone gets; LevelDB ${referenceName === 'leveldb' ? 'sync false' : 'sync: true'}`,
      },
      loneCallSampling(row.context, 2),
    )),
  );
  const where = (reference: string) => ({ suite: 'factory' as const, operation, candidate: 'factory', reference, size });
  return [
    ratioGate({ ...LIMITS.read, name: `read (get after a put, ${phase})` }, row.measurements, where(referenceName), row.gated),
    ratioGate(
      { name: `info: get after a put vs ${LEGACY} (${phase})`, limit: null, comparison: '<=', source: 'what the same read costs the state module a project had before' },
      row.measurements,
      where(LEGACY),
      false,
    ),
  ];
}

/**
 * A script's records written together (a deployment of several contracts, a drain): one putMany of
 * PUTS_PER_SESSION upgrades across the networks, so each file's legacy entries change several at a
 * time, through createStateStore() in the phase against LevelDB (sync: true where the phase writes
 * JSON durably), and any other stores given. For information: the runbook's limit is per write.
 */
async function putManyRow(row: {
  context: SuiteContext;
  phase: string;
  subjects: ReadonlyArray<{ name: string; store: StateStore }>;
  reference: string;
  write: (n: number) => DeploymentRecord;
  size: number;
  note: string;
  measurements: Measurement[];
}): Promise<GateResult> {
  const operation = `putMany ${PUTS_PER_SESSION} ${row.phase}`;
  row.measurements.push(
    ...(await measure(
      row.subjects.map(({ name, store }) => ({ name, run: (r: number) => store.putMany(sessionRecords(row.write, r)) })),
      { suite: 'factory', size: row.size, operation, itemsPerRun: PUTS_PER_SESSION, note: `${PUTS_PER_SESSION} upgrades across the networks in one putMany: ${row.note}` },
      scaled(row.context, 4, 20),
    )),
  );
  return ratioGate(
    { name: `info: putMany ${PUTS_PER_SESSION} ${row.phase} vs ${row.reference}`, limit: null, comparison: '<=', source: "a script's records written together; the runbook's limit is per write" },
    row.measurements,
    { suite: 'factory', operation, candidate: 'factory', reference: row.reference, size: row.size },
    false,
  );
}

export async function factorySuite(context: SuiteContext): Promise<SuiteOutcome> {
  const leveldb = await loadBackend('leveldb');
  if (!leveldb.ok) return emptyOutcome(`skipped: ${leveldb.reason}`);
  const json = await loadBackend('json');
  if (!json.ok) return emptyOutcome(`skipped: ${json.reason}`);
  const migrator = await loadMigrator();
  if (!migrator.ok) return emptyOutcome(`skipped: ${migrator.reason}`);

  const measurements: Measurement[] = [];
  const gates: GateResult[] = [];
  // The long-journal row once a run (growing a journal by 100k entries takes seconds): at the first size.
  let longJournalMeasured = false;
  for (const size of context.sizes.filter((s) => s <= FACTORY_MAX_SIZE || s === context.project?.size)) {
    const records = dataset(size);
    const chainId = busiestChain(records);
    const gated = isGatedSize(size);
    const walk = await startWalk(leveldb.value, migrator.value, records);
    const dirs: string[] = [];
    const stores: StateStore[] = [];
    const closers: Array<() => Promise<void>> = [];
    try {
      // LevelDB alone, as the legacy state module keeps it: open for the whole run, read from tables.
      const refDir = await seededLevelDb(leveldb.value, records, 'factory-leveldb', dirs);
      const alone = leveldb.value.create(refDir, false);
      stores.push(alone);
      await alone.open();
      const syncDir = await makeTempDir('factory-leveldb-sync');
      dirs.push(syncDir);
      const aloneSync = leveldb.value.create(syncDir, true);
      stores.push(aloneSync);
      await aloneSync.open();
      await aloneSync.putMany(records);
      const scratch = await makeTempDir('factory-floor');
      dirs.push(scratch);
      // Timestamps for the get-after-put rows' puts: below the durable put rows' own (1.9e12 on).
      const stamp = { next: 1_850_000_000_000 };
      const legacy = await legacyLevel(records, dirs);
      closers.push(() => legacy.close());

      for (const phase of PHASES) {
        await walk.advance(phase);
        const store = await walk.factoryStore();
        // The rows measure what a deploy script gets in the phase, not the phase change's first 25 ms.
        await walk.settle();
        context.log(`factory ${size} records, ${phase}: createStateStore() vs leveldb alone`);
        const pair = (op: (s: StateStore, round: number) => Promise<unknown>) => [
          { name: 'factory', run: (r: number) => op(store, r) },
          { name: 'leveldb', run: (r: number) => op(alone, r) },
        ];
        const base = { suite: 'factory' as const, size };
        const ops = {
          get: `get ${phase}`,
          pacedGet: `get ${phase} @${PACE_MS}ms`,
          list: `list ${phase}`,
          query: `query ${phase}`,
        };
        measurements.push(
          ...(await measure(
            pair((s, r) => s.get(pickRecord(records, r).chainId, pickRecord(records, r).contractName)),
            {
              ...base,
              operation: ops.get,
              itemsPerRun: 1,
              note: `createStateStore() in ${phase} vs LevelDbStore kept open; each sample the mean of ${POINT_REPEAT} gets in a row`,
            },
            pointSampling(context),
          )),
          ...(await measure(
            pair((s) => s.list(chainId)),
            { ...base, operation: ops.list, itemsPerRun: records.filter((r) => r.chainId === chainId).length, note: listNote(chainId, size) },
            { ...scaled(context, Math.max(1, size / 500), 20), repeat: listRepeat(size) },
          )),
          ...(await measure(
            pair((s) => s.query({ sortBy: 'timestamp', order: 'desc' })),
            { ...base, operation: ops.query, itemsPerRun: size, note: 'all records by timestamp desc' },
            scaled(context, Math.max(1, size / 200), 10),
          )),
        );
        const where = (operation: string, candidate = 'factory', reference = 'leveldb') => ({
          suite: 'factory' as const,
          operation,
          candidate,
          reference,
          size,
        });
        if (gated) {
          // A deploy script reads between its transactions, not eight gets in a row: each get here
          // follows PACE_MS idle, the subjects taking turns, as the paced put rows do. After an idle
          // spell the first calls of either store run cold. Where reads come from JSON the row is
          // gated against half a LevelDB get too, near its value: more rounds (pacedGetRounds).
          const rounds = phase === 'json-primary' || phase === 'json-only' ? pacedGetRounds(context) : pacedRounds(context);
          measurements.push(
            ...(await measure(
              pair((s, r) => s.get(pickRecord(records, r).chainId, pickRecord(records, r).contractName)).map((subject) => ({ ...subject, before: () => sleep(PACE_MS) })),
              { ...base, operation: ops.pacedGet, itemsPerRun: 1, note: `one get every ${PACE_MS} ms: createStateStore() in ${phase} vs LevelDbStore kept open` },
              { warmup: 1, iterations: rounds, minIterations: rounds },
            )),
          );
          gates.push(ratioGate({ ...LIMITS.read, name: `read (get @${PACE_MS}ms, ${phase})` }, measurements, where(ops.pacedGet), gated));
          if (phase === 'json-primary' || phase === 'json-only') {
            gates.push(ratioGate({ ...LIMITS.factoryGet, name: `${LIMITS.factoryGet.name} @${PACE_MS}ms (${phase})` }, measurements, where(ops.pacedGet), gated));
          }
        }
        gates.push(
          ratioGate({ ...LIMITS.read, name: `read (get, ${phase})` }, measurements, where(ops.get), gated),
          ratioGate({ ...LIMITS.read, name: `read (list, ${phase})` }, measurements, where(ops.list), gated),
          ratioGate({ ...LIMITS.query, name: `query (${phase})` }, measurements, where(ops.query), gated),
        );
        // A write's reference: LevelDB alone, synced where the phase writes JSON durably.
        const reference = writesJson(phase) ? { name: 'leveldb sync', store: aloneSync } : { name: 'leveldb', store: alone };
        gates.push(...(await getAfterPutGates({ context, phase, store, reference, legacy, records, size, stamp, measurements, gated })));
        // json-only's row (below) adds the JSON store itself on a copy of the files.
        if (phase !== 'json-only') {
          gates.push(
            await putManyRow({
              context,
              phase,
              subjects: [{ name: 'factory', store }, reference],
              reference: reference.name,
              write: (n) => upgraded(pickRecord(records, n), stamp.next++),
              size,
              note: `createStateStore() in ${phase} vs LevelDbStore ${writesJson(phase) ? 'sync: true' : 'sync false'}`,
              measurements,
            }),
          );
        }
        if (phase === 'json-primary' || phase === 'json-only') {
          gates.push(ratioGate({ ...LIMITS.factoryGet, name: `${LIMITS.factoryGet.name} (${phase})` }, measurements, where(ops.get), gated));
        }
        if (phase === 'json-only') {
          // JSON writes are durable through the factory: compared with LevelDB sync: true, and with
          // the floor of any durable rewrite of the same file, measured in the same rounds.
          const floor = await rewriteFloor(join(walk.cwd, 'deployments'), scratch);
          // The JSON store itself (durable, as the factory opens it) on a byte copy of the files the
          // migration's copy wrote: its own folder, so its writes and the factory's never meet.
          const copied = await makeTempDir('factory-json-copy');
          dirs.push(copied);
          await cp(join(walk.cwd, 'deployments'), join(copied, 'deployments'), {
            recursive: true,
            filter: (source) => !source.includes('.deploystate'),
          });
          const direct = json.value.create(copied, true);
          stores.push(direct);
          await direct.open();
          // A new value every put (a put of unchanged bytes writes nothing), whichever round asks.
          let stamp = 1_900_000_000_000;
          const rewrite = (r: number): DeploymentRecord => upgraded(pickRecord(records, r), stamp++);
          const subjects: Subject[] = [
            { name: 'factory', run: (r: number) => store.put(rewrite(r)) },
            { name: 'json', run: (r: number) => direct.put(rewrite(r)) },
            { name: 'leveldb sync', run: (r: number) => aloneSync.put(rewrite(r)) },
            {
              name: LEVEL_SYNC,
              run: (r: number) => {
                const record = rewrite(r);
                return legacy.put(recordKey(record), stringifyLossless(record), { sync: true });
              },
            },
            { name: 'rewrite floor', run: (r: number) => floor.write(pickRecord(records, r).chainId) },
          ];
          const note =
            'factory JSON and JsonFileStore on a copy of the same files (fdatasync + folder fsync) vs LevelDB sync: true (our store, and bare `level`) vs bare durable rewrite of the file';
          // Back to back, then at a deploy script's pace (gated sizes: each round costs 4 x PACE_MS).
          const paces = gated ? [undefined, PACE_MS] : [undefined];
          try {
            for (const pace of paces) {
              const put = pace === undefined ? `put ${phase}` : `put ${phase} @${pace}ms`;
              const rounds = pacedRounds(context);
              measurements.push(
                ...(await measure(
                  pace === undefined ? subjects : subjects.map((subject) => ({ ...subject, before: () => sleep(pace) })),
                  {
                    ...base,
                    operation: put,
                    itemsPerRun: 1,
                    note: pace === undefined ? `durable, one awaited put at a time, back to back: ${note}` : `durable, one put every ${pace} ms: ${note}`,
                  },
                  // Back to back: 200 rounds after 10 warm-up ones, as the dual-write rows (with 50, the
                  // store's first rounds weighed on its p50).
                  pace === undefined ? scaled(context, 1, 100) : { warmup: 1, iterations: rounds, minIterations: rounds },
                )),
              );
              gates.push(...durablePutGates(measurements, { size, phase, put, gated, at: pace === undefined ? '' : ` @${pace}ms` }));
            }
          } finally {
            floor.close();
          }
          gates.push(
            await putManyRow({
              context,
              phase,
              subjects: [
                { name: 'factory', store },
                { name: 'json', store: direct },
                { name: 'leveldb sync', store: aloneSync },
              ],
              reference: 'leveldb sync',
              write: rewrite,
              size,
              note: `durable: ${note}`,
              measurements,
            }),
          );
          // A deploy script's whole run: a fresh store, its puts, close() (each file's first write
          // in a process paid), against LevelDB sync: true doing the same. For information: the
          // runbook's limit is per write, gated above.
          const sessionDir = await seededLevelDb(leveldb.value, records, 'factory-session', dirs);
          const sessionOp = `${PUTS_PER_SESSION} puts + close ${phase}`;
          measurements.push(
            ...(await measure(
              [
                { name: 'factory', run: (r: number) => scriptRun(() => walk.scriptStore(), sessionRecords(rewrite, r)) },
                { name: 'leveldb sync', run: (r: number) => scriptRun(() => leveldb.value.create(sessionDir, true), sessionRecords(rewrite, r)) },
              ],
              {
                ...base,
                operation: sessionOp,
                itemsPerRun: PUTS_PER_SESSION,
                note: `a script's run: open, ${PUTS_PER_SESSION} durable puts, close; createStateStore() (JSON durable + journal) vs LevelDB sync: true`,
              },
              sessionSampling(context),
            )),
          );
          gates.push(
            ratioGate(
              { name: `info: a script's run in ${phase} (open, ${PUTS_PER_SESSION} puts, close)`, limit: null, comparison: '<=', source: 'what a deploy script run pays' },
              measurements,
              where(sessionOp, 'factory', 'leveldb sync'),
              false,
            ),
          );
          // The same run in a fresh process each time, as a deploy script runs (gated sizes).
          if (gated) gates.push(...(await freshScriptRow(context, { project: walk.cwd, leveldbDir: sessionDir, size, phase }, rewrite, measurements, dirs)));
          if (!longJournalMeasured) {
            longJournalMeasured = true;
            const chainRecords = records.filter((r) => r.chainId === chainId);
            gates.push(await longJournalPutRow(context, { project: walk.cwd, migrator: migrator.value, chainRecords, size }, measurements, dirs));
          }
        }
        // A script that ends closes its store; the next phase's commands then have LevelDB to themselves.
        await store.close();
      }
    } finally {
      for (const store of stores) await store.close().catch(() => undefined);
      for (const close of closers) await close().catch(() => undefined);
      await walk.dispose();
      for (const dir of dirs) await removeTempDir(dir);
    }
  }
  return { measurements, memory: [], gates };
}
