// `drill json-backend`: a deploy script's cycle (deploy, upgrade, list and query, remove) through
// the migrator's factory store in json-only, on a copy of the user's files, one test record per
// network; then every user record must read back exactly as it was, and the legacy
// `contracts` / `implementationHashes` sections must have followed the records.
import { canonicalEqual, compareKeys, StoreDigest, type DeploymentRecord, type StoreEntry } from '@deploystate/core';
import { JSON_ONLY_STAMP, type JsonFileStore } from '@deploystate/backend-json';
import {
  createStateStore,
  initialState,
  readOnlyLevelDbStore,
  stateFiles,
  uncachedJsonStore,
  writeState,
  type MigrationStateStore,
} from '@deploystate/migrator';
import type { DrillChecks } from './checks.js';
import { DRILL_PREFIX, digestOf, drillRecord, listed, plural, readDocument, upgraded, type DrillEnv } from './scenario.js';
import { changedFiles, folderDigests } from './workspace.js';

// The store's own keys: the json-only mark too, which a write in json-only adds (the cut-over it follows).
const OWNED_KEYS = new Set(['$schema', 'schemaVersion', 'records', 'contracts', 'implementationHashes', JSON_ONLY_STAMP]);

/** The user's records in the copy: from its JSON files, or (JSON side still empty) seeded from the LevelDB snapshot. */
async function originals(env: DrillEnv, checks: DrillChecks, json: JsonFileStore): Promise<Map<string, DeploymentRecord>> {
  const records = new Map<string, DeploymentRecord>();
  const invalid: string[] = [];
  for await (const { key, record } of json.iterate({ onInvalid: (entry) => invalid.push(entry.key) })) records.set(key, record);
  if (invalid.length > 0) {
    checks.fail(
      'user records readable',
      `${plural(invalid.length, 'entry')} in the JSON files are not records (${listed(invalid)}); a deploy script writing to those files is refused with CORRUPTED: see \`deploystate validate\``,
    );
  }
  if (records.size > 0 || env.workspace.leveldb === undefined) return records;
  const leveldb = readOnlyLevelDbStore(env.workspace.leveldb, env.registry);
  const skipped: string[] = [];
  const seed: StoreEntry[] = [];
  await leveldb.open();
  try {
    for await (const entry of leveldb.iterate({ onInvalid: (bad) => skipped.push(bad.key) })) seed.push(entry);
  } finally {
    await leveldb.close();
  }
  await json.putMany(seed.map((entry) => entry.record));
  for (const { key, record } of seed) records.set(key, record);
  checks.pass(
    'user records',
    `the JSON files hold no records yet: ${plural(seed.length, 'record')} from a LevelDB snapshot were copied into the drill's copy, as \`migrate\` would${skipped.length > 0 ? ` (${plural(skipped.length, 'value')} that are not records left out: ${listed(skipped)})` : ''}`,
  );
  return records;
}

function uniqueName(taken: ReadonlyMap<string, DeploymentRecord>): string {
  const names = new Set([...taken.values()].map((r) => r.contractName));
  let name = DRILL_PREFIX;
  for (let i = 2; names.has(name); i++) name = `${DRILL_PREFIX}${i}`;
  return name;
}

