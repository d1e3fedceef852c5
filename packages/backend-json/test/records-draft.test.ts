// A write's draft of a file's records answers as a copy changed directly would, and never changes
// the records of the file it starts from (the cache's, which reads see until the file is replaced).
import { describe, expect, it } from 'vitest';
import type { DeploymentRecord } from '@deploystate/core';
import { RecordsDraft } from '../src/records-draft.js';
import { random, rec } from './helpers.js';

const entries = (map: ReadonlyMap<string, DeploymentRecord>): Array<[string, number | undefined]> =>
  [...map].map(([name, record]) => [name, record.timestamp as number | undefined]);

describe('a draft of a file records', () => {
  it('reads, iterates and settles as a copy changed directly, leaving the file records untouched', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const names = ['A', 'B', 'C', 'D', '__proto__', 'E'];
      const base = new Map<string, DeploymentRecord>();
      for (const name of names) if (next() < 0.6) base.set(name, rec(56, name, { timestamp: 0 }));
      const before = entries(base);
      const copy = new Map(base);
      const draft = new RecordsDraft(base);
      const steps = Math.floor(next() * 10);
      const iterateAt = next() < 0.3 ? Math.floor(next() * steps) : -1;
      for (let step = 0; step < steps; step++) {
        const name = names[Math.floor(next() * names.length)] as string;
        if (step === iterateAt) expect([...draft.keys()], `seed ${seed}`).toEqual([...copy.keys()]);
        if (next() < 0.55) {
          const record = rec(56, name, { timestamp: step + 1 });
          copy.set(name, record);
          draft.set(name, record);
        } else {
          expect(draft.delete(name), `seed ${seed}`).toBe(copy.delete(name));
        }
        expect([draft.size, draft.has(name), draft.get(name)], `seed ${seed}`).toEqual([copy.size, copy.has(name), copy.get(name)]);
      }
      expect(entries(draft.settle()), `seed ${seed}`).toEqual(entries(copy));
      expect(entries(draft), `seed ${seed}`).toEqual(entries(copy));
      expect(entries(base), `seed ${seed}`).toEqual(before);
    }
  });

  it('settled over one another as a file is written again and again, reads as the Map a copy would be, each version unchanged', () => {
    let layered = 0;
    let copied = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const next = random(seed);
      // From a few hundred records (a copy every write or two) to thousands (layers up to the bound).
      const count = 200 + seed * 400;
      const names = Array.from({ length: count + 50 }, (_, i) => `C${i}`);
      const expected = new Map<string, DeploymentRecord>();
      for (let i = 0; i < count; i++) expected.set(names[i] as string, rec(56, names[i] as string, { timestamp: 0 }));
      let current: Map<string, DeploymentRecord> = new Map(expected);
      const versions: Array<{ records: Map<string, DeploymentRecord>; entries: Array<[string, number | undefined]> }> = [];
      for (let write = 0; write < 40; write++) {
        const draft = new RecordsDraft(current);
        for (let change = 1 + Math.floor(next() * 3); change > 0; change--) {
          const name = names[Math.floor(next() * names.length)] as string;
          if (next() < 0.8) {
            const record = rec(56, name, { timestamp: write + 1 });
            draft.set(name, record);
            expected.set(name, record);
          } else {
            expect(draft.delete(name), `seed ${seed} write ${write}`).toBe(expected.delete(name));
          }
          expect([draft.size, draft.has(name), draft.get(name)], `seed ${seed} write ${write}`).toEqual([expected.size, expected.has(name), expected.get(name)]);
        }
        const settled = draft.settle();
        if (settled === draft) {
          layered++;
          // The write is done: a layer takes no change of its own.
          expect(() => settled.set('late', rec(56, 'late'))).toThrow();
        } else copied++;
        const probe = names[Math.floor(next() * names.length)] as string;
        expect([settled.size, settled.get(probe)], `seed ${seed} write ${write}`).toEqual([expected.size, expected.get(probe)]);
        if (next() < 0.2) versions.push({ records: settled, entries: entries(expected) });
        current = settled;
      }
      // Every version kept reads as it was written, the older ones iterated after the newer were made.
      for (const { records, entries: then } of versions.reverse()) expect(entries(records), `seed ${seed}`).toEqual(then);
      expect(entries(current), `seed ${seed}`).toEqual(entries(expected));
    }
    // Both ways were taken, or the property says little.
    expect(layered).toBeGreaterThan(100);
    expect(copied).toBeGreaterThan(50);
  });
});
