// The implementation hash the deploy scripts record: keccak256 of the artifact's runtime code
// without its trailing CBOR metadata. A deployed runtime differs from the artifact where the
// compiler left immutables: the contract's own address (`address(this)` stored as an immutable)
// is the one we can restore, by zeroing it as the artifact has zeros there.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex as hexOf } from '@noble/hashes/utils.js';
import type { HexString as Hex } from './types.js';

// Hashing and hex use @noble/hashes, not viem, so that loading the migrator (every CLI command)
// does not load viem; viem is imported only when a chain is actually queried.
function hexToBytes(hex: Hex): Uint8Array {
  const body = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  return Uint8Array.from(Buffer.from(body.length % 2 ? `0${body}` : body, 'hex'));
}

function keccakHex(bytes: Uint8Array): Hex {
  return `0x${hexOf(keccak_256(bytes))}`;
}

/**
 * Length of the trailing CBOR metadata, including its 2-byte length suffix, or 0 when the code
 * does not end in one. Solidity appends `<CBOR map><uint16 big-endian length of the map>`; we
 * accept it only when the length fits and the bytes there start a CBOR map (major type 5).
 */
export function metadataLength(code: Uint8Array): number {
  if (code.length < 2) return 0;
  const length = ((code[code.length - 2] as number) << 8) | (code[code.length - 1] as number);
  const start = code.length - 2 - length;
  if (length === 0 || start < 0) return 0;
  const head = code[start] as number;
  const isMap = head >= 0xa0 && head <= 0xbf;
  return isMap ? length + 2 : 0;
}

/** Zeroes every occurrence of the 20-byte `address` in `code` (a copy; `code` is not changed). */
export function zeroAddress(code: Uint8Array, address: Hex): { code: Uint8Array; occurrences: number } {
  const needle = hexToBytes(address);
  const out = code.slice();
  let occurrences = 0;
  for (let i = 0; i + needle.length <= out.length; i++) {
    let match = true;
    for (let j = 0; j < needle.length; j++) {
      if (out[i + j] !== needle[j]) {
        match = false;
        break;
      }
    }
    if (match) {
      out.fill(0, i, i + needle.length);
      occurrences++;
      i += needle.length - 1;
    }
  }
  return { code: out, occurrences };
}

export interface RuntimeHash {
  hash: Hex;
  /** Bytes of CBOR metadata removed (0 when the code had none). */
  metadataBytes: number;
  /** Places where the contract's own address was zeroed. */
  selfReferences: number;
}

/**
 * keccak256 of the runtime code with the trailing CBOR metadata removed, after zeroing the
 * contract's own address. The metadata length is read from the code as deployed, before zeroing,
 * so an address that happens to end the code cannot change what is stripped.
 */
export function runtimeCodeHash(runtime: Hex, ownAddress: Hex): RuntimeHash {
  const code = hexToBytes(runtime);
  const metadataBytes = metadataLength(code);
  const body = code.subarray(0, code.length - metadataBytes);
  const zeroed = zeroAddress(body, ownAddress);
  return { hash: keccakHex(zeroed.code), metadataBytes, selfReferences: zeroed.occurrences };
}
