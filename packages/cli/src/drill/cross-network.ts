// `drill cross-network`: the state files of every network, together. The validator over the copy
// (schema and cross-file checks), queries across chains that must return each chain's own records,
// one spelling per contract across chains, and per-chain counts against an expected inventory.
import { readFile } from 'node:fs/promises';
import { compareKeys, parseLossless, withoutByteOrderMark, type DeploymentRecord } from '@deploystate/core';
import { JsonFileStore } from '@deploystate/backend-json';
import type { DrillChecks } from './checks.js';
import { listed, plural, type DrillEnv } from './scenario.js';

/** `contracts/xchain/Router.sol:Router` -> `Router`. */
const shortName = (name: string): string => name.slice(name.lastIndexOf(':') + 1);

async function validatorCheck(env: DrillEnv, checks: DrillChecks): Promise<void> {
  const { validateDeployments } = await import('@deploystate/validator');
  const result = await validateDeployments(env.workspace.deployments, {
    registry: env.registry,
    ...(env.acknowledgements && { acknowledgements: env.acknowledgements }),
    ...(env.journal !== undefined && { journal: env.journal }),
  });
  const errors = result.findings.filter((f) => f.severity === 'error' && f.acknowledged !== true);
  const where = errors.map((f) => `${f.code} ${f.key ?? f.file?.split('/').pop() ?? ''}`.trim());
  checks.expect(
    'validator over every state file',
    errors.length === 0,
    `${plural(result.summary.files, 'file')} judged, ${plural(result.skipped.length, 'file')} skipped, ${result.summary.warnings} warnings, no errors${(result.summary.acknowledged ?? 0) > 0 ? ` (${result.summary.acknowledged} acknowledged findings)` : ''}`,
    `${plural(errors.length, 'error')}: ${listed(where)} (see \`deploystate validate\`)`,
  );
}

/** At most this many contract names are looked up by query: every name on two or more chains first, then a spread of the rest. */
export const MAX_QUERIED_NAMES = 200;

/**
 * The names the query check looks up: each one on two or more chains (what a query across chains
 * must keep apart), then names on one chain spread over the key order, up to MAX_QUERIED_NAMES in
 * all. A query reads every record: every name of a store of 45k records took minutes.
 */
export function namesToQuery(chainsOf: ReadonlyMap<string, readonly number[]>, max = MAX_QUERIED_NAMES): string[] {
  const names = [...chainsOf.keys()].sort(compareKeys);
  const shared = names.filter((name) => (chainsOf.get(name)?.length ?? 0) > 1).slice(0, max);
  const single = names.filter((name) => (chainsOf.get(name)?.length ?? 0) <= 1);
  const room = max - shared.length;
  const step = single.length <= room ? 1 : single.length / room;
  const spread: string[] = [];
  for (let i = 0; room > 0 && Math.floor(i) < single.length && spread.length < room; i += step) spread.push(single[Math.floor(i)] as string);
  return [...shared, ...spread].sort(compareKeys);
}

function queryCheck(checks: DrillChecks, chainsOf: ReadonlyMap<string, readonly number[]>, queried: Map<string, number[]>): void {
  const wrong: string[] = [];
  for (const [name, chains] of queried) {
    const holders = [...(chainsOf.get(name) ?? [])].sort((a, b) => a - b);
    if (chains.join() !== holders.join())
      wrong.push(`${name}: query gave chains ${chains.join(', ') || 'none'}, files hold it on ${holders.join(', ')}`);
  }
  const all = chainsOf.size;
  checks.expect(
    'queries across chains',
    wrong.length === 0,
    queried.size === all
      ? `each of ${plural(queried.size, 'contract name')} found by query on exactly the chains whose files hold it`
      : `${queried.size} of ${plural(all, 'contract name')} (every one on two or more chains, and a spread of the rest) found by query on exactly the chains whose files hold it`,
    listed(wrong, 3),
  );
}

