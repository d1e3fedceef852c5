// Checks an inventory against the chains themselves: for every record on a chain with an RPC
// endpoint, is the endpoint on that chain, is there code at the proxy and the implementation,
// does the proxy's EIP-1967 slot point where the record says, and does the runtime hash match.
import {
  compareKeys,
  ErrorCodes,
  NetworkRegistry,
  recordKey,
  StateError,
  toChecksumAddress,
  type DeploymentRecord,
  type InvalidEntry,
  type StateStore,
} from '@deploystate/core';
import type { PublicClient } from 'viem';
import { runtimeCodeHash } from './bytecode.js';
import { redactText, redactUrl } from './redact.js';
import { isWholeFile } from '../unreadable.js';
import type {
  HexString as Hex,
  ChainCheck,
  ChainEndpointResult,
  ChainVerificationReport,
  CheckStatus,
  RecordChainResult,
  RecordChainStatus,
  VerifyChainOptions,
} from './types.js';

/** keccak256("eip1967.proxy.implementation") - 1: where an EIP-1967 proxy keeps its implementation. */
export const EIP1967_IMPLEMENTATION_SLOT: Hex = '0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc';

export const CHAIN_DEFAULTS = { concurrency: 4, timeoutMs: 10_000, retries: 2, retryDelayMs: 150 } as const;

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;

/** At most `limit` tasks at once; the rest wait in order. One per endpoint URL. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

interface Endpoint {
  url: string;
  redacted: string;
  client: PublicClient;
  limiter: Limiter;
}

/** A short, credential-free reason for a failed request (viem messages embed the URL). */
function reasonOf(error: unknown, endpoints: readonly string[]): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 6; depth++) {
    const e = current as { shortMessage?: unknown; message?: unknown; code?: unknown; cause?: unknown };
    const text = typeof e.shortMessage === 'string' ? e.shortMessage : typeof e.message === 'string' ? e.message.split('\n')[0] : undefined;
    if (text && !parts.includes(text)) parts.push(text);
    if (typeof e.code === 'string' && !parts.includes(e.code)) parts.push(e.code);
    current = e.cause;
  }
  return redactText(parts.join(': ') || 'unknown error', endpoints);
}

const worst = (checks: readonly ChainCheck[]): RecordChainStatus => {
  if (checks.some((c) => c.status === 'error')) return 'error';
  if (checks.some((c) => c.status === 'warn')) return 'warn';
  return 'ok';
};

const check = (name: ChainCheck['name'], status: CheckStatus, detail: string, extra: Partial<ChainCheck> = {}): ChainCheck => ({
  name,
  status,
  detail,
  ...extra,
});

const display = (address: string): string => (ADDRESS.test(address) ? toChecksumAddress(address) : address);

async function readRecords(
  input: readonly DeploymentRecord[] | StateStore,
): Promise<{ records: DeploymentRecord[]; unreadable: NonNullable<ChainVerificationReport['unreadable']> }> {
  if (Array.isArray(input)) return { records: [...(input as readonly DeploymentRecord[])], unreadable: [] };
  const store = input as StateStore;
  const opened = store.status !== 'open';
  if (opened) await store.open();
  try {
    const records: DeploymentRecord[] = [];
    const unreadable: NonNullable<ChainVerificationReport['unreadable']> = [];
    // A value that is not a record is analysis's business (findings): nothing to check here. A
    // whole file that cannot be read (its entry is named by the file, not by a record key) hides a
    // chain's records: that is said, never passed over.
    const onInvalid = (entry: InvalidEntry): void => {
      if (isWholeFile(entry)) unreadable.push({ file: entry.finding.file ?? entry.key, code: entry.finding.code, message: entry.finding.message });
    };
    for await (const entry of store.iterate({ onInvalid })) records.push(entry.record);
    return { records, unreadable };
  } finally {
    if (opened) await store.close();
  }
}

/**
 * viem, loaded here and not at module load: every CLI command imports the migrator, few query a
 * chain. It is an optional peer of the migrator (the CLI depends on it), so a deploy script that
 * installs only the library does not install it.
 */
