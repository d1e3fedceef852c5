// A library warning: one line on stderr when nobody listens, the channel alone when somebody does.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCodes, warn, WARNING_CHANNEL, warningLine, type Warning } from '../src/index.js';

const drain: Warning = { code: ErrorCodes.DISK_FULL, message: 'the JSON side of dual-write could not be brought up to date yet (no space left)', hint: 'It is retried.' };

afterEach(() => vi.restoreAllMocks());

describe('warn', () => {
  it('prints one line naming the code and the hint when nobody subscribes', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    warn(drain);
    expect(written).toEqual([`${warningLine(drain)}\n`]);
    expect(written[0]).toBe('deploystate: warning DISK_FULL: the JSON side of dual-write could not be brought up to date yet (no space left). It is retried.\n');
  });

  it('hands the warning to a subscriber and prints nothing itself', () => {
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    const seen: unknown[] = [];
    const listener = (message: unknown): void => void seen.push(message);
    subscribe(WARNING_CHANNEL, listener);
    try {
      warn(drain);
    } finally {
      unsubscribe(WARNING_CHANNEL, listener);
    }
    expect(seen).toEqual([drain]);
    expect(written).toEqual([]);
  });
});
