// A compare while a deploy script writes, with more differences than it lists (dual-write before
// the copy: every record only in LevelDB). Only the listed differences on keys written since the
// compare's quiet point moved to pending; those past the lists stayed counted as differences, so
// the runbook's write-consistency check failed now and then, and passed with a larger
// --max-details. The comparison now keeps the keys it counts past its lists, and every one written
// since the quiet point is pending too. Here the comparison is built by hand over a real journal.
import { mkdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { Journal } from '../src/journal.js';
import { resolvePaths, stateFiles } from '../src/index.js';
import { settleWrittenSince, type UnlistedKeys } from '../src/written-since.js';
import type { SideComparison } from '../src/types.js';
import { useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-settle-unlisted-');

const entry = (key: string) => ({ key, record: { contractName: key.slice(key.indexOf('-') + 1), chainId: Number(key.split('-')[0]) } }) as never;

describe('a comparison that counts more differences than it lists', () => {
  it('moves every difference on a key written since the quiet point to pending, listed or not', async () => {
    const files = stateFiles(resolvePaths({ cwd: tempDir() }));
    await mkdir(files.stateDir, { recursive: true });
    const journal = new Journal(files.journal);
    try {
      const intent = (key: string) => ({ type: 'intent' as const, key, op: 'put' as const, digest: 'd', time: new Date().toISOString(), pid: process.pid, phase: 'dual-write' as const, id: journal.nextId() });
      await journal.record([intent('1-Before')], { durable: false });
      const since = await journal.lastSeq();
      // Written since the quiet point: one listed, three past the lists (two only in JSON, one differing).
      await journal.record(['97-Listed', '97-Late1', '97-Late2', '97-Changed'].map(intent), { durable: false });
      const comparison: SideComparison = {
        equal: false,
        left: { count: 0, digest: '' },
        right: { count: 0, digest: '' },
        onlyLeft: [entry('56-Seed0')],
        onlyRight: [entry('97-Listed')],
        differing: [],
        counts: { onlyLeft: 3, onlyRight: 3, differing: 1 },
        truncated: true,
        excluded: [],
        unreadable: [],
        pending: [],
      };
      // Listed: 56-Seed0 (only in LevelDB, awaiting the copy) and 97-Listed. Past the lists: two more awaiting the copy, and the other writes.
      const unlisted: UnlistedKeys = { onlyLeft: ['56-Seed1', '56-Seed2'], onlyRight: ['97-Late1', '97-Late2'], differing: ['97-Changed'] };
      const settled = await settleWrittenSince({ files, journal }, comparison, since, unlisted);
      expect(settled.counts).toEqual({ onlyLeft: 3, onlyRight: 0, differing: 0 });
      expect(settled.pending).toEqual(['97-Changed', '97-Late1', '97-Late2', '97-Listed']);
      expect(settled.equal).toBe(false);
      // Without the unlisted keys (before), the writes past the lists stayed counted.
      const before = await settleWrittenSince({ files, journal }, comparison, since);
      expect(before.counts).toEqual({ onlyLeft: 3, onlyRight: 2, differing: 1 });
    } finally {
      await journal.close();
    }
  });
});
