import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dropRemovalOnInterrupt, registerInterruptCleanup, removeOnInterrupt, runInterruptCleanups } from '../src/index.js';

describe('interrupt cleanups', () => {
  it('run once, newest first, each on its own; a dropped one does not run', () => {
    const ran: string[] = [];
    registerInterruptCleanup(() => ran.push('first'));
    const drop = registerInterruptCleanup(() => ran.push('dropped'));
    registerInterruptCleanup(() => {
      ran.push('throws');
      throw new Error('gone already');
    });
    registerInterruptCleanup(() => ran.push('last'));
    drop();
    expect(runInterruptCleanups()).toBe(3);
    expect(ran).toEqual(['last', 'throws', 'first']);
    expect(runInterruptCleanups()).toBe(0);
  });
});

describe('removeOnInterrupt', () => {
  it('removes a folder the work still holds; one dropped by path (removed or kept elsewhere) stays', async () => {
    const root = await mkdtemp(join(tmpdir(), 'deploystate-core-removal-'));
    try {
      const held = join(root, 'held');
      const kept = join(root, 'kept');
      await mkdir(join(held, 'inside'), { recursive: true });
      await mkdir(kept);
      removeOnInterrupt(held);
      removeOnInterrupt(kept);
      dropRemovalOnInterrupt(kept);
      expect(runInterruptCleanups()).toBe(1);
      expect((await readdir(root)).sort()).toEqual(['kept']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
