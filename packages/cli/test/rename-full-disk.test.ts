// rename-network on a full disk (a small tmpfs, where this host lets the test mount one: root).
// Before: the backup copy failed DISK_FULL and left an empty .deploystate/backups/rename-<time>/
// folder standing for a backup that does not exist.
import { existsSync } from 'node:fs';
import { readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountSmallTmpfs, unmountTmpfs } from '@deploystate/core/testing';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-rename-full-', { demo: false });
const disk = mountSmallTmpfs('16m', 'deploystate-rename-full-');

afterAll(() => {
  if (disk !== undefined) unmountTmpfs(disk);
});

describe('rename-network on a full disk', () => {
  it.skipIf(disk === undefined)(
    'fails DISK_FULL naming the backup, and leaves no empty backup folder; the file keeps its name',
    async () => {
      void fixture;
      const dir = await sampleAt(join(disk as string, 'project'), [['init']]);
      const backups = join(dir, '.deploystate', 'backups');
      const before = (await readdir(backups).catch(() => [] as string[])).filter((n) => n.startsWith('rename-'));
      const fill = join(disk as string, 'fill');
      const fs = await statfs(disk as string);
      await writeFile(fill, Buffer.alloc(fs.bavail * fs.bsize)).catch(() => undefined);
      try {
        const run = await deploystate(['rename-network', '97', 'chapel', '--yes', '--json'], { cwd: dir });
        expect(run.code).toBe(6);
        expect(onlyDocument(run).error).toMatchObject({ code: 'DISK_FULL', file: expect.stringContaining(join(backups, 'rename-')) });
        expect((await readdir(backups).catch(() => [] as string[])).filter((n) => n.startsWith('rename-'))).toEqual(before);
        expect(existsSync(join(dir, 'deployments', 'bsctestnet.json'))).toBe(true);
      } finally {
        await rm(fill, { force: true });
      }
    },
  );
});
