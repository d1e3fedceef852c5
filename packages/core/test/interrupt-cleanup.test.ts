import { describe, expect, it } from 'vitest';
import { registerInterruptCleanup, runInterruptCleanups } from '../src/index.js';

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
