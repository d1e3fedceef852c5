// json-only writes cut off between their intent and their outcome (the deploy script SIGKILLed
// mid-write): status names each, with whether its network file holds what it meant to write, and
// never names a write whose process still runs. Real processes: the writer is killed or stopped
// inside its put.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore, Migration } from '../src/index.js';
import { acknowledgeAll, sidesDiffer, demoMigration, firstLine, putThroughStore, runNode, untilStopped, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-cut-off-json-only-');

describe('status in json-only', () => {
  // Before: status said nothing of either write (1 of 1 runs each): the operator never learnt that a
  // deploy script died mid-write, nor whether its record is in the file.
  it('names a write whose script was killed mid-write, and whether it landed in its file', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    try {
      const landed = runNode('crash-writer.mjs', [tempDir(), 'after-json', '97', 'Landed', 'bsctestnet']);
      expect((await landed.done).signal).toBe('SIGKILL');
      const lost = runNode('crash-writer.mjs', [tempDir(), 'before-json', '56', 'Lost', 'bscmainnet']);
      expect((await lost.done).signal).toBe('SIGKILL');
      const status = await migration.status();
      expect(status.cutOffWrites).toEqual([
        expect.objectContaining({ key: '97-Landed', op: 'put', pid: landed.process.pid, file: 'bsctestnet.json', landed: true }),
        expect.objectContaining({ key: '56-Lost', op: 'put', pid: lost.process.pid, file: 'bscmainnet.json', landed: false }),
      ]);
      // The script run again writes the key: that write has an outcome, and the notice goes.
      await putThroughStore(tempDir(), sampleRecord(56, 'Lost', 'bscmainnet', 7));
      expect((await migration.status()).cutOffWrites?.map((w) => w.key)).toEqual(['97-Landed']);
    } finally {
      await migration.close();
    }
  });

  // Before: listed again after a rollback and a new cut-over whenever state.json lacks this cut-over's
  // evidence (unreadable here), 1 of 1 runs: the journal was read from its start, and a write the
  // rollback and the verify since had settled was named as lost.
  it('never names a write cut off before a rollback, once a new migration is cut over', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    try {
      const lost = runNode('crash-writer.mjs', [tempDir(), 'before-json', '56', 'Lost', 'bscmainnet']);
      expect((await lost.done).signal).toBe('SIGKILL');
      expect((await migration.status()).cutOffWrites?.map((w) => w.key)).toEqual(['56-Lost']);
      await migration.rollback();
      await migration.enableDualWrite();
      await migration.migrate();
      expect((await migration.verify()).clean).toBe(true);
      await migration.promote();
      await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
      expect((await migration.status()).cutOffWrites).toBeUndefined();
    } finally {
      await migration.close();
    }
    // phase.json still says json-only; this clone's evidence is gone with its state.json.
    writeFileSync(`${tempDir()}/.deploystate/state.json`, '{');
    const reopened = await Migration.open({ cwd: tempDir() });
    try {
      const status = await reopened.status();
      expect(status.state.phase).toBe('json-only');
      expect(status.cutOffWrites).toBeUndefined();
      // A write cut off in this spell is still named.
      const cut = runNode('crash-writer.mjs', [tempDir(), 'before-json', '97', 'Now', 'bsctestnet']);
      expect((await cut.done).signal).toBe('SIGKILL');
      expect((await reopened.status()).cutOffWrites?.map((w) => w.key)).toEqual(['97-Now']);
    } finally {
      await reopened.close();
    }
  });

  // Before: a live process that took the killed writer's pid (pids wrap; a container starts at low
  // pids) hid the cut-off write for as long as it lived (1 of 1 runs, pid reuse forced through
  // ns_last_pid): a pid alone was taken for the writer.
  it('names a write cut off whose pid a process started since has taken', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    const journalFile = `${tempDir()}/.deploystate/journal.ndjson`;
    let other: ChildProcess | undefined;
    try {
      const lost = runNode('crash-writer.mjs', [tempDir(), 'before-json', '56', 'Lost', 'bscmainnet']);
      expect((await lost.done).signal).toBe('SIGKILL');
      other = spawn('sleep', ['30'], { stdio: 'ignore' });
      await new Promise((resolve) => other?.once('spawn', resolve));
      // The journal as it reads once the kernel gives the writer's pid, a minute after its line, to a
      // process that lives on.
      const intent = readFileSync(journalFile, 'utf8')
        .split('\n')
        .find((line) => line.includes('"key":"56-Lost"')) as string;
      const taken = { ...(JSON.parse(intent) as object), pid: other.pid, time: new Date(Date.now() - 60_000).toISOString() };
      writeFileSync(journalFile, readFileSync(journalFile, 'utf8').replace(intent, JSON.stringify(taken)));
      expect((await migration.status()).cutOffWrites).toEqual([expect.objectContaining({ key: '56-Lost', pid: other.pid, landed: false })]);
    } finally {
      other?.kill('SIGKILL');
      await migration.close();
    }
  });

  // A json-only putMany writes a network's records in one write of its file, their intents all
  // journalled before it: killed between the intents and the rename, it must leave what as many
  // single puts cut off before their files were written leave.
  it('a putMany killed after its intents are on disk, before its file is replaced, loses nothing acknowledged and carries nothing unacknowledged back', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-only');
    const writer = runNode('put-many-paused.mjs', [dir]);
    try {
      expect(await firstLine(writer)).toBe('acknowledged');
      await untilStopped(writer.process.pid as number);
      // Paused right before the rename: every record's intent is in the journal, none in the file.
      const journal = readFileSync(`${dir}/.deploystate/journal.ndjson`, 'utf8');
      for (const key of ['97-Lost1', '97-Lost2']) expect(journal).toContain(`"key":"${key}"`);
      // 97-Acked: the acknowledged put's intent and ok, and the upgrade's intent.
      expect(journal.match(/"key":"97-Acked"/g)).toHaveLength(3);
      writer.process.kill('SIGKILL');
      expect((await writer.done).signal).toBe('SIGKILL');
      const file = readFileSync(`${dir}/deployments/bsctestnet.json`, 'utf8');
      expect(file).not.toContain('Lost1');
      expect(file).toContain(sampleRecord(97, 'Acked', 'bsctestnet', 7).address);
      // Each record named as a single put cut off before its file was written is named.
      const status = await migration.status();
      expect(status.cutOffWrites?.map((w) => [w.key, w.landed, w.pid])).toEqual([
        ['97-Acked', false, writer.process.pid],
        ['97-Lost1', false, writer.process.pid],
        ['97-Lost2', false, writer.process.pid],
      ]);
      // The rollback carries back what JSON holds: the acknowledged records, never the batch cut off.
      await migration.rollback();
      expect((await migration.status()).state.phase).toBe('leveldb-only');
    } finally {
      writer.process.kill('SIGKILL');
      await migration.close();
    }
    expect(await sidesDiffer(dir)).toEqual({ onlyLeft: [], onlyRight: [], differing: [] });
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.open();
      expect(store.phase).toBe('leveldb-only');
      expect(await store.get(97, 'Acked')).toEqual(sampleRecord(97, 'Acked', 'bsctestnet', 7));
      expect(await store.get(56, 'AckedToo')).toEqual(sampleRecord(56, 'AckedToo', 'bscmainnet', 7));
      expect(await store.get(97, 'Lost1')).toBeNull();
      expect(await store.get(97, 'Lost2')).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('never names a write whose process is alive (in flight), until that process dies', async () => {
    const migration = await demoMigration(tempDir(), 'json-only');
    const writer = runNode('crash-writer.mjs', [tempDir(), 'stop-before-json', '97', 'InFlight', 'bsctestnet']);
    try {
      await untilStopped(writer.process.pid as number);
      const journal = readFileSync(`${tempDir()}/.deploystate/journal.ndjson`, 'utf8');
      expect(journal).toContain('"key":"97-InFlight"');
      expect((await migration.status()).cutOffWrites).toBeUndefined();
      writer.process.kill('SIGKILL');
      await writer.done;
      expect((await migration.status()).cutOffWrites).toEqual([expect.objectContaining({ key: '97-InFlight', landed: false })]);
    } finally {
      writer.process.kill('SIGKILL');
      await migration.close();
    }
  });
});
