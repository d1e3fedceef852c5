import { describe, expect, it } from 'vitest';
import {
  acknowledge,
  canonicalDigest,
  ErrorCodes,
  findAcknowledgement,
  isDevChain,
  parseAcknowledgements,
  sampleRecord,
  StateError,
} from '../src/index.js';

const record = sampleRecord(56, 'FeeManager', 'bscmainnet');
const found = { code: 'MISSING_IMPLEMENTATION_HASH' as const, key: '56-FeeManager', file: '/srv/deployments/bscmainnet.json' };

describe('acknowledgements', () => {
  it('accept exactly the finding they name, on the record as it was acknowledged', () => {
    const ack = acknowledge(found, 'deployments/bscmainnet.json', record);
    expect(ack).toEqual({ file: 'bscmainnet.json', key: '56-FeeManager', code: 'MISSING_IMPLEMENTATION_HASH', digest: canonicalDigest(record) });
    expect(findAcknowledgement([ack], found, record)).toBe(ack);
    // A changed record, another code, another key or another file raises the finding again.
    expect(findAcknowledgement([ack], found, { ...record, address: `0x${'1'.repeat(40)}` })).toBeUndefined();
    expect(findAcknowledgement([ack], { ...found, code: 'EMPTY_HASH' }, record)).toBeUndefined();
    expect(findAcknowledgement([ack], { ...found, key: '56-Other' }, record)).toBeUndefined();
    expect(findAcknowledgement([ack], { ...found, file: 'bsc.json' }, record)).toBeUndefined();
    expect(findAcknowledgement([ack], found, null)).toBeUndefined();
  });

  it('are read from a config with INVALID_CONFIG naming the file and the entry', () => {
    const ack = acknowledge(found, 'bscmainnet.json', record, 'proxy predates hashes');
    expect(parseAcknowledgements([ack], 'deploystate.config.json')).toEqual([ack]);
    expect(parseAcknowledgements(undefined)).toEqual([]);
    for (const bad of [
      {},
      [{ ...ack, file: '../x.json' }],
      [{ ...ack, key: 'nokey' }],
      [{ ...ack, code: 'NOT_A_CODE' }],
      [{ ...ack, digest: 'abc' }],
      [{ ...ack, note: 5 }],
    ]) {
      let error: unknown;
      try {
        parseAcknowledgements(bad, 'deploystate.config.json');
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(StateError);
      expect((error as StateError).code).toBe(ErrorCodes.INVALID_CONFIG);
      expect((error as StateError).file).toBe('deploystate.config.json');
    }
  });

  it('know the development chains', () => {
    expect([31337, 1337, 56].map(isDevChain)).toEqual([true, true, false]);
  });
});
