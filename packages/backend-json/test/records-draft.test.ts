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
});
