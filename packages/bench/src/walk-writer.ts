// Child process entry for the walk suite: a deploy script that puts a record through
// createStateStore() and reads it back every `paceMs` until "stop" on stdin. Prints one line per
// write: "ack <ms>" (put and read back, in milliseconds) or "error <code>"; "done" at the end.
import { loadMigrator } from './loaders.js';

async function main(): Promise<void> {
  const [cwd, paceText] = process.argv.slice(2);
  const migrator = await loadMigrator();
  if (!migrator.ok) throw new Error(migrator.reason);
  const store = await migrator.value.createStateStore({ cwd, env: {} });
  let stopped = false;
  process.stdin.on('data', (chunk: Buffer) => {
    if (chunk.toString().includes('stop')) stopped = true;
  });
  for (let i = 0; !stopped && i < 20_000; i++) {
    const record = {
      contractName: `WalkWriter${i}`,
      chainId: 97,
      networkName: 'bsctestnet',
      address: `0x${(i + 1).toString(16).padStart(40, '0')}`,
      factoryByteCodeHash: `0x${'ab'.repeat(32)}`,
      timestamp: 1_800_000_000_000 + i,
    };
    const started = performance.now();
    try {
      await store.put(record);
      const back = await store.get(97, record.contractName);
      process.stdout.write(
        back?.timestamp === record.timestamp ? `ack ${(performance.now() - started).toFixed(3)}\n` : 'error READ_BACK\n',
      );
    } catch (error) {
      process.stdout.write(`error ${String((error as { code?: unknown }).code ?? 'UNKNOWN')}\n`);
    }
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