async function loadViem(): Promise<typeof import('viem')> {
  try {
    return await import('viem');
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new StateError(ErrorCodes.BACKEND_UNAVAILABLE, 'verifyChain needs viem, which is not installed', {
      hint: 'install it beside the migrator (npm install viem), or run verify-chain from @deploystate/cli, which depends on it',
      cause: error,
    });
  }
}

/** Verifies every record against its chain. Never throws for an endpoint problem: it is in the report. */
export async function verifyChain(
  input: readonly DeploymentRecord[] | StateStore,
  options: VerifyChainOptions,
): Promise<ChainVerificationReport> {
  const now = options.now ?? Date.now;
  const started = now();
  const registry = options.registry ?? new NetworkRegistry();
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? CHAIN_DEFAULTS.concurrency));
  const timeout = Math.max(1, options.timeoutMs ?? CHAIN_DEFAULTS.timeoutMs);
  const retryCount = Math.max(0, Math.floor(options.retries ?? CHAIN_DEFAULTS.retries));
  const retryDelay = Math.max(0, options.retryDelayMs ?? CHAIN_DEFAULTS.retryDelayMs);
  const allUrls = Object.values(options.rpc);

  const read = await readRecords(input);
  const excluded: string[] = [];
  const kept = options.exclude === undefined ? read.records : read.records.filter((r) => {
    const key = recordKey(r.chainId, r.contractName);
    if (!options.exclude?.has(key)) return true;
    excluded.push(key);
    return false;
  });
  const records = kept.sort((a, b) =>
    compareKeys(recordKey(a.chainId, a.contractName), recordKey(b.chainId, b.contractName)),
  );
  const byChain = new Map<number, DeploymentRecord[]>();
  for (const record of records) byChain.set(record.chainId, [...(byChain.get(record.chainId) ?? []), record]);

  const { createPublicClient, http } = await loadViem();
  const endpoints = new Map<string, Endpoint>();
  const endpointFor = (url: string): Endpoint => {
    let endpoint = endpoints.get(url);
    if (!endpoint) {
      // viem retries with exponential backoff (retryDelay * 2^n) on transport failures and 5xx/429.
      const client = createPublicClient({ transport: http(url, { timeout, retryCount, retryDelay, batch: false }) }) as PublicClient;
      endpoint = { url, redacted: redactUrl(url), client, limiter: new Limiter(concurrency) };
      endpoints.set(url, endpoint);
    }
    return endpoint;
  };

  const chainResults: ChainEndpointResult[] = [];
  const results = new Map<DeploymentRecord, RecordChainResult>();
  const base = (record: DeploymentRecord): Omit<RecordChainResult, 'status' | 'checks'> => ({
    key: recordKey(record.chainId, record.contractName),
    chainId: record.chainId,
    contractName: record.contractName,
    network: registry.get(record.chainId).name,
    address: record.address,
    proxyAddress: typeof record.proxyAddress === 'string' && record.proxyAddress !== '' ? record.proxyAddress : null,
  });

  await Promise.all(
    [...byChain].map(async ([chainId, chainRecords]) => {
      const network = registry.get(chainId).name;
      const url = options.rpc[chainId];
      if (url === undefined) {
        chainResults.push({ chainId, network, endpoint: null, status: 'not-configured', records: chainRecords.length });
        const detail = `no RPC endpoint for chain ${chainId} (--rpc ${chainId}=<url>, "rpc" in the config file, or RPC_URL_${chainId})`;
        for (const record of chainRecords)
          results.set(record, { ...base(record), status: 'not-checked', checks: [check('endpoint', 'skipped', detail)] });
        return;
      }
      const endpoint = endpointFor(url);
      const whole = (checkResult: ChainCheck): void => {
        for (const record of chainRecords) results.set(record, { ...base(record), status: 'error', checks: [checkResult] });
      };
      let reported: number;
      try {
        reported = await endpoint.limiter.run(() => endpoint.client.getChainId());
      } catch (error) {
        const message = `endpoint ${endpoint.redacted} for chain ${chainId} cannot be reached: ${reasonOf(error, allUrls)}`;
        chainResults.push({
          chainId,
          network,
          endpoint: endpoint.redacted,
          status: 'error',
          error: { code: ErrorCodes.ENDPOINT_UNAVAILABLE, message },
          records: chainRecords.length,
        });
        whole(check('endpoint', 'error', message, { code: ErrorCodes.ENDPOINT_UNAVAILABLE }));
        return;
      }
      if (reported !== chainId) {
        // A wrong endpoint could make every other check pass against the wrong chain.
        const message = `endpoint ${endpoint.redacted} answers eth_chainId ${reported}, but the records are on chain ${chainId} (${network})`;
        chainResults.push({
          chainId,
          network,
          endpoint: endpoint.redacted,
          status: 'error',
          reportedChainId: reported,
          error: { code: ErrorCodes.CHAIN_MISMATCH, message },
          records: chainRecords.length,
        });
        whole(
          check('chain-id', 'error', message, { code: ErrorCodes.CHAIN_MISMATCH, expected: String(chainId), actual: String(reported) }),
        );
        return;
      }
      chainResults.push({
        chainId,
        network,
        endpoint: endpoint.redacted,
        status: 'ok',
        reportedChainId: reported,
        records: chainRecords.length,
      });
      await Promise.all(
        chainRecords.map(async (record) => {
          const checks = await checkRecord(record, endpoint, allUrls);
          results.set(record, { ...base(record), status: worst(checks), checks });
        }),
      );
    }),
  );

  const recordResults = records.map((r) => results.get(r) as RecordChainResult);
  const count = (status: RecordChainStatus): number => recordResults.filter((r) => r.status === status).length;
  return {
    at: new Date(started).toISOString(),
    ok: count('error') === 0 && read.unreadable.length === 0,
    counts: {
      records: recordResults.length,
      ok: count('ok'),
      warn: count('warn'),
      error: count('error'),
      notChecked: count('not-checked'),
    },
    chains: chainResults.sort((a, b) => a.chainId - b.chainId),
    records: recordResults,
    durationMs: Math.max(0, now() - started),
    ...(read.unreadable.length > 0 && { unreadable: read.unreadable }),
    ...(excluded.length > 0 && { excluded: excluded.sort(compareKeys) }),
  };
}