/** Per network: deploy, upgrade, list, query; one check per step, naming the networks that failed. */
async function cycle(
  env: DrillEnv,
  checks: DrillChecks,
  store: MigrationStateStore,
  chains: number[],
  name: string,
  users: Map<string, DeploymentRecord>,
): Promise<void> {
  const failed = { deploy: [] as string[], upgrade: [] as string[], list: [] as string[] };
  const networks = chains.map((chainId) => env.registry.get(chainId).name);
  for (const chainId of chains) {
    const network = env.registry.get(chainId).name;
    const deployed = drillRecord(env.registry, chainId, name);
    try {
      await store.putContract(chainId, deployed);
      if (digestOf(await store.getContract(chainId, name)) !== digestOf(deployed)) failed.deploy.push(`${network}: read back differs`);
    } catch (error) {
      failed.deploy.push(`${network}: ${(error as Error).message}`);
      continue;
    }
    const next = upgraded(deployed);
    try {
      await store.put(next);
      if (digestOf(await store.get(chainId, name)) !== digestOf(next))
        failed.upgrade.push(`${network}: read back is not the upgraded record`);
    } catch (error) {
      failed.upgrade.push(`${network}: ${(error as Error).message}`);
      continue;
    }
    try {
      const expected = [...users.values()].filter((r) => r.chainId === chainId).concat(next);
      const listedRecords = await store.getAllContracts(chainId);
      const want = new Map(expected.map((r) => [r.contractName, digestOf(r)]));
      const wrong = listedRecords.filter((r) => want.get(r.contractName) !== digestOf(r)).map((r) => r.contractName);
      const queried = await store.query({ chainId, contractName: name });
      if (listedRecords.length !== expected.length || wrong.length > 0)
        failed.list.push(
          `${network}: list gave ${listedRecords.length} of ${expected.length} records${wrong.length > 0 ? `, differing: ${listed(wrong)}` : ''}`,
        );
      else if (queried.length !== 1 || digestOf(queried[0] ?? null) !== digestOf(next))
        failed.list.push(`${network}: query by chain and name gave ${queried.length} records`);
    } catch (error) {
      failed.list.push(`${network}: ${(error as Error).message}`);
    }
  }
  try {
    const deployedOn = chains.filter((chainId) => !failed.deploy.some((f) => f.startsWith(`${env.registry.get(chainId).name}:`)));
    const acrossChains = (await store.query({ contractName: name, sortBy: 'chainId' })).map((r) => r.chainId);
    if (!canonicalEqual(acrossChains, deployedOn))
      failed.list.push(`query by name across chains gave chains ${acrossChains.join(', ') || 'none'}, written on ${deployedOn.join(', ')}`);
  } catch (error) {
    failed.list.push(`query by name across chains: ${(error as Error).message}`);
  }
  checks.expect(
    'deploy on every network',
    failed.deploy.length === 0,
    `${name} written and read back on ${plural(chains.length, 'network')}: ${listed(networks, 8)}`,
    listed(failed.deploy, 3),
  );
  checks.expect(
    'upgrade (new implementation address and hash)',
    failed.upgrade.length === 0,
    `upgraded and read back on ${plural(chains.length, 'network')}`,
    listed(failed.upgrade, 3),
  );
  checks.expect(
    'list and query per chain',
    failed.list.length === 0,
    `each chain lists its own records plus the test record; a query by name finds it on exactly those ${plural(chains.length, 'chain')}`,
    listed(failed.list, 3),
  );
}

/** Upgrades one user record that a legacy `contracts` section lists, checks the section followed, and puts the record back. */
async function legacySections(
  env: DrillEnv,
  checks: DrillChecks,
  json: JsonFileStore,
  store: MigrationStateStore,
  users: Map<string, DeploymentRecord>,
): Promise<void> {
  for (const { chainId, file } of await json.listStateFiles()) {
    const doc = await readDocument(file);
    const contracts = doc.contracts as Record<string, unknown> | undefined;
    if (typeof contracts !== 'object' || contracts === null) continue;
    const user = [...users.values()].find((r) => r.chainId === chainId && typeof contracts[r.contractName] === 'object');
    if (!user) continue;
    const next = upgraded(user, 7);
    await store.put(next);
    const after = await readDocument(file);
    const entry = (after.contracts as Record<string, Record<string, unknown>>)[user.contractName];
    const hashes = after.implementationHashes as Record<string, unknown> | undefined;
    const hashListed =
      typeof doc.implementationHashes === 'object' &&
      doc.implementationHashes !== null &&
      user.contractName in (doc.implementationHashes as object);
    const problems: string[] = [];
    if (entry?.implementation !== next.address)
      problems.push(`contracts.${user.contractName}.implementation is ${String(entry?.implementation)}, not the new ${next.address}`);
    if (hashListed && hashes?.[user.contractName] !== next.implementationHash)
      problems.push(`implementationHashes.${user.contractName} did not follow the upgrade`);
    const others = Object.keys(contracts).filter(
      (n) => n !== user.contractName && !canonicalEqual(contracts[n], (after.contracts as Record<string, unknown>)[n]),
    );
    if (others.length > 0) problems.push(`other contracts entries changed: ${listed(others)}`);
    await store.put(user);
    if (digestOf(await store.get(chainId, user.contractName)) !== digestOf(user))
      problems.push(`${user.contractName} did not read back as the original after it was put back`);
    const restored = (await readDocument(file)).contracts as Record<string, Record<string, unknown>>;
    if (restored[user.contractName]?.implementation !== user.address)
      problems.push(`contracts.${user.contractName}.implementation did not return to ${user.address}`);
    checks.expect(
      'legacy contracts/implementationHashes stay in step',
      problems.length === 0,
      `${file.split('/').pop()}: upgrading ${user.contractName} updated its contracts${hashListed ? ' and implementationHashes' : ''} entry, every other entry kept; putting the original back restored it`,
      problems.join('; '),
    );
    return;
  }
  checks.skip(
    'legacy contracts/implementationHashes stay in step',
    'no state file has a legacy contracts section that lists one of its records',
  );
}

