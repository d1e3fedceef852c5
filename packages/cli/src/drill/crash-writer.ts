// Child process of `drill error-recovery`: writes drill records through the JSON store one after
// another, printing `ack <n>` once each write has returned, until the parent SIGKILLs it; or
// (mode `hold-lock`) takes a file's lock, prints `locked` and waits to be killed holding it.
// Arguments: <mode> <deployments dir> <chainId> <first index>; DEPLOYSTATE_DRILL_NETWORKS holds
// the config file's network entries.
import { NetworkRegistry, type NetworkDefinition } from '@deploystate/core';
import { withFileLock } from '@deploystate/backend-json';
import { uncachedJsonStore } from '@deploystate/migrator';
import { crashRecord } from './crash-record.js';

const MAX_WRITES = 10_000;

async function main(): Promise<void> {
  const [mode, dir, chainArg, firstArg] = process.argv.slice(2);
  const registry = new NetworkRegistry();
  for (const network of JSON.parse(process.env.DEPLOYSTATE_DRILL_NETWORKS ?? '[]') as NetworkDefinition[]) registry.register(network);
  const chainId = Number(chainArg);
  const store = uncachedJsonStore(String(dir), registry);
  await store.open();
  // A writer whose drill is gone (killed before it could kill this) stops too.
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 200);
  if (mode === 'hold-lock') {
    // A pending promise alone does not keep Node running; the watch does, until the SIGKILL.
    await withFileLock(store.fileFor(chainId), () => {
      process.stdout.write('locked\n');
      return new Promise<never>(() => undefined);
    });
    return;
  }
  watch.unref();
  const first = Number(firstArg);
  // Bounded: the parent kills long before; a lost parent must not leave a writer running forever.
  for (let n = first; n < first + MAX_WRITES; n++) {
    await store.put(crashRecord(registry, chainId, n));
    process.stdout.write(`ack ${n}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`crash-writer: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