async function checkRecord(record: DeploymentRecord, endpoint: Endpoint, allUrls: readonly string[]): Promise<ChainCheck[]> {
  const checks: ChainCheck[] = [];
  const proxy = typeof record.proxyAddress === 'string' && record.proxyAddress !== '' ? record.proxyAddress : null;
  const badAddress = !ADDRESS.test(record.address);
  const badProxy = proxy !== null && !ADDRESS.test(proxy);
  if (badAddress || badProxy) {
    checks.push(
      check(
        'record-addresses',
        'error',
        [badAddress && `address ${JSON.stringify(record.address)}`, badProxy && `proxyAddress ${JSON.stringify(proxy)}`]
          .filter(Boolean)
          .join(' and ') + ' is not 0x + 40 hex digits',
      ),
    );
    return checks;
  }
  const implementation = record.address as Hex;
  const rpc = async <T>(name: ChainCheck['name'], call: () => Promise<T>): Promise<{ value: T } | { failed: ChainCheck }> => {
    try {
      return { value: await endpoint.limiter.run(call) };
    } catch (error) {
      return {
        failed: check(name, 'error', `${endpoint.redacted}: ${reasonOf(error, allUrls)}`, { code: ErrorCodes.ENDPOINT_UNAVAILABLE }),
      };
    }
  };
  const [implCode, proxyCode, slot] = await Promise.all([
    rpc('implementation-code', () => endpoint.client.getCode({ address: implementation })),
    proxy ? rpc('proxy-code', () => endpoint.client.getCode({ address: proxy as Hex })) : undefined,
    proxy
      ? rpc('eip1967-slot', () => endpoint.client.getStorageAt({ address: proxy as Hex, slot: EIP1967_IMPLEMENTATION_SLOT }))
      : undefined,
  ]);

  let runtime: Hex | undefined;
  if ('failed' in implCode) checks.push(implCode.failed);
  else if (!implCode.value || implCode.value === '0x')
    checks.push(check('implementation-code', 'error', `no code at implementation ${display(implementation)}`));
  else {
    runtime = implCode.value;
    checks.push(check('implementation-code', 'ok', `${(runtime.length - 2) / 2} bytes at ${display(implementation)}`));
  }

  if (proxy && proxyCode && slot) {
    if ('failed' in proxyCode) checks.push(proxyCode.failed);
    else if (!proxyCode.value || proxyCode.value === '0x') checks.push(check('proxy-code', 'error', `no code at proxy ${display(proxy)}`));
    else checks.push(check('proxy-code', 'ok', `${(proxyCode.value.length - 2) / 2} bytes at ${display(proxy)}`));
    checks.push(slotCheck(proxy, implementation, slot));
  } else {
    checks.push(check('eip1967-slot', 'skipped', 'no proxyAddress recorded'));
  }

  checks.push(hashCheck(record, implementation, runtime));
  return checks;
}

