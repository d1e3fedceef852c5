// The demo: a production-shaped store in a fresh folder (28 contracts on five chains, dev-chain
// junk, a raw value with bare big literals, legacy <network>.json files, a foreign config file
// and a hidden history folder), and a walk through every phase of the migration on it.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeLegacyStore, type LegacyEntry } from '@deploystate/backend-leveldb';
import {
  errnoCode,
  ErrorCodes,
  fsErrorCode,
  keyOf,
  NetworkRegistry,
  productionSample,
  sampleRecord,
  StateError,
  stringifyLossless,
  type DeploymentRecord,
} from '@deploystate/core';
import { createStateStore } from './factory.js';
import { Migration } from './migration.js';
import { resolvePaths } from './paths.js';
import type { MigrationPaths, MigrationReport } from './types.js';

export interface DemoStep {
  phase: string;
  status: string;
  detail?: string;
}

const shortName = (name: string): string => name.slice(name.lastIndexOf(':') + 1);

/**
 * A network file as a project's own deploy scripts wrote it before the migration: each contract's
 * proxy and implementation by name, the implementation hashes, the deployer and a config section.
 * The demo's legacy files, and the bench's project folder, are made by it.
 */
export function legacyNetworkFile(chainId: number, network: string, records: readonly DeploymentRecord[]): Record<string, unknown> {
  const contracts: Record<string, { proxy: string | null | undefined; implementation: string }> = {};
  const implementationHashes: Record<string, string> = {};
  for (const r of records.filter((x) => x.chainId === chainId)) {
    contracts[shortName(r.contractName)] = { proxy: r.proxyAddress, implementation: r.address };
    if (typeof r.implementationHash === 'string') implementationHashes[shortName(r.contractName)] = r.implementationHash;
  }
  return {
    network,
    chainId,
    deployer: '0x8ba1f109551bD432803012645Ac136ddd64DBA72',
    timestamp: '2024-08-07T10:00:00.000Z',
    contracts,
    implementationHashes,
    config: {
      governanceVault: '0x0000000000000000000000000000000000000001',
      layerZeroEndpoint: '0x1a44076050125825900e736c501f859c50fE728c',
    },
  };
}

/** Builds the demo in `dir` (which must not hold a leveldb or deployments folder yet). */
export async function createDemo(dir: string): Promise<MigrationPaths> {
  const paths = resolvePaths({ cwd: dir });
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    // A file (or a file on the way) where the demo's folder goes.
    throw new StateError(errnoCode(error) === 'EEXIST' || errnoCode(error) === 'ENOTDIR' ? ErrorCodes.INVALID_ARGUMENT : fsErrorCode(error), `${dir}: cannot make the demo's folder there (${errnoCode(error) ?? 'error'})`, {
      file: dir,
      hint: 'name a new or empty folder for the demo',
      cause: error,
    });
  }
  const present = await readdir(dir);
  if (present.includes('leveldb') || present.includes('deployments') || present.includes('.deploystate')) {
    throw new StateError(ErrorCodes.INVALID_ARGUMENT, `${dir} already holds deployment state; the demo needs a fresh folder`, {
      file: dir,
    });
  }
  const { records, devJunk } = productionSample();
  const entries: LegacyEntry[] = [...records, ...devJunk].map((record) => {
    // One value exactly as an old `level` JSON encoding left it: bare literals beyond 2^53.
    if (record.chainId === 56 && record.contractName === 'LookCoin') return { key: keyOf(record), raw: stringifyLossless(record) };
    return { key: keyOf(record), value: record };
  });
  await writeLegacyStore(paths.leveldb, entries);

  await mkdir(join(paths.deployments, '.history'), { recursive: true });
  const write = (name: string, value: unknown): Promise<void> =>
    writeFile(join(paths.deployments, name), `${JSON.stringify(value, null, 2)}\n`);
  await write('bscmainnet.json', legacyNetworkFile(56, 'bscmainnet', records));
  await write('bsctestnet.json', legacyNetworkFile(97, 'bsctestnet', records));
  await write('bscmainnet-config.json', {
    chainId: 56,
    network: 'bscmainnet',
    rateLimits: { perHour: '1000000000000000000000' },
    bridges: ['layerZero', 'celer'],
  });
  await writeFile(
    join(paths.deployments, '.history', 'bscmainnet-2024-07-01.json'),
    `${JSON.stringify({ network: 'bscmainnet', chainId: 56, contracts: {} }, null, 2)}\n`,
  );
  return paths;
}

