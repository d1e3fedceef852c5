// Child process entry for the walk suite: a deploy script that puts a record through
// createStateStore() and reads it back every `paceMs` until "stop" on stdin (or its end: the bench
// gone). Prints one line per write: "ack <ms> <started> <waits> <putMs>" (put and read back, in
// milliseconds; started: wall clock in ms; waits: what it waited for, "kind:ms" or "kind(what):ms"
// joined by commas, or "-"; putMs: the put alone) or "error <code>"; "done" at the end. Each write
// is a new contract (WalkWriter<i>), or with `keys` and `prefix` one of `keys` contracts
// (<prefix><i % keys>) written again with a new timestamp (from `stampBase` on, so a later script's
// writes are newer), so the network file keeps its size.
import { subscribe } from 'node:diagnostics_channel';
import { basename } from 'node:path';
import { loadMigrator } from './loaders.js';

async function main(): Promise<void> {
  const [cwd, paceText, keysText, prefix = 'WalkWriter', stampText = '1800000000000'] = process.argv.slice(2);
  const keys = keysText === undefined ? Infinity : Number(keysText);
  const migrator = await loadMigrator();
  if (!migrator.ok) throw new Error(migrator.reason);
  const store = await migrator.value.createStateStore({ cwd, env: {} });
  let stopped = false;
  // The waits of the put and read-back in progress (null between them: the drainer's own are not the script's).
  let waits: string[] | null = null;
  subscribe('deploystate:wait', (message: unknown) => {
    const wait = message as { kind: string; ms: number; what?: string };
    if (!waits) return;
    const what = wait.what !== undefined ? `(${basename(wait.what)})` : '';
    waits.push(`${wait.kind}${what}:${wait.ms.toFixed(0)}`);
  });
  process.stdin.on('data', (chunk: Buffer) => {
    if (chunk.toString().includes('stop')) stopped = true;
  });
  // The bench gone (killed before it could say stop): its end of the pipe closed, so stop too.
  process.stdin.on('end', () => (stopped = true));
  for (let i = 0; !stopped && i < 20_000; i++) {
    const record = {
      contractName: `${prefix}${keys === Infinity ? i : i % keys}`,
      chainId: 97,
      networkName: 'bsctestnet',
      address: `0x${(i + 1).toString(16).padStart(40, '0')}`,
      factoryByteCodeHash: `0x${'ab'.repeat(32)}`,
      timestamp: Number(stampText) + i,
    };
    const started = performance.now();
    const startedAt = Date.now();
    waits = [];
    try {
      await store.put(record);
      const putMs = performance.now() - started;
      const back = await store.get(97, record.contractName);
      process.stdout.write(
        back?.timestamp === record.timestamp
          ? `ack ${(performance.now() - started).toFixed(3)} ${startedAt} ${waits.join(',') || '-'} ${putMs.toFixed(3)}\n`
          : 'error READ_BACK\n',
      );
    } catch (error) {
      process.stdout.write(`error ${String((error as { code?: unknown }).code ?? 'UNKNOWN')}\n`);
    }
    waits = null;
    await new Promise((resolve) => setTimeout(resolve, Number(paceText)));
  }
  await store.close();
  process.stdout.write('done\n');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
