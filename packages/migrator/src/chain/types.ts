// The shape of a chain verification: what was checked for each record against the chain itself,
// and how each endpoint answered. Endpoints appear only redacted (see redact.ts).
import type { ErrorCode, NetworkRegistry } from '@deploystate/core';

/** A 0x-prefixed hex string (the same shape as viem's `Hex`, declared here so our types do not pull in viem's). */
export type HexString = `0x${string}`;

/** `skipped` means there was nothing to compare (no proxy, no recorded hash, no code to hash). */
export type CheckStatus = 'ok' | 'warn' | 'error' | 'skipped';

export type ChainCheckName =
  'endpoint' | 'chain-id' | 'record-addresses' | 'implementation-code' | 'proxy-code' | 'eip1967-slot' | 'implementation-hash';

export interface ChainCheck {
  name: ChainCheckName;
  status: CheckStatus;
  detail: string;
  /** A core error code for error-level results that have one (ENDPOINT_UNAVAILABLE, CHAIN_MISMATCH). */
  code?: ErrorCode;
  expected?: string;
  actual?: string;
}

/** The worst of a record's checks; `not-checked` when its chain has no endpoint. */
export type RecordChainStatus = 'ok' | 'warn' | 'error' | 'not-checked';

export interface RecordChainResult {
  key: string;
  chainId: number;
  contractName: string;
  network: string;
  address: string;
  proxyAddress: string | null;
  status: RecordChainStatus;
  checks: ChainCheck[];
}

export interface ChainEndpointResult {
  chainId: number;
  network: string;
  /** Redacted: never holds credentials. Null when no endpoint is configured for the chain. */
  endpoint: string | null;
  status: 'ok' | 'error' | 'not-configured';
  /** What the endpoint's eth_chainId said, when it answered. */
  reportedChainId?: number;
  error?: { code: ErrorCode; message: string };
  records: number;
}

export interface ChainVerificationReport {
  /** ISO time the verification started. */
  at: string;
  /** No error-level result (warnings and not-checked records do not spoil it). */
  ok: boolean;
  counts: { records: number; ok: number; warn: number; error: number; notChecked: number };
  chains: ChainEndpointResult[];
  /** In key order. */
  records: RecordChainResult[];
  durationMs: number;
  /** Which side the records came from, when the migrator ran it. */
  source?: 'leveldb' | 'json' | 'records';
  /**
   * Files of the store read whose records could not be read at all (a truncated network file, a
   * folder in its place): their chains' records were not checked, so the report is not ok.
   */
  unreadable?: Array<{ file: string; code: string; message: string }>;
  /**
   * Keys of the records read that were left out, unchecked: those the migration excluded (as
   * `verify` leaves them out of its comparison). In key order; absent when none was.
   */
  excluded?: string[];
}

/** The options a command passes through (analyze, verify, cutover, verify-chain). */
export interface ChainCheckOptions {
  /** chainId -> JSON-RPC URL. Chains without one are listed as not checked. */
  rpc: Record<number, string>;
  /** Requests in flight per endpoint. Default 4. */
  concurrency?: number;
  /** Per request. Default 10 000 ms. */
  timeoutMs?: number;
  /** Retries per request after the first attempt, with exponential backoff. Default 2. */
  retries?: number;
  /** First backoff delay; doubles per retry. Default 150 ms. */
  retryDelayMs?: number;
}

export interface VerifyChainOptions extends ChainCheckOptions {
  /** Keys left out, unchecked, and listed as `excluded` (the migration's exclusions). */
  exclude?: ReadonlySet<string>;
  /** Names networks in the report. Default: core's registry. */
  registry?: NetworkRegistry;
  /** Injected clock, for the report's time. */
  now?: () => number;
}
