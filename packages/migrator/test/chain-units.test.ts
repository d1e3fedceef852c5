// The pure parts of chain verification: URL redaction, the runtime-code hash, endpoint sources.
import { describe, expect, it } from 'vitest';
import { concat, keccak256, type Hex } from 'viem';
import { metadataLength, redactText, redactUrl, resolveEndpoints, runtimeCodeHash } from '../src/chain/index.js';

describe('redactUrl', () => {
  it.each([
    ['https://user:pass@rpc.example.com/', 'https://***@rpc.example.com/'],
    ['https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161', 'https://mainnet.infura.io/v3/***'],
    ['https://base-sepolia.g.alchemy.com/v2/AbCdEfGhIjKlMnOpQrStUv', 'https://base-sepolia.g.alchemy.com/v2/***'],
    ['https://rpc.example.com/bsc-testnet-archive?apikey=secret&x=1', 'https://rpc.example.com/bsc-testnet-archive?apikey=***&x=***'],
    ['http://127.0.0.1:8545', 'http://127.0.0.1:8545/'],
    ['https://rpc.example.com/#token', 'https://rpc.example.com/#***'],
    ['not a url with secret', '[unparseable endpoint]'],
    // A key of any length in the path is hidden; only known public routes stay.
    ['https://rpc.example.com/abcdefghijklm', 'https://rpc.example.com/***'],
    ['https://bsc.example.com/v3/9aa3d95b3bc44', 'https://bsc.example.com/v3/***'],
    ['https://api.avax.network/ext/bc/C/rpc', 'https://api.avax.network/ext/bc/C/rpc'],
    ['https://rpc.example.com/k3y/bsc/ws?token=t', 'https://rpc.example.com/***/bsc/ws?token=***'],
  ])('%s -> %s', (raw, redacted) => {
    expect(redactUrl(raw)).toBe(redacted);
  });

  it('redactText hides every configured endpoint and any other userinfo in a message', () => {
    const url = 'https://u:p4ss@rpc.example.com/v3/9aa3d95b3bc440fa88ea12eaa4456161';
    const text = redactText(`request to ${url} failed; also tried http://x:y@other.host/`, [url]);
    expect(text).not.toMatch(/p4ss|9aa3d95b3bc440fa88ea12eaa4456161|x:y/);
    expect(text).toContain('https://***@rpc.example.com/v3/***');
  });
});

describe('runtimeCodeHash', () => {
  const address: Hex = `0x${'5a'.repeat(20)}`;
  // Solidity's own shape: { ipfs: bytes34, solc: 0.8.20 } (51 bytes) followed by 0x0033.
  const tail: Hex = concat(['0xa2', '0x6469706673', '0x5822', `0x${'12'.repeat(34)}`, '0x64736f6c63', '0x43000814', '0x0033']);

  it('strips the CBOR metadata its last two bytes announce', () => {
    const body: Hex = '0x6080604052';
    expect(metadataLength(Buffer.from(concat([body, tail]).slice(2), 'hex'))).toBe((tail.length - 2) / 2);
    expect(runtimeCodeHash(concat([body, tail]), address)).toMatchObject({
      hash: keccak256(body),
      metadataBytes: (tail.length - 2) / 2,
      selfReferences: 0,
    });
  });

  it('hashes the whole code when it does not end in CBOR metadata', () => {
    const code: Hex = '0x60806040520000';
    expect(runtimeCodeHash(code, address)).toMatchObject({ hash: keccak256(code), metadataBytes: 0 });
    // The length fits, but the bytes there are not a CBOR map.
    expect(runtimeCodeHash('0x6080604052010003', address).metadataBytes).toBe(0);
  });

  it("zeroes the contract's own address wherever it appears, case-insensitively", () => {
    const deployed = concat(['0x73', address, '0x50', '0x73', address]);
    const artifact = concat(['0x73', `0x${'00'.repeat(20)}`, '0x50', '0x73', `0x${'00'.repeat(20)}`]);
    const result = runtimeCodeHash(concat([deployed, tail]), address.toUpperCase().replace('0X', '0x') as Hex);
    expect(result).toMatchObject({ hash: keccak256(artifact), selfReferences: 2 });
  });
});

describe('resolveEndpoints', () => {
  it('takes --rpc over the environment over the config file', () => {
    const rpc = resolveEndpoints({
      config: { '56': 'https://config.example/56', '97': 'https://config.example/97', '1': 'https://config.example/1' },
      env: { RPC_URL_97: 'https://env.example/97', RPC_URL_56: 'https://env.example/56', OTHER: 'x' },
      flags: ['56=https://flag.example/56'],
    });
    expect(rpc).toEqual({ 1: 'https://config.example/1', 56: 'https://flag.example/56', 97: 'https://env.example/97' });
  });

  it('refuses malformed values without echoing them', () => {
    expect(() => resolveEndpoints({ flags: ['97'] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => resolveEndpoints({ flags: ['bsc=https://x.example'] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => resolveEndpoints({ flags: ['97=ftp://x.example'] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => resolveEndpoints({ config: ['https://x.example'], configFile: '/p/deploystate.config.json' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', file: '/p/deploystate.config.json' }),
    );
    expect(() => resolveEndpoints({ config: { '97': 'secret-not-a-url' } })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => resolveEndpoints({ env: { RPC_URL_97: 'hunter2-not-a-url' } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.not.stringContaining('hunter2') }),
    );
  });
});
