// The cut-over's acknowledgement gate named every unacknowledged finding on one line: 1,300
// NETWORK_MISMATCH findings made a 30 KB GATE_FAILED message, the hint to acknowledge by code last.
// It now names each code with a few of its keys and counts the rest.
import { describe, expect, it } from 'vitest';
import { RUN_GATES } from '../src/index.js';

describe("the acknowledgement gate's reason", () => {
  it('groups the findings by code, names a few keys of each and counts the rest', () => {
    const unacknowledged = [
      ...Array.from({ length: 1_300 }, (_, i) => ({ code: 'NETWORK_MISMATCH', key: `56-B${i}` })),
      { code: 'INVALID_ADDRESS', key: '31337-LookCoin' },
      { code: 'INVALID_ADDRESS', key: '31337-TestToken' },
    ];
    const result = RUN_GATES['acknowledged findings']({ fresh: [], unacknowledged } as never);
    if (result.pass) throw new Error('the gate passed');
    const reason = result.reasons.join(' ');
    expect(reason.length).toBeLessThan(300);
    expect(reason).toContain('NETWORK_MISMATCH 56-B0, 56-B1, 56-B2, 56-B3, 56-B4 (and 1295 more)');
    expect(reason).toContain('INVALID_ADDRESS 31337-LookCoin, 31337-TestToken');
    expect(RUN_GATES['acknowledged findings']({ fresh: [], unacknowledged: [] } as never).pass).toBe(true);
  });
});