function slotCheck(proxy: string, implementation: Hex, slot: { value: Hex | undefined } | { failed: ChainCheck }): ChainCheck {
  if ('failed' in slot) return slot.failed;
  const word = (slot.value ?? '0x').slice(2).padStart(64, '0');
  const actual = `0x${word.slice(24)}`;
  if (/^0+$/.test(word)) {
    return check(
      'eip1967-slot',
      'error',
      `the EIP-1967 implementation slot of proxy ${display(proxy)} is empty (not an EIP-1967 proxy, or not initialised); the record says ${display(implementation)}`,
      {
        expected: display(implementation),
        actual: '0x0000000000000000000000000000000000000000',
      },
    );
  }
  if (actual.toLowerCase() !== implementation.toLowerCase()) {
    return check(
      'eip1967-slot',
      'error',
      `drift: proxy ${display(proxy)} points at implementation ${display(actual)} (EIP-1967 slot), the record says ${display(implementation)}; upgraded outside the tool?`,
      {
        expected: display(implementation),
        actual: display(actual),
      },
    );
  }
  return check('eip1967-slot', 'ok', `proxy ${display(proxy)} points at ${display(implementation)}`);
}

function hashCheck(record: DeploymentRecord, implementation: Hex, runtime: Hex | undefined): ChainCheck {
  const recorded = typeof record.implementationHash === 'string' ? record.implementationHash : '';
  if (recorded === '') return check('implementation-hash', 'skipped', 'no implementationHash recorded');
  if (!HASH.test(recorded))
    return check(
      'implementation-hash',
      'warn',
      `implementationHash ${JSON.stringify(recorded)} is not 0x + 64 hex digits; nothing to compare`,
    );
  if (runtime === undefined) return check('implementation-hash', 'skipped', 'no runtime code to hash');
  const computed = runtimeCodeHash(runtime, implementation);
  const how = `${computed.metadataBytes > 0 ? `${computed.metadataBytes} bytes of CBOR metadata stripped` : 'no CBOR metadata found'}, ${computed.selfReferences} self-reference(s) zeroed`;
  if (computed.hash.toLowerCase() === recorded.toLowerCase())
    return check('implementation-hash', 'ok', `runtime hash matches (${how})`, { expected: recorded, actual: computed.hash });
  // A deployed runtime can legitimately differ from its artifact, so this is a warning, not an error.
  return check(
    'implementation-hash',
    'warn',
    `runtime hash ${computed.hash} differs from the recorded ${recorded} (${how}); likely causes: immutables other than the contract's own address, linked library addresses, a different compiler setting, or different code`,
    { expected: recorded, actual: computed.hash },
  );
}
