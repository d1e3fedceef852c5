// status with the temp folder full (ENOSPC on TMPDIR, not on the project's disk): it names that
// folder as full, never "LevelDB cannot be opened" (deploy scripts open LevelDB directly, and are
// unaffected). A real full disk: a small tmpfs, where this host lets the test mount one (root).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountSmallTmpfs, unmountTmpfs } from '@deploystate/core/testing';
import { deploystate, onlyDocument, sampleAt, useSample } from './helpers.js';

const fixture = useSample('deploystate-cli-status-temp-full-', { demo: false });

const tmpfs = mountSmallTmpfs('64k');

beforeAll(async () => {
  if (tmpfs === undefined) return;
  // Filled up, but for less than a copy of the sample's LevelDB needs.
  await writeFile(join(tmpfs, 'fill'), Buffer.alloc(60 * 1024)).catch(() => undefined);
});

afterAll(() => {
  if (tmpfs !== undefined) unmountTmpfs(tmpfs);
});

describe('status with the temp folder full', () => {
  it.skipIf(tmpfs === undefined)('says the temp folder is full, naming it, not that LevelDB cannot be opened', async () => {
    const dir = await sampleAt(join(fixture.root, 'temp-full'), [['dual-write', 'enable']]);
    const env = { TMPDIR: tmpfs as string };
    const text = await deploystate(['status', '--no-color'], { cwd: dir, env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toContain('cannot be opened');
    expect(text.stdout).toContain(`the temp folder ${tmpfs} (TMPDIR), where status copies LevelDB to read it, is full`);
    const json = onlyDocument(await deploystate(['status', '--json'], { cwd: dir, env }));
    expect(json.leveldbUnreadable).toMatchObject({ code: 'DISK_FULL', tempFolder: tmpfs });
  });
});