/** Runs every phase on a fresh demo in `dir`; ends in json-only with a SUCCESS report. */
export async function runDemo(
  dir: string,
  options: { onStep?: (step: DemoStep) => void } = {},
): Promise<{ paths: MigrationPaths; report: MigrationReport; steps: DemoStep[] }> {
  const steps: DemoStep[] = [];
  const step = (phase: string, status: string, detail?: string): void => {
    const s: DemoStep = { phase, status, ...(detail !== undefined && { detail }) };
    steps.push(s);
    options.onStep?.(s);
  };
  const paths = await createDemo(dir);
  step('demo', 'created', `${paths.leveldb}, ${paths.deployments}`);
  const registry = new NetworkRegistry();
  const migration = await Migration.open({ cwd: dir });

  const analysis = await migration.analyze();
  step(
    'analyze',
    analysis.ok ? 'ok' : 'attention',
    `${analysis.total} records on ${analysis.chains.length} chains, ${analysis.findings.length} findings, ${analysis.numericAudit.bigLiterals} big literals, ${analysis.crossCheck.length} cross-check findings`,
  );
  const check = await migration.check();
  step(
    'check',
    check.ok ? 'ok' : 'attention',
    `round trip ${check.roundTrip.checked} checked, ${check.roundTrip.failures.length} failures`,
  );

  await migration.enableDualWrite();
  step('dual-write enable', 'done');
  const probe = await migration.verifyDualWrite();
  step('verify dual-write', probe.ready ? 'ok' : 'failed', probe.checks.map((c) => `${c.name}: ${c.ok ? 'ok' : c.detail}`).join('; '));

  const store = createStateStore({ cwd: dir, env: {} });
  try {
    await store.putContract(84532, sampleRecord(84532, 'HyperlaneModule', 'basesepolia', 100));
    const oracle = await store.getContract(56, 'SupplyOracle');
    if (oracle) await store.putContract(56, { ...oracle, timestamp: 1_723_999_999_999 });
    step('deploy writes (dual-write)', 'done', '2 writes through createStateStore()');

    const copy = await migration.migrate();
    step('migrate', 'done', `${copy.copied} copied, ${copy.unchanged} unchanged, ${copy.files.length} files`);
    const verify = await migration.verify();
    step(
      'verify',
      verify.clean ? 'clean' : 'differences',
      `LevelDB ${verify.evidence.leveldb.digest.slice(0, 12)} = JSON ${verify.evidence.json.digest.slice(0, 12)}`,
    );
    await migration.promote();
    step('promote', 'done', 'reads from JSON');
    // The runbook keeps a rollback ready at every step: prove it before the cut-over.
    const readiness = await migration.rollbackReadiness();
    step(
      'rollback ready',
      readiness.ready ? 'ok' : 'failed',
      readiness.checks.map((c) => `${c.name}: ${c.ok ? 'ok' : c.detail}`).join('; '),
    );

    // Dev-chain junk is acknowledged by key; the other pre-existing warnings analysis reported
    // (a proxy without implementation hash) by code, as an operator who read the analysis would.
    const isDev = (chainId: number | undefined): boolean => chainId !== undefined && registry.get(chainId).tier === 'dev';
    const devKeys = [...new Set(analysis.findings.filter((f) => isDev(f.chainId) && f.key).map((f) => f.key as string))];
    const otherCodes = [...new Set(analysis.findings.filter((f) => !isDev(f.chainId) && f.severity !== 'info').map((f) => f.code))];
    const cut = await migration.cutover({ acknowledge: [...devKeys, ...otherCodes] });
    step(
      'cutover',
      'done',
      `json-only; acknowledged ${cut.acknowledged.length} pre-existing findings (dev-chain keys ${devKeys.join(', ')}; codes ${otherCodes.join(', ') || 'none'})`,
    );

    await store.putContract(97, sampleRecord(97, 'GovernanceTimelock', 'bsctestnet', 101));
    step('deploy write (json-only)', 'done', '97-GovernanceTimelock');
  } finally {
    await store.close();
  }
  const report = await migration.report();
  step('report', report.status, report.files.markdown);
  return { paths, report, steps };
}
