// status on a file system that refuses writes (a small tmpfs, where this host lets the test mount
// one: root). Before: in dual-write with the disk 100% full (every deploy script's put failing
// DISK_FULL) status exited 0 and said nothing of the disk; `status --probe` passed on a read-only
// mount (it probes a copy) while a deploy script's createStateStore().get() failed on leveldb/LOCK.
import { execFileSync } from 'node:child_process';
import { watch } from 'node:fs';
import { readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountSmallTmpfs, unmountTmpfs } from '@deploystate/core/testing';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-status-disk-', { demo: false });
const disk = mountSmallTmpfs('24m', 'deploystate-status-disk-');

afterAll(() => {
  if (disk === undefined) return;
  execFileSync('mount', ['-o', 'remount,rw', disk], { stdio: 'ignore' });
  unmountTmpfs(disk);
});

/** Every path under `dir`, recursively, sorted. */
async function tree(dir: string): Promise<string[]> {
  return ((await readdir(dir, { recursive: true })) as string[]).sort();
}

describe('status and the disk', () => {
  // Its write checks wrote a temp file straight into leveldb/ or deployments/ (a project with no
  // state folder yet, or --probe): read-only commands touch only local, ignored files.
  it('writes nothing in the folders a team commits, --probe included, with or without a state folder', async () => {
    for (const [name, steps] of [
      ['no-state', []],
      ['dual-write', [['dual-write', 'enable']]],
    ] as const) {
      const dir = await sampleAt(join(fixture.root, `untouched-${name}`), steps.map((step) => [...step]));
      const seen: string[] = [];
      const watchers = ['leveldb', 'deployments'].map((folder) => watch(join(dir, folder), (event, file) => seen.push(`${folder}: ${event} ${String(file)}`)));
      try {
        for (const args of [['status'], ['status', '--probe']]) {
          const run = await deploystate([...args, '--no-color'], { cwd: dir });
          expect(run.code, run.stderr).toBe(0);
        }
        // Events of the last moments are delivered on a later turn.
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        for (const watcher of watchers) watcher.close();
      }
      expect(seen, name).toEqual([]);
    }
  });

  it.skipIf(disk === undefined)(
    'says the disk holding LevelDB, deployments and the state is full, with free space and inodes',
    async () => {
      void fixture;
      const dir = await sampleAt(join(disk as string, 'full'), [['dual-write', 'enable']]);
      const roomy = onlyDocument(await deploystate(['status', '--json'], { cwd: dir }));
      expect(roomy.disk).toEqual([expect.objectContaining({ holds: ['leveldb', 'deployments', 'state'] })]);
      expect((roomy.disk as Array<Record<string, unknown>>)[0]).not.toHaveProperty('exhausted');
      const fill = join(disk as string, 'fill');
      const fs = await statfs(disk as string);
      await writeFile(fill, Buffer.alloc(fs.bavail * fs.bsize)).catch(() => undefined);
      try {
        const text = await deploystate(['status', '--no-color'], { cwd: dir });
        expect(text.stdout).toMatch(/^disk {9}0\.0 MiB free, \d+ inodes free \(LevelDB, deployments, state folder: /m);
        expect(text.stdout).toContain('no free space left: every write here fails with DISK_FULL');
        // It said `migrate  yes` and exited 0 beside that line: a script's `status && migrate` went on.
        expect(text.code).toBe(6);
        expect(text.stdout).toMatch(/^migrate +no +DISK_FULL: no free space on the file system of the LevelDB, deployments, state folder/m);
        const json = onlyDocument(await deploystate(['status', '--json'], { cwd: dir }));
        expect(json.disk).toEqual([expect.objectContaining({ exhausted: 'space' })]);
        const next = json.next as Array<{ command: string; ready: boolean; blockedBy?: string }>;
        expect(next.find((n) => n.command === 'migrate')).toMatchObject({ ready: false, blockedBy: expect.stringMatching(/^DISK_FULL: /) });
        expect(next.filter((n) => n.ready).map((n) => n.command)).toEqual([]);
        // The envelope says why it failed, with the code the exit code stands for.
        expect(json).toMatchObject({ ok: false, error: { code: 'DISK_FULL', message: expect.stringContaining('no free space on the file system of the LevelDB, deployments, state folder') } });
        // --expect's own check comes first: its exit code is the check's.
        expect((await deploystate(['status', '--expect', 'json-only', '--no-color'], { cwd: dir })).code).toBe(1);
      } finally {
        await rm(fill, { force: true });
      }
    },
  );

  it.skipIf(disk === undefined)(
    'on a read-only mount: status says writes fail, and --probe fails as a deploy script would, naming leveldb/LOCK',
    async () => {
      const dir = await sampleAt(join(disk as string, 'read-only'), [['dual-write', 'enable']]);
      // On a writable disk the probe passes and leaves the committed folders as they were.
      const before = [await tree(join(dir, 'leveldb')), await tree(join(dir, 'deployments'))];
      const probed = await deploystate(['status', '--probe', '--no-color'], { cwd: dir });
      expect(probed.code, probed.stderr).toBe(0);
      expect([await tree(join(dir, 'leveldb')), await tree(join(dir, 'deployments'))]).toEqual(before);

      execFileSync('mount', ['-o', 'remount,ro', disk as string]);
      try {
        const text = await deploystate(['status', '--no-color'], { cwd: dir });
        expect(text.stdout).toMatch(/writes fail here: PERMISSION_DENIED .*read-only \(EROFS\)/);
        expect(text.code).toBe(6);
        expect(text.stdout).toMatch(/^migrate +no +PERMISSION_DENIED: the file system of the LevelDB, deployments, state folder: .* refuses writes/m);
        const probe = await deploystate(['status', '--probe', '--json'], { cwd: dir });
        expect(probe.code).toBe(6);
        const failed = onlyDocument(probe);
        expect(failed.error).toMatchObject({
          code: 'PERMISSION_DENIED',
          file: join(dir, 'leveldb', 'LOCK'),
          hint: expect.stringContaining('remount it read-write'),
        });
        expect((failed.error as { message: string }).message).toContain('read-only (EROFS)');
      } finally {
        execFileSync('mount', ['-o', 'remount,rw', disk as string]);
      }
    },
  );
});