function spellingCheck(env: DrillEnv, checks: DrillChecks, byChain: Map<number, DeploymentRecord[]>): void {
  const spellings = new Map<string, Map<string, number[]>>();
  for (const [chainId, records] of byChain) {
    if (env.registry.get(chainId).tier === 'dev') continue;
    for (const { contractName } of records) {
      const forms = spellings.get(shortName(contractName)) ?? new Map<string, number[]>();
      forms.set(contractName, [...(forms.get(contractName) ?? []), chainId]);
      spellings.set(shortName(contractName), forms);
    }
  }
  const mixed = [...spellings]
    .filter(([, forms]) => forms.size > 1)
    .map(([name, forms]) => `${name} is ${[...forms].map(([form, chains]) => `"${form}" on ${chains.join(', ')}`).join(' but ')}`);
  if (mixed.length === 0) {
    checks.pass(
      'one spelling per contract across chains',
      `${plural(spellings.size, 'contract')} named the same way on every non-dev chain that holds them`,
    );
    return;
  }
  // Pre-existing in the user's data (LevelDB had it too), but a script that looks a contract up by
  // its short name on the other chain will not find it: worth a look, not a failed migration.
  checks.warn('one spelling per contract across chains', `${listed(mixed, 3)}; a lookup by one spelling misses the other`);
}

async function inventoryCheck(env: DrillEnv, checks: DrillChecks, byChain: Map<number, DeploymentRecord[]>): Promise<void> {
  if (env.expected === undefined) {
    checks.skip('per-chain counts against the expected inventory', 'no --expected file given');
    return;
  }
  const parsed = parseLossless(withoutByteOrderMark(await readFile(env.expected, 'utf8')), { source: env.expected }) as Record<string, unknown>;
  const problems: string[] = [];
  let networks = 0;
  for (const [network, want] of Object.entries(parsed)) {
    networks++;
    const chainId = /^\d+$/.test(network) ? Number(network) : env.registry.chainIdOf(network);
    if (chainId === undefined) {
      problems.push(`${network}: not a known network`);
      continue;
    }
    const names = (byChain.get(chainId) ?? []).map((r) => r.contractName);
    if (typeof want === 'number') {
      if (names.length !== want) problems.push(`${network}: expected ${want} contracts, the JSON files hold ${names.length}`);
    } else if (Array.isArray(want)) {
      const missing = want.map(String).filter((n) => !names.some((have) => have === n || shortName(have) === n));
      if (missing.length > 0) problems.push(`${network}: missing ${listed(missing)}`);
    } else {
      problems.push(`${network}: expected a count or a list of names`);
    }
  }
  checks.expect(
    'per-chain counts against the expected inventory',
    problems.length === 0,
    `${plural(networks, 'network')} of ${env.expected} match`,
    listed(problems, 4),
  );
}

export async function crossNetworkDrill(env: DrillEnv, checks: DrillChecks): Promise<void> {
  // One store that keeps the files it read (stat-checked), as a deploy script's does: the iteration
  // and every query parse each file once, not once per query.
  const json = new JsonFileStore({ dir: env.workspace.deployments, registry: env.registry, readOnly: true });
  await json.open();
  try {
    const byChain = new Map<number, DeploymentRecord[]>();
    const unreadable: string[] = [];
    const chainsOf = new Map<string, number[]>();
    for await (const { record } of json.iterate({ onInvalid: (entry) => unreadable.push(entry.key) })) {
      let records = byChain.get(record.chainId);
      if (records === undefined) byChain.set(record.chainId, (records = []));
      records.push(record);
      let chains = chainsOf.get(record.contractName);
      if (chains === undefined) chainsOf.set(record.contractName, (chains = []));
      chains.push(record.chainId);
    }
    const total = [...byChain.values()].reduce((n, records) => n + records.length, 0);
    if (
      !checks.expect(
        'records on several networks',
        total > 0,
        `${plural(total, 'record')} on ${plural(byChain.size, 'chain')}: ${[...byChain].map(([chainId, r]) => `${env.registry.get(chainId).name} ${r.length}`).join(', ')}`,
        'the JSON files hold no records yet: run the copy (`deploystate migrate`) first',
      )
    ) {
      await checks.attempt('validator over every state file', () => validatorCheck(env, checks));
      return;
    }
    if (unreadable.length > 0)
      checks.fail('every entry is a record', `${plural(unreadable.length, 'entry')} are not records: ${listed(unreadable)}`);
    await checks.attempt('validator over every state file', () => validatorCheck(env, checks));
    const queried = new Map<string, number[]>();
    await checks.attempt('queries across chains', async () => {
      for (const name of namesToQuery(chainsOf))
        queried.set(
          name,
          (await json.query({ contractName: name, sortBy: 'chainId' })).map((r) => r.chainId),
        );
      queryCheck(checks, chainsOf, queried);
    });
    spellingCheck(env, checks, byChain);
    await checks.attempt('per-chain counts against the expected inventory', () => inventoryCheck(env, checks, byChain));
  } finally {
    await json.close();
  }
}
