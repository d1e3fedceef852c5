// verify dual-write: both backends reachable and writable, proven without a trace in the user's
// data: writes go to a temporary copy of LevelDB, a temporary JSON store and a hidden probe file
// that is removed again; the journal records the probe as a probe.
import { access, constants, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore, snapshotLevelDb } from '@deploystate/backend-leveldb';
import { canonicalDigest, removeOnInterrupt, sampleRecord, tempFolderRemovedOnInterrupt, type StateStore } from '@deploystate/core';
import { isoNow, snapshotWait, type MigrationContext } from './context.js';
import { writeFileDurable } from '@deploystate/backend-json/atomic';
import { checklist } from './readiness.js';
import { openSideForReading } from './command-stores.js';
import { unreadableNetworkFiles } from './unreadable.js';
import type { MigrationPhase, ReadinessReport } from './types.js';

const PROBE_RECORD = (): ReturnType<typeof sampleRecord> => sampleRecord(31337, '__deploystate_probe__', 'hardhat');

/** Puts the probe record into a temporary store, reads it back equal and (when asked) deletes it. */
async function proveRoundTrip(store: StateStore, options: { remove: boolean }): Promise<void> {
  const record = PROBE_RECORD();
  await store.put(record);
  const back = await store.get(record.chainId, record.contractName);
  if (!back || canonicalDigest(back) !== canonicalDigest(record)) throw new Error('probe record did not read back equal');
  if (options.remove) await store.delete(record.chainId, record.contractName);
}

export async function probeBackends(ctx: MigrationContext, phase: MigrationPhase): Promise<ReadinessReport> {
  const { checks, check, report } = checklist();
  await ctx.journal.appendOne({ type: 'event', event: 'probe-start', probe: true, time: isoNow(ctx), pid: process.pid, phase });
  // Copies of both stores: removed if a signal stops the process first (the CLI runs these cleanups).
  const { path: temp, drop: dropCleanup } = tempFolderRemovedOnInterrupt(join(tmpdir(), 'deploystate-probe-'));
  try {
    await check('leveldb reachable', async () => {
      // Through a snapshot copy: opening the live folder rewrites its log and MANIFEST (committed to git).
      const side = await openSideForReading(ctx.files, 'leveldb', ctx.registry, ctx.lockWait);
      try {
        const health = await side.store.health();
        if (!health.ok) throw new Error(health.detail ?? `LevelDB is ${health.status}`);
      } finally {
        await side.dispose();
      }
      return ctx.files.leveldb;
    });
    await check('leveldb writable', async () => {
      await access(ctx.files.leveldb, constants.W_OK);
      const copy = join(temp, 'leveldb');
      await snapshotLevelDb(ctx.files.leveldb, copy, snapshotWait(ctx));
      const store = new LevelDbStore({ path: copy, registry: ctx.registry, idleCloseMs: 0 });
      await store.open();
      try {
        await proveRoundTrip(store, { remove: true });
      } finally {
        await store.close();
      }
      return 'folder writable; put/get/delete proven on a temporary copy';
    });
    await check('json reachable', async () => {
      const json = new JsonFileStore({ dir: ctx.files.deployments, readOnly: true, registry: ctx.registry });
      await json.open();
      try {
        const files = await json.listStateFiles();
        return `${ctx.files.deployments} (${files.length} state file(s))`;
      } finally {
        await json.close();
      }
    });
    // The outbox drain rewrites each network file: one that does not parse fails every drain of its chain.
    await check('json readable', async () => {
      const unreadable = await unreadableNetworkFiles(ctx.files.deployments, ctx.registry);
      if (unreadable.length > 0) throw new Error(unreadable.map((f) => `${f.file} (${f.code}): ${f.message}`).join('; '));
      return 'every network file parses';
    });
    await check('json writable', async () => {
      const probeFile = join(ctx.files.deployments, `.deploystate-probe-${process.pid}.json`);
      // In the folder teams commit: removed if a signal stops the process before this does.
      const dropProbeCleanup = removeOnInterrupt(probeFile);
      try {
        await writeFileDurable(probeFile, '{}\n');
      } finally {
        await rm(probeFile, { force: true });
        dropProbeCleanup();
      }
      const store = new JsonFileStore({ dir: join(temp, 'deployments'), create: true, registry: ctx.registry, backups: 0 });
      await store.open();
      try {
        await proveRoundTrip(store, { remove: false });
      } finally {
        await store.close();
      }
      return 'atomic write in the folder proven (probe file removed); put/get proven on a temporary store';
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
    dropCleanup();
    await ctx.journal.appendOne({
      type: 'event',
      event: 'probe-end',
      probe: true,
      detail: checks.every((c) => c.ok) ? 'ok' : 'failed',
      time: isoNow(ctx),
      pid: process.pid,
      phase,
    });
  }
  return report();
}