export async function jsonBackendDrill(env: DrillEnv, checks: DrillChecks): Promise<void> {
  const { workspace, registry } = env;
  const json = uncachedJsonStore(workspace.deployments, registry);
  await json.open();
  let factory: MigrationStateStore | undefined;
  try {
    const users = await originals(env, checks, json);
    const stateFilesBefore = await json.listStateFiles();
    const chains = [...new Set([...stateFilesBefore.map((f) => f.chainId), ...[...users.values()].map((r) => r.chainId)])].sort(
      (a, b) => a - b,
    );
    if (chains.length === 0) {
      checks.fail('user records', 'there is nothing to drill on: no state files in the deployments folder and no LevelDB records');
      return;
    }
    const documentsBefore = new Map<string, Record<string, unknown>>();
    for (const { file } of stateFilesBefore) documentsBefore.set(file, await readDocument(file));
    const stateFileNames = new Set(stateFilesBefore.map((f) => f.file.slice(workspace.deployments.length + 1)));
    const otherFilesBefore = await folderDigests(workspace.deployments);

    const paths = {
      leveldb: workspace.leveldb ?? `${workspace.root}/leveldb`,
      deployments: workspace.deployments,
      stateDir: workspace.stateDir,
    };
    // A json-only state records LevelDB at its cut-over; the drill's copy compares none, so an empty record stands in.
    const cutoverLeveldb = { at: new Date().toISOString(), count: 0, digest: new StoreDigest().digest(), records: {} };
    await writeState(stateFiles(paths), { ...initialState(), phase: 'json-only', cutoverLeveldb });
    factory = createStateStore({ ...paths, registry, env: {} });
    await factory.open();
    checks.expect(
      'factory store in json-only',
      factory.phase === 'json-only' && factory.route.reads === 'json' && factory.route.writes.join() === 'json',
      'createStateStore() reads and writes the JSON files only',
      `the factory is in ${factory.phase}, reading ${factory.route.reads}`,
    );

    const name = uniqueName(users);
    env.note(`drill: deploy/upgrade/list/remove ${name} on ${plural(chains.length, 'network')}`);
    await cycle(env, checks, factory, chains, name, users);
    await checks.attempt('legacy contracts/implementationHashes stay in step', () =>
      legacySections(env, checks, json, factory as MigrationStateStore, users),
    );

    const notRemoved: string[] = [];
    for (const chainId of chains) {
      const removed = await factory.delete(chainId, name).catch(() => false);
      if (!removed || (await factory.get(chainId, name)) !== null) notRemoved.push(registry.get(chainId).name);
    }
    checks.expect(
      'remove the test records',
      notRemoved.length === 0,
      `${name} deleted from every network and gone on read`,
      `still there or not deleted on: ${listed(notRemoved)}`,
    );

    await checks.attempt('every user record reads back as its original', async () => {
      const seen = new Map<string, string | null>();
      for await (const { key, record } of (factory as MigrationStateStore).iterate()) seen.set(key, digestOf(record));
      const missing = [...users.keys()].filter((key) => !seen.has(key));
      const differing = [...users].filter(([key, record]) => seen.has(key) && seen.get(key) !== digestOf(record)).map(([key]) => key);
      const extra = [...seen.keys()].filter((key) => !users.has(key));
      const ok = missing.length + differing.length + extra.length === 0;
      checks.expect(
        'every user record reads back as its original',
        ok,
        `${plural(users.size, 'record')} on ${plural(chains.length, 'chain')}, canonical digests equal, nothing left over`,
        [
          missing.length > 0 && `missing: ${listed(missing.sort(compareKeys))}`,
          differing.length > 0 && `differing: ${listed(differing.sort(compareKeys))}`,
          extra.length > 0 && `left over: ${listed(extra.sort(compareKeys))}`,
        ]
          .filter(Boolean)
          .join('; '),
      );
    });

    await checks.attempt('keys the store does not own are kept', async () => {
      const changed: string[] = [];
      for (const [file, before] of documentsBefore) {
        const after = await readDocument(file);
        for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
          if (OWNED_KEYS.has(key)) continue;
          // A key added or removed is a change (canonicalEqual takes only values that are there).
          const same = Object.hasOwn(before, key) && Object.hasOwn(after, key) && canonicalEqual(before[key], after[key]);
          if (!same) changed.push(`${file.split('/').pop()}: ${key}`);
        }
      }
      // A state file may be created (a network that had no file); any other file must not change.
      for (const { file } of await json.listStateFiles()) stateFileNames.add(file.slice(workspace.deployments.length + 1));
      const strays = changedFiles(otherFilesBefore, await folderDigests(workspace.deployments)).filter((name) => !stateFileNames.has(name));
      checks.expect(
        'keys the store does not own are kept',
        changed.length === 0 && strays.length === 0,
        `every other top-level key of ${plural(documentsBefore.size, 'state file')} and every other file in the folder unchanged`,
        [changed.length > 0 && `changed keys: ${listed(changed)}`, strays.length > 0 && `other files changed: ${listed(strays)}`]
          .filter(Boolean)
          .join('; '),
      );
    });
  } finally {
    await factory?.close();
    await json.close();
  }
}
